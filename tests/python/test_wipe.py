# The remote wipe through the Python bindings against the real sync server on 127.0.0.1 (issue
# 16): a phone with pending visits and an unsynced receipt, ordered wiped from the back office's
# command line. Retire: everything is uploaded, then the store's vault key and files go, and the
# signed report reaches the server; lost: one push after the order, the rest reported lost. The
# wiped store answers `Wiped` to every exported call; a new store at the same path enrols as new.
import asyncio
import json
import os

import pytest

import gridbook as gb
from testkit import APP_VERSION, CHINA, GRID, NOW_MS, household, signature_pad
from test_lock import refuses_every_call
from test_sync_e2e import KeystoreSigner


def run(coro):
    return asyncio.run(coro)


def phone(server, path):
    """An enrolled phone with a vault of its own (the wipe destroys it) and the app's signer,
    given to the sync at its making as the apps do."""
    vault = gb.software_vault(None)
    store = gb.GridbookStore.open(str(path), vault)
    key = KeystoreSigner()
    sync = gb.GridbookSync(store, APP_VERSION, key)
    run(sync.enrol(server.url, server.enrol_code(), key))
    return store, sync, vault, key


def wipes(server):
    return {w["device_id"]: w for w in map(json.loads, filter(None, server.admin("wipes").splitlines()))}


def day_of_work(server, store, sync, key):
    """A household and its debt on the phone, then offline: three visits and a receipt."""
    h = store.create_household(household())
    run(sync.sync_once())
    account = server.admin("add-arrears", "--grid", GRID, "--household", h.id, "--account-no", "A1",
                           "--owed-fen", "30000", "--months", "2")
    run(sync.sync_once())
    for i in range(3):
        store.record_visit(gb.Visit(
            grid_id=GRID, household_id=h.id, arrived_at_ms=NOW_MS + i,
            zone_offset_min=CHINA, purpose=gb.VisitPurpose.ARREARS, outcome=f"第{i + 1}次上门",
            manager_id="mgr-1"))
    store.record_signed_receipt(gb.Receipt(
        grid_id=GRID, receipt_no="", account_id=account, household_id=h.id, owed_before_fen=30_000,
        amount_fen=12_800, cash_received_fen=20_000, change_fen=7_200, method=gb.PaymentMethod.CASH,
        collected_at_ms=NOW_MS + 60_000, zone_offset_min=CHINA, collector_id="mgr-1"),
        gb.SignatureCapture(pad=signature_pad(), signer_name="王芳", relation=gb.SignerRelation.HOUSEHOLDER()), key)
    return h


def store_files(path):
    folder, name = os.path.split(str(path))
    return sorted(f for f in os.listdir(folder) if f.startswith(name))


def test_a_retired_phone_uploads_everything_wipes_and_enrols_again_as_new(server, tmp_path):
    path = tmp_path / "phone.db"
    store, sync, vault, key = phone(server, path)
    device = store.device_id()
    h = day_of_work(server, store, sync, key)
    assert sync.status().pending == 5  # three visits, the signature and its receipt
    assert store_files(path)

    server.admin("wipe-device", "--device", device, "--mode", "retire", "--by", "zhuguan")
    assert wipes(server)[device]["status"] == "ordered"
    with pytest.raises(gb.GridbookError.Wiped) as wiped:
        run(sync.sync_once())
    report = wiped.value.report
    assert wiped.value.reported
    assert (report.ops_uploaded, report.receipts_uploaded, report.receipts_uploaded_fen) == (5, 1, 12_800)
    assert (report.ops_lost, report.receipts_lost, report.receipts_lost_fen, report.ops_rejected) == (0, 0, 0, 0)
    assert report.mode == gb.WipeMode.RETIRE and report.device_id == device

    # the store's files and its vault's key are gone; every exported call says so
    assert store_files(path) == []
    with pytest.raises(gb.GridbookError.KeyUnavailable):
        vault.wrap(b"k" * 32)
    walked = refuses_every_call(store, sync, gb.GridbookError.Wiped, skip={"unlock"})  # unlock: below
    assert len(walked) >= 60 and "sync_once" in walked and "household" in walked, walked
    with pytest.raises(gb.GridbookError.Wiped):
        store.unlock(vault)  # never a new, empty store where the old one was
    assert store_files(path) == []

    # the back office's view: wiped, who asked, what came up and what was lost
    row = wipes(server)[device]
    assert (row["status"], row["mode"], row["ordered_by"]) == ("wiped", "retire", "zhuguan")
    assert row["report"]["receipts_uploaded_fen"] == 12_800 and row["report"]["ops_lost"] == 0
    audit = server.admin("audit", "--subject", device)
    assert "wipe_ordered" in audit and "wipe_reported" in audit

    # a new store at the same path is a new device: it enrols with a new code and gets the work back
    again = gb.GridbookStore.open(str(path), gb.software_vault(None))
    assert again.device_id() != device
    sync_again = gb.GridbookSync(again, APP_VERSION)
    run(sync_again.enrol(server.url, server.enrol_code(), None))
    run(sync_again.sync_once())
    history = again.household_history(h.id)
    assert len(history) == 4  # three visits and the receipt, uploaded before the wipe


def test_a_lost_phone_pushes_once_after_the_order_then_wipes(server, tmp_path):
    path = tmp_path / "lost.db"
    store, sync, vault, key = phone(server, path)
    device = store.device_id()
    day_of_work(server, store, sync, key)
    server.admin("wipe-device", "--device", device, "--mode", "lost", "--by", "zhuguan")
    # the sync's push (five ops fit in one) is answered with the order; one more push finds
    # nothing left, and the phone wipes
    with pytest.raises(gb.GridbookError.Wiped) as wiped:
        run(sync.sync_once())
    report = wiped.value.report
    assert wiped.value.reported and report.mode == gb.WipeMode.LOST
    assert (report.ops_uploaded, report.receipts_uploaded, report.receipts_uploaded_fen) == (5, 1, 12_800)
    assert (report.ops_lost, report.receipts_lost) == (0, 0)
    assert store_files(path) == []
    assert wipes(server)[device]["status"] == "wiped"
    with pytest.raises(gb.GridbookError.Wiped):  # and so does every later call
        run(sync.sync_once())


def test_an_order_met_by_a_refill_of_receipt_numbers_is_carried_out_there(server, tmp_path):
    path = tmp_path / "refill.db"
    store, sync, vault, key = phone(server, path)
    device = store.device_id()
    h = store.create_household(household())
    store.record_visit(gb.Visit(grid_id=GRID, household_id=h.id, arrived_at_ms=NOW_MS, zone_offset_min=CHINA,
                                purpose=gb.VisitPurpose.ARREARS, outcome="不在家", manager_id="mgr-1"))
    server.admin("wipe-device", "--device", device, "--mode", "lost", "--by", "zhuguan")
    # the refill is refused 410 with the order (the phone is told); its one push takes both ops
    with pytest.raises(gb.GridbookError.Wiped) as wiped:
        run(sync.refill_receipt_numbers())
    assert wiped.value.reported
    assert (wiped.value.report.ops_uploaded, wiped.value.report.ops_lost) == (2, 0)
    assert store_files(path) == []
    assert wipes(server)[device]["report"]["ops_uploaded"] == 2
