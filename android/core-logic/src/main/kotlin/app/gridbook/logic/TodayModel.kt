// The Today screen's state: follow-ups due (承诺回复到期), the grid's arrears to collect, the grid
// in numbers. The sync indicator comes from SyncRepository.status.
package app.gridbook.logic

import app.gridbook.ffi.ArrearsLine
import app.gridbook.ffi.GridSummary
import app.gridbook.ffi.Visit
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

data class TodayState(
    val date: String = "",
    val followUps: List<Visit> = emptyList(),
    val arrears: List<ArrearsLine> = emptyList(),
    /** What is still owed in the grid after what this phone collected, fen. */
    val arrearsRemainingFen: Long = 0,
    val summary: GridSummary? = null,
    val loading: Boolean = false,
    val problem: Problem? = null,
)

/** [today] gives the local date, YYYY-MM-DD. */
class TodayModel(
    private val archive: ArchiveRepository,
    private val fieldwork: FieldworkRepository,
    private val grid: String,
    private val today: () -> String,
) {
    private val _state = MutableStateFlow(TodayState())
    val state: StateFlow<TodayState> = _state.asStateFlow()

    suspend fun refresh() {
        val date = today()
        _state.value = _state.value.copy(date = date, loading = true, problem = null)
        val followUps = fieldwork.followUpsDue(grid, date)
        val arrears = fieldwork.arrears(grid)
        val summary = archive.summary(grid)
        _state.value = _state.value.copy(
            followUps = followUps.getOrDefault(emptyList()),
            arrears = arrears.getOrDefault(emptyList()),
            arrearsRemainingFen = arrears.getOrDefault(emptyList()).sumOf { it.remainingFen },
            summary = summary.getOrNull(),
            loading = false,
            problem = followUps.problem ?: arrears.problem ?: summary.problem,
        )
    }
}
