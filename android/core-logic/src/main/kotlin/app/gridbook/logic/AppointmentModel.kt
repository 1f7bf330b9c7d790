// The appointment screen's state (预约): book a time the customer chose, confirm it, move it (after
// a late notice, an absence, or the customer's request), cancel it with a reason, or — at the door —
// record that the customer was not in, which leaves a follow-up to re-book. Times are picked as a
// local date and time and turned into UTC milliseconds with the phone's zone offset. A second tap
// books or records nothing more.
package app.gridbook.logic

import app.gridbook.ffi.AppointmentVisit
import app.gridbook.ffi.core.Appointment
import app.gridbook.ffi.core.AppointmentStatus
import app.gridbook.ffi.core.Household
import app.gridbook.ffi.core.Visit
import app.gridbook.ffi.core.VisitPurpose
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock

data class AppointmentForm(
    /** YYYY-MM-DD, local. */
    val date: String = "",
    /** HH:mm, local. */
    val time: String = "",
    val purpose: VisitPurpose = VisitPurpose.SURVEY,
    val note: String = "",
)

data class AppointmentState(
    val household: Household? = null,
    /** The appointment being moved, confirmed or cancelled; null while booking a new one. */
    val appointment: Appointment? = null,
    val form: AppointmentForm = AppointmentForm(),
    /** The appointment as last saved. */
    val saved: Appointment? = null,
    /** The visit recorded when the customer was absent (its follow-up is due to re-book). */
    val absentVisit: Visit? = null,
    val problem: Problem? = null,
)

class AppointmentModel(
    private val workday: WorkdayRepository,
    private val session: Session,
    private val clockMs: () -> Long = System::currentTimeMillis,
    private val zoneOffsetMin: () -> Int = ::phoneZoneOffsetMin,
) {
    private val _state = MutableStateFlow(AppointmentState())
    val state: StateFlow<AppointmentState> = _state.asStateFlow()
    private val once = Mutex()

    /** A new appointment with [household], on [date] (the form starts there; the time is typed). */
    fun startNew(household: Household, date: String) {
        _state.value = AppointmentState(household = household, form = AppointmentForm(date = date))
    }

    /**
     * An existing appointment, to move, confirm or cancel. [late]: the agreed time has passed (or
     * will) — the note says the customer was told, as the rules ask, and a new time is to be typed.
     */
    fun startExisting(household: Household, a: Appointment, late: Boolean = false) {
        val (date, time) = utcMsToLocal(a.agreedAtMs, a.zoneOffsetMin.toInt())
        val note = if (late) LATE_NOTE else a.note
        _state.value = AppointmentState(household = household, appointment = a, form = AppointmentForm(date, time, a.purpose, note))
    }

    fun edit(change: (AppointmentForm) -> AppointmentForm) {
        _state.value = _state.value.copy(form = change(_state.value.form), problem = null)
    }

    /**
     * Books the new appointment, or moves the existing one to the form's time. True when saved.
     * Once: a second tap (while saving, or with nothing changed since) books nothing more.
     */
    suspend fun save(): Boolean = once.withLock {
        val s = _state.value
        val h = s.household ?: return@withLock false
        val zone = zoneOffsetMin()
        val at = localToUtcMs(s.form.date, s.form.time, zone)
            ?: return@withLock fail(Problem.invalid("agreed_at_ms", "give the date as YYYY-MM-DD and the time as HH:mm"))
        val saved = s.saved
        if (saved != null && saved.agreedAtMs == at && saved.note == s.form.note) return@withLock true
        val r = when (val a = s.appointment) {
            null -> workday.book(
                Appointment(
                    gridId = h.gridId, householdId = h.id, managerId = session.managerId, agreedAtMs = at,
                    zoneOffsetMin = zone.toLong(), purpose = s.form.purpose, status = AppointmentStatus.BOOKED, note = s.form.note,
                ),
            )
            else -> workday.reschedule(a.id, at, zone, s.form.note)
        }
        settle(r)
    }

    /** The customer confirmed the time. */
    suspend fun confirm(): Boolean = _state.value.appointment?.let { settle(workday.confirm(it.id)) } ?: false

    /** Cancels with the reason typed in the note. */
    suspend fun cancel(): Boolean = _state.value.appointment?.let { settle(workday.cancel(it.id, _state.value.form.note)) } ?: false

    /**
     * At the door and the customer is not in (客户不在家): the arrival is recorded now with a
     * follow-up due by [followUpDue] (YYYY-MM-DD) to re-book; the appointment counts as kept.
     */
    suspend fun customerAbsent(followUpDue: String): Boolean = once.withLock {
        val s = _state.value
        if (s.absentVisit != null) return@withLock true
        val a = s.appointment ?: return@withLock false
        val v = Visit(
            gridId = a.gridId, householdId = a.householdId, arrivedAtMs = clockMs(), zoneOffsetMin = zoneOffsetMin().toLong(),
            purpose = a.purpose, managerId = session.managerId,
        )
        val r: Result<AppointmentVisit> = workday.customerAbsent(a.id, v, followUpDue)
        _state.value = s.copy(
            saved = r.getOrNull()?.appointment ?: s.saved, absentVisit = r.getOrNull()?.visit, problem = r.problem,
        )
        r.isSuccess
    }

    private fun settle(r: Result<Appointment>): Boolean {
        val s = _state.value
        _state.value = s.copy(saved = r.getOrNull() ?: s.saved, appointment = r.getOrNull() ?: s.appointment, problem = r.problem)
        return r.isSuccess
    }

    private fun fail(p: Problem): Boolean {
        _state.value = _state.value.copy(problem = p)
        return false
    }

    companion object {
        /** The note of a time moved because the manager runs late (the customer is told first). */
        const val LATE_NOTE = "已提前告知客户将迟到，重新约定时间"
    }
}
