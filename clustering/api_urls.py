from django.urls import path

from . import api

urlpatterns = [
    path("system/worker/", api.WorkerStatusApi.as_view(), name="api-worker"),
    path("runs/", api.RunListCreateApi.as_view(), name="api-runs"),
    path("runs/<int:pk>/", api.RunDetailApi.as_view(), name="api-run-detail"),
    path("runs/<int:pk>/cancel/", api.RunCancelApi.as_view(), name="api-run-cancel"),
    path("runs/<int:pk>/publish/", api.RunPublishApi.as_view(), name="api-run-publish"),
    path("runs/<int:pk>/candidates/", api.RunCandidatesApi.as_view(), name="api-run-candidates"),
    path("runs/<int:pk>/report/", api.RunReportApi.as_view(), name="api-run-report"),
    path("segments/", api.PublishedSegmentsApi.as_view(), name="api-segments"),
    path("segments/<int:number>/", api.SegmentDetailApi.as_view(), name="api-segment-detail"),
    path(
        "segments/<int:number>/members/",
        api.SegmentMembersApi.as_view(),
        name="api-segment-members",
    ),
    path(
        "segments/<int:number>/members.csv",
        api.SegmentMembersCsvApi.as_view(),
        name="api-segment-members-csv",
    ),
    path("predict/", api.PredictApi.as_view(), name="api-predict"),
]
