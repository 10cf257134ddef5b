"""`make demo`: set up the embedded default, then serve the site and a worker.

With --check (`make demo-check`, run by CI), it does the same set-up in a fresh state
folder, checks that the site answers and every demo user can sign in and sees only what
their role allows, that the worker executes a task, and then exits.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEMO_USERS = [
    ("marketing", "marketing-demo-pass"),
    ("manager", "manager-demo-pass"),
    ("admin", "admin-demo-pass"),
]
# What each role must, and must not, see in the navigation of the landing page.
ROLE_NAV = {
    "marketing": {"must": ["API tokens"], "must_not": ["Admin", "Check the worker", "Imports"]},
    "manager": {"must": ["Check the worker", "Imports"], "must_not": ["Admin"]},
    "admin": {"must": ["Admin", "Check the worker", "Imports"], "must_not": []},
}


def manage(*args: str, env: dict[str, str]) -> None:
    print(f"$ manage.py {' '.join(args)}", flush=True)
    subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env, check=True)


# In the repository (sample_data/README.md): a fresh clone gets the demo with data.
SAMPLE_DATA = ROOT / "sample_data" / "online_retail" / "online_retail.csv.gz"


def has_published_run(env: dict[str, str]) -> bool:
    code = (
        "import django; django.setup(); "
        "from clustering.selectors import run_published; "
        "print('yes' if run_published() else 'no')"
    )
    result = subprocess.run(
        [str(BIN / "python"), "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip().endswith("yes")


def set_up(env: dict[str, str]) -> None:
    manage("migrate", "--noinput", env=env)
    manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
    manage("create_demo_users", env=env)
    if has_published_run(env):
        print("A segmentation is already published; skipping the sample import and run.")
        return
    if not SAMPLE_DATA.exists():
        raise SystemExit(
            f"No sample data at {SAMPLE_DATA}: it is part of the repository "
            "(sample_data/README.md); restore it with `git checkout -- sample_data`."
        )
    # Importing the same file again changes nothing, so an interrupted demo can resume.
    manage("import_transactions", str(SAMPLE_DATA), "--user", "manager", env=env)
    manage("segment_customers", "--sync", "--publish", "--user", "manager", env=env)


def start_services(env: dict[str, str], port: int) -> list[subprocess.Popen]:
    worker = subprocess.Popen(
        [
            str(BIN / "celery"),
            "-A",
            "segmentation_site",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "-n",
            "demo@%h",
        ],
        cwd=ROOT,
        env=env,
    )
    web = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "segmentation_site.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--access-logfile",
            "-",
        ],
        cwd=ROOT,
        env=env,
    )
    return [worker, web]


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                if response.status == 200:
                    return
        except OSError:  # refused while starting, or slow on a busy machine: try again
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"The site did not answer at {url} within {timeout:.0f} s")
        time.sleep(0.5)


class Browser:
    """Just enough of a browser to sign in with CSRF and follow redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def post(self, path: str, data: dict[str, str]) -> tuple[int, str]:
        token = next(c.value for c in self.jar if c.name == "csrftoken")
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}).encode()
        request = urllib.request.Request(
            self.base + path, data=body, headers={"Referer": self.base + path}
        )
        try:
            with self.opener.open(request, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def check_site(base: str, env: dict[str, str]) -> None:
    for username, password in DEMO_USERS:
        browser = Browser(base)
        status, page = browser.get("/account/login/")
        assert status == 200 and "Sign in" in page, f"login page answered {status}"
        status, page = browser.post("/account/login/", {"username": username, "password": password})
        assert status == 200, f"{username}: sign-in answered {status}"
        assert username in page and "Log out" in page, f"{username}: not signed in"
        nav = ROLE_NAV[username]
        for text in nav["must"]:
            assert text in page, f"{username} should see '{text}'"
        for text in nav["must_not"]:
            assert text not in page, f"{username} should not see '{text}'"
        # The sample segmentation is published: every role sees its segments and actions.
        assert "Recommended action" in page, f"{username}: no published segments shown"
        status, _ = browser.get("/admin/")
        # Non-staff users are sent to the admin's sign-in instead of the admin index.
        is_admin_index = status == 200 and "Site administration" in _
        assert is_admin_index == (username == "admin"), f"{username}: admin access wrong"
        print(f"  ok: {username} signs in and sees what the role allows", flush=True)

    # The worker consumes a real task: the manager asks it to check in.
    browser = Browser(base)
    browser.get("/account/login/")
    browser.post("/account/login/", {"username": "manager", "password": "manager-demo-pass"})
    browser.post("/runs/worker/ping/", {})
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        _, page = browser.get("/")
        if re.search(r'status ok">running', page):
            print("  ok: the background worker executed a task", flush=True)
            return
        time.sleep(1)
    raise SystemExit("The background worker did not execute the check-in task within 90 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="set up, check, and exit")
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", 8000)))
    args = parser.parse_args()

    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "segmentation_site.settings.base")
    if args.check:
        # The embedded default on a fresh state folder, whatever this shell has set.
        for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
            env.pop(name, None)
        env["VAR_DIR"] = tempfile.mkdtemp(prefix="segmentation-demo-check-")
        env["STATIC_ROOT"] = str(Path(env["VAR_DIR"]) / "static")

    set_up(env)
    processes = start_services(env, args.port)
    base = f"http://127.0.0.1:{args.port}"
    try:
        wait_until_up(base + "/account/login/")
        if args.check:
            check_site(base, env)
            print("demo-check passed", flush=True)
            return 0
        print(
            f"\nThe site is up at {base}/  (Ctrl-C stops it)\n"
            "Sign in as (username / password):\n"
            + "\n".join(f"  {u} / {p}" for u, p in DEMO_USERS),
            flush=True,
        )
        while all(p.poll() is None for p in processes):
            time.sleep(1)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop(processes)


if __name__ == "__main__":
    sys.exit(main())
