import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        DJANGO_SETTINGS_MODULE="segmentation_site.settings.base",
        SECRET_KEY=secrets.token_urlsafe(64),
        DEBUG="0",
        HTTPS="1",
        BEHIND_PROXY="1",
        ALLOWED_HOSTS="segments.example.com",
        CSRF_TRUSTED_ORIGINS="https://segments.example.com",
        VAR_DIR=str(tmp_path),
    )
    result = check_deploy(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_insecure_production_settings_are_caught(tmp_path):
    """The check above would fail on a weak setting, so its passing means something."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="segmentation_site.settings.base",
        SECRET_KEY=secrets.token_urlsafe(64),
        DEBUG="0",
        HTTPS="0",
        VAR_DIR=str(tmp_path),
    )
    result = check_deploy(env)
    assert result.returncode != 0
    assert "SESSION_COOKIE_SECURE" in result.stderr + result.stdout


def test_without_a_secret_key_a_random_one_is_kept_out_of_the_repository(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(DJANGO_SETTINGS_MODULE="segmentation_site.settings.base", VAR_DIR=str(tmp_path))
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    run = [sys.executable, "-c", f"import django; django.setup(); {code}"]
    first = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    second = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert len(first.stdout.strip()) >= 50
    assert first.stdout == second.stdout
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_the_embedded_queue_keeps_every_file_under_var_dir(tmp_path):
    """The filesystem broker's exchange table (written when a task is queued or a worker
    binds its queues) goes under VAR_DIR, not into the directory the process started in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="segmentation_site.settings.base",
        VAR_DIR=str(tmp_path / "var"),
        PYTHONPATH=str(ROOT),
    )
    started_in = tmp_path / "elsewhere"
    started_in.mkdir()
    code = (
        "import django; django.setup(); from segmentation_site.celery import app; "
        "app.send_task('clustering.tasks.nothing_to_run_here')"
    )
    subprocess.run([sys.executable, "-c", code], cwd=started_in, env=env, check=True, timeout=120)
    assert list(started_in.iterdir()) == []
    assert (tmp_path / "var" / "celery-broker" / "control" / "celery.exchange").exists()


def _test_settings_in(env: dict[str, str]) -> dict:
    """What settings/test.py makes of ``env`` in a fresh process: its Redis URL, broker,
    state folder, and the environment it leaves for the processes it starts."""
    code = (
        "import json, os; from django.conf import settings; "
        "print(json.dumps({'redis': settings.REDIS_URL, 'broker': settings.CELERY_BROKER_URL,"
        " 'var_dir': str(settings.VAR_DIR), 'environ': dict(os.environ)}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_each_xdist_process_has_its_own_redis_database_and_state_and_passes_them_on(tmp_path):
    """`make test` runs pytest -n: the second process takes the Redis database after the
    one given, and a state folder of its own; a worker it starts inherits both unchanged."""
    env = {k: v for k, v in os.environ.items() if k not in {"TEST_SHARD", "DATABASE_URL"}}
    shared = str(tmp_path / "var" / "test-controller")
    env.update(
        DJANGO_SETTINGS_MODULE="segmentation_site.settings.test",
        REDIS_URL="redis://127.0.0.1:6379/15",
        VAR_DIR=shared,  # as the controlling process leaves it for every xdist process
        PYTEST_XDIST_WORKER="gw1",
    )
    first = _test_settings_in(env)
    assert first["redis"] == first["broker"] == "redis://127.0.0.1:6379/0"  # wrapped at 16
    assert first["var_dir"] != shared
    assert Path(first["var_dir"]).parent == tmp_path / "var"  # beside the controller's
    # a worker process started by that one: the same database and folder, not moved again
    started = _test_settings_in(first["environ"])
    assert (started["redis"], started["var_dir"]) == (first["redis"], first["var_dir"])
    # the first xdist process keeps the database it was given, in a folder of its own
    env["PYTEST_XDIST_WORKER"] = "gw0"
    other = _test_settings_in(env)
    assert other["redis"] == "redis://127.0.0.1:6379/15"
    assert other["var_dir"] not in {shared, first["var_dir"]}


def test_the_redis_database_of_a_shard():
    from segmentation_site.settings.shards import redis_database_for_shard

    assert redis_database_for_shard("redis://127.0.0.1:6379/1", "gw0") == "redis://127.0.0.1:6379/1"
    assert redis_database_for_shard("redis://127.0.0.1:6379/1", "gw3") == "redis://127.0.0.1:6379/4"
    assert redis_database_for_shard("redis://h:6379", "gw2") == "redis://h:6379/2"
    assert (
        redis_database_for_shard("redis://:secret@h:6380/14?timeout=5", "gw2")
        == "redis://:secret@h:6380/0?timeout=5"
    )
