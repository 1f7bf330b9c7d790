// The Today screen's state (今日): the sign-in (签到), the day's plan door by door in walking order
// grouped by building (appointments, follow-ups due, arrears, reminders) in every grid the manager
// works, appointments whose time passed with no visit, overdue first-ask tickets, what is still
// owed, the receipt numbers left in the book (checked before going out), the grids in numbers.
// It is read again whenever the phone wrote something since (a visit, a collection: LocalChanges).
// The sync indicator comes from SyncRepository.status.
package app.gridbook.logic

import app.gridbook.ffi.core.Appointment
import app.gridbook.ffi.core.ArrearsLine
import app.gridbook.ffi.core.DayPlan
import app.gridbook.ffi.core.GridSummary
import app.gridbook.ffi.core.PlanItem
import app.gridbook.ffi.core.PlanStop
import app.gridbook.ffi.core.Position
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
data class BuildingStops(val gridId: String, val building: String, val stops: List<PlanStop>)

/** The plan's doors grouped by building, keeping the core's walking order (a building comes once). */
fun DayPlan.byBuilding(): List<BuildingStops> {
    val groups = LinkedHashMap<String, MutableList<PlanStop>>()
    for (s in stops) groups.getOrPut(s.premisesName) { mutableListOf() }.add(s)
    return groups.map { (b, list) -> BuildingStops(gridId, b, list) }
}

/** A plan item with the door it is at. */
data class PlanEntry(val stop: PlanStop, val item: PlanItem)

data class TodayState(
    val date: String = "",
    /** The manager's first sign-in today, if they signed in (on this phone or another of theirs). */
    val signedIn: SignIn? = null,
    /** 日工作计划: the doors of the day in walking order, one plan per grid in the manager's order. */
    val plans: List<DayPlan> = emptyList(),
    /** The same doors grouped by building, grid after grid, for the screen's headers. */
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
    /** What is still owed in the grids after what this phone collected, fen. */
    val arrearsRemainingFen: Long = 0,
    /** Receipt numbers left in the phone's book: a collector checks before going out. */
    val receiptBook: ReceiptBook? = null,
    /** One summary per grid, in the manager's order. */
    val summaries: List<GridSummary> = emptyList(),
    val loading: Boolean = false,
    val problem: Problem? = null,
) {
    /** The first grid's plan (most managers have one grid). */
    val plan: DayPlan? get() = plans.firstOrNull()
    val summary: GridSummary? get() = summaries.firstOrNull()
}

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
    private val changes: LocalChanges? = null,
) {
    private val grids = session.grids.ifEmpty { listOf(session.grid) }
    private val _state = MutableStateFlow(TodayState())
    val state: StateFlow<TodayState> = _state.asStateFlow()
    /** The write count the screen last showed. */
    private var seen: Long? = null

    suspend fun refresh() {
        seen = changes?.version?.value
        val date = today()
        val zone = zoneOffsetMin()
        _state.value = _state.value.copy(date = date, loading = true, problem = null)
        val signIns = each { workday.signInsOn(it, date, zone) }
        val plans = each { g -> workday.dayPlan(g, date, zone).map { listOf(it) } }
        val late = each { workday.lateAppointments(it, clockMs()) }
        val overdue = each { tickets.overdue(it, date) }
        val arrears = fieldwork.arrearsIn(grids)
        val summaries = each { g -> archive.summary(g).map { listOf(it) } }
        val left = fieldwork.receiptNumbersLeft()
        val ps = plans.getOrDefault(emptyList())
        val entries = ps.flatMap { p -> p.stops.flatMap { s -> s.items.map { PlanEntry(s, it) } } }
        fun of(section: PlanSection) = entries.filter { it.item.section() == section }
        _state.value = _state.value.copy(
            signedIn = signIns.getOrNull()?.filter { it.managerId == session.managerId }?.minByOrNull { it.atMs },
            plans = ps,
            buildings = ps.flatMap { it.byBuilding() },
            appointments = of(PlanSection.APPOINTMENT).map { (it.item as PlanItem.AppointmentItem).appointment }.sortedBy { it.agreedAtMs },
            late = late.getOrDefault(emptyList()),
            followUps = of(PlanSection.FOLLOW_UP).map { (it.item as PlanItem.FollowUpItem).visit },
            reminders = of(PlanSection.REMINDER),
            overdueTickets = overdue.getOrDefault(emptyList()),
            arrears = arrears.getOrDefault(emptyList()),
            arrearsRemainingFen = arrears.getOrDefault(emptyList()).sumOf { it.remainingFen },
            receiptBook = left.getOrNull()?.let { ReceiptBook(it.toLong()) },
            summaries = summaries.getOrDefault(emptyList()),
            loading = false,
            problem = signIns.problem ?: plans.problem ?: late.problem ?: overdue.problem ?: arrears.problem ?: summaries.problem ?: left.problem,
        )
    }

    /**
     * Reads again if the phone wrote something since the screen last read (a visit, a receipt, a
     * notice saved on another screen); true when it did. The screen calls it when it is shown.
     */
    suspend fun refreshIfChanged(): Boolean {
        val now = changes?.version?.value ?: return false
        if (seen == now) return false
        refresh()
        return true
    }

    /** [read] for every grid of the manager, the lists joined in grid order; the first failure wins. */
    private suspend fun <T> each(read: suspend (String) -> Result<List<T>>): Result<List<T>> {
        val out = mutableListOf<T>()
        for (g in grids) out += read(g).getOrElse { return Result.failure(it) }
        return Result.success(out)
    }

    /**
     * 签到: now, with the place when the phone has a fix (micro-degrees) and what it knew of where
     * it was ([positionOf]: the fix, or "no fix"), in the manager's first grid. Signing in again the same day records another sign-in; the first one counts. True
     * when recorded.
     */
    suspend fun signIn(latE6: Long? = null, lonE6: Long? = null, note: String = "", location: Position? = null): Boolean {
        val r = workday.signIn(
            SignIn(
                gridId = session.grid, managerId = session.managerId, atMs = clockMs(), zoneOffsetMin = zoneOffsetMin().toLong(),
                latE6 = latE6, lonE6 = lonE6, note = note, location = location,
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
    suspend fun closeReminder(entry: PlanEntry, outcome: ReminderResolution, note: String = ""): Boolean {
        val reminder = (entry.item as? PlanItem.ReminderItem)?.reminder ?: return false
        return closeReminder(reminder.key, outcome, note, reminderGrid(entry))
    }

    /** 预警处理 by key, in [grid] (the manager's first grid unless given). */
    suspend fun closeReminder(key: String, outcome: ReminderResolution, note: String = "", grid: String = session.grid): Boolean {
        val r = workday.closeReminder(grid, today(), key, outcome, note, session.managerId, zoneOffsetMin())
        if (r.isFailure) {
            _state.value = _state.value.copy(problem = r.problem)
            return false
        }
        refresh()
        return true
    }

    /** The grid of the plan the entry's door is in. */
    private fun reminderGrid(entry: PlanEntry): String =
        _state.value.plans.firstOrNull { p -> p.stops.any { it.householdId == entry.stop.householdId } }?.gridId ?: session.grid
}
