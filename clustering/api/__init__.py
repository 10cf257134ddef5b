"""REST API for segmentation runs, the published segments and real-time segment assignment.

One module per area: runs, segments, predict and worker; base holds what they share and
examples the OpenAPI example payloads. Thin views: serializers check input,
clustering.services writes, clustering.selectors and clustering.predicting read.
Permissions follow the roles (accounts/roles.py):

    runs: read view_run_reports, create/cancel manage_runs, publish publish_runs
    segments and members: view_segments; members as CSV: export_segment_members
    predict: view_segments, and allowed to read-only tokens (see predict.PredictApi)
    worker: read any user, ask the worker to check in manage_runs
"""
