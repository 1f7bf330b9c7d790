// AndroidX ViewModels: each holds one core-logic model for the life of its screen and runs the
// model's suspend actions in viewModelScope. No logic of their own.
package app.gridbook.android

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.gridbook.ffi.ArrearsLine
import app.gridbook.ffi.Household
import app.gridbook.ffi.Premises
import app.gridbook.ffi.RejectedChange
import app.gridbook.logic.BuildingsModel
import app.gridbook.logic.CollectionModel
import app.gridbook.logic.HouseholdModel
import app.gridbook.logic.Problem
import app.gridbook.logic.SaveOutcome
import app.gridbook.logic.Session
import app.gridbook.logic.SyncModel
import app.gridbook.logic.TodayModel
import app.gridbook.logic.VisitModel
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.launch
import java.time.LocalDate

class TodayViewModel(graph: Graph, session: Session) : ViewModel() {
    val model = TodayModel(graph.archive, graph.fieldwork, session.grid, today = { LocalDate.now().toString() })
    val sync = graph.sync.status
    init { refresh() }
    fun refresh() { viewModelScope.launch { model.refresh() } }
}

class BuildingsViewModel(graph: Graph, session: Session) : ViewModel() {
    val model = BuildingsModel(graph.archive, session.grid)
    init { viewModelScope.launch { model.refresh() } }
    fun select(p: Premises) { viewModelScope.launch { model.select(p) } }
    fun search(q: String) { viewModelScope.launch { model.search(q) } }
    fun add(p: Premises) { viewModelScope.launch { model.addPremises(p) } }
}

class HouseholdViewModel(graph: Graph, session: Session, householdId: String?, premisesId: String?) : ViewModel() {
    val model = HouseholdModel(graph.archive)
    val lastSave = MutableStateFlow<SaveOutcome?>(null)
    init {
        if (householdId == null) model.startNew(session.grid, premisesId)
        else viewModelScope.launch { model.open(householdId) }
    }
    fun edit(change: (Household) -> Household) = model.edit(change)
    fun reveal(purpose: String) { viewModelScope.launch { model.reveal(purpose) } }
    fun acknowledgeDuplicates() = model.acknowledgeDuplicates()
    fun save() { viewModelScope.launch { lastSave.value = model.save() } }
}

class VisitViewModel(private val graph: Graph, session: Session, householdId: String, appointmentId: String?) : ViewModel() {
    val model = VisitModel(graph.fieldwork, session)
    private val _loadProblem = MutableStateFlow<Problem?>(null)
    val loadProblem: StateFlow<Problem?> = _loadProblem
    init {
        viewModelScope.launch {
            val appointment = appointmentId?.let { graph.fieldwork.appointment(it).getOrNull() }
            graph.archive.household(householdId)
                .onSuccess { model.start(it, appointment) }
                .onFailure { _loadProblem.value = Problem.of(it) }
        }
    }
    fun submit() { viewModelScope.launch { model.submit() } }
}

class CollectionViewModel(private val graph: Graph, session: Session, accountId: String) : ViewModel() {
    val model = CollectionModel(graph.fieldwork, session, companyName = COMPANY)
    init {
        viewModelScope.launch {
            val line: ArrearsLine? = graph.fieldwork.arrears(session.grid).getOrNull()?.firstOrNull { it.account.id == accountId }
            if (line != null) model.start(line, signerName = line.customerName)
        }
    }
    fun collect() { viewModelScope.launch { model.collect() } }

    companion object {
        /** Printed at the top of the customer's receipt. */
        const val COMPANY = "中国电信 China Telecom"
    }
}

class SyncViewModel(graph: Graph, session: Session?) : ViewModel() {
    val model = SyncModel(graph.sync, session)
    init { viewModelScope.launch { model.refresh() } }
    fun syncNow() { viewModelScope.launch { model.syncNow() } }
    fun retry(c: RejectedChange) { viewModelScope.launch { model.retry(c) } }
    fun discard(c: RejectedChange) { viewModelScope.launch { model.discard(c) } }
}

class EnrolViewModel(private val graph: Graph) : ViewModel() {
    val problem = MutableStateFlow<Problem?>(null)
    val busy = MutableStateFlow(false)
    fun enrol(serverUrl: String, code: String, onDone: () -> Unit) {
        viewModelScope.launch {
            busy.value = true
            val r = graph.sync.enrol(serverUrl.trim(), code.trim(), graph.signer)
            busy.value = false
            problem.value = r.exceptionOrNull()?.let { Problem.of(it) }
            if (r.isSuccess) {
                graph.sync.syncNow()
                onDone()
            }
        }
    }
}
