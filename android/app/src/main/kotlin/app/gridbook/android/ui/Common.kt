// Shared pieces of the screens: the theme, the sync indicator, the problem banner with the
// zh-CN/English text for each kind of problem and the field it names, money and time display,
// and date and time fields that open pickers instead of taking typed text.
package app.gridbook.android.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Event
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.AssistChip
import androidx.compose.material3.DatePicker
import androidx.compose.material3.DatePickerDialog
import androidx.compose.material3.FilterChip
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.Icon
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.TextButton
import androidx.compose.material3.TimePicker
import androidx.compose.material3.rememberDatePickerState
import androidx.compose.material3.rememberTimePickerState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.material3.Card
import androidx.compose.material3.CardDefaults
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.material3.lightColorScheme
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import app.gridbook.android.R
import app.gridbook.ffi.SyncStatus
import app.gridbook.logic.Problem
import app.gridbook.logic.ProblemKind
import app.gridbook.logic.SyncLight
import app.gridbook.logic.light
import app.gridbook.logic.pickedDate
import app.gridbook.logic.pickedTime
import app.gridbook.logic.pickerMs
import java.time.Instant
import java.time.ZoneId
import java.time.format.DateTimeFormatter

@Composable
fun GridbookTheme(content: @Composable () -> Unit) {
    MaterialTheme(
        colorScheme = lightColorScheme(primary = Color(0xFF0B5CAD), secondary = Color(0xFF2E7D32)),
        content = content,
    )
}

private val TIME = DateTimeFormatter.ofPattern("MM-dd HH:mm").withZone(ZoneId.systemDefault())

fun formatTime(ms: Long?): String = ms?.let { TIME.format(Instant.ofEpochMilli(it)) } ?: "—"

/** The label of a field the core named in a problem, or the field's name. */
@Composable
fun fieldLabel(field: String?): String = when (field) {
    "customer_name" -> stringResource(R.string.field_customer_name)
    "mobile" -> stringResource(R.string.field_mobile)
    "landline" -> stringResource(R.string.field_landline)
    "id_number" -> stringResource(R.string.field_id_number)
    "id_type" -> stringResource(R.string.field_id_type)
    "birthday" -> stringResource(R.string.field_birthday)
    "follow_up", "follow_up_due" -> stringResource(R.string.field_follow_up)
    "amount_fen" -> stringResource(R.string.field_amount)
    "cash_received_fen", "change_fen" -> stringResource(R.string.field_cash)
    "signature", "signature_record" -> stringResource(R.string.field_signature)
    "signer_name", "signer_relation" -> stringResource(R.string.field_signer)
    "receipt_no" -> stringResource(R.string.field_receipt_no)
    "purpose" -> stringResource(R.string.field_purpose)
    "code" -> stringResource(R.string.field_code)
    "agreed_at_ms", "date" -> stringResource(R.string.field_appointment_time)
    "note" -> stringResource(R.string.field_appointment_note)
    "text" -> stringResource(R.string.field_ticket_text)
    "promised_reply_by" -> stringResource(R.string.field_promised_reply_by)
    "escalated_to" -> stringResource(R.string.field_escalate_to)
    "reply" -> stringResource(R.string.field_ticket_reply)
    "closure_confirmed_by_customer" -> stringResource(R.string.ticket_customer_confirms)
    "status" -> stringResource(R.string.field_status)
    "payment_ref" -> stringResource(R.string.field_payment_ref)
    "promised_pay_at_ms" -> stringResource(R.string.notice_promised_day)
    "font" -> stringResource(R.string.field_font)
    "printer" -> stringResource(R.string.field_printer)
    else -> field ?: ""
}

@Composable
fun problemText(p: Problem): String = when (p.kind) {
    ProblemKind.INVALID -> stringResource(R.string.problem_invalid, fieldLabel(p.field), p.detail)
    ProblemKind.NOT_FOUND -> stringResource(R.string.problem_not_found)
    ProblemKind.OFFLINE -> stringResource(R.string.problem_offline)
    ProblemKind.NEEDS_ENROLMENT -> stringResource(R.string.problem_enrol_again)
    ProblemKind.REFUSED -> stringResource(R.string.problem_refused, p.detail)
    ProblemKind.INTERRUPTED -> stringResource(R.string.problem_interrupted)
    ProblemKind.KEY_UNAVAILABLE -> stringResource(R.string.problem_key_unavailable)
    ProblemKind.UPGRADE_REQUIRED -> stringResource(R.string.problem_upgrade_required, p.detail)
    ProblemKind.LOCKED -> stringResource(R.string.problem_locked)
    ProblemKind.OFFLINE_TOO_LONG -> stringResource(R.string.problem_offline_too_long)
    ProblemKind.STORE_UNREADABLE -> stringResource(R.string.store_failed)
    ProblemKind.WIPED -> stringResource(R.string.problem_wiped, p.detail)
    ProblemKind.UNEXPECTED -> stringResource(R.string.problem_unexpected, p.detail)
}

@Composable
fun ProblemBanner(p: Problem?) {
    if (p == null) return
    Card(
        colors = CardDefaults.cardColors(containerColor = MaterialTheme.colorScheme.errorContainer),
        modifier = Modifier.fillMaxWidth().padding(vertical = 4.dp),
    ) {
        Text(problemText(p), modifier = Modifier.padding(12.dp), color = MaterialTheme.colorScheme.onErrorContainer)
    }
}

/** The sync indicator shown on Today and in the top bar: what the core says, nothing more. */
@Composable
fun SyncChip(status: SyncStatus, onClick: () -> Unit) {
    val text = when (status.light()) {
        SyncLight.NOT_ENROLLED -> stringResource(R.string.sync_not_enrolled)
        SyncLight.SYNCED -> stringResource(R.string.sync_synced, formatTime(status.lastSuccessMs))
        SyncLight.PENDING -> stringResource(R.string.sync_pending, status.pending.toLong(), status.rejected.toLong())
        SyncLight.SYNCING -> stringResource(R.string.sync_syncing)
        SyncLight.OFFLINE -> stringResource(R.string.sync_offline, status.pending.toLong())
        SyncLight.FAILED -> stringResource(R.string.sync_failed)
    }
    AssistChip(onClick = onClick, label = { Text(text) })
}

@Composable
fun Section(title: String, content: @Composable () -> Unit) {
    Column(Modifier.fillMaxWidth().padding(vertical = 8.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
        Text(title, style = MaterialTheme.typography.titleMedium)
        content()
    }
}

@Composable
fun LabelValue(label: String, value: String) {
    Row(Modifier.fillMaxWidth(), horizontalArrangement = Arrangement.SpaceBetween) {
        Text(label, style = MaterialTheme.typography.bodyMedium, color = MaterialTheme.colorScheme.onSurfaceVariant)
        Text(value, style = MaterialTheme.typography.bodyLarge)
    }
}

/** A date (YYYY-MM-DD, "" for none) shown in a field that opens the date picker when tapped. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun DateField(label: Int, value: String, error: Boolean, onChange: (String) -> Unit) {
    var open by remember { mutableStateOf(false) }
    PickerField(label, value, error) { open = true }
    if (open) {
        val state = rememberDatePickerState(initialSelectedDateMillis = pickerMs(value))
        DatePickerDialog(
            onDismissRequest = { open = false },
            confirmButton = {
                TextButton(onClick = { state.selectedDateMillis?.let { onChange(pickedDate(it)) }; open = false }) { Text(stringResource(R.string.ok)) }
            },
            dismissButton = { TextButton(onClick = { open = false }) { Text(stringResource(R.string.cancel)) } },
        ) { DatePicker(state = state) }
    }
}

/** A time (HH:mm) shown in a field that opens the time picker when tapped. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun TimeField(label: Int, value: String, error: Boolean, onChange: (String) -> Unit) {
    var open by remember { mutableStateOf(false) }
    PickerField(label, value, error) { open = true }
    if (open) {
        val (h, m) = value.split(":").mapNotNull { it.toIntOrNull() }.let { (it.getOrNull(0) ?: 9) to (it.getOrNull(1) ?: 0) }
        val state = rememberTimePickerState(initialHour = h, initialMinute = m, is24Hour = true)
        AlertDialog(
            onDismissRequest = { open = false },
            confirmButton = { TextButton(onClick = { onChange(pickedTime(state.hour, state.minute)); open = false }) { Text(stringResource(R.string.ok)) } },
            dismissButton = { TextButton(onClick = { open = false }) { Text(stringResource(R.string.cancel)) } },
            text = { TimePicker(state = state) },
        )
    }
}

/** A read-only field that opens a picker: the whole field takes the tap, not only its icon. */
@Composable
private fun PickerField(label: Int, value: String, error: Boolean, open: () -> Unit) {
    Box(Modifier.fillMaxWidth().padding(vertical = 2.dp)) {
        OutlinedTextField(
            value = value, onValueChange = {}, readOnly = true, label = { Text(stringResource(label)) }, isError = error,
            trailingIcon = { Icon(Icons.Filled.Event, contentDescription = null) }, modifier = Modifier.fillMaxWidth(),
        )
        // over the field: a read-only text field would otherwise swallow the tap
        Box(Modifier.matchParentSize().clickable(onClick = open))
    }
}

/** The manager's grids as chips, the one shown selected; nothing when there is only one. */
@Composable
fun GridChips(grids: List<String>, selected: String, select: (String) -> Unit) {
    if (grids.size < 2) return
    Row(Modifier.fillMaxWidth().padding(vertical = 4.dp), horizontalArrangement = Arrangement.spacedBy(4.dp)) {
        grids.forEach { g -> FilterChip(selected = g == selected, onClick = { select(g) }, label = { Text(g) }) }
    }
}
