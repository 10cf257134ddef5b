"""Writes for segmentation runs: create, execute (the worker's side), cancel, publish, recover.

The public entry points; each is implemented in the module of its job under clustering/runs/,
the one place that translates between the ORM and the engine.
"""

from .runs.claims import new_claim_token, run_claim
from .runs.execution import TRANSIENT_ERRORS, run_execute
from .runs.heartbeat import worker_heartbeat_record, worker_ping_request
from .runs.lifecycle import (
    RunError,
    params_to_repeat,
    run_cancel,
    run_check_data,
    run_create,
    run_publish,
    shop_k_max,
    with_shop_k_max,
)
from .runs.recovery import runs_recover_stale

__all__ = [
    "TRANSIENT_ERRORS",
    "RunError",
    "new_claim_token",
    "params_to_repeat",
    "run_cancel",
    "run_check_data",
    "run_claim",
    "run_create",
    "run_execute",
    "run_publish",
    "runs_recover_stale",
    "shop_k_max",
    "worker_heartbeat_record",
    "with_shop_k_max",
    "worker_ping_request",
]
