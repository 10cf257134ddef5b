"""A version number per workspace, in the cache, for results derived from its segmented
customers (movements between runs): bumped when customers are deleted, so a cached result
never outlives the assignments it was computed from.

Cache errors are logged, not raised: a version that cannot be bumped leaves a cached
result until its own expiry, and one that cannot be read reads as 0.
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)


def _key(workspace_id: int) -> str:
    return f"derived:customers-version:{workspace_id}"


def customers_version(workspace_id: int) -> int:
    try:
        return int(cache.get(_key(workspace_id), 0))
    except Exception:
        logger.warning("reading workspace %s's customers version failed", workspace_id)
        return 0


def customers_changed(workspace_id: int) -> None:
    """Once the transaction commits, results derived from the workspace's customers are
    stale."""

    def bump() -> None:
        try:
            cache.set(_key(workspace_id), customers_version(workspace_id) + 1, None)
        except Exception:
            logger.warning("bumping workspace %s's customers version failed", workspace_id)

    transaction.on_commit(bump)
