"""A segmentation run's life, one job per module.

- ``lifecycle``: create (checked against the data), queue, cancel, publish.
- ``claims``: which execution owns a run, and how an execution ends.
- ``heartbeat``: a running run's heartbeat thread, and the workers' own heartbeat.
- ``progress``: the engine's progress and cancel callbacks, written to the run row.
- ``execution``: the worker's side, from claim to stored results.
- ``results``: the engine's result mapped to rows and the predictor file.
- ``recovery``: runs whose worker stopped beating, re-queued or failed.
- ``retention``: the members of old runs never published, removed (prune_run_members).

Callers import the public writes from ``clustering.services``.
"""
