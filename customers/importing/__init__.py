"""Storing shop exports' transaction lines in the database.

The files are read by the pure package transaction_files (sources, column mapping, dates,
normalising: shared with the segmentation engine's command line). Here: pipeline.py reads a
file's chunks in threads, import_pass.py runs one pass over the file and progress.py shows
it; staging.py writes the lines to a staging table and moves them in with the SQL of sql.py;
bulk_load.py loads the first lines into an empty line table (deduplicating with dedupe.py,
encoding with pgcopy.py, PostgreSQL's binary COPY). customers.services runs an import's
lifecycle on top of these.
"""
