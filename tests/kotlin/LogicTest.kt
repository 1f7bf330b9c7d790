// The plain Kotlin module (android/core-logic) without a server: money typed in yuan, the
// signature pad's input, the archive and collection view-model state over a real store.
package app.gridbook.tests

import app.gridbook.ffi.GridbookStore
import app.gridbook.ffi.SyncStatus
import app.gridbook.ffi.core.AppointmentStatus
import app.gridbook.ffi.core.Punctuality
import app.gridbook.ffi.core.SyncPhase
import app.gridbook.ffi.core.TicketChannel
import app.gridbook.ffi.core.TicketKind
import app.gridbook.ffi.core.TicketStatus
import app.gridbook.ffi.core.Visit
import app.gridbook.ffi.core.VisitPurpose
import app.gridbook.logic.AppointmentModel
import app.gridbook.logic.BackgroundOutcome
import app.gridbook.logic.backgroundOutcome
import app.gridbook.logic.ArchiveRepository
import app.gridbook.logic.DaySummaryModel
import app.gridbook.logic.PlanSection
import app.gridbook.logic.TicketRepository
import app.gridbook.logic.TicketsModel
import app.gridbook.logic.WorkdayRepository
import app.gridbook.logic.localToUtcMs
import app.gridbook.logic.section
import app.gridbook.logic.utcMsToLocal
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
        val store = openStore(tmp.newFile("phone.db").path)
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
        val store = openStore(tmp.newFile("phone.db").path)
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
        val store = openStore(tmp.newFile("phone.db").path)
        val archive = ArchiveRepository(store, Dispatchers.Unconfined)
        val fieldwork = FieldworkRepository(store, store.deviceKey(), Dispatchers.Unconfined)
        val workday = WorkdayRepository(store, Dispatchers.Unconfined)
        val session = Session(store.deviceId(), "mgr-1", "李经理", listOf(GRID))
        val h = store.createHousehold(household())
        // NOW_MS is 19:06:40 in Beijing on 2026-11-18; the customer chose 20:00, another 17:00
        val booking = AppointmentModel(workday, session, { NOW_MS }, { CHINA })
        booking.startNew(store.household(h.id), "2026-11-18")
        booking.edit { it.copy(time = "8pm") }
        assertFalse(booking.save())
        assertEquals("agreed_at_ms", booking.state.value.problem!!.field)
        booking.edit { it.copy(time = "20:00", purpose = VisitPurpose.SALE, note = "客户下班后在家") }
        assertTrue(booking.save())
        val booked = booking.state.value.saved!!
        val agreed = localToUtcMs("2026-11-18", "20:00", CHINA)!!
        assertEquals(agreed, booked.agreedAtMs)
        assertEquals("2026-11-18" to "20:00", utcMsToLocal(booked.agreedAtMs, CHINA))
        booking.startNew(store.household(h.id), "2026-11-18")
        booking.edit { it.copy(time = "17:00") }
        assertTrue(booking.save())
        val missed = booking.state.value.saved!!

        val today = TodayModel(archive, fieldwork, workday, TicketRepository(store, Dispatchers.Unconfined), session,
            { "2026-11-18" }, { CHINA }, { NOW_MS })
        today.refresh()
        assertEquals(null, today.state.value.problem)
        assertNull(today.state.value.signedIn)
        assertEquals(listOf(missed.id, booked.id), today.state.value.appointments.map { it.id })
        assertEquals(listOf(missed.id), today.state.value.late.map { it.id })
        assertEquals(listOf(""), today.state.value.buildings.map { it.building })  // a door outside any building
        assertEquals(emptyList<Any>(), today.state.value.reminders)
        val stop = today.state.value.plan!!.stops.single()
        assertEquals(h.id, stop.householdId)
        assertEquals("王芳", stop.customerName)
        assertTrue(today.signIn(28_194_000, 112_939_000))
        assertEquals(NOW_MS, today.state.value.signedIn!!.atMs)
        assertEquals(28_194_000L, today.state.value.signedIn!!.latE6)

        // running late for 17:00: the customer is told, and a new time agreed
        val late = AppointmentModel(workday, session, { NOW_MS }, { CHINA })
        late.startExisting(store.household(h.id), missed, late = true)
        assertEquals(AppointmentModel.LATE_NOTE, late.state.value.form.note)
        assertEquals("17:00", late.state.value.form.time)
        late.edit { it.copy(time = "19:30") }
        assertTrue(late.save())
        assertEquals(AppointmentStatus.RESCHEDULED, late.state.value.saved!!.status)
        today.refresh()
        assertEquals(emptyList<String>(), today.state.value.late.map { it.id })

        // the manager arrives 12 minutes late for 20:00 and the customer signs: the signed visit keeps it
        val visit = VisitModel(fieldwork, session, { agreed + 12 * 60_000 }, { CHINA })
        visit.start(store.household(h.id), booked)
        assertEquals(VisitPurpose.SALE, visit.state.value.form.purpose)
        visit.edit { it.copy(outcome = "已介绍千兆宽带") }
        visit.sign(signaturePad())
        assertTrue(visit.state.value.problem?.text() ?: "", visit.submit())
        val kept = visit.state.value.saved!!
        assertEquals(agreed, kept.appointmentAtMs)
        assertEquals(Punctuality.Late(12), visit.state.value.punctuality)
        assertEquals(AppointmentStatus.DONE, store.appointment(booked.id).status)
        assertEquals(kept.id, store.appointment(booked.id).visitId)
        assertEquals(kept.signatureId, visit.state.value.sealed!!.id)

        // at 19:30's door nobody answers: a follow-up to re-book tomorrow
        late.startExisting(store.household(h.id), store.appointment(missed.id))
        assertTrue(late.state.value.problem?.text() ?: "", late.customerAbsent("2026-11-19"))
        assertEquals("2026-11-19", late.state.value.absentVisit!!.followUpDue)
        assertEquals(AppointmentStatus.DONE, late.state.value.saved!!.status)
        today.refresh()
        assertEquals(emptyList<String>(), today.state.value.appointments.map { it.id })
        val tomorrow = TodayModel(archive, fieldwork, workday, TicketRepository(store, Dispatchers.Unconfined), session,
            { "2026-11-19" }, { CHINA }, { NOW_MS + 86_400_000 })
        tomorrow.refresh()
        assertEquals(listOf(late.state.value.absentVisit!!.id), tomorrow.state.value.followUps.map { it.id })
        assertEquals(PlanSection.FOLLOW_UP, tomorrow.state.value.plan!!.stops.single().items.single().section())
        store.close()
    }

    @Test fun ticketsShowOverdueFirstThenOpenThenAwaitingConfirmation() = runBlocking {
        val store = openStore(tmp.newFile("phone.db").path)
        val session = Session(store.deviceId(), "mgr-1", "李经理", listOf(GRID))
        val h = store.createHousehold(household())
        var today = "2026-11-18"
        val model = TicketsModel(TicketRepository(store, Dispatchers.Unconfined), session, { today }, { NOW_MS })
        val soon = model.take(h.id, TicketKind.QUESTION, "千兆宽带能否装到阁楼", "2026-11-20")!!
        val broken = model.take(h.id, TicketKind.COMPLAINT, "晚上宽带掉线", "2026-11-17", TicketChannel.PHONE)!!
        val answered = model.take("", TicketKind.REQUEST, "楼道光交箱门坏了", "2026-11-19")!!
        assertEquals(TicketStatus.OPEN, soon.status)
        assertEquals("mgr-1", soon.ownerManagerId)
        assertEquals(TicketChannel.IN_PERSON, soon.channel)
        assertNull(model.reply(answered.id, " "))
        assertEquals("reply", model.state.value.problem!!.field)
        model.reply(answered.id, "已报修，周五前修好")
        assertEquals(listOf(broken.id to true, soon.id to false, answered.id to false),
            model.state.value.lines.map { it.ticket.id to it.overdue })
        assertEquals(1, model.state.value.overdueCount)
        assertNull(model.close(answered.id, false))
        assertEquals("closure_confirmed_by_customer", model.state.value.problem!!.field)
        assertEquals(TicketStatus.CLOSED, model.close(answered.id, true)!!.status)
        assertEquals(TicketStatus.ESCALATED, model.escalate(soon.id, "装维班组")!!.status)
        today = "2026-11-21"
        model.refresh()
        assertEquals(listOf(broken.id, soon.id), model.state.value.lines.filter { it.overdue }.map { it.ticket.id })
        store.close()
    }

    @Test fun theDaySummaryCountsTheDayAndIsSubmittedWithTheNote() = runBlocking {
        val store = openStore(tmp.newFile("phone.db").path)
        val session = Session(store.deviceId(), "mgr-1", "李经理", listOf(GRID))
        val fieldwork = FieldworkRepository(store, store.deviceKey(), Dispatchers.Unconfined)
        val h = store.createHousehold(household())
        fieldwork.recordVisit(Visit(gridId = GRID, householdId = h.id, arrivedAtMs = NOW_MS, zoneOffsetMin = CHINA.toLong(),
            purpose = VisitPurpose.CARE, followUp = "送报价单", followUpDue = "2026-11-25", managerId = "mgr-1")).getOrThrow()
        val model = DaySummaryModel(WorkdayRepository(store, Dispatchers.Unconfined), session, { "2026-11-18" }, { CHINA })
        model.refresh()
        val preview = model.state.value.preview!!
        assertEquals("", preview.id)
        assertEquals(1L, preview.visits)
        assertEquals(1L, preview.openPromises)
        assertNull(model.state.value.submitted)
        model.editNote("明天送报价单")
        assertTrue(model.submit())
        val submitted = model.state.value.submitted!!
        assertEquals("mgr-1", submitted.managerId)
        assertEquals("明天送报价单", submitted.note)
        assertEquals(1L, submitted.visits)
        val again = DaySummaryModel(WorkdayRepository(store, Dispatchers.Unconfined), session, { "2026-11-18" }, { CHINA })
        again.refresh()
        assertEquals(submitted, again.state.value.submitted)
        assertEquals("明天送报价单", again.state.value.note)
        store.close()
    }

    @Test fun aLockedKeyStoreIsAskedToUnlockAndNothingIsWritten() = runBlocking {
        val store = openStore(tmp.newFile("phone.db").path)
        val fieldwork = FieldworkRepository(store, KotlinSigner(store.deviceKey(), locked = true), Dispatchers.Unconfined)
        val h = store.createHousehold(household())
        val model = VisitModel(fieldwork, Session(store.deviceId(), "mgr-1", "李经理", listOf(GRID)), { NOW_MS }, { CHINA })
        model.start(store.household(h.id))
        model.sign(signaturePad())
        assertFalse(model.submit())
        assertEquals(ProblemKind.KEY_UNAVAILABLE, model.state.value.problem!!.kind)
        assertTrue(model.state.value.problem!!.text().startsWith("设备密钥不可用"))
        assertEquals(1uL, store.outboxCounts().pending)
        store.close()
    }

    @Test fun aLockedStoreAsksForTheLockScreenAndNothingIsWritten() = runBlocking {
        val store = openStore(tmp.newFile("phone.db").path)
        val fieldwork = FieldworkRepository(store, KotlinSigner(store.deviceKey()), Dispatchers.Unconfined)
        val h = store.createHousehold(household())
        val model = VisitModel(fieldwork, Session(store.deviceId(), "mgr-1", "李经理", listOf(GRID)), { NOW_MS }, { CHINA })
        model.start(store.household(h.id))
        model.sign(signaturePad())
        store.lock()
        assertTrue(store.lockStatus().locked)
        assertFalse(model.submit())
        assertEquals(ProblemKind.LOCKED, model.state.value.problem!!.kind)
        assertTrue(model.state.value.problem!!.text().startsWith("已锁定"))
        // the background sync waits for the unlock instead of giving up
        assertEquals(BackgroundOutcome.DONE, backgroundOutcome(model.state.value.problem, 0))
        store.unlock(TEST_VAULT)
        assertFalse(store.lockStatus().locked)
        assertEquals(1uL, store.outboxCounts().pending)
        assertTrue(model.submit())
        assertTrue(store.outboxCounts().pending > 1uL)
        store.close()
    }
}
