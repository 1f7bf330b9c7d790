// The Today screen's state (今日): the sign-in (签到), the day's plan door by door in walking order
// grouped by building (appointments, follow-ups due, arrears, reminders), appointments whose time
// passed with no visit, overdue first-ask tickets, what is still owed, the grid in numbers. The sync
// indicator comes from SyncRepository.status.
package app.gridbook.logic

import app.gridbook.ffi.core.Appointment
import app.gridbook.ffi.core.ArrearsLine
import app.gridbook.ffi.core.DayPlan
import app.gridbook.ffi.core.GridSummary
import app.gridbook.ffi.core.PlanItem
import app.gridbook.ffi.core.PlanStop
import app.gridbook.ffi.core.ReminderResolution
import app.gridbook.ffi.core.SignIn
import app.gridbook.ffi.core.Ticket
import app.gridbook.ffi.core.Visit
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/** The sections of a door's to-do list, in the order the Today screen shows them. */
enum class PlanSection { APPOINTMENT, FOLLOW_UP, ARREARS, REMINDER }

/**
 * Which section a plan item belongs to. Exhaustive on purpose: a new kind of plan entry stops
 * this compiling until the Today screen knows where to list it.
 */
fun PlanItem.section(): PlanSection = when (this) {
    is PlanItem.AppointmentItem -> PlanSection.APPOINTMENT
    is PlanItem.FollowUpItem -> PlanSection.FOLLOW_UP
    is PlanItem.ArrearsItem -> PlanSection.ARREARS
    is PlanItem.ReminderItem -> PlanSection.REMINDER
}

/** One building's doors in walking order; [building] is empty for doors outside any building. */
data class BuildingStops(val building: String, val stops: List<PlanStop>)

/** The plan's doors grouped by building, keeping the core's walking order. */
fun DayPlan.byBuilding(): List<BuildingStops> {
    val groups = LinkedHashMap<String, MutableList<PlanStop>>()
    for (s in stops) groups.getOrPut(s.premisesName) { mutableListOf() }.add(s)
    return groups.map { (b, list) -> BuildingStops(b, list) }
}

/** A plan item with the door it is at. */
data class PlanEntry(val stop: PlanStop, val item: PlanItem)

data class TodayState(
    val date: String = "",
    /** The manager's first sign-in today, if they signed in (on this phone or another of theirs). */
    val signedIn: SignIn? = null,
    /** 日工作计划: the doors of the day in walking order. */
    val plan: DayPlan? = null,
    /** The same doors grouped by building, for the screen's headers. */
    val buildings: List<BuildingStops> = emptyList(),
    /** Today's appointments, by time. */
    val appointments: List<Appointment> = emptyList(),
    /** Appointments whose time passed with no visit: tell the customer, agree a new time. */
    val late: List<Appointment> = emptyList(),
    val followUps: List<Visit> = emptyList(),
    /** The plan's 预警 entries at their doors: close each with [TodayModel.closeReminder]. */
    val reminders: List<PlanEntry> = emptyList(),
    /** First-ask tickets whose promised reply date passed with no reply. */
    val overdueTickets: List<Ticket> = emptyList(),
    val arrears: List<ArrearsLine> = emptyList(),
    /** What is still owed in the grid after what this phone collected, fen. */
    val arrearsRemainingFen: Long = 0,
    val summary: GridSummary? = null,
    val loading: Boolean = false,
    val problem: Problem? = null,
)

/** [today] gives the local date, YYYY-MM-DD; [zoneOffsetMin] the phone's offset; [clockMs] the time. */
class TodayModel(
    private val archive: ArchiveRepository,
    private val fieldwork: FieldworkRepository,
    private val workday: WorkdayRepository,
    private val tickets: TicketRepository,
    private val session: Session,
    private val today: () -> String,
    private val zoneOffsetMin: () -> Int = ::phoneZoneOffsetMin,
    private val clockMs: () -> Long = System::currentTimeMillis,
) {
    private val grid = session.grid
    private val _state = MutableStateFlow(TodayState())
    val state: StateFlow<TodayState> = _state.asStateFlow()

    suspend fun refresh() {
        val date = today()
        _state.value = _state.value.copy(date = date, loading = true, problem = null)
        val signIns = workday.signInsOn(grid, date, zoneOffsetMin())
        val plan = workday.dayPlan(grid, date, zoneOffsetMin())
        val late = workday.lateAppointments(grid, clockMs())
        val overdue = tickets.overdue(grid, date)
        val arrears = fieldwork.arrears(grid)
        val summary = archive.summary(grid)
        val p = plan.getOrNull()
        val entries = p?.stops.orEmpty().flatMap { s -> s.items.map { PlanEntry(s, it) } }
        fun of(section: PlanSection) = entries.filter { it.item.section() == section }
        _state.value = _state.value.copy(
            signedIn = signIns.getOrNull()?.firstOrNull { it.managerId == session.managerId },
            plan = p,
            buildings = p?.byBuilding().orEmpty(),
            appointments = of(PlanSection.APPOINTMENT).map { (it.item as PlanItem.AppointmentItem).appointment }.sortedBy { it.agreedAtMs },
            late = late.getOrDefault(emptyList()),
            followUps = of(PlanSection.FOLLOW_UP).map { (it.item as PlanItem.FollowUpItem).visit },
            reminders = of(PlanSection.REMINDER),
            overdueTickets = overdue.getOrDefault(emptyList()),
            arrears = arrears.getOrDefault(emptyList()),
            arrearsRemainingFen = arrears.getOrDefault(emptyList()).sumOf { it.remainingFen },
            summary = summary.getOrNull(),
            loading = false,
            problem = signIns.problem ?: plan.problem ?: late.problem ?: overdue.problem ?: arrears.problem ?: summary.problem,
        )
    }

    /**
     * 签到: now, with the place when the phone has a fix (micro-degrees). Signing in again the same
     * day records another sign-in; the first one counts. True when recorded.
     */
    suspend fun signIn(latE6: Long? = null, lonE6: Long? = null, note: String = ""): Boolean {
        val r = workday.signIn(
            SignIn(
                gridId = grid, managerId = session.managerId, atMs = clockMs(), zoneOffsetMin = zoneOffsetMin().toLong(),
                latE6 = latE6, lonE6 = lonE6, note = note,
            ),
        )
        if (r.isFailure) {
            _state.value = _state.value.copy(problem = r.problem)
            return false
        }
        refresh()
        return true
    }

    /** 预警处理: closes a reminder of today with its outcome; true when recorded (then it leaves the list). */
    suspend fun closeReminder(key: String, outcome: ReminderResolution, note: String = ""): Boolean {
        val r = workday.closeReminder(grid, today(), key, outcome, note, session.managerId, zoneOffsetMin())
        if (r.isFailure) {
            _state.value = _state.value.copy(problem = r.problem)
            return false
        }
        refresh()
        return true
    }
}
