from django.urls import path

from . import views, views_mapping

app_name = "customers"
urlpatterns = [
    path("imports/", views.import_list, name="import-list"),
    path("imports/new/", views.import_create, name="import-create"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("imports/<int:pk>/status.json", views.import_status, name="import-status"),
    path("imports/<int:pk>/rejected.csv", views.import_rejected_csv, name="import-rejected-csv"),
    path("imports/<int:pk>/undo/", views.import_undo, name="import-undo"),
    path("imports/<int:pk>/again/", views.import_again, name="import-again"),
    path("layouts/", views_mapping.layout_list, name="layout-list"),
    path("layouts/<int:layout_id>/", views_mapping.layout_edit, name="layout-edit"),
    path("layouts/<int:layout_id>/forget/", views_mapping.layout_forget, name="layout-forget"),
    path("<int:pk>/lines/", views.customer_lines, name="customer-lines"),
    path("<int:pk>/remove/", views.customer_remove_view, name="customer-remove"),
    path("<int:pk>/erase-contact/", views.customer_erase_contact, name="customer-erase-contact"),
    path("kept-out/", views.kept_out_list, name="kept-out"),
    path("kept-out.csv", views.kept_out_csv, name="kept-out-csv"),
    path("erase-contact/", views.customers_erase_contact, name="customers-erase-contact"),
    path("lines/<uuid:line_id>/remove/", views.line_remove, name="line-remove"),
]
