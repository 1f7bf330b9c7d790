// The visit form (走访记录): purpose, outcome, needs, competitor information, opinions, an open
// question and the reply promised by a date (picked), and the customer's signature on the work
// order. The arrival is taken when the form is first shown; the save button takes one tap.
package app.gridbook.android.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyRow
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.gridbook.android.R
import app.gridbook.android.VisitViewModel
import app.gridbook.ffi.SignerRelation
import app.gridbook.ffi.core.Punctuality
import app.gridbook.ffi.core.VisitPurpose
import app.gridbook.logic.VisitForm

@Composable
fun purposeLabel(p: VisitPurpose): String = stringResource(
    when (p) {
        VisitPurpose.SURVEY -> R.string.purpose_survey
        VisitPurpose.SALE -> R.string.purpose_sale
        VisitPurpose.SERVICE_ORDER -> R.string.purpose_service_order
        VisitPurpose.ARREARS -> R.string.purpose_arrears
        VisitPurpose.COMPLAINT -> R.string.purpose_complaint
        VisitPurpose.CARE -> R.string.purpose_care
        VisitPurpose.RETENTION -> R.string.purpose_retention
    },
)

/** 准时 / 早到 N 分钟 / 迟到 N 分钟 */
@Composable
fun punctualityLabel(p: Punctuality): String = when (p) {
    is Punctuality.OnTime -> stringResource(R.string.punctuality_on_time)
    is Punctuality.Early -> stringResource(R.string.punctuality_early, p.minutes)
    is Punctuality.Late -> stringResource(R.string.punctuality_late, p.minutes)
}

@Composable
fun RelationChips(selected: SignerRelation, onSelect: (SignerRelation) -> Unit) {
    val choices = listOf(
        SignerRelation.Householder to R.string.relation_householder,
        SignerRelation.FamilyMember to R.string.relation_family,
        SignerRelation.ShopStaff to R.string.relation_shop_staff,
    )
    LazyRow {
        items(choices) { (r, label) ->
            FilterChip(selected = selected == r, onClick = { onSelect(r) }, label = { Text(stringResource(label)) }, modifier = Modifier.padding(end = 4.dp))
        }
    }
}

@Composable
fun VisitScreen(vm: VisitViewModel, takeTicket: (householdId: String) -> Unit = {}, done: () -> Unit) {
    val state by vm.model.state.collectAsStateWithLifecycle()
    val loadProblem by vm.loadProblem.collectAsStateWithLifecycle()
    val household = state.household ?: run { ProblemBanner(loadProblem); return }
    // at the door: the form is on screen (the first time counts; core-logic keeps it), and the
    // phone is asked where it is alongside (a fix, or "no fix within 30 s")
    LaunchedEffect(household.id) { vm.arrive() }
    val f = state.form
    val edit: ((VisitForm) -> VisitForm) -> Unit = vm.model::edit
    val errorOn = { field: String -> state.problem?.field == field }

    Column(Modifier.fillMaxWidth().padding(16.dp).verticalScroll(rememberScrollState())) {
        Text(stringResource(R.string.visit_title, household.customerName), style = MaterialTheme.typography.headlineSmall)
        Text(household.address, style = MaterialTheme.typography.bodySmall)
        state.appointment?.let { a -> Text(stringResource(R.string.visit_keeps_appointment, formatTime(a.agreedAtMs))) }
        ProblemBanner(state.problem)
        if (state.saved != null) {
            Text(stringResource(R.string.visit_saved), color = MaterialTheme.colorScheme.secondary)
            state.punctuality?.let { Text(punctualityLabel(it)) }
            // a request or complaint heard at the door becomes a ticket the manager owns (首问负责制)
            Button(onClick = { takeTicket(household.id) }) { Text(stringResource(R.string.ticket_take)) }
            Button(onClick = done) { Text(stringResource(R.string.back)) }
            return@Column
        }
        Text(stringResource(R.string.field_purpose), style = MaterialTheme.typography.titleSmall)
        LazyRow {
            items(VisitPurpose.entries) { p ->
                FilterChip(selected = f.purpose == p, onClick = { edit { it.copy(purpose = p) } }, label = { Text(purposeLabel(p)) }, modifier = Modifier.padding(end = 4.dp))
            }
        }
        Input(R.string.field_outcome, f.outcome, errorOn("outcome")) { v -> edit { it.copy(outcome = v) } }
        Input(R.string.field_needs, f.needs, errorOn("needs")) { v -> edit { it.copy(needs = v) } }
        Input(R.string.field_competitor_info, f.competitorInfo, false) { v -> edit { it.copy(competitorInfo = v) } }
        Input(R.string.field_opinions, f.opinions, false) { v -> edit { it.copy(opinions = v) } }
        Input(R.string.field_open_question, f.openQuestion, false) { v -> edit { it.copy(openQuestion = v) } }
        Input(R.string.field_follow_up, f.followUp, errorOn("follow_up")) { v -> edit { it.copy(followUp = v) } }
        DateField(R.string.field_follow_up_due, f.followUpDue, errorOn("follow_up_due")) { v -> edit { it.copy(followUpDue = v) } }

        Section(stringResource(R.string.work_order_signature)) {
            // What the customer reads before signing: exactly the text the core seals.
            Text(state.workOrderText, style = MaterialTheme.typography.bodyMedium)
            Input(R.string.field_signer, f.signerName, errorOn("signer_name")) { v -> edit { it.copy(signerName = v) } }
            RelationChips(f.relation) { r -> edit { it.copy(relation = r) } }
            SignaturePadField(
                signed = state.signature != null, flags = state.signatureFlags,
                onSigned = vm.model::sign, onClear = vm.model::clearSignature,
            )
        }
        Button(onClick = vm::submit, enabled = !state.saving, modifier = Modifier.fillMaxWidth().padding(top = 12.dp)) {
            Text(stringResource(R.string.visit_save))
        }
    }
}

@Composable
fun Input(label: Int, value: String, error: Boolean, onChange: (String) -> Unit) {
    OutlinedTextField(
        value = value, onValueChange = onChange, label = { Text(stringResource(label)) }, isError = error,
        modifier = Modifier.fillMaxWidth().padding(vertical = 2.dp),
    )
}
