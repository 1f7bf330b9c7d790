# The grid manager's day (issue 7) played through the Python bindings against a real sync server on
# 127.0.0.1: sign-in, today's plan in walking order (appointments, arrears), a late appointment
# told and re-booked then kept with the customer's signature, a late arrival, an absent customer
# who leaves a follow-up for tomorrow, a complaint taken on a visit as a first-ask ticket —
# escalated, replied, closed only with the customer's confirmation — and the day's summary
# submitted and seen by a second phone and in the server's storage. Also a locked key store.
import asyncio
import datetime
import sqlite3
import time

import pytest

import gridbook as gb
from testkit import APP_VERSION, CHINA, GRID, building, household, resident_id, signature_pad, open_store

MINUTE = 60_000
HOUR = 60 * MINUTE
BEIJING = datetime.timezone(datetime.timedelta(minutes=CHINA))


def run(coro):
    return asyncio.run(coro)


def variant(value):
    """APPOINTMENT_ITEM for a PlanItem.APPOINTMENT_ITEM (generated classes are named "PlanItem.X")."""
    return type(value).__name__.split(".")[-1]


def beijing_day():
    """Today in Beijing as the phone sees it: the date, yesterday, tomorrow and the day's start (UTC ms)."""
    today = datetime.datetime.now(BEIJING).date()
    start = datetime.datetime(today.year, today.month, today.day, tzinfo=BEIJING)
    day = datetime.timedelta(days=1)
    return today.isoformat(), (today - day).isoformat(), (today + day).isoformat(), int(start.timestamp() * 1000)


def phone(server, path):
    store = open_store(str(path))
    sync = gb.GridbookSync(store, APP_VERSION)
    run(sync.enrol(server.url, server.enrol_code(), None))  # registers the store's own key
    return store, sync


def capture(name="王芳"):
    return gb.SignatureCapture(pad=signature_pad(), signer_name=name, relation=gb.SignerRelation.HOUSEHOLDER())


def appointment(household_id, at_ms, purpose=gb.VisitPurpose.SERVICE_ORDER, note=""):
    return gb.Appointment(grid_id=GRID, household_id=household_id, manager_id="mgr-1", agreed_at_ms=at_ms,
                          zone_offset_min=CHINA, purpose=purpose, status=gb.AppointmentStatus.BOOKED, note=note)


def arrival(household_id, at_ms, purpose=gb.VisitPurpose.SERVICE_ORDER, outcome=""):
    return gb.Visit(grid_id=GRID, household_id=household_id, arrived_at_ms=at_ms, zone_offset_min=CHINA,
                    purpose=purpose, outcome=outcome, manager_id="mgr-1")


def test_a_managers_day_from_sign_in_to_the_summary_the_back_office_sees(server, tmp_path):
    today, yesterday, tomorrow, day_start = beijing_day()
    now = int(time.time() * 1000)
    a, sync_a = phone(server, tmp_path / "a.db")

    # 签到: time and place
    signed_in = a.sign_in(gb.SignIn(grid_id=GRID, manager_id="mgr-1", at_ms=now, zone_offset_min=CHINA,
                                    lat_e6=28_194_000, lon_e6=112_939_000, note="营业部早会后出发"))
    assert signed_in.id and a.sign_ins_on(GRID, today, CHINA) == [signed_in]
    with pytest.raises(gb.GridbookError.Invalid) as e:
        a.sign_in(gb.SignIn(grid_id=GRID, manager_id="", at_ms=now, zone_offset_min=CHINA))
    assert e.value.field == "manager_id"

    # three doors in two buildings; 10号楼 was entered first, the walk starts at 3号楼
    b10 = a.create_premises(building("10号楼"))
    b3 = a.create_premises(building("3号楼"))
    zhao = a.create_household(household(b10.id, unit="1单元", floor=2, room="201", customer_name="赵敏",
                                        mobile="13900001111", id_number=resident_id("11010519800101011")))
    wang = a.create_household(household(b3.id, unit="2单元", floor=5, room="502"))
    li = a.create_household(household(b3.id, unit="1单元", floor=3, room="301", customer_name="李雷",
                                      mobile="13900002222", id_number=resident_id("11010519800101022")))
    run(sync_a.sync_once())
    account = server.admin("add-arrears", "--grid", GRID, "--household", zhao.id, "--account-no", "A7",
                           "--owed-fen", "12800", "--months", "2")
    run(sync_a.sync_once())

    # 预约 at the times the customers chose
    wang_at, li_at, zhao_at = day_start + 9 * HOUR, day_start + 10 * HOUR, day_start + 14 * HOUR
    wang_appt = a.book_appointment(appointment(wang.id, wang_at, note="客户上午在家"))
    li_appt = a.book_appointment(appointment(li.id, li_at, gb.VisitPurpose.CARE))
    zhao_appt = a.confirm_appointment(a.book_appointment(appointment(zhao.id, zhao_at, gb.VisitPurpose.ARREARS)).id)
    assert zhao_appt.status == gb.AppointmentStatus.CONFIRMED

    # 日工作计划: by building in door order, everything to do at each door
    plan = a.day_plan(GRID, today, CHINA)
    assert [s.household_id for s in plan.stops] == [li.id, wang.id, zhao.id]
    assert [s.premises_name for s in plan.stops] == ["3号楼", "3号楼", "10号楼"]
    # the appointment, the debt to collect, and the 预警 for a postpaid bill two months unpaid
    assert [variant(i) for i in plan.stops[2].items] == ["APPOINTMENT_ITEM", "ARREARS_ITEM", "REMINDER_ITEM"]
    assert plan.stops[2].items[1].line.remaining_fen == 12_800
    assert plan.stops[2].items[2].reminder.kind == gb.ReminderKind.POSTPAID_OVERDUE

    # running late for 王芳: the window passed, so she is told and a new time agreed
    assert [x.id for x in a.late_appointments(GRID, wang_at + 11 * MINUTE)] == [wang_appt.id]
    moved = a.reschedule_appointment(wang_appt.id, wang_at + HOUR, CHINA, "已电话告知客户迟到，改约十点")
    assert moved.status == gb.AppointmentStatus.RESCHEDULED and a.late_appointments(GRID, wang_at + 11 * MINUTE) == []
    # ... and kept at the new time, the work order signed by the customer, in one transaction
    signed = a.record_signed_visit(arrival(wang.id, wang_at + HOUR + 4 * MINUTE, outcome="宽带提速已受理"),
                                   capture(), a.device_key(), wang_appt.id)
    assert signed.appointment.status == gb.AppointmentStatus.DONE and signed.appointment.visit_id == signed.visit.id
    assert signed.punctuality == gb.Punctuality.ON_TIME() and signed.visit.appointment_at_ms == wang_at + HOUR

    # a complaint taken on that visit: first-ask, owned by whoever took it
    ticket = a.open_ticket(gb.Ticket(grid_id=GRID, household_id=wang.id, owner_manager_id="mgr-1", taken_at_ms=now,
                                     channel=gb.TicketChannel.IN_PERSON, kind=gb.TicketKind.COMPLAINT,
                                     text="晚上八点后宽带经常掉线", promised_reply_by=today,
                                     status=gb.TicketStatus.CLOSED))
    assert ticket.status == gb.TicketStatus.OPEN, "a new ticket is open whatever it was given"
    assert [t.id for t in a.open_tickets(GRID)] == [ticket.id]
    assert a.overdue_tickets(GRID, today) == []
    assert [t.id for t in a.overdue_tickets(GRID, tomorrow)] == [ticket.id], "tomorrow the promise is broken"

    # 李雷 is visited 25 minutes late
    late = a.record_appointment_visit(li_appt.id, arrival(li.id, li_at + 25 * MINUTE, gb.VisitPurpose.CARE))
    assert late.punctuality == gb.Punctuality.LATE(25) and late.appointment.status == gb.AppointmentStatus.DONE

    # 赵敏 is not in: a follow-up to re-book, due tomorrow
    absent = a.record_customer_absent(zhao_appt.id, arrival(zhao.id, zhao_at - 3 * MINUTE, gb.VisitPurpose.ARREARS),
                                      tomorrow)
    assert absent.punctuality == gb.Punctuality.ON_TIME() and absent.visit.follow_up_due == tomorrow
    assert absent.visit.outcome and absent.visit.follow_up
    assert a.follow_ups_due(GRID, today) == []
    tomorrows = a.day_plan(GRID, tomorrow, CHINA)
    [stop] = [s for s in tomorrows.stops if s.household_id == zhao.id]
    assert [variant(i) for i in stop.items] == ["FOLLOW_UP_ITEM", "ARREARS_ITEM", "REMINDER_ITEM"]
    assert stop.items[0].visit.id == absent.visit.id

    # the ticket: escalated (still the owner's), replied, closed only with the customer's confirmation
    with pytest.raises(gb.GridbookError.Invalid) as e:
        a.escalate_ticket(ticket.id, " ")
    assert e.value.field == "escalated_to"
    up = a.escalate_ticket(ticket.id, "装维班组 刘班长")
    assert (up.status, up.owner_manager_id) == (gb.TicketStatus.ESCALATED, "mgr-1")
    replied = a.reply_ticket(ticket.id, "已更换光猫，晚间测速正常")
    assert replied.status == gb.TicketStatus.REPLIED and a.open_tickets(GRID) == []
    assert [t.id for t in a.replied_tickets(GRID)] == [ticket.id]
    with pytest.raises(gb.GridbookError.Invalid) as e:
        a.close_ticket(ticket.id, False, now)
    assert e.value.field == "closure_confirmed_by_customer"
    closed = a.close_ticket(ticket.id, True, now + MINUTE)
    assert (closed.status, closed.closure_confirmed_by_customer) == (gb.TicketStatus.CLOSED, True)
    assert a.replied_tickets(GRID) == []
    with pytest.raises(gb.GridbookError.NotFound):
        a.ticket("no-such-ticket")

    # money collected at 赵敏's door later, against the next numbered receipt, signed
    a.record_signed_receipt(gb.Receipt(
        grid_id=GRID, receipt_no="", account_id=account, household_id=zhao.id, owed_before_fen=12_800,
        amount_fen=12_800, cash_received_fen=13_000, change_fen=200, method=gb.PaymentMethod.CASH,
        collected_at_ms=zhao_at + HOUR, zone_offset_min=CHINA, collector_id="mgr-1"), capture("赵敏"), a.device_key())

    # 日工作总结: what the records say, then submitted with the manager's note
    preview = a.day_summary(GRID, today, CHINA)
    assert preview.id == "" and preview.signed_in_at_ms == now
    assert (preview.visits, preview.appointments_kept, preview.appointments_on_time, preview.appointments_missed) == (3, 3, 2, 0)
    assert (preview.households_created, preview.receipts, preview.collected_fen) == (3, 1, 12_800)
    assert (preview.open_promises, preview.open_tickets) == (1, 0)
    summary = a.submit_day_summary(GRID, "mgr-1", today, CHINA, "明天回访赵敏，重新预约")
    assert summary.id and summary.manager_id == "mgr-1" and summary.note == "明天回访赵敏，重新预约"
    report = run(sync_a.sync_once())
    assert report.rejected == 0 and sync_a.status().pending == 0

    # the server holds it for the back office ...
    with sqlite3.connect(server.db) as db:
        kinds = dict(db.execute(
            "SELECT kind, count(*) FROM entities WHERE kind IN ('day_summary', 'sign_in', 'ticket', 'appointment')"
            " GROUP BY kind").fetchall())
    assert kinds == {"day_summary": 1, "sign_in": 1, "ticket": 1, "appointment": 3}

    # ... and a second phone of the grid sees the whole day
    b, sync_b = phone(server, tmp_path / "b.db")
    run(sync_b.sync_once())
    assert b.day_summaries(GRID, today) == [summary]
    assert b.sign_ins_on(GRID, today, CHINA) == [signed_in]
    assert b.ticket(ticket.id) == closed
    assert b.appointment(wang_appt.id) == signed.appointment
    assert b.visit(signed.visit.id).signature_id == signed.signature.id
    assert [s.household_id for s in b.day_plan(GRID, today, CHINA).stops] == [], "nothing left to do today"


class LockedKeystore(gb.DeviceSigner):
    """The app's key store while the phone is locked: it has a public key but will not sign."""

    def __init__(self, key):
        self.key = key

    def public_key(self):
        return self.key.public_key()

    def sign(self, message):
        raise gb.GridbookError.KeyUnavailable("用户未解锁 keystore locked")


def test_a_locked_key_store_is_its_own_error_and_keeps_the_appointment_open(store_path):
    phone_ = open_store(store_path)
    h = phone_.create_household(household())
    appt = phone_.book_appointment(appointment(h.id, 1_795_000_000_000))
    pending = phone_.outbox_counts().pending
    with pytest.raises(gb.GridbookError.KeyUnavailable) as e:
        phone_.record_signed_visit(arrival(h.id, 1_795_000_000_000), capture(), LockedKeystore(phone_.device_key()), appt.id)
    assert "keystore locked" in e.value.detail
    assert phone_.outbox_counts().pending == pending
    assert phone_.appointment(appt.id).status == gb.AppointmentStatus.BOOKED
    # unlocked, the same visit goes through
    ok = phone_.record_signed_visit(arrival(h.id, 1_795_000_000_000), capture(), phone_.device_key(), appt.id)
    assert ok.appointment.status == gb.AppointmentStatus.DONE
