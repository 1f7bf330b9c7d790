// The end-of-day screen's state (日工作总结): the day in numbers as the phone's records show them
// (visits, appointments kept and on time, archives created and updated, money collected, open
// promises and tickets), the manager's note (tomorrow's plan, problems met), and the submission
// the back office receives with the next sync. Submitting again records a newer summary.
package app.gridbook.logic

import app.gridbook.ffi.core.DaySummary
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

data class DaySummaryState(
    val date: String = "",
    /** The grid summed up (a manager of several grids submits one summary for each). */
    val grid: String = "",
    /** Computed now, not yet submitted. */
    val preview: DaySummary? = null,
    /** The manager's note. */
    val note: String = "",
    /** The latest summary submitted for the day (from this phone or another of the grid). */
    val submitted: DaySummary? = null,
    val loading: Boolean = false,
    val problem: Problem? = null,
)

class DaySummaryModel(
    private val workday: WorkdayRepository,
    private val session: Session,
    private val today: () -> String,
    private val zoneOffsetMin: () -> Int = ::phoneZoneOffsetMin,
) {
    private val _state = MutableStateFlow(DaySummaryState(grid = session.grid))
    val state: StateFlow<DaySummaryState> = _state.asStateFlow()

    /** Another of the manager's grids: its day, its note. */
    suspend fun selectGrid(grid: String) {
        if (grid !in session.grids || grid == _state.value.grid) return
        _state.value = DaySummaryState(grid = grid)
        refresh()
    }

    suspend fun refresh() {
        val date = today()
        val grid = _state.value.grid
        _state.value = _state.value.copy(date = date, loading = true, problem = null)
        val preview = workday.daySummary(grid, date, zoneOffsetMin())
        val submitted = workday.daySummaries(grid, date)
        val latest = submitted.getOrNull()?.firstOrNull()
        _state.value = _state.value.copy(
            preview = preview.getOrNull(),
            submitted = latest,
            note = _state.value.note.ifEmpty { latest?.note ?: "" },
            loading = false,
            problem = preview.problem ?: submitted.problem,
        )
    }

    fun editNote(note: String) {
        _state.value = _state.value.copy(note = note, problem = null)
    }

    /** Records the summary in the manager's name with the note. True when recorded. */
    suspend fun submit(): Boolean {
        val s = _state.value
        val date = s.date.ifEmpty { today() }
        val r = workday.submitDaySummary(s.grid, session.managerId, date, zoneOffsetMin(), s.note)
        _state.value = s.copy(date = date, submitted = r.getOrNull() ?: s.submitted, preview = r.getOrNull() ?: s.preview, problem = r.problem)
        return r.isSuccess
    }
}
