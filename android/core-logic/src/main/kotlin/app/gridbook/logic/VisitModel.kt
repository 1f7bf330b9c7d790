// The visit form's state and its submission: purpose, outcome, needs, competitor information,
// follow-up, and the customer's own signature on the work order (the text the core seals, shown
// to the customer first), recorded with the visit in one transaction.
package app.gridbook.logic

import app.gridbook.ffi.CustomerSignature
import app.gridbook.ffi.SignatureCapture
import app.gridbook.ffi.SignatureFlag
import app.gridbook.ffi.SignaturePad
import app.gridbook.ffi.SignerRelation
import app.gridbook.ffi.checkSignature
import app.gridbook.ffi.core.Appointment
import app.gridbook.ffi.core.Household
import app.gridbook.ffi.core.Punctuality
import app.gridbook.ffi.core.Visit
import app.gridbook.ffi.core.VisitPurpose
import app.gridbook.ffi.workOrderText
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

data class VisitForm(
    val purpose: VisitPurpose = VisitPurpose.SURVEY,
    val appointmentAtMs: Long? = null,
    val outcome: String = "",
    val needs: String = "",
    val competitorInfo: String = "",
    val opinions: String = "",
    val openQuestion: String = "",
    val followUp: String = "",
    /** YYYY-MM-DD */
    val followUpDue: String = "",
    val signerName: String = "",
    val relation: SignerRelation = SignerRelation.Householder,
)

data class VisitState(
    val household: Household? = null,
    /** The appointment this visit keeps, if any (the visit then carries the agreed time). */
    val appointment: Appointment? = null,
    /** Time of arrival: when the form was opened at the door. */
    val arrivedAtMs: Long = 0,
    val form: VisitForm = VisitForm(),
    /** The work order as the customer reads it before signing (exactly what is sealed). */
    val workOrderText: String = "",
    val signature: SignaturePad? = null,
    /** Plausibility warnings on the signature: ask the customer to sign again. */
    val signatureFlags: List<SignatureFlag> = emptyList(),
    val saved: Visit? = null,
    val sealed: CustomerSignature? = null,
    /** 准时 / 早到 / 迟到 against the appointment the saved visit kept; null without one. */
    val punctuality: Punctuality? = null,
    val problem: Problem? = null,
)

class VisitModel(
    private val fieldwork: FieldworkRepository,
    private val session: Session,
    private val clockMs: () -> Long = System::currentTimeMillis,
    private val zoneOffsetMin: () -> Int = ::phoneZoneOffsetMin,
) {
    private val _state = MutableStateFlow(VisitState())
    val state: StateFlow<VisitState> = _state.asStateFlow()

    /** Opens the form at the door; [appointment] when the visit keeps one. */
    fun start(household: Household, appointment: Appointment? = null) {
        val form = VisitForm(
            signerName = household.customerName, appointmentAtMs = appointment?.agreedAtMs,
            purpose = appointment?.purpose ?: VisitPurpose.SURVEY,
        )
        val s = VisitState(household = household, appointment = appointment, arrivedAtMs = clockMs(), form = form)
        _state.value = s.copy(workOrderText = workOrderText(draft(s)))
    }

    /** Any change to the form drops the signature: the customer signed another text. */
    fun edit(change: (VisitForm) -> VisitForm) {
        val s = _state.value.copy(form = change(_state.value.form), problem = null, saved = null)
        val text = workOrderText(draft(s))
        _state.value = if (text == s.workOrderText) s else s.copy(workOrderText = text, signature = null, signatureFlags = emptyList())
    }

    /** Takes the signature from the pad: refused if it cannot be one, flagged if implausible. */
    fun sign(pad: SignaturePad) {
        val check = attempt { checkSignature(pad) }
        _state.value = _state.value.copy(
            signature = if (check.isSuccess) pad else null,
            signatureFlags = check.getOrNull()?.flags ?: emptyList(),
            problem = check.problem,
        )
    }

    fun clearSignature() {
        _state.value = _state.value.copy(signature = null, signatureFlags = emptyList())
    }

    private fun draft(s: VisitState): Visit {
        val h = s.household
        val f = s.form
        return Visit(
            gridId = h?.gridId ?: session.grid, householdId = h?.id ?: "", appointmentAtMs = f.appointmentAtMs,
            arrivedAtMs = s.arrivedAtMs, zoneOffsetMin = zoneOffsetMin().toLong(), purpose = f.purpose, outcome = f.outcome,
            needs = f.needs, competitorInfo = f.competitorInfo, opinions = f.opinions, openQuestion = f.openQuestion,
            followUp = f.followUp, followUpDue = f.followUpDue, managerId = session.managerId,
        )
    }

    /** Records the visit, with the customer's sealed signature when they signed. True when saved. */
    suspend fun submit(): Boolean {
        val s = _state.value
        if (s.household == null) return false
        val pad = s.signature
        if (pad != null && s.signatureFlags.isNotEmpty()) {
            _state.value = s.copy(problem = Problem.invalid("signature", "the signature looks implausible: ask the customer to sign again"))
            return false
        }
        val visit = draft(s)
        if (pad == null) {
            val saved = when (val a = s.appointment) {
                null -> fieldwork.recordVisit(visit).map { it to null }
                else -> fieldwork.recordAppointmentVisit(a.id, visit).map { it.visit to it.punctuality }
            }
            _state.value = s.copy(saved = saved.getOrNull()?.first, punctuality = saved.getOrNull()?.second, problem = saved.problem)
            return saved.isSuccess
        }
        // signed: the visit, the signature and the appointment it keeps, in one transaction
        val signed = fieldwork.recordSignedVisit(visit, SignatureCapture(pad, s.form.signerName, s.form.relation), s.appointment?.id)
        _state.value = s.copy(
            saved = signed.getOrNull()?.visit, sealed = signed.getOrNull()?.signature,
            punctuality = signed.getOrNull()?.punctuality, problem = signed.problem,
        )
        return signed.isSuccess
    }
}
