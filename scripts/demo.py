"""`make demo`: set up the embedded default, then serve the site, a worker and beat.

The demo has two workspaces, Online Retail (GBP) and CDNOW (USD), each with its sample
file imported and a segmentation published, and demo users with a role in each (one of
them, analyst, with a different role in each).

With --check (`make demo-check`, run by CI), it does the same set-up in a fresh state
folder, checks that each workspace holds its own file's customers, that every demo user can
sign in and sees in each workspace only what their role there allows, that the worker
executes a task, and then exits.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SAMPLE = ROOT / "sample_data"


@dataclass(frozen=True)
class DemoWorkspace:
    slug: str
    name: str
    sample: Path  # in the repository (sample_data/README.md): a fresh clone has the data
    customers: int  # distinct customers in the full file (its SOURCE.md)


# The two shops create_demo_users sets up, each with its own import and published run.
WORKSPACES = [
    DemoWorkspace(
        "online-retail", "Online Retail", SAMPLE / "online_retail" / "online_retail.csv.gz", 4372
    ),
    DemoWorkspace("cdnow", "CDNOW", SAMPLE / "cdnow" / "cdnow_master.csv.gz", 23570),
]
# What each role must, and must not, see in the navigation of a workspace's landing page.
# Nobody gets Django's admin: that is the site administrators' (superusers').
ROLE_NAV = {
    "marketing": {
        "must": ["API tokens"],
        "must_not": ["Check the worker", "Imports", "Members", "Playbook"],
    },
    "manager": {"must": ["Check the worker", "Imports", "Playbook"], "must_not": ["Members"]},
    "admin": {"must": ["Members", "Check the worker", "Imports"], "must_not": []},
}


def manage(*args: str, env: dict[str, str]) -> None:
    print(f"$ manage.py {' '.join(args)}", flush=True)
    subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env, check=True)


def django_says(code: str, env: dict[str, str]) -> str:
    """The last line a snippet of Python prints with Django set up."""
    result = subprocess.run(
        [str(BIN / "python"), "-c", "import django; django.setup(); " + code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip().splitlines()[-1]


def has_published_run(slug: str, env: dict[str, str]) -> bool:
    code = (
        "from clustering.selectors import run_published; "
        "from workspaces.models import Workspace; "
        f"print('yes' if run_published(workspace=Workspace.objects.get(slug={slug!r})) "
        "else 'no')"
    )
    return django_says(code, env) == "yes"


def set_up(env: dict[str, str]) -> None:
    manage("migrate", "--noinput", env=env)
    manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
    manage("create_demo_users", env=env)
    for shop in WORKSPACES:
        if has_published_run(shop.slug, env):
            print(f"{shop.name}: a segmentation is already published; skipping its import and run.")
            continue
        if not shop.sample.exists():
            raise SystemExit(
                f"No sample data at {shop.sample}: it is part of the repository "
                "(sample_data/README.md); restore it with `git checkout -- sample_data`."
            )
        # Importing the same file again changes nothing, so an interrupted demo can resume.
        workspace = ("--workspace", shop.slug)
        manage("import_transactions", str(shop.sample), *workspace, "--user", "manager", env=env)
        manage("segment_customers", *workspace, "--sync", "--publish", "--user", "manager", env=env)


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
    # One beat process fires the workspaces' scheduled refreshes (schedules app); there must
    # be exactly one, so it is started here and not with each worker.
    beat = subprocess.Popen(
        [
            str(BIN / "celery"),
            "-A",
            "segmentation_site",
            "beat",
            "--loglevel=INFO",
            "-S",
            "django_celery_beat.schedulers:DatabaseScheduler",
            "--pidfile=",
        ],
        cwd=ROOT,
        env=env,
    )
    return [worker, beat, web]


#: Set by SIGTERM or SIGHUP. The loop that waits on the services ends on it too, so the demo
#: stops even where the KeyboardInterrupt the handler raises is lost (raised inside a
#: finaliser, Python only prints it), or waits on a blocked call until it returns.
_STOPPING = threading.Event()


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP (`kill`, a closed terminal) end the demo as Ctrl-C does, so the
    worker, scheduler and web server stop with it rather than keep running, and the port."""

    def end(signum: int, frame: object) -> None:
        _STOPPING.set()
        raise KeyboardInterrupt

    numbers = (signal.SIGTERM, signal.SIGHUP)
    for number in numbers:
        signal.signal(number, end)
    # A process inherits its parent's blocked signals: one started by a tool that blocks
    # them would never hear them.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, numbers)


def run_until_stopped(processes: list[subprocess.Popen]) -> bool:
    """Wait while every process runs: True when Ctrl-C or a signal asked the demo to stop,
    False when one of them ended by itself. It polls, so a signal ends it within a moment
    whichever thread the signal reached."""
    try:
        while not _STOPPING.is_set() and all(p.poll() is None for p in processes):
            time.sleep(0.2)
    except KeyboardInterrupt:
        return True
    return _STOPPING.is_set()


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


def check_counts(env: dict[str, str]) -> None:
    """Each workspace holds its own file's customers, and nothing of the other's."""
    code = (
        "from customers.models import Customer; from workspaces.models import Workspace; "
        "print(' '.join(f'{w.slug}={Customer.objects.in_workspace(w).count()}' "
        "for w in Workspace.objects.all()))"
    )
    counts = dict(pair.split("=") for pair in django_says(code, env).split())
    for shop in WORKSPACES:
        found = int(counts.get(shop.slug, 0))
        assert found == shop.customers, f"{shop.name}: {found} customers, not {shop.customers}"
        print(f"  ok: {shop.name} holds its {found:,} customers", flush=True)


def check_user(base: str, username: str, password: str, roles: dict[str, str]) -> None:
    browser = Browser(base)
    status, page = browser.get("/account/login/")
    assert status == 200 and "Sign in" in page, f"login page answered {status}"
    status, page = browser.post("/account/login/", {"username": username, "password": password})
    assert status == 200, f"{username}: sign-in answered {status}"
    assert username in page and "Log out" in page, f"{username}: not signed in"
    for shop in WORKSPACES:
        role = roles[shop.slug]
        status, page = browser.get(f"/w/{shop.slug}/")
        assert status == 200, f"{username} in {shop.name}: answered {status}"
        assert f'data-role="workspace-name">{shop.name}<' in page, f"{username}: not in {shop.name}"
        assert f"({role})" in page, f"{username} should be {role} in {shop.name}"
        for other in WORKSPACES:
            if other is not shop:
                assert f'href="/w/{other.slug}/"' in page, f"{username}: no switch to {other.name}"
        nav = ROLE_NAV[role]
        for text in nav["must"]:
            assert text in page, f"{username} ({role} in {shop.name}) should see '{text}'"
        for text in nav["must_not"]:
            assert text not in page, f"{username} ({role} in {shop.name}) should not see '{text}'"
        # Each sample segmentation is published: every role sees its segments and actions.
        assert "Recommended action" in page, f"{username}: no segments shown in {shop.name}"
    status, page = browser.get("/admin/")
    # Django's admin sends everyone but a superuser to its sign-in instead of its index.
    assert not (status == 200 and "Site administration" in page), f"{username}: admin access"
    where = ", ".join(f"{role} in {slug}" for slug, role in roles.items())
    print(f"  ok: {username} signs in and sees what the role allows ({where})", flush=True)


def _api(base: str, path: str, body: dict, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def check_predict(base: str, env: dict[str, str]) -> None:
    """Customer ids 12346 and 12347 are in both files: a token of each workspace gets its
    own shop's answer, the segment of its published run, or "not in the segmentation"
    where its shop's run left the customer out (Online Retail's 12346 returned all it
    bought)."""
    code = (
        "from clustering.selectors import run_published; "
        "from workspaces.models import Workspace; "
        "print(' '.join(f'{w.slug}:{c}=' + str(run_published(workspace=w).pk "
        "if run_published(workspace=w).assignments.filter(customer__external_id=c).exists() "
        "else 0) for w in Workspace.objects.all() for c in ('12346', '12347')))"
    )
    expected = dict(pair.split("=") for pair in django_says(code, env).split())
    runs = set()
    for shop in WORKSPACES:
        status, body = _api(
            base,
            "/api/v1/auth/token/",
            {"username": "manager", "password": "manager-demo-pass", "workspace": shop.slug,
             "name": "demo-check", "read_only": True},
        )  # fmt: skip
        assert status == 201, f"token for {shop.name}: {status} {body}"
        for customer in ("12346", "12347"):
            status, answer = _api(
                base, "/api/v1/predict/", {"customer_id": customer}, body["token"]
            )
            run = expected[f"{shop.slug}:{customer}"]
            if run == "0":
                assert status == 404, f"{customer} in {shop.name}: {status} {answer}"
                assert answer["code"] == "customer_not_in_segmentation", answer
                said = "not in the segmentation"
            else:
                assert status == 200, f"predict {customer} in {shop.name}: {status} {answer}"
                assert str(answer["run_id"]) == run, f"{shop.name}: {answer}"
                runs.add(run)
                said = answer["segment_name"]
            print(f"  ok: predict {customer} with a {shop.name} token: {said}", flush=True)
    assert len(runs) == len(WORKSPACES), "each workspace answers from its own published run"


def demo_users(env: dict[str, str]) -> list[tuple[str, str, dict[str, str]]]:
    """(username, password, {workspace slug: role}), from create_demo_users, their source."""
    code = (
        "import json; from accounts.management.commands.create_demo_users import DEMO_USERS; "
        "print(json.dumps(DEMO_USERS))"
    )
    return [tuple(user) for user in json.loads(django_says(code, env))]


def check_site(base: str, env: dict[str, str]) -> None:
    check_counts(env)
    for username, password, roles in demo_users(env):
        check_user(base, username, password, roles)
    check_predict(base, env)

    # The worker consumes a real task: the manager asks it to check in.
    browser = Browser(base)
    browser.get("/account/login/")
    browser.post("/account/login/", {"username": "manager", "password": "manager-demo-pass"})
    home = f"/w/{WORKSPACES[0].slug}/"
    browser.post(f"{home}runs/worker/ping/", {})
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        _, page = browser.get(home)
        if re.search(r'status ok">running', page):
            print("  ok: the background worker executed a task", flush=True)
            return
        time.sleep(1)
    raise SystemExit("The background worker did not execute the check-in task within 90 s")


def logins(env: dict[str, str]) -> str:
    names = {shop.slug: shop.name for shop in WORKSPACES}
    return "\n".join(
        f"  {username} / {password}: "
        + ", ".join(f"{role} in {names[slug]}" for slug, role in roles.items())
        for username, password, roles in demo_users(env)
    )


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

    stop_on_signals()
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
            "Sign in as (username / password: role in each workspace):\n" + logins(env),
            flush=True,
        )
        return 0 if run_until_stopped(processes) else 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop(processes)


if __name__ == "__main__":
    sys.exit(main())
