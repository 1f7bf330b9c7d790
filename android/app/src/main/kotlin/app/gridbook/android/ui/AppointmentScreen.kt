// The appointment (预约): book the time the customer chose, or open one to confirm it, move it
// (after telling the customer the manager runs late, or at their request), cancel it with a
// reason, or — at the door, nobody in — record the absence with the date to follow up by. Dates
// and times are picked, not typed.
package app.gridbook.android.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyRow
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.gridbook.android.AppointmentViewModel
import app.gridbook.android.R
import app.gridbook.ffi.core.AppointmentStatus
import app.gridbook.ffi.core.VisitPurpose
import java.time.LocalDate

@Composable
fun AppointmentScreen(vm: AppointmentViewModel, done: () -> Unit) {
    val state by vm.model.state.collectAsStateWithLifecycle()
    val loadProblem by vm.loadProblem.collectAsStateWithLifecycle()
    val household = state.household ?: run { ProblemBanner(loadProblem); return }
    val f = state.form
    val a = state.appointment
    val errorOn = { field: String -> state.problem?.field == field }
    var followUpDue by remember { mutableStateOf(LocalDate.now().plusDays(1).toString()) }

    Column(Modifier.fillMaxWidth().padding(16.dp).verticalScroll(rememberScrollState())) {
        Text(
            stringResource(if (a == null) R.string.appointment_new_title else R.string.appointment_title, household.customerName),
            style = MaterialTheme.typography.headlineSmall,
        )
        Text(household.address, style = MaterialTheme.typography.bodySmall)
        a?.let { Text(stringResource(R.string.appointment_now, formatTime(it.agreedAtMs), appointmentStatusLabel(it.status))) }
        ProblemBanner(state.problem)
        state.absentVisit?.let {
            Text(stringResource(R.string.appointment_absent_saved, it.followUpDue), color = MaterialTheme.colorScheme.secondary)
            Button(onClick = done) { Text(stringResource(R.string.back)) }
            return@Column
        }
        state.saved?.let { Text(stringResource(R.string.appointment_saved, formatTime(it.agreedAtMs), appointmentStatusLabel(it.status)), color = MaterialTheme.colorScheme.secondary) }

        DateField(R.string.field_appointment_date, f.date, errorOn("date")) { v -> vm.model.edit { it.copy(date = v) } }
        TimeField(R.string.field_appointment_time, f.time, errorOn("agreed_at_ms")) { v -> vm.model.edit { it.copy(time = v) } }
        if (a == null) {
            Text(stringResource(R.string.field_purpose), style = MaterialTheme.typography.titleSmall)
            LazyRow {
                items(VisitPurpose.entries) { p ->
                    FilterChip(selected = f.purpose == p, onClick = { vm.model.edit { it.copy(purpose = p) } }, label = { Text(purposeLabel(p)) }, modifier = Modifier.padding(end = 4.dp))
                }
            }
        }
        // the note: what the customer asked, why it moved (the late notice), or why it is cancelled
        Input(R.string.field_appointment_note, f.note, errorOn("note")) { v -> vm.model.edit { it.copy(note = v) } }
        Button(onClick = vm::save, modifier = Modifier.fillMaxWidth().padding(top = 8.dp)) {
            Text(stringResource(if (a == null) R.string.appointment_book else R.string.appointment_reschedule))
        }
        val open = a != null && a.status != AppointmentStatus.DONE && a.status != AppointmentStatus.CANCELLED
        if (open) {
            Row {
                OutlinedButton(onClick = vm::confirm, modifier = Modifier.padding(end = 8.dp)) { Text(stringResource(R.string.appointment_confirm)) }
                OutlinedButton(onClick = vm::cancel) { Text(stringResource(R.string.appointment_cancel)) }
            }
            Section(stringResource(R.string.appointment_absent_title)) {
                DateField(R.string.field_follow_up_due, followUpDue, errorOn("follow_up_due")) { followUpDue = it }
                OutlinedButton(onClick = { vm.customerAbsent(followUpDue) }) { Text(stringResource(R.string.appointment_absent)) }
            }
        }
    }
}
