from django.urls import path

from . import api, api_lines, api_settings, api_transactions

urlpatterns = [
    path("imports/", api.ImportListCreateApi.as_view(), name="api-imports"),
    path("imports/<int:pk>/", api.ImportDetailApi.as_view(), name="api-import-detail"),
    path(
        "imports/<int:pk>/rejected-rows/",
        api.ImportRejectedRowsApi.as_view(),
        name="api-import-rejected-rows",
    ),
    path("imports/<int:pk>/undo/", api_lines.ImportUndoApi.as_view(), name="api-import-undo"),
    path("imports/<int:pk>/again/", api.ImportAgainApi.as_view(), name="api-import-again"),
    path(
        "transactions/<uuid:line_id>/",
        api_lines.TransactionLineDetailApi.as_view(),
        name="api-transaction-line",
    ),
    path(
        "transactions/",
        api_transactions.TransactionListCreateApi.as_view(),
        name="api-transactions",
    ),
    path("settings/", api_settings.ShopSettingsApi.as_view(), name="api-shop-settings"),
]
