// Arrears beyond the day's plan: the list of what is owed in all of the manager's grids (each
// line leads to collection or to a notice), a household's own debts for its page, and the
// arrears notice (催缴通知): how the customer was told (call, letter, notice slip), what they
// said, the day they promised to pay. A notice is recorded once, however often the button is tapped.
package app.gridbook.logic

import app.gridbook.ffi.core.ArrearsLine
import app.gridbook.ffi.core.ArrearsNotice
import app.gridbook.ffi.core.NoticeChannel
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/** Lines that can still be collected on: something remains owed. */
fun List<ArrearsLine>.collectable(): List<ArrearsLine> = filter { it.remainingFen > 0 }

data class ArrearsState(
    /** Every line still owed, grid by grid in the manager's order, each grid in the core's order (most owed first). */
    val lines: List<ArrearsLine> = emptyList(),
    val remainingFen: Long = 0,
    val loading: Boolean = false,
    val problem: Problem? = null,
)

/** 欠费清单: what is owed in all of the manager's grids. */
class ArrearsModel(private val fieldwork: FieldworkRepository, private val session: Session) {
    private val _state = MutableStateFlow(ArrearsState())
    val state: StateFlow<ArrearsState> = _state.asStateFlow()

    suspend fun refresh() {
        _state.value = _state.value.copy(loading = true, problem = null)
        val all = fieldwork.arrearsIn(session.grids)
        val lines = all.getOrDefault(emptyList()).collectable()
        _state.value = ArrearsState(lines = lines, remainingFen = lines.sumOf { it.remainingFen }, problem = all.problem)
    }
}

data class NoticeForm(
    val channel: NoticeChannel = NoticeChannel.NOTICE_SLIP,
    /** What the customer said. */
    val outcome: String = "",
    /** The day they promised to pay, YYYY-MM-DD; empty when they did not. */
    val promisedPayDate: String = "",
    val notes: String = "",
)

data class NoticeState(
    val line: ArrearsLine? = null,
    val form: NoticeForm = NoticeForm(),
    val saving: Boolean = false,
    val saved: ArrearsNotice? = null,
    val problem: Problem? = null,
)

/** 催缴通知: the arrears notice given for one account. */
class NoticeModel(
    private val fieldwork: FieldworkRepository,
    private val session: Session,
    private val clockMs: () -> Long = System::currentTimeMillis,
    private val zoneOffsetMin: () -> Int = ::phoneZoneOffsetMin,
    private val drafts: Drafts? = null,
) {
    private val _state = MutableStateFlow(NoticeState())
    val state: StateFlow<NoticeState> = _state.asStateFlow()
    private val once = SubmitOnce()
    private var draftKey: String? = null

    fun start(line: ArrearsLine) {
        val key = "notice:${line.account.id}"
        draftKey = key
        _state.value = NoticeState(line = line, form = drafts?.get<NoticeForm>(key) ?: NoticeForm())
    }

    fun edit(change: (NoticeForm) -> NoticeForm) {
        val s = _state.value
        if (s.saved != null || s.saving) return
        val form = change(s.form)
        _state.value = s.copy(form = form, problem = null)
        draftKey?.let { drafts?.put(it, form) }
    }

    /** Records the notice (now, by this manager). True when saved; a second tap writes nothing. */
    suspend fun record(): Boolean = once.run({ _state.value.saved != null }) {
        val s = _state.value
        val line = s.line ?: return@run false
        val zone = zoneOffsetMin()
        val promised = s.form.promisedPayDate.trim()
        // the end of the promised day, local: paying any time that day keeps the promise
        val promisedAt = if (promised.isEmpty()) null else localToUtcMs(promised, "23:59", zone)
        if (promised.isNotEmpty() && promisedAt == null) {
            _state.value = s.copy(problem = Problem.invalid("promised_pay_at_ms", "give the date as YYYY-MM-DD"))
            return@run false
        }
        _state.value = s.copy(saving = true, problem = null)
        val r = fieldwork.recordNotice(
            ArrearsNotice(
                gridId = line.account.gridId, accountId = line.account.id, householdId = line.account.householdId,
                channel = s.form.channel, givenAtMs = clockMs(), zoneOffsetMin = zone.toLong(), outcome = s.form.outcome.trim(),
                promisedPayAtMs = promisedAt, notes = s.form.notes.trim(), managerId = session.managerId,
            ),
        )
        if (r.isSuccess) draftKey?.let { drafts?.drop(it) }
        _state.value = _state.value.copy(saving = false, saved = r.getOrNull(), problem = r.problem)
        r.isSuccess
    }
}
