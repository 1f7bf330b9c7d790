// The visit form's state and its submission: purpose, outcome, needs, competitor information,
// follow-up, and the customer's own signature on the work order (the text the core seals, shown
// to the customer first), recorded with the visit in one transaction. The arrival is the moment
// the form is shown at the door (`arrive`), not when the model was made; the form outlives its
// screen until saved (Drafts); a second tap on save writes nothing.
package app.gridbook.logic

import app.gridbook.ffi.core.Appointment
import app.gridbook.ffi.CustomerSignature
import app.gridbook.ffi.core.Household
import app.gridbook.ffi.core.Position
import app.gridbook.ffi.core.Punctuality
import app.gridbook.ffi.SignatureCapture
import app.gridbook.ffi.SignatureFlag
import app.gridbook.ffi.SignaturePad
import app.gridbook.ffi.SignerRelation
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
    /** Time of arrival: when the form was first shown at the door; null until then. */
    val arrivedAtMs: Long? = null,
    /** Where the phone was at the door ([positionOf]: a fix, or "no fix"); null until located. */
    val location: Position? = null,
    val form: VisitForm = VisitForm(),
    /** The work order as the customer reads it before signing (exactly what is sealed). */
    val workOrderText: String = "",
    val signature: SignaturePad? = null,
    /** Plausibility warnings on the signature: ask the customer to sign again. */
    val signatureFlags: List<SignatureFlag> = emptyList(),
    /** A save is under way: the button takes no tap. */
    val saving: Boolean = false,
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
    private val drafts: Drafts? = null,
) {
    private val _state = MutableStateFlow(VisitState())
    val state: StateFlow<VisitState> = _state.asStateFlow()
    private val once = SubmitOnce()
    private var draftKey: String? = null

    /**
     * Prepares the form for [household] ([appointment] when the visit keeps one). An unsaved form
     * left for the same door comes back as it was. Does not take the arrival: [arrive] does.
     */
    fun start(household: Household, appointment: Appointment? = null) {
        val key = "visit:${household.id}:${appointment?.id ?: ""}"
        draftKey = key
        val kept = drafts?.get<VisitState>(key)
        if (kept != null) {
            _state.value = kept.copy(household = household, problem = null)
            return
        }
        val form = VisitForm(
            signerName = household.customerName, appointmentAtMs = appointment?.agreedAtMs,
            purpose = appointment?.purpose ?: VisitPurpose.SURVEY,
        )
        val s = VisitState(household = household, appointment = appointment, form = form)
        update(s.copy(workOrderText = workOrderText(draft(s))))
    }

    /**
     * The manager is at the door: the form is on screen. The first call takes the time; later
     * ones (the screen shown again) keep it.
     */
    fun arrive() {
        val s = _state.value
        if (s.household == null || s.arrivedAtMs != null || s.saved != null) return
        update(s.copy(arrivedAtMs = clockMs()))
    }

    /** Any change to the text drops the signature: the customer signed another text. A saved visit is not edited. */
    fun edit(change: (VisitForm) -> VisitForm) {
        val current = _state.value
        if (current.saved != null || current.saving) return
        val s = current.copy(form = change(current.form), problem = null)
        val text = workOrderText(draft(s))
        update(if (text == s.workOrderText) s else s.copy(workOrderText = text, signature = null, signatureFlags = emptyList()))
    }

    /** Takes the signature from the pad: refused if it cannot be one, flagged if implausible. */
    fun sign(pad: SignaturePad) {
        if (_state.value.saved != null) return
        val taken = takeSignature(pad)
        update(_state.value.copy(signature = taken.pad, signatureFlags = taken.flags, problem = taken.problem))
    }

    /** "重签 Sign again": the pad is cleared, and so is the signature the form holds. */
    fun clearSignature() {
        if (_state.value.saved != null) return
        update(_state.value.copy(signature = null, signatureFlags = emptyList()))
    }

    private fun draft(s: VisitState): Visit {
        val h = s.household
        val f = s.form
        return Visit(
            gridId = h?.gridId ?: session.grid, householdId = h?.id ?: "", appointmentAtMs = f.appointmentAtMs,
            arrivedAtMs = s.arrivedAtMs ?: 0, zoneOffsetMin = zoneOffsetMin().toLong(), purpose = f.purpose, outcome = f.outcome,
            needs = f.needs, competitorInfo = f.competitorInfo, opinions = f.opinions, openQuestion = f.openQuestion,
            followUp = f.followUp, followUpDue = f.followUpDue, managerId = session.managerId, location = s.location,
        )
    }

    /**
     * Where the phone was at the door, once the platform answered (a fix, or "no fix" after the
     * wait). The first answer counts; a saved visit is not changed. Saving never waits for it.
     */
    fun locate(position: Position) {
        val s = _state.value
        if (s.household == null || s.location != null || s.saved != null) return
        update(s.copy(location = position))
    }

    /**
     * Records the visit, with the customer's sealed signature when they signed. True when saved.
     * Runs once: a second tap (during the save or after it) returns true and writes nothing.
     */
    suspend fun submit(): Boolean = once.run({ _state.value.saved != null }) {
        arrive()  // a form saved before it was ever shown arrives now
        val s = _state.value
        if (s.household == null) return@run false
        val pad = s.signature
        if (pad != null && s.signatureFlags.isNotEmpty()) {
            update(s.copy(problem = Problem.invalid("signature", "the signature looks implausible: ask the customer to sign again")))
            return@run false
        }
        update(s.copy(saving = true, problem = null))
        val visit = draft(s)
        if (pad == null) {
            val saved = when (val a = s.appointment) {
                null -> fieldwork.recordVisit(visit).map { it to null }
                else -> fieldwork.recordAppointmentVisit(a.id, visit).map { it.visit to it.punctuality }
            }
            settle(saved.getOrNull()?.let { (v, p) -> _state.value.copy(saved = v, punctuality = p) }, saved.problem)
            return@run saved.isSuccess
        }
        // signed: the visit, the signature and the appointment it keeps, in one transaction
        val signed = fieldwork.recordSignedVisit(visit, SignatureCapture(pad, s.form.signerName, s.form.relation), s.appointment?.id)
        settle(
            signed.getOrNull()?.let { _state.value.copy(saved = it.visit, sealed = it.signature, punctuality = it.punctuality) },
            signed.problem,
        )
        signed.isSuccess
    }

    /** After a save: the saved state (its draft dropped), or the form as it is now with the problem. */
    private fun settle(saved: VisitState?, problem: Problem?) {
        if (saved != null) {
            draftKey?.let { drafts?.drop(it) }
            _state.value = saved.copy(saving = false, problem = null)
        } else {
            update(_state.value.copy(saving = false, problem = problem))
        }
    }

    /** Shows [s] and keeps it as the door's draft until it is saved. */
    private fun update(s: VisitState) {
        _state.value = s
        if (s.saved == null) draftKey?.let { key -> drafts?.put(key, s.copy(saving = false, problem = null)) }
    }
}
