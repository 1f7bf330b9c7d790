# The store through the Python bindings, no server: archives with masking and the reveal trail,
# typed validation errors, duplicates, visits and follow-ups, the views, the outbox counts.
import pytest

import gridbook as gb
from testkit import CHINA, GRID, NOW_MS, building, household, signature_pad, open_store


@pytest.fixture
def phone(store_path):
    return open_store(store_path)


def test_open_gives_a_stable_device_id(store_path):
    first = open_store(store_path).device_id()
    assert len(first) >= 16
    assert open_store(store_path).device_id() == first


def test_a_store_that_cannot_be_opened_is_an_error_not_a_crash(tmp_path):
    with pytest.raises(gb.GridbookError.Other):
        open_store(str(tmp_path / "no-such-dir" / "phone.db"))


def test_an_unexpected_error_reaches_the_app_log_by_its_kind_only(tmp_path, log_lines):
    with pytest.raises(gb.GridbookError.Other):
        open_store(str(tmp_path / "no-such-dir" / "phone.db"))
    assert (gb.LogLevel.ERROR, "gridbook_ffi::error", "unexpected sqlite error, reported to the app as Other") \
        in log_lines.taken()
    assert not [line for line in log_lines.taken() if "no-such-dir" in line[2]]  # the error's text stays out


def test_household_reads_are_masked_and_reveal_needs_a_purpose(phone):
    b = phone.create_premises(building())
    h = phone.create_household(household(b.id))
    assert h.id
    shown = phone.household(h.id)
    assert shown.customer_name == "王芳"
    assert shown.mobile == "138****5678"
    assert shown.id_number.startswith("1101") and "*" in shown.id_number
    assert shown.id_number != h.id_number
    with pytest.raises(gb.GridbookError.Invalid) as e:
        phone.household_revealed(h.id, "  ")
    assert e.value.field == "purpose"
    full = phone.household_revealed(h.id, "业务受理 核对身份")
    assert full.id_number == h.id_number and full.mobile == "13812345678"


def test_invalid_input_names_the_field_and_the_rule(phone):
    with pytest.raises(gb.GridbookError.Invalid) as e:
        phone.create_household(household(mobile="1234"))
    assert e.value.field == "mobile"
    assert "11 digits" in e.value.rule
    with pytest.raises(gb.GridbookError.Invalid) as e:
        phone.create_household(household(id_number="110105198001010021"))
    assert e.value.field == "id_number"


def test_editing_from_a_masked_form_keeps_the_real_numbers(phone):
    h = phone.create_household(household())
    form = phone.household(h.id)
    edited = gb.Household(**{**form.__dict__, "notes": "晚上七点后在家"})
    saved = phone.update_household(edited)
    assert saved.notes == "晚上七点后在家"
    full = phone.household_revealed(h.id, "test: the stored numbers survive a masked edit")
    assert full.id_number == h.id_number and full.mobile == h.mobile


def test_duplicates_are_found_before_creating(phone):
    b = phone.create_premises(building())
    first = phone.create_household(household(b.id))
    again = household(b.id, customer_name="王芳芳")
    dups = phone.possible_duplicates(again)
    assert [d.household.id for d in dups] == [first.id]
    assert set(dups[0].reasons) == {gb.DuplicateReason.SAME_ADDRESS, gb.DuplicateReason.SAME_ID_NUMBER,
                                     gb.DuplicateReason.SAME_PHONE}
    assert "*" in dups[0].household.mobile
    elsewhere = household(b.id, room="1801", mobile="", id_type=None, id_number="")
    assert phone.possible_duplicates(elsewhere) == []


def test_buildings_households_and_search(phone):
    b = phone.create_premises(building())
    assert [p.name for p in phone.premises_in_grid(GRID)] == ["3号楼"]
    phone.create_household(household(b.id, room="502", customer_name="王芳"))
    phone.create_household(household(b.id, room="301", customer_name="李强", mobile="13900001111",
                                     id_type=None, id_number=""))
    assert [h.room for h in phone.households_in_premises(b.id)] == ["301", "502"]
    assert [h.customer_name for h in phone.search_households(GRID, "李强", 10)] == ["李强"]
    with pytest.raises(gb.GridbookError.Invalid):
        phone.search_households(GRID, " ", 10)


def test_visit_follow_up_history_and_not_found(phone):
    h = phone.create_household(household())
    v = phone.record_visit(gb.Visit(
        grid_id=GRID, household_id=h.id, arrived_at_ms=NOW_MS, zone_offset_min=CHINA,
        purpose=gb.VisitPurpose.SALE, outcome="有意向", needs="千兆宽带",
        competitor_info="移动推129元融合", follow_up="报价", follow_up_due="2026-11-20", manager_id="mgr-1"))
    assert phone.visit(v.id) == v
    assert [x.id for x in phone.follow_ups_due(GRID, "2026-11-20")] == [v.id]
    assert phone.follow_ups_due(GRID, "2026-11-19") == []
    history = phone.household_history(h.id)
    assert len(history) == 1 and isinstance(history[0], gb.HistoryEntry.VISIT_ENTRY)
    assert history[0].visit.needs == "千兆宽带"
    with pytest.raises(gb.GridbookError.Invalid) as e:
        phone.record_visit(gb.Visit(grid_id=GRID, household_id=h.id, arrived_at_ms=NOW_MS,
                                    zone_offset_min=CHINA, purpose=gb.VisitPurpose.CARE,
                                    follow_up_due="2026-11-20"))
    assert e.value.field == "follow_up"
    with pytest.raises(gb.GridbookError.NotFound) as e:
        phone.visit("nope")
    assert e.value.kind == "visit" and e.value.id == "nope"
    with pytest.raises(gb.GridbookError.NotFound):
        phone.household("nope")


def test_every_change_waits_in_the_outbox(phone):
    assert phone.outbox_counts().pending == 0
    b = phone.create_premises(building())
    phone.create_household(household(b.id))
    counts = phone.outbox_counts()
    assert counts.pending == 2 and counts.rejected == 0 and counts.oldest_pending_ms is not None
    assert phone.rejected_changes() == []
    assert phone.retry_rejected("no-such-op") is False


def test_a_receipt_needs_a_number_from_a_server_issued_book(phone):
    h = phone.create_household(household())
    assert phone.next_receipt_no() is None and phone.receipt_numbers_left() == 0
    assert phone.receipt_blocks() == []
    capture = gb.SignatureCapture(pad=signature_pad(), signer_name="王芳", relation=gb.SignerRelation.HOUSEHOLDER())
    with pytest.raises(gb.GridbookError.Invalid) as e:
        phone.record_signed_receipt(gb.Receipt(
            grid_id=GRID, receipt_no="", account_id="acct-1", household_id=h.id, owed_before_fen=100,
            amount_fen=100, cash_received_fen=100, change_fen=0, method=gb.PaymentMethod.CASH,
            collected_at_ms=NOW_MS, zone_offset_min=CHINA), capture, phone.device_key())
    assert e.value.field == "receipt_no" and "sync" in e.value.rule
    assert phone.outbox_counts().pending == 1  # nothing but the household was written


def test_grid_summary_counts_products_and_competitors(phone):
    b = phone.create_premises(building())
    phone.create_household(household(b.id))
    phone.create_household(household(b.id, room="301", mobile="", id_type=None, id_number="", services=[],
                                     competitor_services=[]))
    s = phone.grid_summary(GRID)
    assert (s.households, s.buildings, s.prospects) == (2, 1, 1)
    assert [(p.name, p.households, p.penetration_bp) for p in s.own_products] == [("broadband", 1, 5000)]
    assert [c.name for c in s.competitors] == ["china_mobile"]
