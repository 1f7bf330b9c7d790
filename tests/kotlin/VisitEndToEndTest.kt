// A real visit played through core-logic and the Kotlin bindings against a real sync server on
// 127.0.0.1: enrol, create a household (with the duplicate check), record a visit with the
// customer's signature, collect arrears with a sealed receipt, sync, see it all on a second
// device. Also: a refused change on the sync screen, a revoked device, and the core's log reaching
// the app's log sink.
package app.gridbook.tests

import app.gridbook.ffi.GridbookSync
import app.gridbook.ffi.LogLevel
import app.gridbook.ffi.core.HistoryEntry
import app.gridbook.ffi.core.LocationFix
import app.gridbook.ffi.core.LocationProvider
import app.gridbook.ffi.core.PaymentMethod
import app.gridbook.ffi.core.PlanItem
import app.gridbook.ffi.core.Position
import app.gridbook.ffi.core.ReminderKind
import app.gridbook.ffi.core.ReminderResolution
import app.gridbook.ffi.core.SyncPhase
import app.gridbook.ffi.core.VisitPurpose
import app.gridbook.ffi.inMemoryDeviceKey
import app.gridbook.ffi.installLogSink
import app.gridbook.ffi.removeLogSink
import app.gridbook.logic.ArchiveRepository
import app.gridbook.logic.BuildingsModel
import app.gridbook.logic.CollectionModel
import app.gridbook.logic.FieldworkRepository
import app.gridbook.logic.Fix
import app.gridbook.logic.HouseholdModel
import app.gridbook.logic.MemorySessionStore
import app.gridbook.logic.ProblemKind
import app.gridbook.logic.SaveOutcome
import app.gridbook.logic.SyncLight
import app.gridbook.logic.SyncModel
import app.gridbook.logic.SyncRepository
import app.gridbook.logic.TicketRepository
import app.gridbook.logic.TodayModel
import app.gridbook.logic.VisitModel
import app.gridbook.logic.WorkdayRepository
import app.gridbook.logic.light
import app.gridbook.logic.positionOf
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.io.File

/** One phone: its store, key, repositories. */
class Phone(path: File) {
    val store = openStore(path.path)
    val key = KotlinSigner(inMemoryDeviceKey(null))
    val sessions = MemorySessionStore()
    val sync = SyncRepository(store, GridbookSync(store, APP_VERSION), sessions, Dispatchers.Unconfined)
    val archive = ArchiveRepository(store, Dispatchers.Unconfined, sync::localChange)
    val fieldwork = FieldworkRepository(store, key, Dispatchers.Unconfined, sync::localChange)
    val workday = WorkdayRepository(store, Dispatchers.Unconfined, sync::localChange)
    val tickets = TicketRepository(store, Dispatchers.Unconfined, sync::localChange)

    /** The Today screen's model for the enrolled manager, on [date] at [clockMs]. */
    fun today(date: String, clockMs: Long = System.currentTimeMillis()) =
        TodayModel(archive, fieldwork, workday, tickets, sessions.load()!!, { date }, { CHINA }, { clockMs })
}

class VisitEndToEndTest {
    @get:Rule val tmp = TemporaryFolder()
    private lateinit var server: SyncServer

    @Before fun startServer() {
        server = SyncServer.withGrid(tmp.newFolder("server"))
    }

    @After fun stopServer() = server.close()

    @Test fun aVisitWithSignatureAndReceiptReachesASecondDevice() = runBlocking {
        val a = Phone(tmp.newFile("a.db"))
        assertFalse(a.sync.isEnrolled)
        assertEquals(SyncLight.NOT_ENROLLED, a.sync.status.value.light())
        val session = a.sync.enrol(server.url, server.enrolCode(), a.key).getOrThrow()
        assertEquals("mgr-1", session.managerId)
        assertEquals(listOf(GRID), session.grids)
        assertEquals(a.store.deviceId(), session.deviceId)
        assertEquals(session, a.sessions.load())

        // buildings → a new household, after the duplicate check
        val buildings = BuildingsModel(a.archive, GRID)
        assertTrue(buildings.addPremises(building()))
        val b = buildings.state.value.premises.single()
        val form = HouseholdModel(a.archive)
        form.startNew(GRID, b.id)
        form.edit { household(b.id) }
        assertEquals(SaveOutcome.SAVED, form.save())
        val h = form.state.value.saved!!
        val twice = HouseholdModel(a.archive)
        twice.startNew(GRID, b.id)
        twice.edit { household(b.id) }
        assertEquals(SaveOutcome.CONFIRM_DUPLICATES, twice.save())
        assertEquals(h.id, twice.state.value.duplicates.single().household.id)

        val first = a.sync.syncNow().getOrThrow()
        assertEquals(2uL, first.acknowledged)
        assertEquals(0uL, first.rejected)

        // billing adds the debt; the phone receives it; Today shows it
        val accountId = server.admin("add-arrears", "--grid", GRID, "--household", h.id, "--account-no", "A1", "--owed-fen", "12800", "--months", "2")
        a.sync.syncNow().getOrThrow()
        val today = a.today("2026-11-18")
        today.refresh()
        val line = today.state.value.arrears.single()
        assertEquals(accountId, line.account.id)
        assertEquals(12_800L, today.state.value.arrearsRemainingFen)
        assertEquals(1L, today.state.value.summary!!.households)
        // the debt two months unpaid is also a 预警 at the door; closed with its outcome, it leaves the list
        val reminder = today.state.value.reminders.single().item as PlanItem.ReminderItem
        assertEquals(ReminderKind.POSTPAID_OVERDUE, reminder.reminder.kind)
        assertTrue(today.closeReminder(reminder.reminder.key, ReminderResolution.CONTACTED, "约好周五来交"))
        assertTrue(today.state.value.reminders.isEmpty())

        // receipt numbers came with the first sync
        assertEquals(100uL, a.fieldwork.receiptNumbersLeft().getOrThrow())

        // the visit, signed by the customer after reading the work order
        val visit = VisitModel(a.fieldwork, session, { NOW_MS }, { CHINA })
        visit.start(a.archive.household(h.id).getOrThrow())
        visit.edit {
            it.copy(purpose = VisitPurpose.ARREARS, outcome = "客户同意当场缴费", needs = "想了解千兆宽带",
                competitorInfo = "移动推129元融合", followUp = "送千兆宽带报价单", followUpDue = "2026-11-18")
        }
        assertTrue(visit.state.value.workOrderText.contains("送千兆宽带报价单"))
        // where the phone was at the door: the platform's fix, flagged by the system as mocked;
        // a later answer (the wait running out) does not replace it
        visit.locate(positionOf(Fix(28_228_000, 112_938_800, NOW_MS - 2_000, 9.4f, "gps", mock = true), NOW_MS))
        visit.locate(positionOf(null, NOW_MS))
        visit.sign(signaturePad())
        assertTrue(visit.state.value.problem?.text() ?: "", visit.submit())
        val savedVisit = visit.state.value.saved!!
        val located = (savedVisit.location as Position.Fix).v1
        assertEquals(LocationFix(28_228_000, 112_938_800, 10, 2_000, LocationProvider.GPS, true), located)
        assertEquals(28_228_000L, savedVisit.latE6)
        assertEquals(112_938_800L, a.store.visit(savedVisit.id).lonE6)
        assertEquals(savedVisit.location, a.store.visit(savedVisit.id).location)
        val visitSignature = visit.state.value.sealed!!
        assertEquals(visitSignature.id, savedVisit.signatureId)
        assertEquals(a.store.deviceId(), visitSignature.deviceId)

        // arrears collected: 200.00 for 128.00, change 72.00, on the book's next number
        val collect = CollectionModel(a.fieldwork, session, { NOW_MS + 60_000 }, { CHINA })
        collect.start(line, "王芳")
        val receiptNo = collect.state.value.receiptNo!!
        assertEquals(12_800L, collect.state.value.amountFen)
        assertEquals("壹佰贰拾捌元整", collect.state.value.amountCapitals)
        collect.setCash("150")
        assertEquals(2_200L, collect.state.value.changeFen)
        collect.setCash("100")
        assertEquals(null, collect.state.value.changeFen)
        assertFalse(collect.collect())
        assertEquals("cash_received_fen", collect.state.value.problem!!.field)
        collect.sign(signaturePad(points = 28))
        collect.setCash("200")  // the customer hands over 200; the signature stays, the change follows
        assertEquals(7_200L, collect.state.value.changeFen)
        assertTrue(collect.state.value.problem?.text() ?: "", collect.collect())
        val receipt = collect.state.value.saved!!
        assertEquals(receiptNo, receipt.receiptNo)
        assertEquals(PaymentMethod.CASH, receipt.method)
        assertEquals(a.store.deviceId(), receipt.deviceId)
        val html = collect.state.value.printoutHtml!!
        assertTrue(html.contains(receiptNo) && html.contains("人民币壹佰贰拾捌元整"))
        assertTrue(html.contains(collect.state.value.verificationCode!!))
        collect.setAmount("1")  // a saved receipt is never changed
        assertEquals(12_800L, collect.state.value.amountFen)
        today.refresh()
        assertEquals(0L, today.state.value.arrearsRemainingFen)
        assertEquals(listOf(savedVisit.id), today.state.value.followUps.map { it.id })

        // sync, with the indicator listening
        val screen = SyncModel(a.sync, session)
        assertEquals(SyncLight.PENDING, a.sync.status.value.light())
        assertEquals(5uL, a.sync.status.value.pending)  // the closed reminder, two signatures, the visit, the receipt: counted as saved
        screen.syncNow()
        assertEquals(null, screen.state.value.problem)
        assertEquals(5uL, screen.state.value.lastReport!!.acknowledged)
        assertEquals(0uL, screen.state.value.lastReport!!.rejected)
        val phases = a.sync.phases.value
        assertTrue(phases.toString(), phases.any { it is SyncPhase.Pushing } && phases.any { it is SyncPhase.Pulling })
        assertTrue(phases.toString(), phases.last() is SyncPhase.Idle)
        assertEquals(SyncLight.SYNCED, a.sync.status.value.light())
        today.refresh()
        assertTrue("the server took the payment off the debt", today.state.value.arrears.isEmpty())

        // the second phone
        val b2 = Phone(tmp.newFile("b.db"))
        b2.sync.enrol(server.url, server.enrolCode(), b2.key).getOrThrow()
        val pulled = b2.sync.syncNow().getOrThrow()
        assertTrue(pulled.pulled >= 7uL)  // premises, household, account, visit, receipt, two signatures
        val seen = b2.archive.household(h.id).getOrThrow()
        assertEquals("王芳", seen.customerName)
        assertEquals("138****5678", seen.mobile)
        assertEquals(ID_NUMBER, b2.archive.reveal(h.id, "核对身份 check identity").getOrThrow().idNumber)
        val history = b2.archive.history(h.id).getOrThrow()
        assertEquals(2, history.size)
        val v = (history[0] as HistoryEntry.VisitEntry).visit
        assertEquals(savedVisit, v)
        assertEquals(visitSignature, b2.fieldwork.signature(v.signatureId!!).getOrThrow())
        val r = (history[1] as HistoryEntry.ReceiptEntry)
        assertFalse(r.voided)
        assertEquals(receiptNo, r.receipt.receiptNo)
        assertEquals(listOf(12_800L, 20_000L, 7_200L), listOf(r.receipt.amountFen, r.receipt.cashReceivedFen, r.receipt.changeFen))
        assertEquals(receipt, r.receipt)
        assertNotEquals(b2.store.deviceId(), r.receipt.deviceId)
        val copy = b2.fieldwork.printout(r.receipt.id).getOrThrow()
        assertEquals(collect.state.value.verificationCode, copy.verificationCode)
        assertEquals("王芳", b2.fieldwork.signature(r.receipt.signatureId!!).getOrThrow().signerName)
        val bToday = b2.today("2026-11-30")
        bToday.refresh()
        assertEquals(listOf(savedVisit.id), bToday.state.value.followUps.map { it.id })
    }

    @Test fun aRefusedChangeWaitsOnTheSyncScreenUntilDiscarded() = runBlocking {
        val a = Phone(tmp.newFile("a.db"))
        val session = a.sync.enrol(server.url, server.enrolCode(), null).getOrThrow()
        a.store.createHousehold(household().copy(gridId = "g2", mobile = "", idType = null, idNumber = ""))
        val screen = SyncModel(a.sync, session)
        screen.syncNow()
        val refused = screen.rejected.value.single()
        assertEquals("outside_grids", refused.code)
        assertEquals("household", refused.kind)
        assertTrue(refused.reason.isNotBlank())
        assertEquals(1uL, screen.status.value.rejected)
        assertEquals(SyncLight.PENDING, screen.status.value.light())
        screen.discard(refused)
        assertTrue(screen.rejected.value.isEmpty())
        assertEquals(0uL, screen.status.value.rejected)
    }

    @Test fun aRefusedChangeRetriedAfterItsCauseIsFixedArrives() = runBlocking {
        val a = Phone(tmp.newFile("a.db"))
        val session = a.sync.enrol(server.url, server.enrolCode(), null).getOrThrow()
        val stray = a.store.createHousehold(household().copy(gridId = "g2", mobile = "", idType = null, idNumber = ""))
        val screen = SyncModel(a.sync, session)
        screen.syncNow()
        val refused = screen.rejected.value.single()
        server.admin("assign-grid", "--manager", "mgr-1", "--grid", "g2")
        screen.retry(refused)  // back in the queue, and synced at once
        assertTrue(screen.rejected.value.isEmpty())
        assertEquals(SyncLight.SYNCED, screen.status.value.light())
        val b = Phone(tmp.newFile("b.db"))
        b.sync.enrol(server.url, server.enrolCode(), null).getOrThrow()
        b.sync.syncNow().getOrThrow()
        assertEquals("王芳", b.archive.household(stray.id).getOrThrow().customerName)
    }

    @Test fun theCoreLogReachesTheAppLogSinkAsMessagesOnly() = runBlocking {
        val log = LogLines()
        installLogSink(log, LogLevel.INFO)
        try {
            // A fresh phone of a small grid asks for a snapshot file, gets none, and pulls row pages:
            // the core logs it, with the server's code beside the message.
            val a = Phone(tmp.newFile("a.db"))
            a.sync.enrol(server.url, server.enrolCode(), null).getOrThrow()
            a.sync.syncNow().getOrThrow()
            val lines = log.taken()
            val core = lines.filter { it.second.startsWith("gridbook_core::") }.map { it.first to it.third }
            assertTrue(lines.toString(), (LogLevel.INFO to "no snapshot file for this device; pulling row pages") in core)
            assertTrue(lines.none { "no_snapshot_file" in it.third })  // the fields stay out
            assertTrue(lines.all { it.second.startsWith("gridbook_") })
        } finally {
            removeLogSink()
        }
    }

    @Test fun aRevokedDeviceIsToldToEnrolAgain() = runBlocking {
        val a = Phone(tmp.newFile("a.db"))
        val session = a.sync.enrol(server.url, server.enrolCode(), a.key).getOrThrow()
        server.admin("revoke-device", "--device", session.deviceId)
        a.store.createHousehold(household())
        val result = a.sync.syncNow()
        assertEquals(ProblemKind.NEEDS_ENROLMENT, (result.exceptionOrNull() as app.gridbook.logic.ProblemException).problem.kind)
        assertEquals(SyncLight.FAILED, a.sync.status.value.light())
        assertEquals(1uL, a.store.outboxCounts().pending)
        assertNotNull(a.sync.status.value.lastError)
    }
}
