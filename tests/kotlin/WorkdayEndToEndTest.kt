// The grid manager's day played through core-logic and the Kotlin bindings against a real sync
// server on 127.0.0.1: sign-in, the plan by building, a late arrival with a new time agreed, an
// absent customer's follow-up, a complaint taken on a visit as a first-ask ticket — escalated,
// replied, closed with the customer's confirmation — and the day's summary submitted, seen by a
// second phone's pull.
package app.gridbook.tests

import app.gridbook.ffi.core.AppointmentStatus
import app.gridbook.ffi.core.PlanItem
import app.gridbook.ffi.core.Punctuality
import app.gridbook.ffi.core.TicketKind
import app.gridbook.ffi.core.TicketStatus
import app.gridbook.ffi.core.VisitPurpose
import app.gridbook.logic.AppointmentModel
import app.gridbook.logic.DaySummaryModel
import app.gridbook.logic.TicketsModel
import app.gridbook.logic.VisitModel
import app.gridbook.logic.localToUtcMs
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.time.LocalDate
import java.time.ZoneOffset

class WorkdayEndToEndTest {
    @get:Rule val tmp = TemporaryFolder()
    private lateinit var server: SyncServer

    @Before fun startServer() {
        server = SyncServer.withGrid(tmp.newFolder("server"))
    }

    @After fun stopServer() = server.close()

    @Test fun aManagersDayFromSignInToTheSummaryASecondPhoneSees() = runBlocking {
        // today in Beijing, as the phone's clock says; the appointments fall in it
        val date = LocalDate.now(ZoneOffset.ofHours(8))
        val today = date.toString()
        val tomorrow = date.plusDays(1).toString()
        val at = { time: String -> localToUtcMs(today, time, CHINA)!! }
        val now = System.currentTimeMillis()

        val a = Phone(tmp.newFile("a.db"))
        val session = a.sync.enrol(server.url, server.enrolCode(), a.key).getOrThrow()
        val b3 = a.archive.createPremises(building("3号楼")).getOrThrow()
        val b10 = a.archive.createPremises(building("10号楼")).getOrThrow()
        val wang = a.archive.create(household(b10.id)).getOrThrow()
        val li = a.archive.create(household(b3.id).copy(customerName = "李雷", mobile = "13900002222", room = "301",
            idNumber = residentId("11010519800101022"))).getOrThrow()

        // 签到 and the plan: 3号楼 before 10号楼
        val todayModel = a.today(today, now)
        assertTrue(todayModel.signIn(28_194_000, 112_939_000, "早会后出发"))
        assertEquals(now, todayModel.state.value.signedIn!!.atMs)
        val book = AppointmentModel(a.workday, session, { now }, { CHINA })
        book.startNew(wang, today)
        book.edit { it.copy(time = "09:00", purpose = VisitPurpose.SERVICE_ORDER) }
        assertTrue(book.save())
        val wangAppt = book.state.value.saved!!
        book.startNew(li, today)
        book.edit { it.copy(time = "10:00", purpose = VisitPurpose.CARE) }
        assertTrue(book.save())
        val liAppt = book.state.value.saved!!
        todayModel.refresh()
        assertEquals(listOf("3号楼", "10号楼"), todayModel.state.value.buildings.map { it.building })
        assertEquals(listOf(li.id, wang.id), todayModel.state.value.plan!!.stops.map { it.householdId })
        assertEquals(listOf(wangAppt.id, liAppt.id), todayModel.state.value.appointments.map { it.id })  // by time

        // running late for 王芳 at 09:00: she is told, a new time agreed, and the visit keeps that one on time
        val late = a.today(today, at("09:15"))
        late.refresh()
        assertEquals(listOf(wangAppt.id), late.state.value.late.map { it.id })
        val move = AppointmentModel(a.workday, session, { at("09:15") }, { CHINA })
        move.startExisting(wang, wangAppt, late = true)
        move.edit { it.copy(time = "11:00") }
        assertTrue(move.save())
        assertEquals(AppointmentStatus.RESCHEDULED, move.state.value.saved!!.status)
        val visit = VisitModel(a.fieldwork, session, { at("11:07") }, { CHINA })
        visit.start(wang, move.state.value.saved!!)
        visit.edit { it.copy(outcome = "宽带故障已登记", openQuestion = "晚间掉线原因") }
        visit.sign(signaturePad())
        assertTrue(visit.state.value.problem?.text() ?: "", visit.submit())
        assertEquals(Punctuality.OnTime, visit.state.value.punctuality)
        assertEquals(AppointmentStatus.DONE, a.workday.appointment(wangAppt.id).getOrThrow().status)

        // the complaint heard on that visit: a first-ask ticket, escalated, replied, closed with confirmation
        val tickets = TicketsModel(a.tickets, session, { today }, { at("11:20") })
        val ticket = tickets.take(wang.id, TicketKind.COMPLAINT, "晚上八点后宽带经常掉线", today)!!
        assertEquals(TicketStatus.ESCALATED, tickets.escalate(ticket.id, "装维班组 刘班长")!!.status)
        assertEquals(listOf(ticket.id), tickets.state.value.lines.map { it.ticket.id })
        tickets.reply(ticket.id, "已更换光猫，晚间测速正常")
        assertEquals(TicketStatus.CLOSED, tickets.close(ticket.id, confirmedByCustomer = true)!!.status)
        assertEquals(emptyList<Any>(), tickets.state.value.lines)

        // 李雷 is not in at 10:00: a follow-up to re-book tomorrow
        val absent = AppointmentModel(a.workday, session, { at("10:02") }, { CHINA })
        absent.startExisting(li, liAppt)
        assertTrue(absent.state.value.problem?.text() ?: "", absent.customerAbsent(tomorrow))
        val next = a.today(tomorrow, at("10:02") + 86_400_000)
        next.refresh()
        val item = next.state.value.plan!!.stops.single { it.householdId == li.id }.items.single()
        assertEquals(absent.state.value.absentVisit!!.id, (item as PlanItem.FollowUpItem).visit.id)

        // 日工作总结, submitted and synced
        val summary = DaySummaryModel(a.workday, session, { today }, { CHINA })
        summary.refresh()
        val preview = summary.state.value.preview!!
        assertEquals(listOf(2L, 2L, 2L, 2L), listOf(preview.visits, preview.appointmentsKept, preview.appointmentsOnTime, preview.householdsCreated))
        assertEquals(listOf(1L, 0L), listOf(preview.openPromises, preview.openTickets))
        summary.editNote("明天回访李雷，重新预约")
        assertTrue(summary.submit())
        val report = a.sync.syncNow().getOrThrow()
        assertEquals(0uL, report.rejected)

        // a second phone of the grid pulls the day
        val b = Phone(tmp.newFile("b.db"))
        val bSession = b.sync.enrol(server.url, server.enrolCode(), b.key).getOrThrow()
        b.sync.syncNow().getOrThrow()
        val seen = DaySummaryModel(b.workday, bSession, { today }, { CHINA })
        seen.refresh()
        assertEquals(summary.state.value.submitted, seen.state.value.submitted)
        assertEquals("明天回访李雷，重新预约", seen.state.value.submitted!!.note)
        assertEquals(TicketStatus.CLOSED, b.tickets.ticket(ticket.id).getOrThrow().status)
        val bToday = b.today(today, now)
        bToday.refresh()
        assertEquals(now, bToday.state.value.signedIn!!.atMs)
    }
}
