from django.urls import path

from . import api

urlpatterns = [
    path("auth/token/", api.TokenCreateApi.as_view(), name="api-token-create"),
    path("auth/token/revoke/", api.TokenRevokeApi.as_view(), name="api-token-revoke-current"),
    path("me/", api.MeApi.as_view(), name="api-me"),
]
