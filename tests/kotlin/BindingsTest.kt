// The generated Kotlin bindings themselves, no server: store, masking, typed errors, duplicates,
// signatures, a visit sealed by a signer written in Kotlin, receipt numbers, amounts in capitals,
// the app's log sink.
package app.gridbook.tests

import app.gridbook.ffi.GridbookException
import app.gridbook.ffi.GridbookStore
import app.gridbook.ffi.LogLevel
import app.gridbook.ffi.PadPoint
import app.gridbook.ffi.PadStroke
import app.gridbook.ffi.SignatureCapture
import app.gridbook.ffi.SignatureFlag
import app.gridbook.ffi.SignaturePad
import app.gridbook.ffi.SignerRelation
import app.gridbook.ffi.amountInCapitals
import app.gridbook.ffi.checkSignature
import app.gridbook.ffi.core.DuplicateReason
import app.gridbook.ffi.core.PaymentMethod
import app.gridbook.ffi.core.Receipt
import app.gridbook.ffi.core.SignedDocument
import app.gridbook.ffi.core.Visit
import app.gridbook.ffi.core.VisitPurpose
import app.gridbook.ffi.formatYuan
import app.gridbook.ffi.inMemoryDeviceKey
import app.gridbook.ffi.installLogSink
import app.gridbook.ffi.removeLogSink
import app.gridbook.ffi.signatureSvg
import app.gridbook.ffi.workOrderText
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.io.File

class BindingsTest {
    @get:Rule val tmp = TemporaryFolder()

    private fun store() = openStore(tmp.newFile("phone.db").path)

    @Test fun householdsAreMaskedUntilRevealedWithAPurpose() = store().use { s ->
        val h = s.createHousehold(household())
        val shown = s.household(h.id)
        assertEquals("138****5678", shown.mobile)
        assertTrue(shown.idNumber.startsWith("1101") && shown.idNumber.contains('*'))
        val e = assertThrows(GridbookException.Invalid::class.java) { s.householdRevealed(h.id, "") }
        assertEquals("purpose", e.field)
        assertEquals(ID_NUMBER, s.householdRevealed(h.id, "核对身份 check identity").idNumber)
    }

    @Test fun anUnexpectedErrorReachesTheAppLogByItsKindOnly() {
        val log = LogLines()
        installLogSink(log, LogLevel.INFO)
        try {
            val missing = File(tmp.root, "no-such-dir/phone.db").path
            assertThrows(GridbookException.Other::class.java) { openStore(missing) }
            val line = Triple(LogLevel.ERROR, "gridbook_ffi::error", "unexpected sqlite error, reported to the app as Other")
            assertTrue(log.taken().toString(), line in log.taken())
            assertTrue(log.taken().none { "no-such-dir" in it.third })  // the error's text stays out
        } finally {
            removeLogSink()
        }
    }

    @Test fun invalidInputNamesTheField() = store().use { s ->
        val e = assertThrows(GridbookException.Invalid::class.java) { s.createHousehold(household().copy(mobile = "12")) }
        assertEquals("mobile", e.field)
        assertTrue(e.rule, e.rule.contains("11 digits"))
        val nf = assertThrows(GridbookException.NotFound::class.java) { s.receipt("nope") }
        assertEquals("receipt", nf.kind)
    }

    @Test fun duplicatesAreFoundBeforeCreating() = store().use { s ->
        val b = s.createPremises(building())
        val first = s.createHousehold(household(b.id))
        val dups = s.possibleDuplicates(household(b.id).copy(customerName = "王芳芳"))
        assertEquals(listOf(first.id), dups.map { it.household.id })
        assertEquals(setOf(DuplicateReason.SAME_ADDRESS, DuplicateReason.SAME_ID_NUMBER, DuplicateReason.SAME_PHONE), dups[0].reasons.toSet())
        assertEquals(listOf(first.id), s.householdsInPremises(b.id).map { it.id })
        assertEquals(2uL, s.outboxCounts().pending)
    }

    @Test fun visitsAndFollowUps() = store().use { s ->
        val h = s.createHousehold(household())
        val v = s.recordVisit(Visit(gridId = GRID, householdId = h.id, arrivedAtMs = NOW_MS, zoneOffsetMin = CHINA.toLong(),
            purpose = VisitPurpose.RETENTION, outcome = "同意续约", followUp = "寄送新合同", followUpDue = "2026-11-20"))
        assertEquals(listOf(v.id), s.followUpsDue(GRID, "2026-11-21").map { it.id })
        assertTrue(s.followUpsDue(GRID, "2026-11-19").isEmpty())
        assertEquals(v, s.visit(v.id))
    }

    @Test fun signatureChecksAndFlags() {
        val check = checkSignature(signaturePad())
        assertTrue(check.flags.isEmpty())
        assertEquals(32, check.strokesHash.size)
        assertEquals(60u, check.points)
        val tap = SignaturePad(600u, 200u, listOf(PadStroke(listOf(PadPoint(10f, 10f, 0u, null)))))
        assertEquals(setOf(SignatureFlag.DOT, SignatureFlag.TOO_FEW_POINTS), checkSignature(tap).flags.toSet())
        val e = assertThrows(GridbookException.Invalid::class.java) { checkSignature(SignaturePad(600u, 200u, emptyList())) }
        assertEquals("signature", e.field)
        assertTrue(signatureSvg(signaturePad(), 3f, true).startsWith("<svg"))
    }

    @Test fun amounts() {
        assertEquals("壹佰贰拾捌元整", amountInCapitals(12_800))
        assertEquals("1,000.50", formatYuan(100_050))
        assertThrows(GridbookException.Invalid::class.java) { amountInCapitals(-5) }
    }

    private fun capture(name: String = "王芳") = SignatureCapture(signaturePad(), name, SignerRelation.Householder)

    private fun draftVisit(householdId: String) = Visit(
        gridId = GRID, householdId = householdId, arrivedAtMs = NOW_MS, zoneOffsetMin = CHINA.toLong(),
        purpose = VisitPurpose.SERVICE_ORDER, outcome = "已受理提速", needs = "千兆宽带", followUp = "周五上门装机",
        followUpDue = "2026-11-20", competitorInfo = "移动推129元融合", managerId = "mgr-1",
    )

    @Test fun aSignerWrittenInKotlinSealsAVisit() = store().use { s ->
        val h = s.createHousehold(household())
        val signer = KotlinSigner(inMemoryDeviceKey(null))
        val text = workOrderText(draftVisit(h.id))
        assertTrue(text, text.contains("周五上门装机") && !text.contains("移动"))
        val signed = s.recordSignedVisit(draftVisit(h.id), capture(), signer)
        assertEquals(1, signer.signed)
        assertEquals(signed.signature.id, signed.visit.signatureId)
        assertEquals(signed.signature, s.signature(signed.signature.id))
        assertEquals(SignedDocument.WORK_ORDER, signed.signature.documentKind)
        assertEquals(128, signed.signature.deviceSignature.length)
        assertEquals(3uL, s.outboxCounts().pending)
    }

    @Test fun aBrokenSignerWritesNothing() = store().use { s ->
        val h = s.createHousehold(household())
        val e = assertThrows(GridbookException.Invalid::class.java) {
            s.recordSignedVisit(draftVisit(h.id), capture(), KotlinSigner(inMemoryDeviceKey(null), broken = true))
        }
        assertEquals("device_key", e.field)
        assertTrue(e.rule, e.rule.contains("64"))
        val blank = assertThrows(GridbookException.Invalid::class.java) { s.recordSignedVisit(draftVisit(h.id), capture(" "), s.deviceKey()) }
        assertEquals("signer_name", blank.field)
        assertEquals(1uL, s.outboxCounts().pending)
    }

    @Test fun noReceiptWithoutANumberFromTheServer() = store().use { s ->
        val h = s.createHousehold(household())
        assertNull(s.nextReceiptNo())
        val e = assertThrows(GridbookException.Invalid::class.java) {
            s.recordSignedReceipt(
                Receipt(gridId = GRID, receiptNo = "", accountId = "a", householdId = h.id, owedBeforeFen = 100, amountFen = 100,
                    cashReceivedFen = 100, changeFen = 0, method = PaymentMethod.CASH, collectedAtMs = NOW_MS, zoneOffsetMin = 480),
                capture(), s.deviceKey(),
            )
        }
        assertEquals("receipt_no", e.field)
    }

    @Test fun keysFromTheSameSecretAgree() {
        val a = inMemoryDeviceKey(ByteArray(32) { 7 })
        assertArrayEquals(a.publicKey(), inMemoryDeviceKey(ByteArray(32) { 7 }).publicKey())
        assertNotEquals(a.publicKey().toList(), inMemoryDeviceKey(null).publicKey().toList())
        assertFalse(a.publicKey().all { it == 0.toByte() })
    }
}
