// The household archive (客户档案): view and edit, ID and phone numbers masked until revealed with
// a purpose, tap to call (the number shown for it, audited), the duplicate warning before a new
// archive is created, what the household still owes (collect, or give a notice, from here), the
// household's history, and the way to a visit or an appointment.
package app.gridbook.android.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.CardDefaults
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.gridbook.android.HouseholdViewModel
import app.gridbook.android.R
import app.gridbook.ffi.core.DuplicateReason
import app.gridbook.ffi.core.HistoryEntry
import app.gridbook.ffi.core.IdType
import app.gridbook.logic.Money
import app.gridbook.logic.SaveOutcome

/** Where the household page leads. */
class HouseholdActions(
    val startVisit: (householdId: String) -> Unit,
    val bookAppointment: (householdId: String) -> Unit,
    val collect: (accountId: String) -> Unit,
    val notice: (accountId: String) -> Unit,
    val dial: (number: String) -> Unit,
)

@Composable
fun HouseholdScreen(vm: HouseholdViewModel, go: HouseholdActions) {
    val state by vm.model.state.collectAsStateWithLifecycle()
    val lastSave by vm.lastSave.collectAsStateWithLifecycle()
    // back from collecting or a notice: the debts and the history read again
    LaunchedEffect(Unit) { vm.shown() }
    val form = state.form ?: run { ProblemBanner(state.problem); return }
    var revealing by remember { mutableStateOf(false) }
    val errorOn = { f: String -> state.problem?.field == f }

    Column(Modifier.fillMaxWidth().padding(16.dp).verticalScroll(rememberScrollState())) {
        Text(stringResource(if (state.isNew) R.string.household_new else R.string.household_title), style = MaterialTheme.typography.headlineSmall)
        ProblemBanner(state.problem)
        if (lastSave == SaveOutcome.SAVED && state.saved != null) Text(stringResource(R.string.saved), color = MaterialTheme.colorScheme.secondary)

        Field(R.string.field_customer_name, form.customerName, errorOn("customer_name")) { v -> vm.edit { it.copy(customerName = v) } }
        Row {
            Field(R.string.field_unit, form.unit, false, Modifier.weight(1f)) { v -> vm.edit { it.copy(unit = v) } }
            Field(R.string.field_room, form.room, false, Modifier.weight(1f)) { v -> vm.edit { it.copy(room = v) } }
        }
        Field(R.string.field_address, form.address, errorOn("address")) { v -> vm.edit { it.copy(address = v) } }
        Field(R.string.field_mobile, form.mobile, errorOn("mobile"), keyboard = KeyboardType.Phone) { v -> vm.edit { it.copy(mobile = v) } }
        Field(R.string.field_landline, form.landline, errorOn("landline"), keyboard = KeyboardType.Phone) { v -> vm.edit { it.copy(landline = v) } }
        Row {
            IdType.entries.take(2).forEach { t ->
                FilterChip(selected = form.idType == t, onClick = { vm.edit { it.copy(idType = t) } },
                    label = { Text(stringResource(if (t == IdType.RESIDENT_ID) R.string.id_resident else R.string.id_passport)) })
            }
        }
        Field(R.string.field_id_number, form.idNumber, errorOn("id_number")) { v -> vm.edit { it.copy(idNumber = v) } }
        if (!state.isNew) {
            Row {
                if (!state.revealed) TextButton(onClick = { revealing = true }) { Text(stringResource(R.string.reveal)) }
                TextButton(onClick = { vm.call(go.dial) }) { Text(stringResource(R.string.household_call)) }
            }
        }
        Field(R.string.field_work_unit, form.workUnit, false) { v -> vm.edit { it.copy(workUnit = v) } }
        Field(R.string.field_opinions, form.opinions, false) { v -> vm.edit { it.copy(opinions = v) } }
        DateField(R.string.field_birthday, form.birthday, errorOn("birthday")) { v -> vm.edit { it.copy(birthday = v) } }
        Field(R.string.field_notes, form.notes, false) { v -> vm.edit { it.copy(notes = v) } }
        if (form.services.isNotEmpty()) {
            Text(stringResource(R.string.services) + ": " + form.services.joinToString { "${it.product} ${it.plan}" })
        }
        if (form.competitorServices.isNotEmpty()) {
            Text(stringResource(R.string.competitors) + ": " + form.competitorServices.joinToString { "${it.operator} ${it.product}" })
        }

        if (state.duplicates.isNotEmpty() && !state.duplicatesAcknowledged) {
            Card(colors = CardDefaults.cardColors(containerColor = MaterialTheme.colorScheme.tertiaryContainer), modifier = Modifier.padding(vertical = 8.dp)) {
                Column(Modifier.padding(12.dp)) {
                    Text(stringResource(R.string.duplicates_title), style = MaterialTheme.typography.titleMedium)
                    state.duplicates.forEach { d ->
                        Text("${d.household.customerName} · ${d.household.address} · ${d.household.mobile}")
                        Text(d.reasons.map { duplicateReasonLabel(it) }.joinToString(" / "), style = MaterialTheme.typography.bodySmall)
                    }
                    TextButton(onClick = { vm.acknowledgeDuplicates(); vm.save() }) { Text(stringResource(R.string.duplicates_create_anyway)) }
                }
            }
        }
        Row {
            Button(onClick = vm::save) { Text(stringResource(R.string.save)) }
            if (!state.isNew) {
                TextButton(onClick = { go.startVisit(form.id) }) { Text(stringResource(R.string.start_visit)) }
                TextButton(onClick = { go.bookAppointment(form.id) }) { Text(stringResource(R.string.appointment_book)) }
            }
        }
        if (state.arrears.isNotEmpty()) {
            Section(stringResource(R.string.household_arrears)) {
                state.arrears.forEach { line ->
                    LabelValue(stringResource(R.string.arrears_months, line.account.monthsOverdue), Money.yuan(line.remainingFen))
                    Row {
                        Button(onClick = { go.collect(line.account.id) }) { Text(stringResource(R.string.collect)) }
                        TextButton(onClick = { go.notice(line.account.id) }) { Text(stringResource(R.string.notice_give)) }
                    }
                }
            }
        }
        if (state.history.isNotEmpty()) {
            Section(stringResource(R.string.history)) {
                state.history.forEach { e ->
                    Text(
                        when (e) {
                            is HistoryEntry.VisitEntry -> stringResource(R.string.history_visit, formatTime(e.visit.arrivedAtMs), e.visit.outcome) +
                                if (e.visit.signatureId != null) " ✍" else ""
                            is HistoryEntry.NoticeEntry -> stringResource(R.string.history_notice, formatTime(e.notice.givenAtMs), e.notice.outcome)
                            is HistoryEntry.ReceiptEntry ->
                                stringResource(R.string.history_receipt, formatTime(e.receipt.collectedAtMs), e.receipt.receiptNo, Money.yuan(e.receipt.amountFen)) +
                                    if (e.voided) stringResource(R.string.history_voided) else ""
                        },
                    )
                }
            }
        }
    }
    if (revealing) RevealDialog(onDismiss = { revealing = false }) { purpose -> vm.reveal(purpose); revealing = false }
}

@Composable
private fun Field(
    label: Int, value: String, error: Boolean, modifier: Modifier = Modifier.fillMaxWidth(),
    keyboard: KeyboardType = KeyboardType.Text, onChange: (String) -> Unit,
) {
    OutlinedTextField(
        value = value, onValueChange = onChange, label = { Text(stringResource(label)) }, isError = error,
        singleLine = true, keyboardOptions = KeyboardOptions(keyboardType = keyboard), modifier = modifier.padding(vertical = 2.dp),
    )
}

@Composable
private fun duplicateReasonLabel(r: DuplicateReason): String = stringResource(
    when (r) {
        DuplicateReason.SAME_ADDRESS -> R.string.duplicate_same_address
        DuplicateReason.SAME_ID_NUMBER -> R.string.duplicate_same_id
        DuplicateReason.SAME_PHONE -> R.string.duplicate_same_phone
    },
)

/** Asks why the full numbers are needed: the purpose goes into the access trail (保密). */
@Composable
private fun RevealDialog(onDismiss: () -> Unit, onReveal: (String) -> Unit) {
    var purpose by remember { mutableStateOf("") }
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(stringResource(R.string.reveal)) },
        text = { OutlinedTextField(purpose, { purpose = it }, label = { Text(stringResource(R.string.reveal_purpose)) }) },
        confirmButton = { Button(enabled = purpose.isNotBlank(), onClick = { onReveal(purpose.trim()) }) { Text(stringResource(R.string.reveal)) } },
        dismissButton = { TextButton(onClick = onDismiss) { Text(stringResource(R.string.cancel)) } },
    )
}
