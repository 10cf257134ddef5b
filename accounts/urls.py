from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("tokens/", views.api_tokens, name="api-tokens"),
    path("tokens/<str:token_key>/revoke/", views.api_token_revoke_view, name="api-token-revoke"),
    path("members/", views.members, name="members"),
    path(
        "members/<int:membership_id>/role/",
        views.member_change_role,
        name="member-change-role",
    ),
    path("members/<int:membership_id>/remove/", views.member_remove, name="member-remove"),
]
