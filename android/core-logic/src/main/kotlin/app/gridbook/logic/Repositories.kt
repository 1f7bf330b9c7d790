// The repositories: the only place the screens' logic touches the bindings. Every call runs on
// the IO dispatcher (the store does SQLite work, the key store signs) and fails with a
// ProblemException; a write's `onWrite` (the sync indicator's count, LocalChanges) runs there too,
// never on the caller's (main) thread.
package app.gridbook.logic

import app.gridbook.ffi.core.Appointment
import app.gridbook.ffi.AppointmentVisit
import app.gridbook.ffi.core.ArrearsLine
import app.gridbook.ffi.core.DayPlan
import app.gridbook.ffi.core.DaySummary
import app.gridbook.ffi.core.ArrearsNotice
import app.gridbook.ffi.CustomerSignature
import app.gridbook.ffi.DeviceSigner
import app.gridbook.ffi.core.GridSummary
import app.gridbook.ffi.GridbookStore
import app.gridbook.ffi.core.ReminderOutcome
import app.gridbook.ffi.core.ReminderResolution
import app.gridbook.ffi.GridbookSync
import app.gridbook.ffi.core.HistoryEntry
import app.gridbook.ffi.core.Household
import app.gridbook.ffi.core.PossibleDuplicate
import app.gridbook.ffi.PaperWidth
import app.gridbook.ffi.core.Premises
import app.gridbook.ffi.core.Receipt
import app.gridbook.ffi.core.ReceiptBranding
import app.gridbook.ffi.core.ReceiptPrintout
import app.gridbook.ffi.RejectedChange
import app.gridbook.ffi.core.SignIn
import app.gridbook.ffi.SignatureCapture
import app.gridbook.ffi.SignedReceipt
import app.gridbook.ffi.SignedVisit
import app.gridbook.ffi.SyncObserver
import app.gridbook.ffi.core.SyncPhase
import app.gridbook.ffi.core.SyncReport
import app.gridbook.ffi.SyncStatus
import app.gridbook.ffi.core.Ticket
import app.gridbook.ffi.core.Visit
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.withContext

/**
 * Who is using the phone, as enrolment said. The app keeps it (SharedPreferences / UserDefaults).
 * A manager may work several grids: the screens show all of them; [grid] is the first, where a
 * record that belongs to no grid in particular (the day's sign-in) goes.
 */
data class Session(val deviceId: String, val managerId: String, val managerName: String, val grids: List<String>) {
    val grid: String get() = grids.firstOrNull() ?: ""
}

/** Where the app keeps the [Session] between launches. */
interface SessionStore {
    fun load(): Session?
    fun save(session: Session)
    /** Forgets who the phone belonged to (after a remote wipe). */
    fun clear()
}

/** An in-memory [SessionStore] (tests, previews). */
class MemorySessionStore(private var session: Session? = null) : SessionStore {
    override fun load() = session
    override fun save(session: Session) { this.session = session }
    override fun clear() { session = null }
}

private suspend fun <T> io(dispatcher: CoroutineDispatcher, block: () -> T): Result<T> =
    withContext(dispatcher) { attempt(block) }

/** A write that succeeded tells [onWrite] (the sync indicator counts what waits to be sent), on the IO dispatcher. */
private suspend fun <T> write(dispatcher: CoroutineDispatcher, onWrite: () -> Unit, block: () -> T): Result<T> =
    withContext(dispatcher) { attempt(block).onSuccess { onWrite() } }

/** Premises and household archives. */
class ArchiveRepository(
    private val store: GridbookStore,
    private val dispatcher: CoroutineDispatcher = Dispatchers.IO,
    private val onWrite: () -> Unit = {},
) {
    suspend fun premises(grid: String): Result<List<Premises>> = io(dispatcher) { store.premisesInGrid(grid) }
    suspend fun createPremises(p: Premises): Result<Premises> = write(dispatcher, onWrite) { store.createPremises(p) }
    suspend fun households(premisesId: String): Result<List<Household>> = io(dispatcher) { store.householdsInPremises(premisesId) }
    suspend fun household(id: String): Result<Household> = io(dispatcher) { store.household(id) }
    suspend fun reveal(id: String, purpose: String): Result<Household> = io(dispatcher) { store.householdRevealed(id, purpose) }
    suspend fun search(grid: String, query: String): Result<List<Household>> = io(dispatcher) { store.searchHouseholds(grid, query, 50u) }
    suspend fun duplicates(candidate: Household): Result<List<PossibleDuplicate>> = io(dispatcher) { store.possibleDuplicates(candidate) }
    suspend fun create(h: Household): Result<Household> = write(dispatcher, onWrite) { store.createHousehold(h) }
    suspend fun update(h: Household): Result<Household> = write(dispatcher, onWrite) { store.updateHousehold(h) }
    suspend fun history(id: String): Result<List<HistoryEntry>> = io(dispatcher) { store.householdHistory(id) }
    suspend fun summary(grid: String): Result<GridSummary> = io(dispatcher) { store.gridSummary(grid) }
}

/** Visits, notices, arrears and signed receipts; [signer] is the device key registered at enrolment. */
class FieldworkRepository(
    private val store: GridbookStore,
    val signer: DeviceSigner,
    private val dispatcher: CoroutineDispatcher = Dispatchers.IO,
    private val onWrite: () -> Unit = {},
) {
    val deviceId: String by lazy { store.deviceId() }
    suspend fun recordVisit(v: Visit): Result<Visit> = write(dispatcher, onWrite) { store.recordVisit(v) }
    /** A visit the customer signed; with [appointmentId] it keeps that appointment in the same transaction. */
    suspend fun recordSignedVisit(v: Visit, capture: SignatureCapture, appointmentId: String? = null): Result<SignedVisit> =
        write(dispatcher, onWrite) { store.recordSignedVisit(v, capture, signer, appointmentId) }
    suspend fun recordNotice(n: ArrearsNotice): Result<ArrearsNotice> = write(dispatcher, onWrite) { store.recordNotice(n) }
    suspend fun recordSignedReceipt(r: Receipt, capture: SignatureCapture): Result<SignedReceipt> =
        write(dispatcher, onWrite) { store.recordSignedReceipt(r, capture, signer) }
    /** The customer's copy as the server configures it (company, seal, check, collector and staff number). */
    suspend fun printout(receiptId: String): Result<ReceiptPrintout> = io(dispatcher) { store.receiptPrintout(receiptId) }
    /** How this phone's receipts look, as its server last said (empty before the first sync). */
    suspend fun branding(): Result<ReceiptBranding> = io(dispatcher) { store.receiptBranding() }
    suspend fun signature(id: String): Result<CustomerSignature> = io(dispatcher) { store.signature(id) }
    suspend fun arrears(grid: String): Result<List<ArrearsLine>> = io(dispatcher) { store.gridArrears(grid) }

    /** What is owed in each of [grids], grid after grid (each in the core's order: most owed first). */
    suspend fun arrearsIn(grids: List<String>): Result<List<ArrearsLine>> = io(dispatcher) { grids.flatMap { store.gridArrears(it) } }

    /** A household's own debts, for its page: collected from there like from a plan item. */
    suspend fun arrearsOf(householdId: String, grids: List<String>): Result<List<ArrearsLine>> =
        arrearsIn(grids).map { lines -> lines.filter { it.account.householdId == householdId } }

    suspend fun receipt(id: String): Result<Receipt> = io(dispatcher) { store.receipt(id) }

    /** The customer's copy as one PNG page, drawn with [font] (a CJK font's bytes), for sharing. */
    suspend fun receiptImage(receiptId: String, font: ByteArray): Result<ByteArray> =
        io(dispatcher) { store.receiptImage(receiptId, font) }

    /** The same page as ESC/POS bytes for a thermal printer; [reprint] marks it 副本 / COPY. */
    suspend fun receiptEscpos(receiptId: String, font: ByteArray, paper: PaperWidth, reprint: Boolean): Result<ByteArray> =
        io(dispatcher) { store.receiptEscpos(receiptId, font, paper, reprint) }

    /** Records the arrival that keeps an appointment (no signature): on time, early or late comes back. */
    suspend fun recordAppointmentVisit(appointmentId: String, v: Visit): Result<AppointmentVisit> =
        write(dispatcher, onWrite) { store.recordAppointmentVisit(appointmentId, v) }

    /** The number the next receipt will get; null when none is left (sync brings a new book). */
    suspend fun nextReceiptNo(): Result<String?> = io(dispatcher) { store.nextReceiptNo() }
    suspend fun receiptNumbersLeft(): Result<ULong> = io(dispatcher) { store.receiptNumbersLeft() }
}

/** The manager's day: sign-in, appointments, the plan in walking order, the day's summary. */
class WorkdayRepository(
    private val store: GridbookStore,
    private val dispatcher: CoroutineDispatcher = Dispatchers.IO,
    private val onWrite: () -> Unit = {},
) {
    suspend fun signIn(s: SignIn): Result<SignIn> = write(dispatcher, onWrite) { store.signIn(s) }
    suspend fun signInsOn(grid: String, date: String, zoneOffsetMin: Int): Result<List<SignIn>> =
        io(dispatcher) { store.signInsOn(grid, date, zoneOffsetMin.toLong()) }
    suspend fun dayPlan(grid: String, date: String, zoneOffsetMin: Int): Result<DayPlan> =
        io(dispatcher) { store.dayPlan(grid, date, zoneOffsetMin.toLong()) }
    suspend fun followUpsDue(grid: String, date: String): Result<List<Visit>> = io(dispatcher) { store.followUpsDue(grid, date) }

    suspend fun appointment(id: String): Result<Appointment> = io(dispatcher) { store.appointment(id) }
    suspend fun appointmentsOn(grid: String, date: String, zoneOffsetMin: Int): Result<List<Appointment>> =
        io(dispatcher) { store.appointmentsOn(grid, date, zoneOffsetMin.toLong()) }
    suspend fun lateAppointments(grid: String, nowMs: Long): Result<List<Appointment>> = io(dispatcher) { store.lateAppointments(grid, nowMs) }
    suspend fun book(a: Appointment): Result<Appointment> = write(dispatcher, onWrite) { store.bookAppointment(a) }
    suspend fun confirm(id: String): Result<Appointment> = write(dispatcher, onWrite) { store.confirmAppointment(id) }
    suspend fun reschedule(id: String, agreedAtMs: Long, zoneOffsetMin: Int, note: String): Result<Appointment> =
        write(dispatcher, onWrite) { store.rescheduleAppointment(id, agreedAtMs, zoneOffsetMin.toLong(), note) }
    suspend fun cancel(id: String, reason: String): Result<Appointment> = write(dispatcher, onWrite) { store.cancelAppointment(id, reason) }
    /** The customer was not in: a visit with a follow-up due by [followUpDue] to re-book. */
    suspend fun customerAbsent(appointmentId: String, v: Visit, followUpDue: String): Result<AppointmentVisit> =
        write(dispatcher, onWrite) { store.recordCustomerAbsent(appointmentId, v, followUpDue) }

    suspend fun daySummary(grid: String, date: String, zoneOffsetMin: Int): Result<DaySummary> =
        io(dispatcher) { store.daySummary(grid, date, zoneOffsetMin.toLong()) }
    suspend fun submitDaySummary(grid: String, managerId: String, date: String, zoneOffsetMin: Int, note: String): Result<DaySummary> =
        write(dispatcher, onWrite) { store.submitDaySummary(grid, managerId, date, zoneOffsetMin.toLong(), note) }
    suspend fun daySummaries(grid: String, date: String): Result<List<DaySummary>> = io(dispatcher) { store.daySummaries(grid, date) }

    /** 预警处理: closes the reminder [key] of [date] with what came of it; it syncs to every phone. */
    suspend fun closeReminder(
        grid: String, date: String, key: String, outcome: ReminderResolution, note: String, managerId: String, zoneOffsetMin: Int,
    ): Result<ReminderOutcome> =
        write(dispatcher, onWrite) { store.closeReminder(grid, date, key, outcome, note, managerId, zoneOffsetMin.toLong()) }
}

/** First-ask tickets (首问负责制). */
class TicketRepository(
    private val store: GridbookStore,
    private val dispatcher: CoroutineDispatcher = Dispatchers.IO,
    private val onWrite: () -> Unit = {},
) {
    suspend fun open(t: Ticket): Result<Ticket> = write(dispatcher, onWrite) { store.openTicket(t) }
    suspend fun ticket(id: String): Result<Ticket> = io(dispatcher) { store.ticket(id) }
    suspend fun escalate(id: String, to: String): Result<Ticket> = write(dispatcher, onWrite) { store.escalateTicket(id, to) }
    suspend fun reply(id: String, reply: String): Result<Ticket> = write(dispatcher, onWrite) { store.replyTicket(id, reply) }
    suspend fun close(id: String, confirmedByCustomer: Boolean, closedAtMs: Long): Result<Ticket> =
        write(dispatcher, onWrite) { store.closeTicket(id, confirmedByCustomer, closedAtMs) }
    suspend fun open(grid: String): Result<List<Ticket>> = io(dispatcher) { store.openTickets(grid) }
    suspend fun overdue(grid: String, today: String): Result<List<Ticket>> = io(dispatcher) { store.overdueTickets(grid, today) }
    suspend fun replied(grid: String): Result<List<Ticket>> = io(dispatcher) { store.repliedTickets(grid) }
}

/**
 * Enrolment and sync, with the status as a [StateFlow] the screens collect. The core's observer
 * feeds it; after each call the outbox counts and the refused changes are read again.
 */
class SyncRepository(
    private val store: GridbookStore,
    private val sync: GridbookSync,
    private val sessions: SessionStore,
    private val dispatcher: CoroutineDispatcher = Dispatchers.IO,
) {
    private val _status = MutableStateFlow(sync.status())
    private val _rejected = MutableStateFlow<List<RejectedChange>>(emptyList())
    private val _phases = MutableStateFlow<List<SyncPhase>>(emptyList())

    /** The sync status now. */
    val status: StateFlow<SyncStatus> = _status.asStateFlow()

    /** The changes the server refused, with their reasons. */
    val rejected: StateFlow<List<RejectedChange>> = _rejected.asStateFlow()

    /** Every phase the observer reported since the repository was made (for the sync screen's log). */
    val phases: StateFlow<List<SyncPhase>> = _phases.asStateFlow()

    private val _wiped = MutableStateFlow<Problem?>(null)

    /**
     * Set once the back office had this phone wiped ([ProblemKind.WIPED], its report in
     * [Problem.wipe]): the store is gone. The app forgets the session and the signing key, opens a
     * new store and shows enrolment with this banner.
     */
    val wiped: StateFlow<Problem?> = _wiped.asStateFlow()

    /** Notes a wipe met by a sync call (every later call on the store answers the same). */
    private fun <T> noted(result: Result<T>): Result<T> = result.also { r ->
        r.problem?.takeIf { it.kind == ProblemKind.WIPED }?.let { wipe ->
            if (_wiped.value == null) sessions.clear()
            _wiped.value = wipe
        }
    }

    init {
        sync.setObserver(object : SyncObserver {
            override fun onStatus(status: SyncStatus) {
                _status.value = status
                _phases.value = (_phases.value + status.phase).takeLast(50)
            }
        })
    }

    val session: Session? get() = sessions.load()
    val isEnrolled: Boolean get() = sync.isEnrolled()

    /** Enrols with a code from the back office and remembers who the phone belongs to. */
    suspend fun enrol(serverUrl: String, code: String, signer: DeviceSigner?): Result<Session> {
        val result = attempt { sync.enrol(serverUrl, code, signer) }
            .map { e -> Session(e.deviceId, e.managerId, e.managerName, e.grids).also(sessions::save) }
        refresh()
        return result
    }

    /** One sync cycle now (the "sync" button). Suspends without blocking a thread. */
    suspend fun syncNow(): Result<SyncReport> = noted(attempt { sync.syncOnce() }).also { refresh() }

    /**
     * One round of the foreground loop: waits up to [waitS] s for the server's live-change signal
     * (`/v1/changes`: another phone wrote in this phone's grids), then syncs. When the signal fails
     * (a server or a proxy without it) the core waits [waitS] s instead and syncs all the same.
     */
    suspend fun liveRound(waitS: Int): Result<SyncReport> =
        noted(attempt { sync.syncLiveRound(waitS.coerceAtLeast(1).toUInt()) }).also { refresh() }

    /**
     * The loop while the app is in the foreground: online, one [liveRound] after another, so
     * another phone's write arrives as soon as the server has it; offline, or after a failed
     * round, a wait of [pollMs] before the next. Each round's outcome goes to [onRound]. Runs
     * until its coroutine is cancelled.
     */
    suspend fun runLive(
        online: () -> Boolean,
        waitS: Int = 25,
        pollMs: Long = 60_000,
        onRound: (Result<SyncReport>) -> Unit = {},
    ) {
        while (true) {
            if (!online()) {
                delay(pollMs)
                continue
            }
            val round = liveRound(waitS)
            onRound(round)
            if (round.isFailure) delay(pollMs)
        }
    }

    /** Cycles with backoff, at most [attempts] times (the background worker). */
    suspend fun syncWithRetry(attempts: Int): Result<SyncReport> =
        noted(attempt { sync.syncWithRetry(attempts.coerceAtLeast(1).toUInt()) }).also { refresh() }

    suspend fun retry(opId: String): Result<Boolean> = io(dispatcher) { store.retryRejected(opId) }.also { refresh() }
    suspend fun discard(opId: String, by: String): Result<Boolean> = io(dispatcher) { store.discardRejected(opId, by) }.also { refresh() }

    /** What the platform says of the phone (model, OS, free storage, battery saver), sent with
     *  the next sync for the back office. The worker sets it before each run. */
    fun setEnvironment(environment: app.gridbook.ffi.core.DeviceEnvironment) {
        attempt { sync.setEnvironment(environment) }  // locked: the facts wait for the next run
    }

    /** The network the phone is on: photos go over mobile data only as the server's photo policy
     *  allows, up to its daily cap. The worker sets it before each run. */
    fun setNetwork(network: app.gridbook.ffi.core.NetworkKind) {
        attempt { sync.setNetwork(network) }  // locked: the next run sets it again
    }

    /** The build of the app the server last offered (required when this app is below its minimum). */
    fun appUpdate(): app.gridbook.ffi.core.AppUpdate? = attempt { sync.appUpdate() }.getOrNull()

    /** A local write happened: count the outbox again (cheap; safe on any thread). */
    fun localChange() {
        attempt { sync.status() }.onSuccess { _status.value = it }
    }

    /** Reads the status and the refused changes again. */
    suspend fun refresh() {
        withContext(dispatcher) {
            attempt { sync.status() }.onSuccess { _status.value = it }
            attempt { store.rejectedChanges() }.onSuccess { _rejected.value = it }
        }
    }
}
