// The sync screen's state: the status (true by construction: the core reports idle only after the
// server acknowledged), the refused changes with their reasons, and the manager's actions on them.
package app.gridbook.logic

import app.gridbook.ffi.RejectedChange
import app.gridbook.ffi.SyncStatus
import app.gridbook.ffi.core.SyncPhase
import app.gridbook.ffi.core.SyncReport
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

data class SyncScreenState(
    val running: Boolean = false,
    val lastReport: SyncReport? = null,
    val problem: Problem? = null,
)

/** How the sync indicator reads, in one word. */
enum class SyncLight { NOT_ENROLLED, SYNCED, PENDING, SYNCING, OFFLINE, FAILED }

fun SyncStatus.light(): SyncLight = when {
    !enrolled -> SyncLight.NOT_ENROLLED
    phase is SyncPhase.Pushing || phase is SyncPhase.Pulling -> SyncLight.SYNCING
    phase is SyncPhase.Offline -> SyncLight.OFFLINE
    phase is SyncPhase.Failed -> SyncLight.FAILED
    pending > 0uL || rejected > 0uL || lastSuccessMs == null -> SyncLight.PENDING
    else -> SyncLight.SYNCED
}

/** Progress 0..1 of the cycle under way, or null when no cycle runs. */
fun SyncPhase.progress(): Float? = when (this) {
    is SyncPhase.Pushing -> if (total == 0uL) 1f else sent.toFloat() / total.toFloat()
    is SyncPhase.Pulling -> if (received + remaining == 0uL) 1f else received.toFloat() / (received + remaining).toFloat()
    else -> null
}

class SyncModel(private val sync: SyncRepository, private val session: Session?) {
    private val _state = MutableStateFlow(SyncScreenState())
    val state: StateFlow<SyncScreenState> = _state.asStateFlow()
    val status: StateFlow<SyncStatus> get() = sync.status
    val rejected: StateFlow<List<RejectedChange>> get() = sync.rejected

    suspend fun syncNow() {
        _state.value = _state.value.copy(running = true, problem = null)
        val result = sync.syncNow()
        _state.value = SyncScreenState(running = false, lastReport = result.getOrNull() ?: _state.value.lastReport, problem = result.problem)
    }

    /** Puts a refused change back in the queue (after its cause was dealt with) and syncs. */
    suspend fun retry(change: RejectedChange) {
        val r = sync.retry(change.opId)
        _state.value = _state.value.copy(problem = r.problem)
        if (r.getOrDefault(false)) syncNow()
    }

    /** Drops a refused change for good, in the manager's name. */
    suspend fun discard(change: RejectedChange) {
        val r = sync.discard(change.opId, session?.managerId ?: "unknown")
        _state.value = _state.value.copy(problem = r.problem)
    }

    suspend fun refresh() = sync.refresh()
}
