"""How `make test` runs the suite: in a process per core (pytest-xdist), with the tests
that share a node id refused there, since xdist would run only one of them."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """A pytest session of its own, with its state folders under ``tmp_path``: a session
    removes its folder when it passes, which must not be this session's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "TEST_SHARD"))}
    env["VAR_DIR"] = str(tmp_path / "var" / "test-nested")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_tests_sharing_a_node_id_are_refused_under_pytest_n_and_collected_without(tmp_path):
    schema = "tests/api/test_schema.py"
    alone = _pytest(tmp_path, "--collect-only", "-q", schema)
    assert alone.returncode == 0, alone.stdout + alone.stderr
    operations = [
        line
        for line in alone.stdout.splitlines()
        if line.endswith("::test_operation_conforms_to_the_schema")
    ]
    assert len(operations) > 20  # one item per API operation, all with one node id

    spread = _pytest(
        tmp_path, "-n", "2", "-q", "-k", "test_operation_conforms_to_the_schema", schema
    )
    assert spread.returncode == 4  # a usage error, not a pass over one operation
    assert f"{schema}::test_operation_conforms_to_the_schema" in spread.stdout + spread.stderr
    assert "pytest -n would run once" in spread.stdout + spread.stderr


def test_make_test_runs_the_refused_files_in_a_pass_of_their_own():
    # the plan alone, whatever make (and its command-line variables) runs this test
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    plan = subprocess.run(
        ["make", "-n", "test", "PYTEST_ARGS="],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.replace("\\\n", " ")
    commands = [line.split() for line in plan.splitlines() if "-m pytest" in line]
    spread, serial = commands[-2], commands[-1]
    assert "-n" in spread and "--ignore=tests/api/test_schema.py" in spread
    assert "-n" not in serial and "tests/api/test_schema.py" in serial
    # the fan-out's real workers run without other test processes beside them
    assert "--ignore=tests/clustering/test_fanout.py" in spread
    assert "tests/clustering/test_fanout.py" in serial
