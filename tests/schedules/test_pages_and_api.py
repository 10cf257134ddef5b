"""The schedule page and API: who may see and change it, validation in words, beat's
periodic task kept in step, the next firing in the workspace's time zone, the audit log."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from audit.models import AuditEntry
from schedules.models import Schedule
from schedules.services import TASK_NAME, next_firing, schedule_save

WEEKLY = {
    "enabled": True,
    "frequency": "weekly",
    "hour": 7,
    "minute": 15,
    "day_of_week": 3,
    "day_of_month": 1,
    "cron_expression": "",
    "min_stability": "stable",
    "same_segment_count": True,
    "max_member_loss": 0.25,
}


@pytest.fixture
def signed_in(make_user, shop):
    def client(role: str) -> Client:
        c = Client()
        c.force_login(make_user(role, username=f"sched-{role}", workspace=shop))
        return c

    return client


def _task(shop) -> PeriodicTask:
    return PeriodicTask.objects.get(pk=Schedule.objects.in_workspace(shop).get().periodic_task_id)


def test_a_manager_sets_the_schedule_on_the_page_and_beat_gets_a_crontab(signed_in, shop):
    shop.time_zone = "America/New_York"
    shop.save()
    manager = signed_in("manager")
    page = manager.get("/schedule/")
    assert page.status_code == 200 and b"The schedule is off" in page.content
    response = manager.post("/schedule/", {**WEEKLY, "same_segment_count": "on"})
    assert response.status_code == 302
    schedule = Schedule.objects.in_workspace(shop).get()
    assert (schedule.frequency, schedule.hour, schedule.minute, schedule.day_of_week) == (
        "weekly",
        7,
        15,
        3,
    )
    assert schedule.updated_by.username == "sched-manager"
    task = _task(shop)
    assert task.task == TASK_NAME and json.loads(task.args) == [schedule.pk] and task.enabled
    crontab = task.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_week, crontab.day_of_month) == (
        "15",
        "7",
        "3",
        "*",
    )
    assert str(crontab.timezone) == "America/New_York"
    # the next firing: a Wednesday at 07:15 in New York, within the coming week
    at = next_firing(schedule)
    assert at.tzinfo == ZoneInfo("America/New_York")
    assert (at.isoweekday(), at.hour, at.minute) == (3, 7, 15)
    assert timezone.now() < at <= timezone.now() + timezone.timedelta(days=7)
    page = manager.get("/schedule/").content.decode()
    assert "every Wednesday at 07:15 (America/New_York)" in page
    assert f"{at:%A} {at.day} {at:%b %Y} 07:15" in page


def test_a_new_time_zone_moves_beat_s_crontab_with_it(shop, make_user):
    manager = make_user("manager", username="sched-tz", workspace=shop)
    schedule_save(workspace=shop, user=manager, values=WEEKLY)
    before = _task(shop).crontab
    shop.time_zone = "Asia/Tokyo"
    shop.save()
    task = _task(shop)
    assert str(task.crontab.timezone) == "Asia/Tokyo" and task.crontab_id != before.pk
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("15", "7", "3")
    at = next_firing(Schedule.objects.in_workspace(shop).get())
    assert at.tzinfo == ZoneInfo("Asia/Tokyo") and (at.hour, at.minute) == (7, 15)


def test_turning_it_off_disables_the_task_and_each_change_is_audited(shop, make_user):
    manager = make_user("manager", username="sched-m", workspace=shop)
    schedule_save(workspace=shop, user=manager, values=WEEKLY)
    schedule_save(workspace=shop, user=manager, values={"enabled": False})
    assert not _task(shop).enabled
    assert PeriodicTask.objects.filter(task=TASK_NAME).count() == 1
    assert next_firing(Schedule.objects.in_workspace(shop).get()) is None
    entries = AuditEntry.objects.in_workspace(shop).filter(action="schedule_changed")
    assert entries.count() == 2
    assert entries.order_by("-pk").first().details["changed"] == {"enabled": False}


def test_monthly_and_cron_schedules(shop, make_user):
    manager = make_user("manager", username="sched-m2", workspace=shop)
    schedule_save(
        workspace=shop, user=manager, values={**WEEKLY, "frequency": "monthly", "day_of_month": 15}
    )
    crontab = _task(shop).crontab
    assert (crontab.day_of_month, crontab.day_of_week, crontab.hour) == ("15", "*", "7")
    schedule_save(
        workspace=shop,
        user=manager,
        values={**WEEKLY, "frequency": "cron", "cron_expression": "30 6 * * 1-5"},
    )
    crontab = _task(shop).crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_week) == ("30", "6", "1-5")
    assert PeriodicTask.objects.filter(task=TASK_NAME).count() == 1


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"frequency": "cron", "cron_expression": "every monday"}, "cron_expression",
         "needs five fields"),
        ({"frequency": "cron", "cron_expression": "61 6 * * 1"}, "cron_expression",
         "is not a valid cron expression"),
        ({"frequency": "cron", "cron_expression": ""}, "cron_expression",
         "A cron schedule needs a cron expression"),
        ({"hour": 24}, "hour", "less than or equal to 23"),
        ({"day_of_month": 31}, "day_of_month", "less than or equal to 28"),
        ({"max_member_loss": 1.5}, "max_member_loss", "less than or equal to 1"),
    ],
)  # fmt: skip
def test_bad_values_are_refused_naming_the_field(signed_in, shop, change, field, words):
    manager = signed_in("manager")
    page = manager.post("/schedule/", {**WEEKLY, **change})
    assert page.status_code == 200
    assert words in " ".join(page.context["form"].errors[field])
    api = manager.put("/api/v1/schedule/", {**WEEKLY, **change}, content_type="application/json")
    assert api.status_code == 400
    assert words in " ".join(api.json()["fields"][field])
    assert not Schedule.objects.in_workspace(shop).exists()
    assert not PeriodicTask.objects.filter(task=TASK_NAME).exists()


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"enabled": "yes"}, "enabled", "Must be true or false"),
        ({"enabled": 1}, "enabled", "Must be true or false"),
        ({"hour": "7"}, "hour", "Must be a whole number"),
        ({"max_member_loss": "0.25"}, "max_member_loss", "Must be a number"),
        ({"cron_expression": 5}, "cron_expression", "Must be text"),
    ],
)
def test_the_api_refuses_a_value_of_the_wrong_json_type(signed_in, shop, change, field, words):
    """DRF read "yes" as true and "7" as 7; a client sending those has a bug to hear about."""
    manager = signed_in("manager")
    api = manager.put("/api/v1/schedule/", {**WEEKLY, **change}, content_type="application/json")
    assert api.status_code == 400
    assert words in " ".join(api.json()["fields"][field])
    assert not Schedule.objects.in_workspace(shop).exists()


def test_marketing_may_not_see_or_change_the_schedule(signed_in):
    marketing = signed_in("marketing")
    assert marketing.get("/schedule/").status_code == 403
    assert marketing.post("/schedule/", WEEKLY).status_code == 403
    assert marketing.get("/api/v1/schedule/").status_code == 403
    put = marketing.put("/api/v1/schedule/", WEEKLY, content_type="application/json")
    assert put.status_code == 403
    assert b"Schedule<" not in marketing.get("/").content


def test_the_api_reads_and_writes_the_tokens_workspace(signed_in, shop, other_shop, make_user):
    admin = signed_in("admin")
    assert admin.get("/").content.count(b"Schedule<") == 1
    before = admin.get("/api/v1/schedule/")
    assert before.status_code == 200
    assert before.json()["enabled"] is False and before.json()["next_firing"] is None
    response = admin.put("/api/v1/schedule/", WEEKLY, content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in WEEKLY} == WEEKLY
    assert body["describe"] == "every Wednesday at 07:15"
    assert body["time_zone"] == shop.time_zone and body["updated_by"] == "sched-admin"
    assert body["next_firing"] is not None
    assert admin.get("/api/v1/schedule/").json() == body
    # the other workspace's schedule is its own
    assert not Schedule.objects.in_workspace(other_shop).exists()
    other = make_user("manager", username="other-m", workspace=other_shop)
    schedule_save(workspace=other_shop, user=other, values={"enabled": False})
    assert admin.get("/api/v1/schedule/").json()["enabled"] is True


def test_the_schema_documents_the_schedule(signed_in):
    schema = signed_in("manager").get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert set(paths["/api/v1/schedule/"]) >= {"get", "put"}
    assert "400" in paths["/api/v1/schedule/"]["put"]["responses"]


@pytest.mark.django_db(transaction=True)
def test_two_managers_saving_the_first_schedule_at_once_both_save(shop, make_user):
    """The second of two first saves waits for the first and updates its schedule."""
    from django.db import connection

    from tests.concurrent import second_writer_waits_then_runs
    from tests.conftest import require

    require(connection.vendor == "postgresql", "PostgreSQL")
    first, second = make_user("manager", "first"), make_user("manager", "second")
    error = second_writer_waits_then_runs(
        lambda: schedule_save(workspace=shop, user=first, values=WEEKLY),
        lambda: schedule_save(workspace=shop, user=second, values={"enabled": False}),
    )
    assert error is None
    schedule = Schedule.objects.in_workspace(shop).get()
    assert (schedule.enabled, schedule.updated_by) == (False, second)
