"""The engine tests need no database and no Django: override the project-wide autouse
cache-clearing fixture (tests/conftest.py) so they also run with ``-p no:django``."""

import pytest


@pytest.fixture(autouse=True)
def _clear_cache():
    yield
