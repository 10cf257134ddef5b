"""Test override: the base settings with faster hashing, a state folder of its own (so a
test worker never shares a queue with a demo worker) and a file-backed SQLite test database,
so that a worker process started by a test sees the same data."""

import os
from pathlib import Path

from .shards import redis_database_for_shard

# One state folder per test session (worker processes started by the tests inherit it), so
# two test runs on one machine never share a SQLite file or a queue folder.
os.environ.setdefault(
    "VAR_DIR",
    str(Path(__file__).resolve().parent.parent.parent / "var" / f"test-{os.getpid()}"),
)

# Under `pytest -n` each xdist process is a session of its own: its own state folder and
# Redis database, so a worker process one of them starts never takes the other's tasks.
# TEST_SHARD marks the environment as done, for the processes it starts in turn.
_shard = os.environ.get("PYTEST_XDIST_WORKER", "")
if _shard and os.environ.get("TEST_SHARD") != _shard:
    os.environ["TEST_SHARD"] = _shard
    # beside the folder of the process that started it (var/ unless a test says otherwise)
    os.environ["VAR_DIR"] = str(Path(os.environ["VAR_DIR"]).parent / f"test-{os.getpid()}")
    if os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = redis_database_for_shard(os.environ["REDIS_URL"], _shard)

# after the environment above, which base.py reads
from .base import *  # noqa: E402, F403
from .base import BASE_DIR, DATABASES, VAR_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["NAME"] = str(VAR_DIR / "segmentation.sqlite3")
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
TEST_OUTPUT_DIR = Path(os.environ.get("TEST_OUTPUT_DIR", BASE_DIR / "test-output"))

# A worker process started by a test must use the test database the test runner created.
if os.environ.get("TEST_WORKER_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["TEST_WORKER_DB_NAME"]

# Tests read static files from the source folders; no collectstatic manifest needed.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"

# Per-process cache, cleared between tests (throttle counters must not leak across tests).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
