"""The audit log is append-only for everyone: the model, its queryset and the database."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from audit.log import record
from audit.models import AppendOnlyError, AuditEntry


@pytest.fixture
def entry(shop, make_user):
    return record(
        workspace=shop,
        action=AuditEntry.Action.TOKEN_CREATED,
        actor=make_user("admin", username="ada"),
        details={"name": "ci"},
    )


def test_record_writes_one_entry_with_the_actors_name(entry, shop):
    read = AuditEntry.objects.in_workspace(shop).get(pk=entry.pk)
    assert (read.actor_name, read.action, read.details) == ("ada", "token_created", {"name": "ci"})


def test_record_refuses_an_unknown_action_by_name(shop):
    before = AuditEntry.unscoped.count()
    with pytest.raises(ValueError, match="'token_stolen' is not an audit action"):
        record(workspace=shop, action="token_stolen")
    assert AuditEntry.unscoped.count() == before


def test_the_model_refuses_save_of_an_existing_row_and_delete(entry):
    entry.action = AuditEntry.Action.TOKEN_REVOKED
    with pytest.raises(AppendOnlyError, match="append-only"):
        entry.save()
    with pytest.raises(AppendOnlyError, match="append-only"):
        entry.delete()


def test_the_queryset_refuses_update_and_delete(entry, shop):
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.in_workspace(shop).update(actor_name="someone else")
    with pytest.raises(AppendOnlyError):
        AuditEntry.unscoped.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.unscoped.filter(pk=entry.pk).update(details={})


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditentry SET actor_name = 'someone else'",
        "UPDATE audit_auditentry SET details = '{}'",
        "UPDATE audit_auditentry SET actor_id = NULL, action = 'token_revoked'",
        "DELETE FROM audit_auditentry",
    ],
)
def test_the_database_refuses_raw_update_and_delete(entry, sql):
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql + " WHERE id = %s", [entry.pk])
    assert AuditEntry.unscoped.get(pk=entry.pk).actor_name == "ada"


def test_the_database_refuses_setting_another_actor(entry, make_user):
    other = make_user("admin", username="mallory")
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE audit_auditentry SET actor_id = %s WHERE id = %s", [other.pk, entry.pk]
        )


def test_deleting_the_actor_keeps_the_entry_and_the_name(entry, shop):
    entry.actor.delete()
    read = AuditEntry.objects.in_workspace(shop).get(pk=entry.pk)
    assert (read.actor_id, read.actor_name) == (None, "ada")


FLUSH_MARK = "flush-check"


@pytest.mark.django_db(transaction=True)
def test_a_committed_entry_leaves_with_the_test_databases_flush(shop):
    # Teardown of this test flushes every table: on SQLite through audit's flush command
    # (the DELETE trigger lets it through), on PostgreSQL by TRUNCATE. A refused flush
    # would fail this test's teardown and leave the next test a dirty database.
    record(workspace=shop, action=AuditEntry.Action.RUN_STARTED, actor_name=FLUSH_MARK)
    assert AuditEntry.objects.in_workspace(shop).filter(actor_name=FLUSH_MARK).exists()
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditentry")


@pytest.mark.django_db(transaction=True)
def test_the_next_transactional_test_finds_the_entry_gone():
    assert not AuditEntry.unscoped.filter(actor_name=FLUSH_MARK).exists()
