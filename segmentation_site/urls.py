from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.views import workspace_list
from accounts.workspace_access import no_workspace
from customers.views_settings import shop_settings

api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("clustering.api_urls")),
    path("", include("customers.api_urls")),
    path("", include("reports.api_urls")),
    path("", include("schedules.api_urls")),
    path("", include("alerts.api_urls")),
    path("", include("webhooks.api_urls")),
    path("", include("audit.api_urls")),
    # The schema and its docs describe every workspace's API alike.
    path("schema/", no_workspace(SpectacularAPIView.as_view()), name="api-schema"),
    # The split view serves Swagger UI's settings as a script file, so the CSP holds.
    path(
        "docs/",
        no_workspace(login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema"))),
        name="api-docs",
    ),
]

urlpatterns = [
    path("", include("reports.urls")),
    path("account/", include("accounts.urls")),
    path("workspaces/", workspace_list, name="workspace-list"),
    path("customers/", include("customers.urls")),
    path("runs/", include("clustering.urls")),
    path("schedule/", include("schedules.urls")),
    path("alerts/", include("alerts.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("audit/", include("audit.urls")),
    path("settings/", shop_settings, name="shop-settings"),
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
]

# On API paths these answer with the API's error body; elsewhere with the site's pages.
handler400 = "common.error_views.bad_request"
handler403 = "common.error_views.permission_denied"
handler404 = "common.error_views.page_not_found"
handler500 = "common.error_views.server_error"

admin.site.site_header = "Customer segmentation administration"
admin.site.site_title = "Segmentation admin"
