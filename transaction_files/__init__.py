"""Reading transaction files: layouts, column mapping, parsing rules; never imports Django.

sources.py opens a file (CSV, gzip CSV, XLSX) and streams it in chunks of text columns;
columns.py recognises the header (Online Retail, CDNOW, ...) and applies a column mapping;
dates.py parses dates in their several orders; normalise.py turns a chunk into typed,
flagged lines (returns, non-product lines) plus rejected rows; reader.py reads a whole file
into those lines. The web import (customers.importing, which stores the lines) and the
segmentation engine's command line (clustering.engine) both read files through here, so a
file means the same thing to both. An import-linter contract (pyproject.toml) keeps this
package free of Django and the apps.
"""
