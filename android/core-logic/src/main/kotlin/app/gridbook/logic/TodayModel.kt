// The Today screen's state (今日): the day's plan door by door in walking order (appointments,
// follow-ups due, arrears), appointments whose time passed with no visit, what is still owed, the
// grid in numbers. The sync indicator comes from SyncRepository.status.
package app.gridbook.logic

import app.gridbook.ffi.Appointment
import app.gridbook.ffi.ArrearsLine
import app.gridbook.ffi.DayPlan
import app.gridbook.ffi.GridSummary
import app.gridbook.ffi.PlanItem
import app.gridbook.ffi.Visit
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

data class TodayState(
    val date: String = "",
    /** 日工作计划: the doors of the day in walking order. */
    val plan: DayPlan? = null,
    /** Today's appointments, by time. */
    val appointments: List<Appointment> = emptyList(),
    /** Appointments whose time passed with no visit: tell the customer, agree a new time. */
    val late: List<Appointment> = emptyList(),
    val followUps: List<Visit> = emptyList(),
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
    private val grid: String,
    private val today: () -> String,
    private val zoneOffsetMin: () -> Int = { java.util.TimeZone.getDefault().getOffset(System.currentTimeMillis()) / 60_000 },
    private val clockMs: () -> Long = System::currentTimeMillis,
) {
    private val _state = MutableStateFlow(TodayState())
    val state: StateFlow<TodayState> = _state.asStateFlow()

    suspend fun refresh() {
        val date = today()
        _state.value = _state.value.copy(date = date, loading = true, problem = null)
        val plan = fieldwork.dayPlan(grid, date, zoneOffsetMin())
        val late = fieldwork.lateAppointments(grid, clockMs())
        val followUps = fieldwork.followUpsDue(grid, date)
        val arrears = fieldwork.arrears(grid)
        val summary = archive.summary(grid)
        val stops = plan.getOrNull()?.stops ?: emptyList()
        _state.value = _state.value.copy(
            plan = plan.getOrNull(),
            appointments = stops.flatMap { s -> s.items.filterIsInstance<PlanItem.AppointmentItem>().map { it.appointment } }
                .sortedBy { it.agreedAtMs },
            late = late.getOrDefault(emptyList()),
            followUps = followUps.getOrDefault(emptyList()),
            arrears = arrears.getOrDefault(emptyList()),
            arrearsRemainingFen = arrears.getOrDefault(emptyList()).sumOf { it.remainingFen },
            summary = summary.getOrNull(),
            loading = false,
            problem = plan.problem ?: late.problem ?: followUps.problem ?: arrears.problem ?: summary.problem,
        )
    }
}
