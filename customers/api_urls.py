from django.urls import path

from . import api, api_transactions

urlpatterns = [
    path("imports/", api.ImportListCreateApi.as_view(), name="api-imports"),
    path("imports/<int:pk>/", api.ImportDetailApi.as_view(), name="api-import-detail"),
    path(
        "imports/<int:pk>/rejected-rows/",
        api.ImportRejectedRowsApi.as_view(),
        name="api-import-rejected-rows",
    ),
    path(
        "transactions/",
        api_transactions.TransactionListCreateApi.as_view(),
        name="api-transactions",
    ),
]
