from django.urls import path

from . import api, api_kept_out, api_lines, api_settings, api_transactions

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
    path(
        "kept-out-customers/",
        api_kept_out.KeptOutCustomerListApi.as_view(),
        name="api-kept-out-customers",
    ),
    path(
        "kept-out-customers/<str:customer_id>/",
        api_kept_out.KeptOutCustomerDetailApi.as_view(),
        name="api-kept-out-customer",
    ),
]
