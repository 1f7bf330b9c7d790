// Collection, the arrears notice and the customer's receipt through core-logic against a real
// sync server on 127.0.0.1 (receipt books and debts come from it): a second tap on "collect"
// records one receipt and keeps it on screen, "sign again" drops the receipt's signature, a
// WeChat payment carries its 交易单号 to the server and to a second phone, collection starts from
// the household page and the arrears list, a notice is recorded once, and the receipt is shared
// as a picture and printed for a Bluetooth printer — the first print the original, every other
// one a copy.
package app.gridbook.tests

import app.gridbook.ffi.core.ArrearsLine
import app.gridbook.ffi.core.HistoryEntry
import app.gridbook.ffi.core.NoticeChannel
import app.gridbook.ffi.PaperWidth
import app.gridbook.ffi.core.PaymentMethod
import app.gridbook.ffi.core.Position
import app.gridbook.logic.ArchiveRepository
import app.gridbook.logic.ArrearsModel
import app.gridbook.logic.CollectionModel
import app.gridbook.logic.Drafts
import app.gridbook.logic.FieldworkRepository
import app.gridbook.logic.HouseholdModel
import app.gridbook.logic.LocalChanges
import app.gridbook.logic.MemoryPrintLog
import app.gridbook.logic.NoticeModel
import app.gridbook.logic.ReceiptPrinting
import app.gridbook.logic.Session
import app.gridbook.logic.TicketRepository
import app.gridbook.logic.TodayModel
import app.gridbook.logic.WorkdayRepository
import app.gridbook.logic.localToUtcMs
import app.gridbook.logic.positionOf
import app.gridbook.logic.printerChunks
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.io.File
import java.nio.ByteBuffer

/** Debian's fonts-noto-cjk (.ci/install-tools); phones pass their own system font. */
private val CJK_FONT = File("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")

class CollectionFlowTest {
    @get:Rule val tmp = TemporaryFolder()
    private lateinit var server: SyncServer

    @Before fun startServer() {
        server = SyncServer.withGrid(tmp.newFolder("server"))
    }

    @After fun stopServer() = server.close()

    /** An enrolled phone with a household owing 128.00 and a receipt book, wired as the app does. */
    private inner class Ready(name: String) {
        val phone = Phone(tmp.newFile("$name.db"))
        val changes = LocalChanges()
        val session: Session
        val fieldwork: FieldworkRepository
        val archive: ArchiveRepository
        val householdId: String
        val line: ArrearsLine

        init {
            session = runBlocking { phone.sync.enrol(server.url, server.enrolCode(), phone.key).getOrThrow() }
            fieldwork = FieldworkRepository(phone.store, phone.key, Dispatchers.IO) { phone.sync.localChange(); changes.bump() }
            archive = ArchiveRepository(phone.store, Dispatchers.IO) { phone.sync.localChange(); changes.bump() }
            householdId = phone.store.createHousehold(household()).id
            runBlocking { phone.sync.syncNow().getOrThrow() }
            server.admin("add-arrears", "--grid", GRID, "--household", householdId, "--account-no", "A1", "--owed-fen", "12800", "--months", "2")
            runBlocking { phone.sync.syncNow().getOrThrow() }
            line = runBlocking { fieldwork.arrears(GRID).getOrThrow() }.single()
        }

        fun collection(drafts: Drafts? = null) = CollectionModel(fieldwork, session, { NOW_MS }, { CHINA }, drafts)
        fun receipts() = phone.store.householdHistory(householdId).filterIsInstance<HistoryEntry.ReceiptEntry>()
        fun notices() = phone.store.householdHistory(householdId).filterIsInstance<HistoryEntry.NoticeEntry>()
    }

    @Test fun aSecondTapOnCollectRecordsOneReceiptAndKeepsItOnScreen() = runBlocking {
        val p = Ready("a")
        val model = p.collection()
        model.start(p.line, "王芳")
        // indoors: no fix within the wait; the receipt is recorded all the same, saying so
        model.locate(positionOf(null, System.currentTimeMillis()))
        model.setCash("200")
        model.sign(signaturePad())
        val left = p.fieldwork.receiptNumbersLeft().getOrThrow()
        val taps = (1..2).map { async { model.collect() } }.awaitAll()
        assertEquals(listOf(true, true), taps)
        val saved = model.state.value.saved!!
        assertEquals(Position.NoFix(30_000), saved.location)
        assertNull(saved.latE6)
        assertEquals(listOf(saved.id), p.receipts().map { it.receipt.id })
        assertEquals(left - 1uL, p.fieldwork.receiptNumbersLeft().getOrThrow())
        assertNotNull(model.state.value.printoutHtml)
        // again, later: the saved receipt stays on screen, never the form before it was saved
        assertTrue(model.collect())
        assertEquals(saved, model.state.value.saved)
        assertNull(model.state.value.problem)
        assertEquals(1, p.receipts().size)
    }

    @Test fun signAgainDropsTheReceiptsSignature() = runBlocking {
        val p = Ready("a")
        val model = p.collection()
        model.start(p.line, "王芳")
        model.setCash("128")
        model.sign(signaturePad())
        model.clearSignature()
        assertNull(model.state.value.signature)
        assertFalse(model.collect())
        assertEquals("signature", model.state.value.problem!!.field)
        assertTrue(p.receipts().isEmpty())
        model.sign(signaturePad(points = 26))
        assertTrue(model.collect())
        assertEquals(1, p.receipts().size)
    }

    @Test fun aWechatPaymentCarriesItsReferenceToTheServerAndASecondPhone() = runBlocking {
        val p = Ready("a")
        val model = p.collection()
        model.start(p.line, "王芳")
        model.setMethod(PaymentMethod.WECHAT)
        assertTrue(model.state.value.asksForReference)
        assertEquals(0L, model.state.value.changeFen)  // no cash changes hands
        model.sign(signaturePad())
        assertFalse(model.collect())
        assertEquals("payment_ref", model.state.value.problem!!.field)
        model.setReference("4200 0012")  // the core's rule: no spaces
        assertFalse(model.collect())
        assertEquals("payment_ref", model.state.value.problem!!.field)
        assertTrue(p.receipts().isEmpty())
        model.setMethod(PaymentMethod.CASH)
        assertEquals("", model.state.value.paymentRef)  // cash has none
        model.setMethod(PaymentMethod.ALIPAY)
        model.setReference(" 2026111822001412341234567890 ")
        assertTrue(model.state.value.problem?.text() ?: "", model.collect())
        val saved = model.state.value.saved!!
        assertEquals("2026111822001412341234567890", saved.paymentRef)
        assertTrue(model.state.value.printoutHtml!!.contains("交易单号 Ref. 2026111822001412341234567890"))
        val report = p.phone.sync.syncNow().getOrThrow()
        assertEquals(0uL, report.rejected)  // the server checked the seal over the reference

        val b = Phone(tmp.newFile("b.db"))
        b.sync.enrol(server.url, server.enrolCode(), b.key).getOrThrow()
        b.sync.syncNow().getOrThrow()
        val seen = b.store.householdHistory(p.householdId).filterIsInstance<HistoryEntry.ReceiptEntry>().single().receipt
        assertEquals(saved, seen)
    }

    @Test fun collectionStartsFromTheHouseholdPageAndTheArrearsList() = runBlocking {
        val p = Ready("a")
        val page = HouseholdModel(p.archive, p.fieldwork, p.session.grids)
        page.open(p.householdId)
        assertEquals(listOf(p.line.account.id), page.state.value.arrears.map { it.account.id })
        val list = ArrearsModel(p.fieldwork, p.session)
        list.refresh()
        assertEquals(listOf(p.line.account.id), list.state.value.lines.map { it.account.id })
        assertEquals(12_800L, list.state.value.remainingFen)
        val today = TodayModel(p.archive, p.fieldwork, WorkdayRepository(p.phone.store, Dispatchers.IO), TicketRepository(p.phone.store, Dispatchers.IO),
            p.session, { "2026-11-18" }, { CHINA }, { NOW_MS }, p.changes)
        today.refresh()
        assertEquals(100L, today.state.value.receiptBook!!.left)
        assertFalse(today.state.value.receiptBook!!.low)

        val model = p.collection()
        model.start(page.state.value.arrears.single(), "王芳")
        model.setAmount("100")
        model.setCash("100")
        model.sign(signaturePad())
        page.edit { it.copy(notes = "周末在家") }  // typed on the page before going to collect
        assertTrue(model.collect())
        page.refreshRecords()
        assertEquals("周末在家", page.state.value.form!!.notes)  // the unsaved edit is still there
        assertTrue(page.state.value.history.any { it is HistoryEntry.ReceiptEntry })
        list.refresh()
        assertEquals(2_800L, page.state.value.arrears.single().remainingFen)
        assertEquals(2_800L, list.state.value.remainingFen)
        assertTrue(today.refreshIfChanged())
        assertEquals(2_800L, today.state.value.arrearsRemainingFen)
        assertEquals(99L, today.state.value.receiptBook!!.left)
    }

    @Test fun anUnsavedCollectionOutlivesItsScreen() = runBlocking {
        val p = Ready("a")
        val drafts = Drafts()
        val first = p.collection(drafts)
        first.start(p.line, "王芳")
        first.setMethod(PaymentMethod.WECHAT)
        first.setReference("4200001234202611181234567890")
        first.sign(signaturePad())
        val again = p.collection(drafts)
        again.start(p.line, "王芳")
        assertEquals(PaymentMethod.WECHAT, again.state.value.method)
        assertEquals("4200001234202611181234567890", again.state.value.paymentRef)
        assertNotNull(again.state.value.signature)
        assertEquals(first.state.value.receiptNo, again.state.value.receiptNo)
        assertTrue(again.collect())
        val fresh = p.collection(drafts)
        fresh.start(p.line, "王芳")
        assertEquals(PaymentMethod.CASH, fresh.state.value.method)
        assertNull(fresh.state.value.signature)
    }

    @Test fun aNoticeIsRecordedOnceWithThePromisedDay() = runBlocking {
        val p = Ready("a")
        val notice = NoticeModel(p.fieldwork, p.session, { NOW_MS }, { CHINA })
        notice.start(p.line)
        notice.edit { it.copy(channel = NoticeChannel.NOTICE_SLIP, outcome = "客户答应月底前缴清", promisedPayDate = "30/11") }
        assertFalse(notice.record())
        assertEquals("promised_pay_at_ms", notice.state.value.problem!!.field)
        notice.edit { it.copy(promisedPayDate = "2026-11-30") }
        val taps = (1..2).map { async { notice.record() } }.awaitAll()
        assertEquals(listOf(true, true), taps)
        val saved = notice.state.value.saved!!
        assertEquals(localToUtcMs("2026-11-30", "23:59", CHINA), saved.promisedPayAtMs)
        assertEquals(listOf(saved.id), p.notices().map { it.notice.id })
        assertEquals("mgr-1", saved.managerId)
    }

    @Test fun theReceiptIsSharedAndPrintedAndEveryLaterPrintIsACopy() = runBlocking {
        val p = Ready("a")
        val model = p.collection()
        model.start(p.line, "王芳")
        model.setCash("200")
        model.sign(signaturePad())
        assertTrue(model.collect())
        val receipt = model.state.value.saved!!
        // the copy as the server configures it, brought by the sync: its company, the manager's staff number
        assertEquals(COMPANY, p.fieldwork.branding().getOrThrow().companyName)
        assertEquals(STAFF_NO, receipt.collectorStaffNo)
        val html = model.state.value.printoutHtml!!
        assertTrue(html, html.contains(COMPANY) && html.contains("工号 Staff No. $STAFF_NO"))
        val log = MemoryPrintLog()
        val printing = ReceiptPrinting(p.fieldwork, log, p.phone.store.deviceId()) { CJK_FONT.readBytes() }

        // the picture for the share sheet: a PNG page 720 px wide
        val png = printing.image(receipt).getOrThrow()
        assertArrayEquals(byteArrayOf(0x89.toByte(), 'P'.code.toByte(), 'N'.code.toByte(), 'G'.code.toByte()), png.copyOfRange(0, 4))
        assertEquals(720, ByteBuffer.wrap(png, 16, 4).int)

        // the first print is the original: ESC @, then a 48-byte (384-dot) raster band
        val first = printing.job(receipt, PaperWidth.MM58).getOrThrow()
        assertFalse(first.reprint)
        assertEquals(listOf(0x1B, 0x40, 0x1D, 0x76, 0x30, 0x00, 48, 0), first.bytes.take(8).map { it.toInt() and 0xff })
        printing.printed(first)
        val second = printing.job(receipt, PaperWidth.MM58).getOrThrow()
        assertTrue(second.reprint)
        assertTrue("the copy bars add rows", second.bytes.size >= first.bytes.size + 2 * 60 * 48)
        // 80 mm paper: 576 dots, 72 bytes a row
        val wide = printing.job(receipt, PaperWidth.MM80).getOrThrow()
        assertEquals(72, wide.bytes[6].toInt() and 0xff)
        // written to the printer in small pieces, nothing lost
        val chunks = first.bytes.printerChunks(512)
        assertTrue(chunks.all { it.size <= 512 })
        assertArrayEquals(first.bytes, chunks.reduce { a, b -> a + b })

        // on another phone the receipt was never printed there, yet a print is a copy: the original went with the customer
        p.phone.sync.syncNow().getOrThrow()
        val b = Phone(tmp.newFile("b.db"))
        b.sync.enrol(server.url, server.enrolCode(), b.key).getOrThrow()
        b.sync.syncNow().getOrThrow()
        val there = FieldworkRepository(b.store, b.key, Dispatchers.IO)
        val elsewhere = ReceiptPrinting(there, MemoryPrintLog(), b.store.deviceId()) { CJK_FONT.readBytes() }
        assertTrue(elsewhere.job(there.receipt(receipt.id).getOrThrow(), PaperWidth.MM80).getOrThrow().reprint)
        // no font on the phone: said so, nothing drawn
        val noFont = ReceiptPrinting(p.fieldwork, log, p.phone.store.deviceId()) { null }
        assertEquals("font", (noFont.image(receipt).exceptionOrNull() as app.gridbook.logic.ProblemException).problem.field)
    }
}
