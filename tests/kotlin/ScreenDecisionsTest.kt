// What the screens decide, on the JVM over a real store and no server: a second tap on save
// writes nothing and leaves the saved result on screen, "sign again" drops the signature the form
// holds, the arrival is taken when the form is shown (not when it was made), an unsaved form
// outlives its screen, Today is read again after a visit is saved, a saved form is never updated,
// all of the manager's grids are shown, and the field basics (privacy consent, when to sync,
// which position a sign-in takes, date pickers, the receipt book, tap to call).
package app.gridbook.tests

import app.gridbook.ffi.core.Appointment
import app.gridbook.ffi.core.AppointmentStatus
import app.gridbook.ffi.GridbookStore
import app.gridbook.ffi.core.HistoryEntry
import app.gridbook.ffi.core.LocationFix
import app.gridbook.ffi.core.LocationProvider
import app.gridbook.ffi.core.Position
import app.gridbook.ffi.core.Punctuality
import app.gridbook.ffi.core.SyncPhase
import app.gridbook.ffi.SyncStatus
import app.gridbook.ffi.core.VisitPurpose
import app.gridbook.logic.ArchiveRepository
import app.gridbook.logic.BackgroundOutcome
import app.gridbook.logic.BuildingsModel
import app.gridbook.logic.Consent
import app.gridbook.logic.Drafts
import app.gridbook.logic.FieldworkRepository
import app.gridbook.logic.Fix
import app.gridbook.logic.HouseholdModel
import app.gridbook.logic.LocalChanges
import app.gridbook.logic.MemoryConsentStore
import app.gridbook.logic.Problem
import app.gridbook.logic.ProblemKind
import app.gridbook.logic.ReceiptBook
import app.gridbook.logic.Session
import app.gridbook.logic.SyncTrigger
import app.gridbook.logic.TicketRepository
import app.gridbook.logic.TodayModel
import app.gridbook.logic.VisitModel
import app.gridbook.logic.WorkdayRepository
import app.gridbook.logic.CURRENT_FIX_TIMEOUT_MS
import app.gridbook.logic.MAX_ACCURACY_M
import app.gridbook.logic.backgroundOutcome
import app.gridbook.logic.chooseFix
import app.gridbook.logic.dialable
import app.gridbook.logic.localToUtcMs
import app.gridbook.logic.pickedDate
import app.gridbook.logic.pickedTime
import app.gridbook.logic.pickerMs
import app.gridbook.logic.positionOf
import app.gridbook.logic.providerOf
import app.gridbook.logic.shouldSync
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder

class ScreenDecisionsTest {
    @get:Rule val tmp = TemporaryFolder()
    private lateinit var store: GridbookStore
    private lateinit var session: Session
    private val changes = LocalChanges()
    private var now = NOW_MS

    @Before fun open() {
        store = openStore(tmp.newFile("phone.db").path)
        session = Session(store.deviceId(), "mgr-1", "李经理", listOf(GRID))
    }

    @After fun close() = store.close()

    /** Repositories as the app wires them: store work on a real thread pool, writes counted. */
    private fun fieldwork(dispatcher: kotlinx.coroutines.CoroutineDispatcher = Dispatchers.IO) =
        FieldworkRepository(store, store.deviceKey(), dispatcher, changes::bump)
    private fun archive() = ArchiveRepository(store, Dispatchers.IO, changes::bump)
    private fun workday() = WorkdayRepository(store, Dispatchers.IO, changes::bump)
    private fun visitModel(drafts: Drafts? = null) = VisitModel(fieldwork(), session, { now }, { CHINA }, drafts)
    private fun visits(householdId: String) = store.householdHistory(householdId).filterIsInstance<HistoryEntry.VisitEntry>()

    @Test fun aSecondTapOnSaveRecordsOneVisitAndShowsTheSavedOne() = runBlocking {
        val h = store.createHousehold(household())
        val model = visitModel()
        model.start(store.household(h.id))
        model.arrive()
        model.edit { it.copy(outcome = "客户满意") }
        model.sign(signaturePad())
        val before = store.outboxCounts().pending
        // two taps before the first save returns: the store work runs on another thread
        val taps = (1..2).map { async { model.submit() } }.awaitAll()
        assertEquals(listOf(true, true), taps)
        val saved = model.state.value.saved!!
        assertEquals(listOf(saved.id), visits(h.id).map { it.visit.id })
        assertEquals(before + 2uL, store.outboxCounts().pending)  // one visit, one signature
        // a third tap long after: the same saved visit on screen, nothing written
        assertTrue(model.submit())
        assertEquals(saved, model.state.value.saved)
        assertNotNull(model.state.value.sealed)
        assertFalse(model.state.value.saving)
        assertEquals(before + 2uL, store.outboxCounts().pending)
    }

    @Test fun signAgainDropsTheSignatureTheFormHolds() = runBlocking {
        val h = store.createHousehold(household())
        val model = visitModel()
        model.start(store.household(h.id))
        model.sign(signaturePad())
        assertNotNull(model.state.value.signature)
        model.clearSignature()  // "重签": the customer starts over on a cleared pad
        assertNull(model.state.value.signature)
        assertTrue(model.state.value.signatureFlags.isEmpty())
        // saved now, the visit carries no signature: not the one that was cleared
        assertTrue(model.submit())
        assertNull(model.state.value.saved!!.signatureId)
        assertNull(model.state.value.sealed)
        assertEquals(1uL + 1uL, store.outboxCounts().pending)  // the household and the visit only
    }

    @Test fun theArrivalIsWhenTheFormIsShownNotWhenItWasMade() = runBlocking {
        val h = store.createHousehold(household())
        val agreed = localToUtcMs("2026-11-18", "19:00", CHINA)!!
        val a = workday().book(
            Appointment(gridId = GRID, householdId = h.id, managerId = "mgr-1", agreedAtMs = agreed, zoneOffsetMin = CHINA.toLong(),
                purpose = VisitPurpose.SALE, status = AppointmentStatus.BOOKED),
        ).getOrThrow()
        // The list of the day renders at 18:30 and makes the form ahead (as iOS built each row's destination) …
        now = agreed - 30 * 60_000
        val model = visitModel()
        model.start(store.household(h.id), a)
        assertNull(model.state.value.arrivedAtMs)
        // … the manager is at the door at 19:25 and the form is shown …
        now = agreed + 25 * 60_000
        model.arrive()
        // … shown again after a look at the archive at 19:40, and saved at 19:50.
        now = agreed + 40 * 60_000
        model.arrive()
        now = agreed + 50 * 60_000
        assertTrue(model.submit())
        val saved = model.state.value.saved!!
        assertEquals(agreed + 25 * 60_000, saved.arrivedAtMs)
        assertEquals(Punctuality.Late(25L), model.state.value.punctuality)
        assertEquals(agreed + 25 * 60_000, visits(h.id).single().visit.arrivedAtMs)
    }

    @Test fun anUnsavedVisitOutlivesItsScreen() = runBlocking {
        val h = store.createHousehold(household())
        val drafts = Drafts()
        now = NOW_MS
        val first = visitModel(drafts)
        first.start(store.household(h.id))
        first.arrive()
        first.edit { it.copy(outcome = "想了解千兆宽带", followUp = "送报价单", followUpDue = "2026-11-20") }
        first.sign(signaturePad())
        // a tab tapped: the screen and its model are gone; coming back makes new ones
        now = NOW_MS + 10 * 60_000
        val again = visitModel(drafts)
        again.start(store.household(h.id))
        again.arrive()
        val s = again.state.value
        assertEquals("想了解千兆宽带", s.form.outcome)
        assertEquals("2026-11-20", s.form.followUpDue)
        assertEquals(NOW_MS, s.arrivedAtMs)  // the arrival stays the first one
        assertEquals(first.state.value.signature, s.signature)
        assertEquals(first.state.value.workOrderText, s.workOrderText)
        assertTrue(again.submit())
        assertEquals(NOW_MS, again.state.value.saved!!.arrivedAtMs)
        // saved: the draft is gone, the next visit at this door starts blank
        assertTrue(drafts.keys.isEmpty())
        val next = visitModel(drafts)
        next.start(store.household(h.id))
        assertEquals("", next.state.value.form.outcome)
        assertNull(next.state.value.signature)
        assertNull(next.state.value.arrivedAtMs)
    }

    @Test fun todayIsReadAgainAfterAVisitIsSaved() = runBlocking {
        val h = store.createHousehold(household())
        val today = TodayModel(archive(), fieldwork(), workday(), TicketRepository(store, Dispatchers.IO, changes::bump), session,
            { "2026-11-18" }, { CHINA }, { now }, changes)
        today.refresh()
        assertTrue(today.state.value.followUps.isEmpty())
        assertFalse(today.refreshIfChanged())  // nothing written since
        val visit = visitModel()
        visit.start(store.household(h.id))
        visit.edit { it.copy(followUp = "回电确认宽带资费", followUpDue = "2026-11-18") }
        assertTrue(visit.submit())
        assertTrue(today.refreshIfChanged())
        assertEquals(listOf(visit.state.value.saved!!.id), today.state.value.followUps.map { it.id })
        assertFalse(today.refreshIfChanged())
        // the receipt book is on Today before going out: none on a phone that never synced
        assertEquals(ReceiptBook(0), today.state.value.receiptBook)
        assertTrue(today.state.value.receiptBook!!.empty)
    }

    @Test fun aSavedVisitIsNeverUpdated() = runBlocking {
        val h = store.createHousehold(household())
        val model = visitModel()
        model.start(store.household(h.id))
        model.edit { it.copy(outcome = "已受理") }
        assertTrue(model.submit())
        val shown = model.state.value
        val pending = store.outboxCounts().pending
        model.edit { it.copy(outcome = "改过的结果") }
        model.sign(signaturePad())
        model.clearSignature()
        now += 60_000
        model.arrive()
        assertTrue(model.submit())
        assertEquals(shown, model.state.value)
        assertEquals(pending, store.outboxCounts().pending)
        assertEquals("已受理", visits(h.id).single().visit.outcome)
    }

    @Test fun everyGridOfTheManagerIsShown() = runBlocking {
        val two = session.copy(grids = listOf(GRID, "g2"))
        val here = store.createHousehold(household())
        val there = store.createHousehold(household().copy(gridId = "g2", customerName = "赵磊", mobile = "", idType = null, idNumber = "", room = "101"))
        for (h in listOf(here, there)) {
            workday().book(
                Appointment(gridId = h.gridId, householdId = h.id, managerId = "mgr-1", agreedAtMs = localToUtcMs("2026-11-18", "20:00", CHINA)!!,
                    zoneOffsetMin = CHINA.toLong(), purpose = VisitPurpose.CARE, status = AppointmentStatus.BOOKED),
            ).getOrThrow()
        }
        val today = TodayModel(archive(), fieldwork(), workday(), TicketRepository(store, Dispatchers.IO), two,
            { "2026-11-18" }, { CHINA }, { NOW_MS })
        today.refresh()
        assertNull(today.state.value.problem)
        assertEquals(listOf(GRID, "g2"), today.state.value.plans.map { it.gridId })
        assertEquals(setOf(here.id, there.id), today.state.value.appointments.map { it.householdId }.toSet())
        assertEquals(listOf(GRID, "g2"), today.state.value.buildings.map { it.gridId })
        assertEquals(2, today.state.value.summaries.size)
        // the buildings screen switches between them
        val buildings = BuildingsModel(archive(), two.grids)
        assertTrue(buildings.addPremises(building("5号楼")))
        buildings.selectGrid("g2")
        assertTrue(buildings.addPremises(building("7号楼")))
        assertEquals(listOf("7号楼"), buildings.state.value.premises.map { it.name })
        buildings.selectGrid(GRID)
        assertEquals(listOf("5号楼"), buildings.state.value.premises.map { it.name })
        buildings.search("赵磊")
        assertTrue("search looks in the grid shown", buildings.state.value.found.isEmpty())
        buildings.selectGrid("g2")
        buildings.search("赵磊")
        assertEquals(listOf(there.id), buildings.state.value.found.map { it.id })
    }

    @Test fun aCallRevealsTheNumberWithItsPurposeOnRecord() = runBlocking {
        val h = store.createHousehold(household())
        val model = HouseholdModel(archive())
        model.open(h.id)
        assertEquals("138****5678", model.state.value.form!!.mobile)
        assertNull("a masked number cannot be dialled", dialable(model.state.value.form!!.mobile))
        assertEquals("13812345678", model.numberToCall())
        assertTrue("shown in full, with the purpose kept in the access trail", model.state.value.revealed)
        assertEquals("13812345678", model.state.value.form!!.mobile)
        assertEquals("07318888666", dialable("0731-8888 666"))
        assertEquals("+8613812345678", dialable("+86 138 1234 5678"))
        assertNull(dialable("—"))
    }

    @Test fun nothingHappensBeforeThePrivacyNoticeIsAgreedTo() {
        val prefs = MemoryConsentStore()
        val consent = Consent(prefs) { NOW_MS }
        assertTrue(consent.needed)
        consent.agree()
        assertFalse(consent.needed)
        assertEquals(NOW_MS, prefs.agreedAtMs)
        // a later notice asks again
        assertTrue(Consent(MemoryConsentStore(Consent.PRIVACY_NOTICE_VERSION - 1)).needed)
    }

    @Test fun theAppSyncsWhenItComesBackAndWhenTheNetworkReturns() {
        val idle = SyncStatus(true, SyncPhase.Idle, NOW_MS, null, 0uL, 0uL)
        val soon = NOW_MS + 60_000
        assertFalse("fresh and nothing waiting", shouldSync(SyncTrigger.FOREGROUND, idle, soon))
        assertTrue("something waits", shouldSync(SyncTrigger.FOREGROUND, idle.copy(pending = 1uL), soon))
        assertTrue("last pull is old", shouldSync(SyncTrigger.FOREGROUND, idle, NOW_MS + 6 * 60_000))
        assertTrue("it was offline", shouldSync(SyncTrigger.NETWORK_BACK, idle.copy(phase = SyncPhase.Offline(soon)), soon))
        assertTrue("never synced", shouldSync(SyncTrigger.NETWORK_BACK, idle.copy(lastSuccessMs = null), soon))
        assertTrue(shouldSync(SyncTrigger.LOCAL_CHANGE, idle, soon))
        assertFalse("already running", shouldSync(SyncTrigger.LOCAL_CHANGE, idle.copy(phase = SyncPhase.Pushing(0uL, 3uL)), soon))
        assertFalse("not enrolled", shouldSync(SyncTrigger.FOREGROUND, idle.copy(enrolled = false, pending = 2uL), soon))
        // a background run: retried while the cause can pass, within a few runs; never when it cannot help
        val offline = Problem(ProblemKind.OFFLINE, "no route")
        assertEquals(BackgroundOutcome.DONE, backgroundOutcome(null, 0))
        assertEquals(BackgroundOutcome.RETRY, backgroundOutcome(offline, 0))
        assertEquals(BackgroundOutcome.RETRY, backgroundOutcome(Problem(ProblemKind.INTERRUPTED, "cut"), 3))
        assertEquals(BackgroundOutcome.GIVE_UP, backgroundOutcome(offline, 4))
        assertEquals(BackgroundOutcome.GIVE_UP, backgroundOutcome(Problem(ProblemKind.NEEDS_ENROLMENT, "revoked"), 0))
    }

    @Test fun aSignInTakesTheCurrentFixOrARecentOneOrNone() {
        val current = Fix(28_228_000, 112_938_800, NOW_MS, 12f)
        val recent = Fix(28_228_100, 112_938_900, NOW_MS - 5 * 60_000)
        val older = Fix(28_228_200, 112_939_000, NOW_MS - 8 * 60_000)
        val yesterday = Fix(28_100_000, 112_900_000, NOW_MS - 86_400_000)
        assertEquals(current, chooseFix(current, listOf(recent), NOW_MS))
        assertEquals(recent, chooseFix(null, listOf(older, yesterday, recent), NOW_MS))
        assertNull("a position from yesterday is not where the manager is", chooseFix(null, listOf(yesterday), NOW_MS))
        assertNull(chooseFix(null, emptyList(), NOW_MS))
    }

    @Test fun aFactRecordsTheFixItsAgeAndMockFlagOrNoFixAfterTheWait() {
        // the platform's numbers: accuracy rounded up to whole metres, the age at recording
        val fix = Fix(28_228_000, 112_938_800, NOW_MS - 4_000, 12.2f, "network", mock = false)
        assertEquals(
            Position.Fix(LocationFix(28_228_000, 112_938_800, 13, 4_000, LocationProvider.NETWORK, false)),
            positionOf(fix, NOW_MS),
        )
        // no accuracy, or nonsense, counts as the widest; an unknown provider is "other"; a mock is kept as such
        val vague = positionOf(Fix(1, 2, NOW_MS, null, "bluetooth", mock = true), NOW_MS) as Position.Fix
        assertEquals(LocationFix(1, 2, MAX_ACCURACY_M, 0, LocationProvider.OTHER, true), vague.v1)
        assertEquals(MAX_ACCURACY_M, (positionOf(Fix(1, 2, NOW_MS, Float.NaN), NOW_MS) as Position.Fix).v1.accuracyM)
        assertEquals(1L, (positionOf(Fix(1, 2, NOW_MS, 0.2f, "fused"), NOW_MS) as Position.Fix).v1.accuracyM)
        // a clock that stepped back gives no negative age
        assertEquals(0L, (positionOf(Fix(1, 2, NOW_MS + 5_000, 5f), NOW_MS) as Position.Fix).v1.ageMs)
        // no fix within the wait is a value too: "no fix within 30 s"
        assertEquals(30_000L, CURRENT_FIX_TIMEOUT_MS)
        assertEquals(Position.NoFix(30_000), positionOf(null, NOW_MS))
        assertEquals(LocationProvider.GPS, providerOf("gps"))
    }

    @Test fun pickersGiveTheDayAndTimeTheFormsTake() {
        // Material's date picker selects the UTC midnight of the day tapped
        val ms = pickerMs("2026-11-18")!!
        assertEquals("2026-11-18", pickedDate(ms))
        assertEquals("2026-11-18", pickedDate(ms + 23 * 3_600_000))
        assertNull(pickerMs("18/11/2026"))
        assertEquals("08:05", pickedTime(8, 5))
        assertEquals("23:59", pickedTime(24, 75))
        assertEquals(localToUtcMs("2026-11-18", "08:05", CHINA), localToUtcMs(pickedDate(ms), pickedTime(8, 5), CHINA))
        assertTrue(ReceiptBook(49).low)
        assertFalse(ReceiptBook(50).low)
    }
}
