# Signatures through the Python bindings, no server: stroke checks and flags, SVG/PNG, Chinese
# capitals, a visit recorded with the customer's sealed signature (with the store's key and with a
# signer written in Python), the work order text the customer reads, a signer that misbehaves.
import pytest

import gridbook as gb
from testkit import CHINA, GRID, NOW_MS, household, signature_pad, open_store


def test_a_handwritten_signature_passes_and_a_tap_is_flagged():
    check = gb.check_signature(signature_pad())
    assert check.flags == []
    assert len(check.strokes_hash) == 32
    assert (check.strokes, check.points) == (2, 60)
    assert check.duration_ms > 300
    tap = gb.SignaturePad(width=600, height=200, strokes=[gb.PadStroke(points=[gb.PadPoint(x=10, y=10, t_ms=0)])])
    assert set(gb.check_signature(tap).flags) == {gb.SignatureFlag.DOT, gb.SignatureFlag.TOO_FEW_POINTS}


def test_an_impossible_signature_is_invalid():
    with pytest.raises(gb.GridbookError.Invalid) as e:
        gb.check_signature(gb.SignaturePad(width=600, height=200, strokes=[]))
    assert e.value.field == "signature"
    outside = gb.SignaturePad(width=100, height=100, strokes=[gb.PadStroke(points=[gb.PadPoint(x=500, y=10, t_ms=0)])])
    with pytest.raises(gb.GridbookError.Invalid):
        gb.check_signature(outside)


def test_the_same_strokes_hash_the_same():
    assert gb.check_signature(signature_pad()).strokes_hash == gb.check_signature(signature_pad()).strokes_hash
    assert gb.check_signature(signature_pad()).strokes_hash != gb.check_signature(signature_pad(points=31)).strokes_hash


def test_svg_and_png_rendering():
    svg = gb.signature_svg(signature_pad(), 3.0, True)
    assert svg.startswith("<svg") and 'width="600"' in svg
    png = gb.signature_png(signature_pad(), 3.0, False)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(gb.GridbookError.Invalid) as e:
        gb.signature_png(signature_pad(), float("nan"), False)
    assert e.value.field == "pen_width_px"


def test_amounts_in_capitals_and_figures():
    assert gb.amount_in_capitals(12_800) == "壹佰贰拾捌元整"
    assert gb.amount_in_capitals(32_504) == "叁佰贰拾伍元零肆分"
    assert gb.format_yuan(100_050) == "1,000.50"
    with pytest.raises(gb.GridbookError.Invalid):
        gb.amount_in_capitals(-1)
    assert gb.relation_label(gb.SignerRelation.OTHER(description="邻居")) == "其他 Other: 邻居"


def visit_draft(household_id):
    return gb.Visit(grid_id=GRID, household_id=household_id, arrived_at_ms=NOW_MS, zone_offset_min=CHINA,
                    purpose=gb.VisitPurpose.SERVICE_ORDER, outcome="已受理提速", needs="千兆宽带",
                    competitor_info="移动推129元融合", follow_up="周五上门装机", follow_up_due="2026-11-20",
                    manager_id="mgr-1")


def test_the_work_order_text_is_what_the_customer_reads():
    text = gb.work_order_text(visit_draft("hh-1"))
    assert "已受理提速" in text and "千兆宽带" in text and "周五上门装机" in text and "2026-11-20" in text
    assert "移动" not in text  # competitor notes are the manager's, not the customer's


def test_a_signed_visit_keeps_the_sealed_signature(store_path):
    phone = open_store(store_path)
    h = phone.create_household(household())
    capture = gb.SignatureCapture(pad=signature_pad(), signer_name=" 王芳 ", relation=gb.SignerRelation.FAMILY_MEMBER())
    signed = phone.record_signed_visit(visit_draft(h.id), capture, phone.device_key())
    assert signed.visit.id and signed.visit.signature_id == signed.signature.id
    sig = phone.signature(signed.visit.signature_id)
    assert sig == signed.signature
    assert sig.document_kind == gb.SignedDocument.WORK_ORDER and sig.document_id == signed.visit.id
    assert sig.signer_name == "王芳" and sig.relation == gb.SignerRelation.FAMILY_MEMBER()
    assert sig.device_id == phone.device_id() and len(sig.device_signature) == 128 and sig.flags == []
    assert sig.strokes_hash == gb.check_signature(signature_pad()).strokes_hash.hex()
    assert phone.visit(signed.visit.id) == signed.visit
    assert phone.outbox_counts().pending == 3  # household, signature, visit
    with pytest.raises(gb.GridbookError.Invalid) as e:
        phone.record_signed_visit(visit_draft(h.id), gb.SignatureCapture(
            pad=signature_pad(), signer_name="  ", relation=gb.SignerRelation.HOUSEHOLDER()), phone.device_key())
    assert e.value.field == "signer_name"
    with pytest.raises(gb.GridbookError.NotFound):
        phone.signature("nope")


def test_the_same_secret_gives_the_same_key_and_a_fresh_one_differs():
    a = gb.in_memory_device_key(bytes([7] * 32))
    b = gb.in_memory_device_key(bytes([7] * 32))
    assert a.public_key() == b.public_key() and len(a.public_key()) == 32
    assert gb.in_memory_device_key(None).public_key() != a.public_key()
    assert len(a.sign(b"message")) == 64
    with pytest.raises(gb.GridbookError.Invalid) as e:
        gb.in_memory_device_key(b"short")
    assert e.value.field == "secret"


class KeystoreSigner(gb.DeviceSigner):
    """A signer written in the app's language (here Python), as the Keystore one is in Kotlin."""

    def __init__(self, inner, broken=False):
        self.inner = inner
        self.broken = broken
        self.signed = 0

    def public_key(self):
        return self.inner.public_key()

    def sign(self, message):
        self.signed += 1
        return b"\x00" * 10 if self.broken else self.inner.sign(message)


def test_a_signer_implemented_by_the_app_seals(store_path):
    phone = open_store(store_path)
    h = phone.create_household(household())
    signer = KeystoreSigner(gb.in_memory_device_key(None))
    capture = gb.SignatureCapture(pad=signature_pad(), signer_name="王芳", relation=gb.SignerRelation.HOUSEHOLDER())
    signed = phone.record_signed_visit(visit_draft(h.id), capture, signer)
    assert signer.signed == 1 and len(signed.signature.device_signature) == 128


def test_a_signer_returning_garbage_is_an_error_and_nothing_is_written(store_path):
    phone = open_store(store_path)
    h = phone.create_household(household())
    signer = KeystoreSigner(gb.in_memory_device_key(None), broken=True)
    capture = gb.SignatureCapture(pad=signature_pad(), signer_name="王芳", relation=gb.SignerRelation.HOUSEHOLDER())
    with pytest.raises(gb.GridbookError.Invalid) as e:
        phone.record_signed_visit(visit_draft(h.id), capture, signer)
    assert e.value.field == "device_key" and "64" in e.value.rule
    assert phone.outbox_counts().pending == 1
    assert phone.household_history(h.id) == []
