"""Storing shop exports' transaction lines in the database.

The files are read by the pure package transaction_files (sources, column mapping, dates,
normalising: shared with the segmentation engine's command line); staging.py writes the
lines to a staging table and moves them in set-based SQL, pgcopy.py renders PostgreSQL's
binary COPY. errors.py and normalise.py here are the moved modules under their old names.
"""
