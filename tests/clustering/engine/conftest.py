"""The engine tests need no database and no Django: override the project-wide autouse
cache-clearing and heartbeat fixtures (tests/conftest.py) so they also run with
``-p no:django``.

They also run single-threaded, like the pipeline does: tests that call the algorithm
registry directly would otherwise let OpenMP/BLAS spin two threads against a busy core,
which made K-Means 50x slower on the shared 2-core machine."""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def _clear_cache():
    yield


@pytest.fixture(autouse=True)
def _no_run_heartbeat_inside_the_test_transaction():
    yield


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    with threadpool_limits(limits=1):
        yield
