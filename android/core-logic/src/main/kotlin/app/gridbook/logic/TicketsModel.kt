// The tickets screen's state (首问负责制): every ticket of the manager's grids not yet closed — overdue ones
// (promise broken) first, then open or escalated by promised date, then those replied to and
// waiting for the customer to confirm — and the actions on one: take it (on a visit: at the door),
// escalate it, record the reply, close it only with the customer's confirmation (闭环).
package app.gridbook.logic

import app.gridbook.ffi.core.Ticket
import app.gridbook.ffi.core.TicketChannel
import app.gridbook.ffi.core.TicketKind
import app.gridbook.ffi.core.TicketStatus
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock

/** A ticket in the list; [overdue] when its promised reply date passed with no reply. */
data class TicketLine(val ticket: Ticket, val overdue: Boolean)

/** The list order: overdue first (the core's order), then the other open ones, then those replied to. */
fun ticketLines(overdue: List<Ticket>, open: List<Ticket>, replied: List<Ticket>): List<TicketLine> {
    val late = overdue.map { it.id }.toSet()
    return overdue.map { TicketLine(it, true) } +
        open.filter { it.id !in late }.map { TicketLine(it, false) } +
        replied.map { TicketLine(it, false) }
}

data class TicketsState(
    val today: String = "",
    val lines: List<TicketLine> = emptyList(),
    /** The ticket last taken or changed. */
    val current: Ticket? = null,
    val loading: Boolean = false,
    val problem: Problem? = null,
) {
    val overdueCount: Int get() = lines.count { it.overdue }
}

class TicketsModel(
    private val tickets: TicketRepository,
    private val session: Session,
    private val today: () -> String,
    private val clockMs: () -> Long = System::currentTimeMillis,
) {
    private val grids = session.grids.ifEmpty { listOf(session.grid) }
    private val _state = MutableStateFlow(TicketsState())
    val state: StateFlow<TicketsState> = _state.asStateFlow()
    private val taking = Mutex()

    /** Every grid of the manager's: the tickets of each, joined (overdue ones first, as the core orders them). */
    private suspend fun all(read: suspend (String) -> Result<List<Ticket>>): Result<List<Ticket>> {
        val out = mutableListOf<Ticket>()
        for (g in grids) out += read(g).getOrElse { return Result.failure(it) }
        return Result.success(out)
    }

    suspend fun refresh() {
        val date = today()
        _state.value = _state.value.copy(today = date, loading = true, problem = null)
        val overdue = all { tickets.overdue(it, date) }
        val open = all { tickets.open(it) }
        val replied = all { tickets.replied(it) }
        _state.value = _state.value.copy(
            lines = ticketLines(overdue.getOrDefault(emptyList()), open.getOrDefault(emptyList()), replied.getOrDefault(emptyList())),
            loading = false,
            problem = overdue.problem ?: open.problem ?: replied.problem,
        )
    }

    /**
     * Takes a request, complaint or question (首问): the manager owns it from now, with the reply
     * promised by [promisedReplyBy] (YYYY-MM-DD). [householdId] when the customer has an archive
     * (empty otherwise), in [grid] (the household's; the manager's first grid without one);
     * [channel] is IN_PERSON when taken on a visit. A second tap takes nothing more: the same
     * request just taken comes back.
     */
    suspend fun take(
        householdId: String,
        kind: TicketKind,
        text: String,
        promisedReplyBy: String,
        channel: TicketChannel = TicketChannel.IN_PERSON,
        grid: String = session.grid,
    ): Ticket? = taking.withLock {
        val last = _state.value.current
        if (last != null && last.householdId == householdId && last.kind == kind && last.text == text &&
            last.promisedReplyBy == promisedReplyBy && last.status == TicketStatus.OPEN
        ) {
            return@withLock last
        }
        val t = Ticket(
            gridId = grid, householdId = householdId, ownerManagerId = session.managerId, takenAtMs = clockMs(),
            channel = channel, kind = kind, text = text, promisedReplyBy = promisedReplyBy, status = TicketStatus.OPEN,
        )
        settle(tickets.open(t))
    }

    /** Hands it up to [to] (a supervisor, a department); the manager still owns it. */
    suspend fun escalate(id: String, to: String): Ticket? = settle(tickets.escalate(id, to))

    /** What the customer was told. */
    suspend fun reply(id: String, reply: String): Ticket? = settle(tickets.reply(id, reply))

    /** Closes the loop, only when the customer confirmed ([confirmedByCustomer]); the core refuses otherwise. */
    suspend fun close(id: String, confirmedByCustomer: Boolean): Ticket? = settle(tickets.close(id, confirmedByCustomer, clockMs()))

    private suspend fun settle(r: Result<Ticket>): Ticket? {
        if (r.isSuccess) refresh()
        _state.value = _state.value.copy(current = r.getOrNull() ?: _state.value.current, problem = r.problem)
        return r.getOrNull()
    }
}
