# A real visit played through the Python bindings against a real sync server on 127.0.0.1:
# enrol, create a household, record a visit with the customer's signature, collect arrears against
# a numbered receipt, sync, and see it all on a second device. Also the failures the app must
# handle: no enrolment, wrong or used codes, no network, a revoked device, refused changes.
import asyncio
import threading

import pytest

import gridbook as gb
from testkit import APP_VERSION, CHINA, COMPANY, GRID, NOW_MS, STAFF_NO, building, household, signature_pad, open_store


class Recorder(gb.SyncObserver):
    """The app's sync indicator: remembers every status it is given."""

    def __init__(self):
        self.seen = []
        self.lock = threading.Lock()

    def on_status(self, status):
        with self.lock:
            self.seen.append(status)


def phase_name(variant):
    """PUSHING for a SyncPhase.PUSHING (the generated classes are named "SyncPhase.PUSHING")."""
    return type(variant).__name__.split(".")[-1]


def run(coro):
    return asyncio.run(coro)


def enrolled_phone(server, path, key=None):
    store = open_store(str(path))
    sync = gb.GridbookSync(store, APP_VERSION)
    enrolment = run(sync.enrol(server.url, server.enrol_code(), key))
    return store, sync, enrolment


class KeystoreSigner(gb.DeviceSigner):
    """The device key as the app provides it (here Python over a key in memory)."""

    def __init__(self):
        self.inner = gb.in_memory_device_key(None)

    def public_key(self):
        return self.inner.public_key()

    def sign(self, message):
        return self.inner.sign(message)


def test_a_visit_with_signature_and_receipt_reaches_a_second_device(server, tmp_path):
    key = KeystoreSigner()
    phone_a = open_store(str(tmp_path / "a.db"))
    sync_a = gb.GridbookSync(phone_a, APP_VERSION)
    assert not sync_a.is_enrolled() and sync_a.status().enrolled is False

    enrolment = run(sync_a.enrol(server.url, server.enrol_code(), key))
    assert enrolment.manager_id == "mgr-1" and enrolment.manager_name == "李经理"
    assert enrolment.grids == [GRID] and enrolment.device_id == phone_a.device_id() and enrolment.token
    assert sync_a.is_enrolled()
    assert phone_a.registered_public_key() == key.public_key().hex()

    # The archive: building, then the household after the duplicate check.
    b = phone_a.create_premises(building())
    candidate = household(b.id)
    assert phone_a.possible_duplicates(candidate) == []
    h = phone_a.create_household(candidate)
    report = run(sync_a.sync_once())
    assert (report.pushed, report.acknowledged, report.rejected) == (2, 2, 0)
    # the first sync brings a book of receipt numbers
    assert (report.receipt_blocks_added, report.receipt_numbers_left) == (1, 100)
    [book] = phone_a.receipt_blocks()
    assert (book.used, book.left) == (0, 100)
    number = phone_a.next_receipt_no()
    assert number and number.startswith(book.block.prefix)

    # Billing puts the household's debt on the server; the phone receives it on the next pull.
    account_id = server.admin("add-arrears", "--grid", GRID, "--household", h.id, "--account-no", "A1",
                              "--owed-fen", "12800", "--months", "2")
    report = run(sync_a.sync_once())
    assert report.pulled >= 1
    [line] = phone_a.grid_arrears(GRID)
    assert (line.account.id, line.account.owed_fen, line.remaining_fen) == (account_id, 12_800, 12_800)
    assert line.customer_name == "王芳"

    # The visit; the customer reads the work order and signs it.
    visit = gb.Visit(
        grid_id=GRID, household_id=h.id, appointment_at_ms=NOW_MS - 300_000, arrived_at_ms=NOW_MS,
        zone_offset_min=CHINA, purpose=gb.VisitPurpose.ARREARS, outcome="客户同意当场缴费",
        needs="想了解千兆宽带", competitor_info="移动推129元融合", follow_up="送千兆宽带报价单",
        follow_up_due="2026-11-25", manager_id="mgr-1")
    assert "送千兆宽带报价单" in gb.work_order_text(visit)
    visit_pad = signature_pad()
    assert gb.check_signature(visit_pad).flags == []
    signed_visit = phone_a.record_signed_visit(
        visit, gb.SignatureCapture(pad=visit_pad, signer_name="王芳", relation=gb.SignerRelation.HOUSEHOLDER()), key)
    visit = signed_visit.visit

    # Arrears collected: 200.00 received for 128.00, 72.00 change, on the next number of the book.
    receipt_pad = signature_pad(points=28)
    draft = gb.Receipt(
        grid_id=GRID, receipt_no="", account_id=account_id, household_id=h.id,
        owed_before_fen=12_800, amount_fen=12_800, cash_received_fen=20_000, change_fen=7_200,
        method=gb.PaymentMethod.CASH, collected_at_ms=NOW_MS + 60_000, zone_offset_min=CHINA, collector_id="mgr-1")
    with pytest.raises(gb.GridbookError.Invalid) as e:  # 唱收唱付: the change must be right
        phone_a.record_signed_receipt(gb.Receipt(**{**draft.__dict__, "change_fen": 7_000}), gb.SignatureCapture(
            pad=receipt_pad, signer_name="王芳", relation=gb.SignerRelation.HOUSEHOLDER()), key)
    assert e.value.field == "change_fen"
    with pytest.raises(gb.GridbookError.Invalid) as e:  # only the registered key seals
        phone_a.record_signed_receipt(draft, gb.SignatureCapture(
            pad=receipt_pad, signer_name="王芳", relation=gb.SignerRelation.HOUSEHOLDER()), gb.in_memory_device_key(None))
    assert e.value.field == "device_key"
    signed = phone_a.record_signed_receipt(draft, gb.SignatureCapture(
        pad=receipt_pad, signer_name="王芳", relation=gb.SignerRelation.HOUSEHOLDER()), key)
    receipt = signed.receipt
    assert receipt.receipt_no == number and receipt.device_id == phone_a.device_id()
    assert receipt.signature_id == signed.signature.id
    assert signed.signature.document_kind == gb.SignedDocument.RECEIPT
    # the copy as the server configures it, delivered by the first sync: company, collector, staff number
    assert phone_a.receipt_branding().company_name == COMPANY
    assert phone_a.collector_profile().staff_no == STAFF_NO and receipt.collector_staff_no == STAFF_NO
    printout = phone_a.receipt_printout(receipt.id)
    assert COMPANY in printout.html and f"工号 Staff No. {STAFF_NO}" in printout.html
    assert printout.verify_url.startswith(server.url + "/verify?no=" + number)
    assert "人民币壹佰贰拾捌元整" in printout.html and number in printout.html
    assert signed.verification_code in printout.html and printout.verification_code == signed.verification_code
    assert printout.png[:4] == b"\x89PNG" and printout.signature_svg.startswith("<svg")
    with pytest.raises(gb.GridbookError.Invalid) as e:  # a receipt number is used once
        phone_a.record_signed_receipt(gb.Receipt(**{**draft.__dict__, "receipt_no": number}), gb.SignatureCapture(
            pad=receipt_pad, signer_name="王芳", relation=gb.SignerRelation.HOUSEHOLDER()), key)
    assert e.value.field == "receipt_no"
    [line] = phone_a.grid_arrears(GRID)
    assert (line.collected_unsynced_fen, line.remaining_fen) == (12_800, 0)
    assert sync_a.status().pending == 4  # two signatures, the visit, the receipt: counted at once

    # Sync with the indicator listening.
    recorder = Recorder()
    sync_a.set_observer(recorder)
    report = run(sync_a.sync_once())
    assert (report.pushed, report.acknowledged, report.rejected) == (4, 4, 0), phone_a.rejected_changes()
    phases = [phase_name(s.phase) for s in recorder.seen]
    assert "PUSHING" in phases and "PULLING" in phases and phases[-1] == "IDLE", phases
    status = sync_a.status()
    assert status.enrolled and status.pending == 0 and status.rejected == 0
    assert status.last_success_ms is not None and status.last_error is None
    # the server took the payment off the account; the phone pulled that
    assert phone_a.arrears_account(account_id).owed_fen == 0
    assert phone_a.grid_arrears(GRID) == []

    # A second phone of the same manager sees all of it, signatures included.
    phone_b, sync_b, enrolment_b = enrolled_phone(server, tmp_path / "b.db")
    assert enrolment_b.device_id == phone_b.device_id() != phone_a.device_id()
    report = run(sync_b.sync_once())
    assert report.pulled >= 7  # premises, household, account, visit, receipt, two signatures
    seen = phone_b.household(h.id)
    assert seen.customer_name == "王芳" and seen.mobile == "138****5678"
    assert seen.id_number == phone_a.household(h.id).id_number and "*" in seen.id_number
    assert phone_b.household_revealed(h.id, "test: second device has the full archive").id_number == h.id_number
    assert [x.id for x in phone_b.households_in_premises(b.id)] == [h.id]
    history = phone_b.household_history(h.id)
    assert [phase_name(e) for e in history] == ["VISIT_ENTRY", "RECEIPT_ENTRY"]
    assert history[0].visit == visit
    got = history[1].receipt
    assert history[1].voided is False
    assert got == receipt
    assert (got.receipt_no, got.amount_fen, got.cash_received_fen, got.change_fen) == (number, 12_800, 20_000, 7_200)
    visit_sig = phone_b.signature(visit.signature_id)
    assert visit_sig == signed_visit.signature
    assert (visit_sig.signer_name, visit_sig.document_kind, visit_sig.document_id) == ("王芳", gb.SignedDocument.WORK_ORDER, visit.id)
    assert phone_b.signature(got.signature_id) == signed.signature
    again = phone_b.receipt_printout(got.id)
    assert again.verification_code == signed.verification_code and again.html == printout.html
    assert [v.id for v in phone_b.follow_ups_due(GRID, "2026-11-30")] == [visit.id]
    summary = phone_b.grid_summary(GRID)
    assert (summary.households, summary.buildings) == (1, 1)
    assert phone_b.arrears_account(account_id).owed_fen == 0
    assert phone_b.outbox_counts().pending == 0


def test_sync_before_enrolment_says_unauthorized(store_path):
    sync = gb.GridbookSync(open_store(store_path), APP_VERSION)
    with pytest.raises(gb.GridbookError.Unauthorized):
        run(sync.sync_once())


def test_enrolment_survives_reopening_the_store(server, tmp_path):
    store, sync, _ = enrolled_phone(server, tmp_path / "a.db")
    del sync
    again = gb.GridbookSync(open_store(str(tmp_path / "a.db")), APP_VERSION)
    assert again.is_enrolled()
    assert run(again.sync_once()).rejected == 0


def test_wrong_and_used_codes(server, tmp_path):
    sync = gb.GridbookSync(open_store(str(tmp_path / "a.db")), APP_VERSION)
    with pytest.raises(gb.GridbookError.Unauthorized):
        run(sync.enrol(server.url, "AAAA-BBBB-CC", None))
    assert not sync.is_enrolled()
    code = server.enrol_code()
    run(sync.enrol(server.url, code, None))
    other = gb.GridbookSync(open_store(str(tmp_path / "b.db")), APP_VERSION)
    with pytest.raises(gb.GridbookError.Rejected) as e:
        run(other.enrol(server.url, code, None))
    assert e.value.code == "code_used"
    with pytest.raises(gb.GridbookError.Invalid) as e:
        run(other.enrol(server.url, "  ", None))
    assert e.value.field == "code"


def test_no_server_is_a_network_error_and_the_phone_shows_offline(store_path, tmp_path):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    store = open_store(store_path)
    store.create_household(household())
    sync = gb.GridbookSync(store, APP_VERSION)
    sync.connect(f"http://127.0.0.1:{port}", "some-token")
    recorder = Recorder()
    sync.set_observer(recorder)
    with pytest.raises(gb.GridbookError.Network):
        run(sync.sync_once())
    status = sync.status()
    assert isinstance(status.phase, gb.SyncPhase.OFFLINE) and status.phase.retry_at_ms > 0
    assert status.pending == 1 and status.last_error
    assert isinstance(recorder.seen[-1].phase, gb.SyncPhase.OFFLINE)
    with pytest.raises(gb.GridbookError.Invalid):
        sync.connect("", "token")


def test_a_revoked_device_is_told_to_enrol_again(server, tmp_path):
    store, sync, enrolment = enrolled_phone(server, tmp_path / "a.db")
    run(sync.sync_once())
    server.admin("revoke-device", "--device", enrolment.device_id)
    store.create_household(household())
    with pytest.raises(gb.GridbookError.Unauthorized):
        run(sync.sync_once())
    assert isinstance(sync.status().phase, gb.SyncPhase.FAILED)
    assert store.outbox_counts().pending == 1  # nothing is lost


def test_refused_changes_wait_with_their_reason_until_discarded(server, tmp_path):
    store, sync, _ = enrolled_phone(server, tmp_path / "a.db")
    ok = store.create_household(household())
    stray = store.create_household(household(grid_id="g2", room="101", mobile="13900002222",
                                             id_type=None, id_number=""))
    report = run(sync.sync_once())
    assert (report.acknowledged, report.rejected) == (1, 1)
    [refused] = store.rejected_changes()
    assert refused.entity_id == stray.id and refused.kind == "household" and refused.grid_id == "g2"
    assert refused.is_create and "customer_name" in refused.fields
    assert refused.code == "outside_grids" and refused.reason
    status = sync.status()
    assert (status.pending, status.rejected) == (0, 1)
    # a refused change never blocks the others, and stays until someone decides
    run(sync.sync_once())
    assert [r.op_id for r in store.rejected_changes()] == [refused.op_id]
    assert store.discard_rejected(refused.op_id, "mgr-1") is True
    assert store.discard_rejected(refused.op_id, "mgr-1") is False
    assert store.rejected_changes() == [] and store.outbox_counts().rejected == 0
    assert store.household(ok.id).customer_name == "王芳"


def test_a_refused_change_retried_after_its_cause_is_fixed_reaches_the_server(server, tmp_path):
    store, sync, _ = enrolled_phone(server, tmp_path / "a.db")
    stray = store.create_household(household(grid_id="g2", room="101", mobile="13900002222",
                                             id_type=None, id_number=""))
    assert run(sync.sync_once()).rejected == 1
    [refused] = store.rejected_changes()
    server.admin("assign-grid", "--manager", "mgr-1", "--grid", "g2")  # the back office fixes the cause
    assert store.retry_rejected(refused.op_id) is True
    assert store.retry_rejected(refused.op_id) is False  # it is pending now, not refused
    report = run(sync.sync_once())
    assert (report.acknowledged, report.rejected) == (1, 0)
    assert store.rejected_changes() == [] and store.outbox_counts().pending == 0
    phone_b, sync_b, _ = enrolled_phone(server, tmp_path / "b.db")
    run(sync_b.sync_once())
    assert phone_b.household(stray.id).customer_name == "王芳"


class Broken(gb.SyncObserver):
    """An indicator that throws: it must not take the sync down with it."""

    def __init__(self):
        self.calls = 0

    def on_status(self, status):
        self.calls += 1
        raise RuntimeError("the UI fell over")


def test_an_observer_that_throws_does_not_break_the_sync(server, tmp_path):
    store, sync, _ = enrolled_phone(server, tmp_path / "a.db")
    broken = Broken()
    sync.set_observer(broken)
    store.create_household(household())
    report = run(sync.sync_once())
    assert report.acknowledged == 1 and broken.calls >= 2
    assert sync.status().pending == 0 and phase_name(sync.status().phase) == "IDLE"


def test_an_appointment_booked_on_one_phone_is_kept_on_another(server, tmp_path):
    phone_a, sync_a, _ = enrolled_phone(server, tmp_path / "a.db")
    h = phone_a.create_household(household())
    agreed = NOW_MS + 3_600_000
    booked = phone_a.book_appointment(gb.Appointment(
        grid_id=GRID, household_id=h.id, manager_id="mgr-1", agreed_at_ms=agreed, zone_offset_min=CHINA,
        purpose=gb.VisitPurpose.SALE, status=gb.AppointmentStatus.BOOKED, note="客户下班后在家"))
    assert [a.id for a in phone_a.appointments_on(GRID, "2026-11-18", CHINA)] == [booked.id]
    [stop] = phone_a.day_plan(GRID, "2026-11-18", CHINA).stops
    assert stop.customer_name == "王芳" and phase_name(stop.items[0]) == "APPOINTMENT_ITEM"
    run(sync_a.sync_once())

    phone_b, sync_b, _ = enrolled_phone(server, tmp_path / "b.db")
    run(sync_b.sync_once())
    assert phone_b.appointment(booked.id) == booked
    phone_b.confirm_appointment(booked.id)
    kept = phone_b.record_appointment_visit(booked.id, gb.Visit(
        grid_id=GRID, household_id=h.id, arrived_at_ms=agreed + 5 * 60_000, zone_offset_min=CHINA,
        purpose=gb.VisitPurpose.SALE, outcome="办理千兆提速", manager_id="mgr-1"))
    assert kept.appointment.status == gb.AppointmentStatus.DONE and kept.appointment.visit_id == kept.visit.id
    assert gb.punctuality(kept.visit.appointment_at_ms, kept.visit.arrived_at_ms) == gb.Punctuality.ON_TIME()
    with pytest.raises(gb.GridbookError.Invalid) as e:
        phone_b.cancel_appointment(booked.id, "客户改主意")
    assert e.value.field == "status"
    run(sync_b.sync_once())

    run(sync_a.sync_once())
    done = phone_a.appointment(booked.id)
    assert done.status == gb.AppointmentStatus.DONE and done.visit_id == kept.visit.id
    assert phone_a.late_appointments(GRID, agreed + 3_600_000) == []


def test_the_core_log_reaches_the_app_log_sink_as_messages_only(server, tmp_path, log_lines):
    store, sync, _ = enrolled_phone(server, tmp_path / "a.db")
    # A fresh phone of a small grid asks for a snapshot file, gets none, and pulls row pages: the
    # core logs it (sync_client), with the server's code beside the message.
    report = run(sync.sync_once())
    assert report.snapshot_file_rows == 0 and report.snapshot_file_error is None
    core = [(level, message) for level, target, message in log_lines.taken() if target.startswith("gridbook_core::")]
    assert (gb.LogLevel.INFO, "no snapshot file for this device; pulling row pages") in core
    assert not [line for line in log_lines.taken() if "no_snapshot_file" in line[2]]  # fields stay out
    assert all(target.startswith("gridbook_") for _, target, _ in log_lines.taken())
