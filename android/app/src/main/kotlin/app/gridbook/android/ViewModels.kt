// AndroidX ViewModels: each holds one core-logic model for the life of its screen and runs the
// model's suspend actions in viewModelScope. No logic of their own.
package app.gridbook.android

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.gridbook.ffi.RejectedChange
import app.gridbook.ffi.core.ArrearsLine
import app.gridbook.ffi.core.Household
import app.gridbook.ffi.core.Premises
import app.gridbook.ffi.core.ReminderResolution
import app.gridbook.ffi.core.TicketKind
import app.gridbook.logic.AppointmentModel
import app.gridbook.logic.BuildingsModel
import app.gridbook.logic.CollectionModel
import app.gridbook.logic.DaySummaryModel
import app.gridbook.logic.HouseholdModel
import app.gridbook.logic.Problem
import app.gridbook.logic.SaveOutcome
import app.gridbook.logic.Session
import app.gridbook.logic.SyncModel
import app.gridbook.logic.TicketsModel
import app.gridbook.logic.TodayModel
import app.gridbook.logic.VisitModel
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.launch
import java.time.LocalDate

class TodayViewModel(graph: Graph, session: Session) : ViewModel() {
    val model = TodayModel(graph.archive, graph.fieldwork, graph.workday, graph.tickets, session, today = { LocalDate.now().toString() })
    val sync = graph.sync.status
    init { refresh() }
    fun refresh() { viewModelScope.launch { model.refresh() } }
    /** 签到 with the place when the phone has one ([LastLocation]); without it, the time alone. */
    fun signIn(place: LastLocation.Place?) { viewModelScope.launch { model.signIn(place?.latE6, place?.lonE6) } }
    /** 预警处理: closes a reminder with the outcome the manager picked. */
    fun closeReminder(key: String, outcome: ReminderResolution) { viewModelScope.launch { model.closeReminder(key, outcome) } }
}

/** Books a new appointment ([appointmentId] null) or opens one to move, confirm, cancel or mark the customer absent. */
class AppointmentViewModel(
    private val graph: Graph,
    session: Session,
    householdId: String,
    appointmentId: String?,
    late: Boolean,
) : ViewModel() {
    val model = AppointmentModel(graph.workday, session)
    private val _loadProblem = MutableStateFlow<Problem?>(null)
    val loadProblem: StateFlow<Problem?> = _loadProblem
    init {
        viewModelScope.launch {
            val household = graph.archive.household(householdId).getOrElse { _loadProblem.value = Problem.of(it); return@launch }
            when (appointmentId) {
                null -> model.startNew(household, LocalDate.now().toString())
                else -> graph.workday.appointment(appointmentId)
                    .onSuccess { model.startExisting(household, it, late) }
                    .onFailure { _loadProblem.value = Problem.of(it) }
            }
        }
    }
    fun save() { viewModelScope.launch { model.save() } }
    fun confirm() { viewModelScope.launch { model.confirm() } }
    fun cancel() { viewModelScope.launch { model.cancel() } }
    fun customerAbsent(followUpDue: String) { viewModelScope.launch { model.customerAbsent(followUpDue) } }
}

/** The grid's tickets, overdue first; [householdId] when the screen was opened from a visit to take one there. */
class TicketsViewModel(graph: Graph, session: Session, val householdId: String?) : ViewModel() {
    val model = TicketsModel(graph.tickets, session, today = { LocalDate.now().toString() })
    init { viewModelScope.launch { model.refresh() } }
    fun take(kind: TicketKind, text: String, promisedReplyBy: String) {
        viewModelScope.launch { model.take(householdId ?: "", kind, text, promisedReplyBy) }
    }
    fun escalate(id: String, to: String) { viewModelScope.launch { model.escalate(id, to) } }
    fun reply(id: String, reply: String) { viewModelScope.launch { model.reply(id, reply) } }
    fun close(id: String, confirmed: Boolean) { viewModelScope.launch { model.close(id, confirmed) } }
}

class DaySummaryViewModel(graph: Graph, session: Session) : ViewModel() {
    val model = DaySummaryModel(graph.workday, session, today = { LocalDate.now().toString() })
    init { viewModelScope.launch { model.refresh() } }
    fun submit() { viewModelScope.launch { model.submit() } }
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
            val appointment = appointmentId?.let { graph.workday.appointment(it).getOrNull() }
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
