from django.urls import path

from . import playbook_views, views

app_name = "clustering"
urlpatterns = [
    path("", views.run_list, name="run-list"),
    path("new/", views.run_create_view, name="run-create"),
    path("playbook/", playbook_views.playbook, name="playbook"),
    path("playbook/<int:index>/", playbook_views.playbook_edit, name="playbook-edit"),
    path("<int:pk>/", views.run_detail, name="run-detail"),
    path("<int:pk>/status.json", views.run_status, name="run-status"),
    path("<int:pk>/cancel/", views.run_cancel_view, name="run-cancel"),
    path("<int:pk>/publish/", views.run_publish_view, name="run-publish"),
    path("<int:pk>/report.json", views.run_report_json, name="run-report-json"),
    path("<int:pk>/candidates.csv", views.run_candidates_csv, name="run-candidates-csv"),
    path("<int:pk>/assignments.csv", views.run_assignments_csv, name="run-assignments-csv"),
    path("<int:run_id>/segments/<int:number>/", views.segment_detail, name="segment-detail"),
    path(
        "<int:run_id>/segments/<int:number>/members.csv",
        views.segment_members_csv,
        name="segment-members-csv",
    ),
    path(
        "<int:run_id>/segments/<int:number>/ad-audience.csv",
        views.segment_ad_audience_csv,
        name="segment-ad-audience-csv",
    ),
    path("worker/ping/", views.worker_ping, name="worker-ping"),
]
