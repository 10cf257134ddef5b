from django.urls import path

from .api import playbook, predict, runs, segments, worker

urlpatterns = [
    path("system/worker/", worker.WorkerStatusApi.as_view(), name="api-worker"),
    path("runs/", runs.RunListCreateApi.as_view(), name="api-runs"),
    path("runs/<int:pk>/", runs.RunDetailApi.as_view(), name="api-run-detail"),
    path("runs/<int:pk>/cancel/", runs.RunCancelApi.as_view(), name="api-run-cancel"),
    path("runs/<int:pk>/publish/", runs.RunPublishApi.as_view(), name="api-run-publish"),
    path("runs/<int:pk>/candidates/", runs.RunCandidatesApi.as_view(), name="api-run-candidates"),
    path("runs/<int:pk>/report/", runs.RunReportApi.as_view(), name="api-run-report"),
    path("segments/", segments.PublishedSegmentsApi.as_view(), name="api-segments"),
    path(
        "segments/<int:number>/",
        segments.SegmentDetailApi.as_view(),
        name="api-segment-detail",
    ),
    path(
        "segments/<int:number>/members/",
        segments.SegmentMembersApi.as_view(),
        name="api-segment-members",
    ),
    path(
        "segments/<int:number>/members.csv",
        segments.SegmentMembersCsvApi.as_view(),
        name="api-segment-members-csv",
    ),
    path(
        "segments/<int:number>/ad-audience.csv",
        segments.SegmentAdAudienceCsvApi.as_view(),
        name="api-segment-ad-audience-csv",
    ),
    path("playbook/", playbook.PlaybookApi.as_view(), name="api-playbook"),
    path("playbook/<int:index>/", playbook.PlaybookEntryApi.as_view(), name="api-playbook-entry"),
    path("predict/", predict.PredictApi.as_view(), name="api-predict"),
]
