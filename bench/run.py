"""`make bench`: run every benchmark script in its own process and print their tables.

Each script measures its subject beside a baseline in the same run (the machines are shared
and noisy, so only same-run ratios mean much) and prints a markdown table.
Usage: python bench/run.py [--quick] [--large] [NAME ...]   (NAME: engine, import, ...)
--large adds the sections that take many minutes (scale: the fan-out on 100,000 customers;
large_shop: a million customers imported, segmented by Celery workers and served, about an
hour; BENCH_LARGE_CUSTOMERS picks another size).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Order matters: later benchmarks may rely on data the earlier ones load.
BENCHMARKS = ["import", "engine", "run", "pages", "predict", "workspaces", "scale", "large_shop"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", default=BENCHMARKS)
    parser.add_argument("--quick", action="store_true", help="the small cases only")
    parser.add_argument("--large", action="store_true", help="also the long sections")
    args = parser.parse_args()
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "segmentation_site.settings.base")
    env["PYTHONPATH"] = str(ROOT)
    failures = 0
    for name in args.names:
        script = HERE / f"bench_{name}.py"
        if not script.exists():
            print(f"\n## {name}: no benchmark yet ({script.name} missing)\n", flush=True)
            continue
        print(f"\n## {name}\n", flush=True)
        started = time.monotonic()
        quick = args.quick and "--quick" in script.read_text()  # only where it means something
        large = args.large and "--large" in script.read_text()
        command = [sys.executable, str(script)] + (["--quick"] if quick else [])
        command += ["--large"] if large else []
        result = subprocess.run(command, cwd=ROOT, env=env)
        print(f"\n({name}: {time.monotonic() - started:.0f} s, exit {result.returncode})")
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
