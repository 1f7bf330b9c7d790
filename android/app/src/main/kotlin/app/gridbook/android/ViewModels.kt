// AndroidX ViewModels: each holds one core-logic model for the life of its screen and runs the
// model's suspend actions in viewModelScope. No logic of their own: what a tap does is decided
// in core-logic (tested on the JVM).
package app.gridbook.android

import android.content.Context
import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.gridbook.ffi.core.ArrearsLine
import app.gridbook.ffi.core.Household
import app.gridbook.ffi.PaperWidth
import app.gridbook.ffi.core.Premises
import app.gridbook.ffi.RejectedChange
import app.gridbook.ffi.core.ReminderResolution
import app.gridbook.ffi.core.TicketKind
import app.gridbook.logic.AppointmentModel
import app.gridbook.logic.ArrearsModel
import app.gridbook.logic.BuildingsModel
import app.gridbook.logic.CollectionModel
import app.gridbook.logic.DaySummaryModel
import app.gridbook.logic.HouseholdModel
import app.gridbook.logic.NoticeModel
import app.gridbook.logic.PlanEntry
import app.gridbook.logic.Problem
import app.gridbook.logic.ReceiptPrinting
import app.gridbook.logic.SaveOutcome
import app.gridbook.logic.Session
import app.gridbook.logic.SyncModel
import app.gridbook.logic.TicketsModel
import app.gridbook.logic.TodayModel
import app.gridbook.logic.VisitModel
import app.gridbook.logic.problem
import app.gridbook.logic.positionOf
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.launch
import java.time.LocalDate

class TodayViewModel(private val graph: Graph, session: Session) : ViewModel() {
    val model = TodayModel(
        graph.archive, graph.fieldwork, graph.workday, graph.tickets, session, today = { LocalDate.now().toString() }, changes = graph.changes,
    )
    val sync = graph.sync.status
    /** Busy taking a fix for the sign-in. */
    val locating = MutableStateFlow(false)

    init {
        // read again whenever the phone wrote something (a visit, a receipt, a notice on another screen)
        // (the first value is read at once: that is the screen's first refresh)
        viewModelScope.launch { graph.changes.version.collect { model.refreshIfChanged() } }
    }

    fun refresh() { viewModelScope.launch { model.refresh() } }
    fun shown() { viewModelScope.launch { model.refreshIfChanged() } }

    /** 签到 with the current position when there is one ([CurrentLocation]); without it, "no fix" and the time. */
    fun signIn(context: Context) {
        viewModelScope.launch {
            locating.value = true
            val fix = CurrentLocation.fix(context.applicationContext)
            locating.value = false
            model.signIn(fix?.latE6, fix?.lonE6, location = positionOf(fix, System.currentTimeMillis()))
        }
    }

    /** 预警处理: closes a reminder with the outcome the manager picked, in its door's grid. */
    fun closeReminder(entry: PlanEntry, outcome: ReminderResolution) { viewModelScope.launch { model.closeReminder(entry, outcome) } }
}

/** Books a new appointment ([appointmentId] null) or opens one to move, confirm, cancel or mark the customer absent. */
class AppointmentViewModel(graph: Graph, session: Session, householdId: String, appointmentId: String?, late: Boolean) : ViewModel() {
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

/** The manager's tickets, overdue first; [householdId] when opened from a visit to take one there. */
class TicketsViewModel(graph: Graph, session: Session, val householdId: String?) : ViewModel() {
    val model = TicketsModel(graph.tickets, session, today = { LocalDate.now().toString() })
    /** The household's grid: a ticket taken at its door belongs there. */
    private var grid = session.grid
    init {
        viewModelScope.launch {
            householdId?.let { id -> graph.archive.household(id).onSuccess { grid = it.gridId } }
            model.refresh()
        }
    }
    fun take(kind: TicketKind, text: String, promisedReplyBy: String) {
        viewModelScope.launch { model.take(householdId ?: "", kind, text, promisedReplyBy, grid = grid) }
    }
    fun escalate(id: String, to: String) { viewModelScope.launch { model.escalate(id, to) } }
    fun reply(id: String, reply: String) { viewModelScope.launch { model.reply(id, reply) } }
    fun close(id: String, confirmed: Boolean) { viewModelScope.launch { model.close(id, confirmed) } }
}

class DaySummaryViewModel(graph: Graph, session: Session) : ViewModel() {
    val model = DaySummaryModel(graph.workday, session, today = { LocalDate.now().toString() })
    val grids = session.grids
    init { viewModelScope.launch { model.refresh() } }
    fun selectGrid(grid: String) { viewModelScope.launch { model.selectGrid(grid) } }
    fun submit() { viewModelScope.launch { model.submit() } }
}

class BuildingsViewModel(graph: Graph, session: Session) : ViewModel() {
    val model = BuildingsModel(graph.archive, session.grids)
    init { viewModelScope.launch { model.refresh() } }
    fun selectGrid(grid: String) { viewModelScope.launch { model.selectGrid(grid) } }
    fun select(p: Premises) { viewModelScope.launch { model.select(p) } }
    fun search(q: String) { viewModelScope.launch { model.search(q) } }
    fun add(p: Premises) { viewModelScope.launch { model.addPremises(p) } }
}

class HouseholdViewModel(
    graph: Graph,
    session: Session,
    householdId: String?,
    premisesId: String?,
    grid: String = session.grid,
) : ViewModel() {
    val model = HouseholdModel(graph.archive, graph.fieldwork, session.grids)
    val lastSave = MutableStateFlow<SaveOutcome?>(null)
    private val id = householdId
    init {
        if (householdId == null) model.startNew(grid, premisesId)
        else viewModelScope.launch { model.open(householdId) }
    }
    /** Back on the page after collecting or giving a notice: its debts and history read again, edits kept. */
    fun shown() { if (id != null) viewModelScope.launch { model.refreshRecords() } }
    fun edit(change: (Household) -> Household) = model.edit(change)
    fun reveal(purpose: String) { viewModelScope.launch { model.reveal(purpose) } }
    fun acknowledgeDuplicates() = model.acknowledgeDuplicates()
    fun save() { viewModelScope.launch { lastSave.value = model.save() } }
    /** Tap to call: the full number, shown for it (an audited reveal), to the dialer. */
    fun call(dial: (String) -> Unit) { viewModelScope.launch { model.numberToCall()?.let(dial) } }
}

class VisitViewModel(private val graph: Graph, session: Session, householdId: String, appointmentId: String?) : ViewModel() {
    val model = VisitModel(graph.fieldwork, session, drafts = graph.drafts)
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

    /** At the door: the form is shown; where the phone is is asked for alongside (30 s at most), never waited for. */
    fun arrive() {
        model.arrive()
        viewModelScope.launch { model.locate(graph.position()) }
    }
}

/** Finds the account's line in the manager's grids (from a plan item, the household page or the arrears list). */
private suspend fun Graph.lineOf(session: Session, accountId: String): Result<ArrearsLine> =
    fieldwork.arrearsIn(session.grids).mapCatching { lines ->
        lines.firstOrNull { it.account.id == accountId } ?: throw app.gridbook.logic.ProblemException(Problem(app.gridbook.logic.ProblemKind.NOT_FOUND, accountId))
    }

class CollectionViewModel(private val graph: Graph, session: Session, accountId: String) : ViewModel() {
    val model = CollectionModel(graph.fieldwork, session, drafts = graph.drafts)
    val printing = ReceiptPrinting(graph.fieldwork, graph.printLog, graph.deviceId, SystemFont::cjk)
    private val _loadProblem = MutableStateFlow<Problem?>(null)
    val loadProblem: StateFlow<Problem?> = _loadProblem
    /** What sharing or printing said last (null: nothing to say). */
    val outcome = MutableStateFlow<Problem?>(null)
    val busy = MutableStateFlow(false)

    init {
        viewModelScope.launch {
            graph.lineOf(session, accountId)
                .onSuccess {
                    model.start(it, signerName = it.customerName)
                    // where the phone is, asked alongside the form; collecting never waits for it
                    launch { model.locate(graph.position()) }
                }
                .onFailure { _loadProblem.value = Problem.of(it) }
        }
    }

    fun collect() { viewModelScope.launch { model.collect() } }

    fun share(context: Context, title: String) {
        val receipt = model.state.value.saved ?: return
        viewModelScope.launch {
            busy.value = true
            printing.image(receipt)
                .onSuccess { ReceiptShare.share(context, receipt.receiptNo, it, title) }
                .onFailure { outcome.value = Problem.of(it) }
            busy.value = false
        }
    }

    fun print(context: Context, address: String, paper: PaperWidth) {
        val receipt = model.state.value.saved ?: return
        viewModelScope.launch {
            busy.value = true
            val job = printing.job(receipt, paper)
            val sent = job.fold({ j -> BluetoothPrinter.print(context, address, j).map { j } }, { Result.failure(it) })
            sent.onSuccess { printing.printed(it) }
            outcome.value = sent.problem
            busy.value = false
        }
    }
}

class ArrearsViewModel(graph: Graph, session: Session) : ViewModel() {
    val model = ArrearsModel(graph.fieldwork, session)
    init { viewModelScope.launch { graph.changes.version.collect { model.refresh() } } }
}

class NoticeViewModel(graph: Graph, session: Session, accountId: String) : ViewModel() {
    val model = NoticeModel(graph.fieldwork, session, drafts = graph.drafts)
    private val _loadProblem = MutableStateFlow<Problem?>(null)
    val loadProblem: StateFlow<Problem?> = _loadProblem
    init {
        viewModelScope.launch {
            graph.lineOf(session, accountId).onSuccess { model.start(it) }.onFailure { _loadProblem.value = Problem.of(it) }
        }
    }
    fun record() { viewModelScope.launch { model.record() } }
}

class SyncViewModel(graph: Graph, session: Session?) : ViewModel() {
    val model = SyncModel(graph.sync, session)
    init { viewModelScope.launch { model.refresh() } }
    fun syncNow() { viewModelScope.launch { model.syncNow() } }
    fun retry(c: RejectedChange) { viewModelScope.launch { model.retry(c) } }
    fun discard(c: RejectedChange) { viewModelScope.launch { model.discard(c) } }
}

class EnrolViewModel(private val graph: Graph) : ViewModel() {
    /** Why the phone is back at enrolment, when the back office had it wiped (what was lost). */
    val wiped: Problem? = graph.wipedNotice
    val problem = MutableStateFlow<Problem?>(null)
    val busy = MutableStateFlow(false)
    fun enrol(serverUrl: String, code: String, onDone: () -> Unit) {
        if (busy.value) return
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
