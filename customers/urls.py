from django.urls import path

from . import views

app_name = "customers"
urlpatterns = [
    path("imports/", views.import_list, name="import-list"),
    path("imports/new/", views.import_create, name="import-create"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("imports/<int:pk>/status.json", views.import_status, name="import-status"),
    path("imports/<int:pk>/rejected.csv", views.import_rejected_csv, name="import-rejected-csv"),
    path("imports/<int:pk>/undo/", views.import_undo, name="import-undo"),
    path("<int:pk>/lines/", views.customer_lines, name="customer-lines"),
    path("lines/<uuid:line_id>/remove/", views.line_remove, name="line-remove"),
]
