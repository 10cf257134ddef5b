"""Where the benchmarks find the sample data: sample_data/ in the repository (see its README).

A sibling module, imported by the bench scripts as ``from sample_files import ...`` (a script's
own folder is first on sys.path); it needs nothing but the standard library.
"""

from pathlib import Path

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"
ONLINE_RETAIL = SAMPLE_DATA / "online_retail" / "online_retail.csv.gz"
CDNOW = SAMPLE_DATA / "cdnow" / "cdnow_master.csv.gz"
