// Sync status (同步): what the sync is doing and when it last reached the server, what waits to
// be sent, and the changes the server refused with their reasons, to retry or discard.
package app.gridbook.android.ui

import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.gridbook.android.R
import app.gridbook.android.SyncViewModel
import app.gridbook.ffi.RejectedChange
import app.gridbook.ffi.core.SyncPhase
import app.gridbook.logic.progress

@Composable
fun SyncScreen(vm: SyncViewModel) {
    val status by vm.model.status.collectAsStateWithLifecycle()
    val rejected by vm.model.rejected.collectAsStateWithLifecycle()
    val state by vm.model.state.collectAsStateWithLifecycle()
    var discarding by remember { mutableStateOf<RejectedChange?>(null) }
    LazyColumn(Modifier.fillMaxWidth().padding(16.dp)) {
        item {
            Text(stringResource(R.string.sync_title), style = MaterialTheme.typography.headlineSmall)
            SyncChip(status) {}
            status.phase.progress()?.let { LinearProgressIndicator(progress = { it }, modifier = Modifier.fillMaxWidth()) }
            val phase = status.phase
            if (phase is SyncPhase.Offline) Text(stringResource(R.string.sync_retry_at, formatTime(phase.retryAtMs)))
            if (phase is SyncPhase.Failed) Text(phase.message, color = MaterialTheme.colorScheme.error)
            LabelValue(stringResource(R.string.sync_last_success), formatTime(status.lastSuccessMs))
            LabelValue(stringResource(R.string.sync_pending_count), status.pending.toString())
            LabelValue(stringResource(R.string.sync_rejected_count), status.rejected.toString())
            status.lastError?.let { Text(it, style = MaterialTheme.typography.bodySmall) }
            ProblemBanner(state.problem)
            state.lastReport?.let { r -> Text(stringResource(R.string.sync_report, r.pushed.toLong(), r.acknowledged.toLong(), r.rejected.toLong(), r.pulled.toLong())) }
            Button(enabled = !state.running && status.enrolled, onClick = vm::syncNow, modifier = Modifier.fillMaxWidth()) {
                Text(stringResource(R.string.sync_now))
            }
            if (rejected.isNotEmpty()) Text(stringResource(R.string.rejected_title), style = MaterialTheme.typography.titleMedium, modifier = Modifier.padding(top = 12.dp))
        }
        items(rejected, key = { it.opId }) { c ->
            Card(Modifier.fillMaxWidth().padding(vertical = 4.dp)) {
                androidx.compose.foundation.layout.Column(Modifier.padding(12.dp)) {
                    Text("${kindLabel(c.kind)} · ${formatTime(c.createdAtMs)}", style = MaterialTheme.typography.titleSmall)
                    Text(stringResource(R.string.rejected_reason, c.code, c.reason))
                    Text(c.fields.joinToString(", "), style = MaterialTheme.typography.bodySmall)
                    Row {
                        OutlinedButton(onClick = { vm.retry(c) }) { Text(stringResource(R.string.retry)) }
                        TextButton(onClick = { discarding = c }) { Text(stringResource(R.string.discard)) }
                    }
                }
            }
        }
    }
    discarding?.let { c ->
        AlertDialog(
            onDismissRequest = { discarding = null },
            title = { Text(stringResource(R.string.discard_title)) },
            text = { Text(stringResource(R.string.discard_text)) },
            confirmButton = { Button(onClick = { vm.discard(c); discarding = null }) { Text(stringResource(R.string.discard)) } },
            dismissButton = { TextButton(onClick = { discarding = null }) { Text(stringResource(R.string.cancel)) } },
        )
    }
}

@Composable
private fun kindLabel(kind: String): String = when (kind) {
    "household" -> stringResource(R.string.kind_household)
    "visit" -> stringResource(R.string.kind_visit)
    "receipt" -> stringResource(R.string.kind_receipt)
    "premises" -> stringResource(R.string.kind_premises)
    else -> kind
}
