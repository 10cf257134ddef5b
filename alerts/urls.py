from django.urls import path

from . import views

app_name = "alerts"
urlpatterns = [
    path("", views.alert_index, name="index"),
    path("rules/new/", views.rule_create, name="rule-create"),
    path("rules/<int:rule_id>/", views.rule_edit, name="rule-edit"),
    path("rules/<int:rule_id>/toggle/", views.rule_toggle, name="rule-toggle"),
    path("rules/<int:rule_id>/delete/", views.rule_delete, name="rule-delete"),
    path("<int:alert_id>/acknowledge/", views.alert_acknowledge_view, name="alert-acknowledge"),
    path("<int:alert_id>/mail-again/", views.alert_mail_again_view, name="alert-mail-again"),
]
