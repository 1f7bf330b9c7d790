// Shared pieces of the screens: the theme, the sync indicator, the problem banner with the
// zh-CN/English text for each kind of problem and the field it names, money and time display.
package app.gridbook.android.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.AssistChip
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
