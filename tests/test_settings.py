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
