# Reminders (预警) and tiers through the Python bindings against a real sync server on 127.0.0.1:
# the back office loads billing figures with `admin load-billing` (tiers computed), two phones of
# one manager pull the tier and the figures, list the day's reminders, one phone closes a reminder
# with its outcome, and after a sync it is gone on the other.
import asyncio
import datetime
import json

import pytest

import gridbook as gb
from testkit import APP_VERSION, CHINA, GRID, household, open_store


def run(coro):
    return asyncio.run(coro)


def phone(server, path):
    store = open_store(str(path))
    sync = gb.GridbookSync(store, APP_VERSION)
    run(sync.enrol(server.url, server.enrol_code(), None))
    return store, sync


def test_a_reminder_listed_and_closed_on_one_phone_is_gone_on_the_other(server, tmp_path):
    today = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=CHINA)).date()
    date = today.isoformat()
    phone_a, sync_a = phone(server, tmp_path / "a.db")
    phone_b, sync_b = phone(server, tmp_path / "b.db")

    birthday = "1972-" + (today + datetime.timedelta(days=3)).strftime("%m-%d")
    h = phone_a.create_household(household(birthday=birthday))
    assert run(sync_a.sync_once()).rejected == 0

    # billing's figures for the household's mobile: the contract ends in 30 days
    contract_end = (today + datetime.timedelta(days=30)).isoformat()
    figures = tmp_path / "billing.jsonl"
    figures.write_text(json.dumps({
        "grid_id": GRID, "household_id": h.id, "service_number": "13912345678", "product": "mobile",
        "contract_end": contract_end, "period": today.strftime("%Y-%m"), "spend_fen": 12_900,
        "baseline_fen": 12_900}, ensure_ascii=False) + "\n", encoding="utf-8")
    report = json.loads(server.admin("load-billing", "--file", str(figures)))
    assert (report["received"], report["written"]) == (1, 1)
    assert report["tiers"][0]["high"] == 1

    run(sync_a.sync_once())
    run(sync_b.sync_once())
    assert phone_b.household(h.id).tier == gb.Tier.HIGH
    [profile] = phone_b.billing_profiles(h.id)
    assert (profile.contract_end, profile.service_number) == (contract_end, "139****5678")

    listed = phone_b.reminders(GRID, date)
    assert [r.kind for r in listed] == [gb.ReminderKind.CONTRACT_EXPIRY, gb.ReminderKind.BIRTHDAY]
    assert all(r.household_id == h.id and r.tier == gb.Tier.HIGH for r in listed)
    assert listed[0].service_number == "139****5678" and listed[0].date == contract_end
    assert gb.reminder_label(gb.ReminderKind.BIRTHDAY) == "生日关怀 Birthday"
    plan = phone_b.day_plan(GRID, date, CHINA)
    [stop] = plan.stops
    assert [type(i).__name__.split(".")[-1] for i in stop.items] == ["REMINDER_ITEM", "REMINDER_ITEM"]

    # phone A greets the customer and closes the birthday reminder
    greeting = next(r for r in phone_a.reminders(GRID, date) if r.kind == gb.ReminderKind.BIRTHDAY)
    closed = phone_a.close_reminder(GRID, date, greeting.key, gb.ReminderResolution.GREETED, "上门送了生日贺卡",
                                    "mgr-1", CHINA)
    assert (closed.reminder_key, closed.outcome) == (greeting.key, gb.ReminderResolution.GREETED)
    with pytest.raises(gb.GridbookError.NotFound):
        phone_a.close_reminder(GRID, date, greeting.key, gb.ReminderResolution.GREETED, "", "mgr-1", CHINA)
    assert [r.kind for r in phone_a.reminders(GRID, date)] == [gb.ReminderKind.CONTRACT_EXPIRY]

    assert run(sync_a.sync_once()).rejected == 0
    assert len(phone_b.reminders(GRID, date)) == 2  # not synced yet
    run(sync_b.sync_once())
    assert [r.kind for r in phone_b.reminders(GRID, date)] == [gb.ReminderKind.CONTRACT_EXPIRY]
    [outcome] = phone_b.reminder_outcomes(GRID)
    assert (outcome.note, outcome.manager_id, outcome.kind) == ("上门送了生日贺卡", "mgr-1", gb.ReminderKind.BIRTHDAY)
