// 日工作总结: the day in numbers as the phone's records show them (visits, appointments kept and on
// time, archives created and updated, money collected, notices, open promises and tickets), the
// manager's note, and the submission the back office receives with the next sync.
package app.gridbook.android.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.gridbook.android.DaySummaryViewModel
import app.gridbook.android.R
import app.gridbook.logic.Money

@Composable
fun DaySummaryScreen(vm: DaySummaryViewModel) {
    val state by vm.model.state.collectAsStateWithLifecycle()
    Column(Modifier.fillMaxWidth().padding(16.dp).verticalScroll(rememberScrollState())) {
        Text(stringResource(R.string.day_summary_heading, state.date), style = MaterialTheme.typography.headlineSmall)
        // a manager of several grids sums up each
        GridChips(vm.grids, state.grid, vm::selectGrid)
        ProblemBanner(state.problem)
        val d = state.submitted?.takeIf { it.madeAtMs >= (state.preview?.madeAtMs ?: 0) } ?: state.preview
        d?.let { s ->
            Section(stringResource(R.string.day_summary_numbers)) {
                Column {
                    LabelValue(stringResource(R.string.day_signed_in), formatTime(s.signedInAtMs))
                    LabelValue(stringResource(R.string.day_visits), s.visits.toString())
                    LabelValue(stringResource(R.string.day_appointments), stringResource(R.string.day_appointments_value, s.appointmentsKept, s.appointmentsOnTime, s.appointmentsMissed))
                    LabelValue(stringResource(R.string.day_households), stringResource(R.string.day_households_value, s.householdsCreated, s.householdsUpdated))
                    LabelValue(stringResource(R.string.day_collected), stringResource(R.string.day_collected_value, Money.yuan(s.collectedFen), s.receipts))
                    LabelValue(stringResource(R.string.day_notices), s.notices.toString())
                    LabelValue(stringResource(R.string.day_open_promises), s.openPromises.toString())
                    LabelValue(stringResource(R.string.day_open_tickets), s.openTickets.toString())
                }
            }
        }
        Input(R.string.field_day_note, state.note, state.problem?.field == "note", vm.model::editNote)
        Button(onClick = vm::submit, modifier = Modifier.fillMaxWidth().padding(top = 8.dp)) { Text(stringResource(R.string.day_summary_submit)) }
        state.submitted?.let { Text(stringResource(R.string.day_summary_submitted, formatTime(it.madeAtMs)), color = MaterialTheme.colorScheme.secondary) }
    }
}
