"""Migration webhooks 0002: endpoints registered before alerts were posted keep receiving
what they were registered for, publications only; new endpoints take every event. Runs
`manage.py migrate` in a subprocess against a scratch database: SQLite always, PostgreSQL
when the suite runs on it."""

from __future__ import annotations

import json

from tests.scratch_db import migrate, read_rows, write_rows

SHOP = (
    "INSERT INTO workspaces_workspace (name, slug, currency, time_zone, date_order, "
    "pseudonym_key, code_page, customer_ids_kept, created_at) VALUES ('Shop', 'shop', 'USD', "
    "'UTC', '', 'key', 'cp1252', '', '2024-01-01 00:00:00')"
)
ENDPOINT = (
    "INSERT INTO webhooks_endpoint (workspace_id, url, description, secret, enabled, "
    "created_at) SELECT id, ?, '', 'whsec_x', ?, '2024-01-02 00:00:00' "
    "FROM workspaces_workspace WHERE slug = 'shop'"
)


def test_endpoints_from_before_keep_to_publications(scratch_database, tmp_path):
    db = scratch_database
    migrate(db.url, tmp_path, "workspaces")
    migrate(db.url, tmp_path, "webhooks", "0001_initial")
    enabled = True if db.mark == "%s" else 1
    write_rows(
        db.connect,
        db.mark,
        [(SHOP, ()), (ENDPOINT, ("https://a.example/hook", enabled)),
         (ENDPOINT, ("https://b.example/hook", enabled))],
    )  # fmt: skip

    migrate(db.url, tmp_path)

    rows = read_rows(db.connect, "SELECT url, events FROM webhooks_endpoint ORDER BY url")
    events = [(url, value if isinstance(value, list) else json.loads(value)) for url, value in rows]
    assert events == [
        ("https://a.example/hook", ["segmentation.published"]),
        ("https://b.example/hook", ["segmentation.published"]),
    ]
