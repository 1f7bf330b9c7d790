// Arrears beyond the day's plan: the list of what is owed in all of the manager's grids, each line
// leading to collection or to the arrears notice (催缴通知), and the notice itself — how the
// customer was told (notice slip, call, letter), what they said, the day they promised to pay
// (picked) — recorded once.
package app.gridbook.android.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.gridbook.android.ArrearsViewModel
import app.gridbook.android.NoticeViewModel
import app.gridbook.android.R
import app.gridbook.ffi.core.NoticeChannel
import app.gridbook.logic.Money

@Composable
fun ArrearsScreen(vm: ArrearsViewModel, collect: (accountId: String) -> Unit, notice: (accountId: String) -> Unit) {
    val state by vm.model.state.collectAsStateWithLifecycle()
    LazyColumn(Modifier.fillMaxWidth().padding(horizontal = 16.dp)) {
        item {
            Text(stringResource(R.string.arrears_title), style = MaterialTheme.typography.headlineSmall)
            Text(stringResource(R.string.arrears_total, Money.yuan(state.remainingFen)), style = MaterialTheme.typography.titleMedium)
            ProblemBanner(state.problem)
        }
        if (state.lines.isEmpty()) item { Text(stringResource(R.string.none)) }
        items(state.lines, key = { it.account.id }) { line ->
            Column(Modifier.fillMaxWidth().padding(vertical = 4.dp)) {
                ListItem(
                    headlineContent = { Text("${line.customerName} · ${Money.yuan(line.remainingFen)}") },
                    supportingContent = { Text(line.address + " · " + stringResource(R.string.arrears_months, line.account.monthsOverdue)) },
                )
                Row {
                    Button(onClick = { collect(line.account.id) }) { Text(stringResource(R.string.collect)) }
                    TextButton(onClick = { notice(line.account.id) }) { Text(stringResource(R.string.notice_give)) }
                }
            }
        }
    }
}

@Composable
fun NoticeScreen(vm: NoticeViewModel, done: () -> Unit) {
    val s by vm.model.state.collectAsStateWithLifecycle()
    val loadProblem by vm.loadProblem.collectAsStateWithLifecycle()
    val line = s.line ?: run { ProblemBanner(loadProblem); return }
    val f = s.form
    Column(Modifier.fillMaxWidth().padding(16.dp).verticalScroll(rememberScrollState())) {
        Text(stringResource(R.string.notice_title, line.customerName), style = MaterialTheme.typography.headlineSmall)
        LabelValue(stringResource(R.string.owed), Money.yuan(line.remainingFen))
        LabelValue(stringResource(R.string.months_overdue), line.account.monthsOverdue.toString())
        ProblemBanner(s.problem)
        s.saved?.let {
            Text(stringResource(R.string.notice_saved, formatTime(it.givenAtMs)), color = MaterialTheme.colorScheme.secondary)
            Button(onClick = done) { Text(stringResource(R.string.back)) }
            return@Column
        }
        Text(stringResource(R.string.notice_channel), style = MaterialTheme.typography.titleSmall)
        Row {
            listOf(
                NoticeChannel.NOTICE_SLIP to R.string.notice_channel_slip,
                NoticeChannel.PHONE to R.string.notice_channel_phone,
                NoticeChannel.LETTER to R.string.notice_channel_letter,
            ).forEach { (c, label) ->
                FilterChip(selected = f.channel == c, onClick = { vm.model.edit { it.copy(channel = c) } }, label = { Text(stringResource(label)) }, modifier = Modifier.padding(end = 4.dp))
            }
        }
        Input(R.string.notice_outcome, f.outcome, s.problem?.field == "outcome") { v -> vm.model.edit { it.copy(outcome = v) } }
        DateField(R.string.notice_promised_day, f.promisedPayDate, s.problem?.field == "promised_pay_at_ms") { v -> vm.model.edit { it.copy(promisedPayDate = v) } }
        Input(R.string.field_notes, f.notes, false) { v -> vm.model.edit { it.copy(notes = v) } }
        Button(enabled = !s.saving, onClick = vm::record, modifier = Modifier.fillMaxWidth().padding(top = 8.dp)) { Text(stringResource(R.string.notice_record)) }
    }
}
