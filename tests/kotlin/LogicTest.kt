// The plain Kotlin module (android/core-logic) without a server: money typed in yuan, the
// signature pad's input, the archive and collection view-model state over a real store.
package app.gridbook.tests

import app.gridbook.ffi.Appointment
import app.gridbook.ffi.AppointmentStatus
import app.gridbook.ffi.GridbookStore
import app.gridbook.ffi.Punctuality
import app.gridbook.ffi.VisitPurpose
import app.gridbook.ffi.punctuality
import app.gridbook.ffi.SyncPhase
import app.gridbook.ffi.SyncStatus
import app.gridbook.logic.ArchiveRepository
import app.gridbook.logic.BuildingsModel
import app.gridbook.logic.FieldworkRepository
import app.gridbook.logic.HouseholdModel
import app.gridbook.logic.Money
import app.gridbook.logic.ProblemKind
import app.gridbook.logic.SaveOutcome
import app.gridbook.logic.Session
import app.gridbook.logic.SignaturePadInput
import app.gridbook.logic.SyncLight
import app.gridbook.logic.TodayModel
import app.gridbook.logic.VisitModel
import app.gridbook.logic.light
import app.gridbook.logic.progress
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder

class LogicTest {
    @get:Rule val tmp = TemporaryFolder()

    @Test fun moneyIsParsedToFenWithoutFloats() {
        assertEquals(12_800L, Money.parseYuan("128"))
        assertEquals(12_850L, Money.parseYuan("128.5"))
        assertEquals(128_000L, Money.parseYuan(" ¥1,280.00 "))
        assertEquals(1L, Money.parseYuan("0.01"))
        assertEquals(1_999_999_999_999L, Money.parseYuan("19999999999.99"))
        for (bad in listOf("", "abc", "-1", "1.234", "1e3", "12.", ".5")) assertNull(bad, Money.parseYuan(bad))
        assertEquals(7_200L, Money.change(12_800, 20_000))
        assertNull(Money.change(12_800, 10_000))
        assertEquals("¥1,000.50", Money.yuan(100_050))
    }

    @Test fun thePadKeepsPointsInsideAndTimesFromTheFirstTouch() {
        var now = 5_000L
        val pad = SignaturePadInput(300, 100) { now }
        assertTrue(pad.isEmpty)
        pad.down(10f, 10f, 0.4f); now += 16
        pad.move(400f, -5f, 2f); now += 16
        pad.move(Float.NaN, 5f); pad.up()
        now += 200
        pad.down(50f, 50f); pad.up()
        val sig = pad.pad()
        assertEquals(2, sig.strokes.size)
        val p = sig.strokes[0].points
        assertEquals(2, p.size)
        assertEquals(0u, p[0].tMs)
        assertEquals(300f, p[1].x)
        assertEquals(0f, p[1].y)
        assertEquals(1f, p[1].pressure)
        assertEquals(232u, sig.strokes[1].points[0].tMs)
        pad.clear()
        assertTrue(pad.isEmpty)
    }

    @Test fun creatingAHouseholdWarnsOfDuplicatesFirst() = runBlocking {
        val store = GridbookStore.open(tmp.newFile("phone.db").path)
        val archive = ArchiveRepository(store, Dispatchers.Unconfined)
        val buildings = BuildingsModel(archive, GRID)
        assertTrue(buildings.addPremises(building()))
        val b = buildings.state.value.premises.single()
        val model = HouseholdModel(archive)
        model.startNew(GRID, b.id)
        model.edit { household(b.id).copy(id = it.id) }
        assertEquals(SaveOutcome.SAVED, model.save())
        val saved = model.state.value.saved!!
        assertEquals("138****5678", saved.mobile)

        val again = HouseholdModel(archive)
        again.startNew(GRID, b.id)
        again.edit { household(b.id).copy(customerName = "王芳芳") }
        assertEquals(SaveOutcome.CONFIRM_DUPLICATES, again.save())
        assertEquals(listOf(saved.id), again.state.value.duplicates.map { it.household.id })
        again.edit { it.copy(room = "503", mobile = "", idType = null, idNumber = "") }  // a different door after all
        assertTrue(again.state.value.duplicates.isEmpty())
        assertEquals(SaveOutcome.SAVED, again.save())

        buildings.select(b)
        assertEquals(listOf("502", "503"), buildings.state.value.households.map { it.room })
        buildings.search("王芳芳")
        assertEquals(listOf("王芳芳"), buildings.state.value.found.map { it.customerName })

        // edit from the masked form: the stored numbers survive; a bad value names its field
        val edit = HouseholdModel(archive)
        edit.open(saved.id)
        edit.edit { it.copy(notes = "晚上七点后在家") }
        assertEquals(SaveOutcome.SAVED, edit.save())
        edit.reveal("核对身份 check identity")
        assertTrue(edit.state.value.revealed)
        assertEquals(ID_NUMBER, edit.state.value.form!!.idNumber)
        edit.edit { it.copy(mobile = "555") }
        assertEquals(SaveOutcome.FAILED, edit.save())
        assertEquals(ProblemKind.INVALID, edit.state.value.problem!!.kind)
        assertEquals("mobile", edit.state.value.problem!!.field)
        store.close()
    }

    @Test fun anImplausibleSignatureIsNotSealed() = runBlocking {
        val store = GridbookStore.open(tmp.newFile("phone.db").path)
        val fieldwork = FieldworkRepository(store, store.deviceKey(), Dispatchers.Unconfined)
        val h = store.createHousehold(household())
        val model = VisitModel(fieldwork, Session(store.deviceId(), "mgr-1", "李经理", listOf(GRID)), { NOW_MS }, { CHINA })
        model.start(store.household(h.id))
        var now = 0L
        val swipe = SignaturePadInput(600, 200) { now }
        swipe.down(10f, 10f); now += 10; swipe.move(300f, 100f); swipe.up()
        model.sign(swipe.pad())
        assertFalse(model.state.value.signatureFlags.isEmpty())
        assertFalse(model.submit())
        assertEquals("signature", model.state.value.problem!!.field)
        assertEquals(1uL, store.outboxCounts().pending)  // only the household waits
        model.sign(signaturePad())
        model.edit { it.copy(outcome = "已受理") }  // the text changed: the customer must sign it again
        assertNull(model.state.value.signature)
        assertTrue(model.state.value.workOrderText.contains("已受理"))
        model.sign(signaturePad())
        assertTrue(model.state.value.problem?.text() ?: "", model.submit())
        val saved = model.state.value.saved!!
        assertEquals(model.state.value.sealed!!.id, saved.signatureId)
        assertEquals("王芳", model.state.value.sealed!!.signerName)
        assertEquals(3uL, store.outboxCounts().pending)  // household, signature, visit
        store.close()
    }

    @Test fun theSyncLightTellsTheTruth() {
        val idle = SyncStatus(true, SyncPhase.Idle, 1L, null, 0uL, 0uL)
        assertEquals(SyncLight.SYNCED, idle.light())
        assertEquals(SyncLight.PENDING, idle.copy(pending = 1uL).light())
        assertEquals(SyncLight.PENDING, idle.copy(lastSuccessMs = null).light())
        assertEquals(SyncLight.NOT_ENROLLED, idle.copy(enrolled = false).light())
        assertEquals(SyncLight.OFFLINE, idle.copy(phase = SyncPhase.Offline(5L)).light())
        assertEquals(SyncLight.SYNCING, idle.copy(phase = SyncPhase.Pushing(1uL, 4uL)).light())
        assertEquals(0.25f, SyncPhase.Pushing(1uL, 4uL).progress())
        assertNull(SyncPhase.Idle.progress())
    }

    @Test fun todayShowsTheDaysAppointmentsAndAVisitKeepsOne() = runBlocking {
        val store = GridbookStore.open(tmp.newFile("phone.db").path)
        val archive = ArchiveRepository(store, Dispatchers.Unconfined)
        val fieldwork = FieldworkRepository(store, store.deviceKey(), Dispatchers.Unconfined)
        val h = store.createHousehold(household())
        val agreed = NOW_MS + 3_600_000  // 2026-11-18, an hour after "now"
        val booked = fieldwork.bookAppointment(
            Appointment(gridId = GRID, householdId = h.id, managerId = "mgr-1", agreedAtMs = agreed,
                zoneOffsetMin = CHINA.toLong(), purpose = VisitPurpose.SALE, status = AppointmentStatus.BOOKED),
        ).getOrThrow()
        val missed = fieldwork.bookAppointment(booked.copy(id = "", agreedAtMs = NOW_MS - 7_200_000)).getOrThrow()
        val today = TodayModel(archive, fieldwork, GRID, { "2026-11-18" }, { CHINA }, { NOW_MS })
        today.refresh()
        assertEquals(null, today.state.value.problem)
        assertEquals(listOf(missed.id, booked.id), today.state.value.appointments.map { it.id })
        assertEquals(listOf(missed.id), today.state.value.late.map { it.id })
        val stop = today.state.value.plan!!.stops.single()
        assertEquals(h.id, stop.householdId)
        assertEquals("王芳", stop.customerName)

        // the manager arrives 12 minutes late and the customer does not sign: the visit keeps it
        val visit = VisitModel(fieldwork, Session(store.deviceId(), "mgr-1", "李经理", listOf(GRID)), { agreed + 12 * 60_000 }, { CHINA })
        visit.start(store.household(h.id), booked)
        assertEquals(VisitPurpose.SALE, visit.state.value.form.purpose)
        visit.edit { it.copy(outcome = "已介绍千兆宽带") }
        assertTrue(visit.state.value.problem?.text() ?: "", visit.submit())
        val kept = visit.state.value.saved!!
        assertEquals(agreed, kept.appointmentAtMs)
        assertEquals(Punctuality.Late(12), punctuality(kept.appointmentAtMs!!, kept.arrivedAtMs))
        assertEquals(AppointmentStatus.DONE, store.appointment(booked.id).status)
        assertEquals(kept.id, store.appointment(booked.id).visitId)
        today.refresh()
        assertEquals(listOf(missed.id), today.state.value.late.map { it.id })
        store.close()
    }
}
