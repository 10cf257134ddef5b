"""A run's report as data: the stored run as JSON-ready dicts (data), chart and table data
(charts), what a segment's name rests on in words (axes), and the reads behind the segment
pages and CSV downloads (members). Pages (clustering.views, reports.views) and the API read
runs through here so they agree on names and shapes."""
