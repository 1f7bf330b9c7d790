// Today (今日): the day's appointments door by door, appointments missed, follow-ups due, the
// grid's arrears, the grid in numbers, and the sync indicator. Tapping an appointment opens the
// visit that keeps it; a follow-up opens the household; a debt starts collection.
package app.gridbook.android.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
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
import app.gridbook.android.R
import app.gridbook.android.TodayViewModel
import app.gridbook.ffi.AppointmentStatus
import app.gridbook.ffi.PlanItem
import app.gridbook.logic.Money

@Composable
fun TodayScreen(
    vm: TodayViewModel,
    openHousehold: (String) -> Unit,
    keepAppointment: (householdId: String, appointmentId: String) -> Unit,
    collect: (String) -> Unit,
    openSync: () -> Unit,
) {
    val state by vm.model.state.collectAsStateWithLifecycle()
    val sync by vm.sync.collectAsStateWithLifecycle()
    LazyColumn(Modifier.fillMaxWidth().padding(horizontal = 16.dp)) {
        item {
            Text(stringResource(R.string.today_title, state.date), style = MaterialTheme.typography.headlineSmall)
            SyncChip(sync, openSync)
            ProblemBanner(state.problem)
            TextButton(onClick = vm::refresh) { Text(stringResource(R.string.refresh)) }
        }
        // 今日预约, door by door in walking order (the day plan)
        item { Text(stringResource(R.string.today_appointments), style = MaterialTheme.typography.titleMedium) }
        val stops = state.plan?.stops.orEmpty()
        val visits = stops.flatMap { stop -> stop.items.filterIsInstance<PlanItem.AppointmentItem>().map { stop to it.appointment } }
        if (visits.isEmpty()) item { Text(stringResource(R.string.none)) }
        items(visits, key = { "appt-" + it.second.id }) { (stop, a) ->
            ListItem(
                headlineContent = { Text("${formatTime(a.agreedAtMs)}  ${stop.customerName}") },
                supportingContent = { Text(listOf(stop.premisesName, stop.unit, stop.room).filter { it.isNotBlank() }.joinToString(" ") + " · " + a.note) },
                modifier = Modifier.clickable(enabled = a.status != AppointmentStatus.DONE) { keepAppointment(a.householdId, a.id) },
            )
        }
        if (state.late.isNotEmpty()) {
            item { Text(stringResource(R.string.today_late), style = MaterialTheme.typography.titleMedium, color = MaterialTheme.colorScheme.error) }
            items(state.late, key = { "late-" + it.id }) { a ->
                ListItem(
                    headlineContent = { Text(formatTime(a.agreedAtMs)) },
                    supportingContent = { Text(stringResource(R.string.late_hint)) },
                    modifier = Modifier.clickable { openHousehold(a.householdId) },
                )
            }
        }
        item { Text(stringResource(R.string.today_follow_ups), style = MaterialTheme.typography.titleMedium) }
        if (state.followUps.isEmpty()) item { Text(stringResource(R.string.none)) }
        items(state.followUps, key = { it.id }) { v ->
            ListItem(
                headlineContent = { Text(v.followUp) },
                supportingContent = { Text(stringResource(R.string.due_on, v.followUpDue) + " · " + v.openQuestion) },
                modifier = Modifier.clickable { openHousehold(v.householdId) },
            )
        }
        item {
            Text(stringResource(R.string.today_arrears, Money.yuan(state.arrearsRemainingFen)), style = MaterialTheme.typography.titleMedium)
        }
        if (state.arrears.isEmpty()) item { Text(stringResource(R.string.none)) }
        items(state.arrears, key = { it.account.id }) { line ->
            ListItem(
                headlineContent = { Text("${line.customerName} · ${Money.yuan(line.remainingFen)}") },
                supportingContent = {
                    Text(stringResource(R.string.arrears_line, line.address, line.account.monthsOverdue, Money.yuan(line.collectedUnsyncedFen)))
                },
                modifier = Modifier.clickable(enabled = line.remainingFen > 0) { collect(line.account.id) },
            )
        }
        state.summary?.let { s ->
            item {
                Section(stringResource(R.string.today_grid)) {
                    Column {
                        LabelValue(stringResource(R.string.summary_households), s.households.toString())
                        LabelValue(stringResource(R.string.summary_premises), "${s.buildings} / ${s.bungalows} / ${s.shops}")
                        LabelValue(stringResource(R.string.summary_prospects), s.prospects.toString())
                        s.ownProducts.forEach { p -> LabelValue(p.name, "${p.households} · ${p.penetrationBp / 100.0}%") }
                        s.competitors.forEach { p -> LabelValue("${stringResource(R.string.summary_competitor)} ${p.name}", "${p.households}") }
                    }
                }
            }
        }
    }
}
