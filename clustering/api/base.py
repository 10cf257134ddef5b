"""What the clustering API modules share: the capability permissions and the answer when no
run is published."""

from __future__ import annotations

from rest_framework.settings import api_settings

from accounts.permissions import capability_permission
from common.api_errors import ApiProblem

CanViewSegments = capability_permission("view_segments")
CanExportMembers = capability_permission("export_segment_members")
CanViewPersonalData = capability_permission("view_personal_data")
CanManageRuns = capability_permission("manage_runs")
CanPublishRuns = capability_permission("publish_runs")
CanViewRunReports = capability_permission("view_run_reports")
DEFAULT_PERMISSIONS = list(api_settings.DEFAULT_PERMISSION_CLASSES)

NO_PUBLISHED_RUN = "No segmentation is published yet: a manager must publish a run first."


def no_published_run() -> ApiProblem:
    return ApiProblem(NO_PUBLISHED_RUN, status=404, code="no_published_run")
