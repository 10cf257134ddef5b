"""Migrations of webhooks: endpoints registered before alerts were posted keep receiving
what they were registered for, publications only (0002), new endpoints take every event;
alert deliveries from before name their alert once per endpoint (0005, 0006). Runs
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


ENDPOINT_WITH_EVENTS = (
    "INSERT INTO webhooks_endpoint (workspace_id, url, description, secret, enabled, events, "
    "format, created_at) SELECT id, 'https://a.example/hook', '', 'whsec_x', ?, "
    "'[\"alert.raised\"]', 'json', '2024-01-02 00:00:00' FROM workspaces_workspace "
    "WHERE slug = 'shop'"
)
DELIVERY = (
    "INSERT INTO webhooks_delivery (workspace_id, endpoint_id, event, idempotency_key, "
    "payload, status, attempts, created_at) SELECT workspace_id, id, 'alert.raised', ?, ?, "
    "'succeeded', 1, '2024-01-03 00:00:00' FROM webhooks_endpoint"
)


def test_alert_deliveries_from_before_name_their_alert(scratch_database, tmp_path):
    """Migration webhooks 0005: a JSON alert delivery's alert id moves to its own column (the
    dedupe reads it there); a chat one's body holds no id, and it stays empty."""
    db = scratch_database
    migrate(db.url, tmp_path, "workspaces")
    migrate(db.url, tmp_path, "webhooks", "0004_customer_removed_event")
    enabled = True if db.mark == "%s" else 1
    json_body = json.dumps({"event": "alert.raised", "alert": {"id": 41, "kind": "x"}})
    chat_body = json.dumps({"text": "Shop: a segment shrank."})
    write_rows(
        db.connect,
        db.mark,
        [
            (SHOP, ()),
            (ENDPOINT_WITH_EVENTS, (enabled,)),
            (DELIVERY, ("a" * 32, json_body)),
            (DELIVERY, ("b" * 32, chat_body)),
        ],
    )

    migrate(db.url, tmp_path)

    rows = read_rows(db.connect, "SELECT alert_id FROM webhooks_delivery ORDER BY id")
    assert [row[0] for row in rows] == [41, None]


def test_an_alert_announced_twice_before_keeps_its_id_on_the_first_delivery(
    scratch_database, tmp_path
):
    """Migration webhooks 0006: the constraint of one delivery per alert and endpoint would
    refuse duplicates written before it; the later ones keep their body, not the id."""
    db = scratch_database
    migrate(db.url, tmp_path, "workspaces")
    migrate(db.url, tmp_path, "webhooks", "0005_delivery_alert_id")
    enabled = True if db.mark == "%s" else 1
    body = json.dumps({"event": "alert.raised", "alert": {"id": 41, "kind": "x"}})
    other = json.dumps({"event": "alert.raised", "alert": {"id": 42, "kind": "x"}})
    write_rows(
        db.connect,
        db.mark,
        [
            (SHOP, ()),
            (ENDPOINT_WITH_EVENTS, (enabled,)),
            (DELIVERY, ("a" * 32, body)),
            (DELIVERY, ("b" * 32, body)),
            (DELIVERY, ("c" * 32, other)),
            ("UPDATE webhooks_delivery SET alert_id = 41 WHERE idempotency_key <> ?", ("c" * 32,)),
            ("UPDATE webhooks_delivery SET alert_id = 42 WHERE idempotency_key = ?", ("c" * 32,)),
        ],
    )

    migrate(db.url, tmp_path)

    rows = read_rows(db.connect, "SELECT alert_id, payload FROM webhooks_delivery ORDER BY id")
    assert [row[0] for row in rows] == [41, None, 42]
    assert all("alert.raised" in str(row[1]) for row in rows)
