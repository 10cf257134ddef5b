"""Reading shop exports (CSV, gzip CSV, XLSX) into normalised transaction lines.

sources.py opens a file and streams it in chunks of text columns; columns.py recognises the
header and applies a mapping; normalise.py turns a chunk into typed, flagged lines plus
rejected rows; staging.py writes lines to a staging table and moves them in set-based SQL.
"""
