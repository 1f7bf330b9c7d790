// Today (今日): the sign-in (签到) with the current position, the receipt numbers left in the book
// (checked before going out), overdue tickets, appointments whose time passed (tell the customer,
// agree a new time), the day's plan of every grid building by building in walking order — at each
// door its appointments, follow-ups and arrears — the reminders, what is still owed (the arrears
// list), the grids in numbers, and the way to the day's summary. Tapping an appointment opens the
// visit that keeps it (or, with "改约", the appointment); a follow-up opens the household; a debt
// starts collection. Read again after a visit or a collection (TodayViewModel).
package app.gridbook.android.ui

import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.gridbook.android.CurrentLocation
import app.gridbook.android.R
import app.gridbook.android.TodayViewModel
import app.gridbook.ffi.core.Appointment
import app.gridbook.ffi.core.AppointmentStatus
import app.gridbook.ffi.core.PlanItem
import app.gridbook.ffi.core.PlanStop
import app.gridbook.ffi.core.Reminder
import androidx.compose.runtime.setValue
import androidx.compose.runtime.remember
import androidx.compose.runtime.mutableStateOf
import androidx.compose.material3.DropdownMenuItem
import androidx.compose.material3.DropdownMenu
import app.gridbook.ffi.core.ReminderResolution
import app.gridbook.ffi.reminderLabel
import app.gridbook.logic.Money
import app.gridbook.logic.PlanEntry

/** Where the Today screen's rows lead. */
class TodayActions(
    val openHousehold: (householdId: String) -> Unit,
    val keepAppointment: (householdId: String, appointmentId: String) -> Unit,
    /** The appointment screen; [late] when the agreed time passed and the customer must be told. */
    val openAppointment: (householdId: String, appointmentId: String, late: Boolean) -> Unit,
    val collect: (accountId: String) -> Unit,
    val openTickets: () -> Unit,
    val openArrears: () -> Unit,
    val openDaySummary: () -> Unit,
    val openSync: () -> Unit,
)

@Composable
fun TodayScreen(vm: TodayViewModel, go: TodayActions) {
    val state by vm.model.state.collectAsStateWithLifecycle()
    val sync by vm.sync.collectAsStateWithLifecycle()
    val locating by vm.locating.collectAsStateWithLifecycle()
    val context = LocalContext.current
    // fine and coarse together: the system then offers precise or approximate; signs in with or
    // without a position (the time alone is still a sign-in)
    val askLocation = rememberLauncherForActivityResult(ActivityResultContracts.RequestMultiplePermissions()) { _ ->
        vm.signIn(context)
    }
    val signIn = {
        if (CurrentLocation.permitted(context)) vm.signIn(context)
        else askLocation.launch(CurrentLocation.PERMISSIONS)
    }
    // back on Today after a visit or a collection: what it changed is read again
    LaunchedEffect(Unit) { vm.shown() }
    LazyColumn(Modifier.fillMaxWidth().padding(horizontal = 16.dp)) {
        item {
            Text(stringResource(R.string.today_title, state.date), style = MaterialTheme.typography.headlineSmall)
            SyncChip(sync, go.openSync)
            ProblemBanner(state.problem)
            val signedIn = state.signedIn
            if (signedIn == null) {
                Button(onClick = signIn, enabled = !locating, modifier = Modifier.fillMaxWidth()) {
                    Text(stringResource(if (locating) R.string.sign_in_locating else R.string.sign_in))
                }
            } else {
                val place = if (signedIn.latE6 != null) stringResource(R.string.signed_in_with_place) else stringResource(R.string.signed_in_no_place)
                Text(stringResource(R.string.signed_in_at, formatTime(signedIn.atMs), place), color = MaterialTheme.colorScheme.secondary)
            }
            state.receiptBook?.let { book ->
                Text(
                    when {
                        book.empty -> stringResource(R.string.receipt_book_empty)
                        book.low -> stringResource(R.string.receipt_book_low, book.left)
                        else -> stringResource(R.string.receipt_book_left, book.left)
                    },
                    color = if (book.low) MaterialTheme.colorScheme.error else MaterialTheme.colorScheme.onSurfaceVariant,
                    modifier = Modifier.clickable(onClick = go.openSync).padding(vertical = 4.dp),
                )
            }
            Row {
                TextButton(onClick = vm::refresh) { Text(stringResource(R.string.refresh)) }
                TextButton(onClick = go.openTickets) { Text(stringResource(R.string.tickets_title)) }
                TextButton(onClick = go.openDaySummary) { Text(stringResource(R.string.day_summary_title)) }
            }
        }
        if (state.overdueTickets.isNotEmpty()) {
            item {
                Text(
                    stringResource(R.string.tickets_overdue_banner, state.overdueTickets.size),
                    color = MaterialTheme.colorScheme.error,
                    modifier = Modifier.clickable(onClick = go.openTickets).padding(vertical = 8.dp),
                )
            }
        }
        if (state.late.isNotEmpty()) {
            item { Text(stringResource(R.string.today_late), style = MaterialTheme.typography.titleMedium, color = MaterialTheme.colorScheme.error) }
            items(state.late, key = { "late-" + it.id }) { a ->
                ListItem(
                    headlineContent = { Text(formatTime(a.agreedAtMs) + " · " + purposeLabel(a.purpose)) },
                    supportingContent = { Text(stringResource(R.string.late_hint)) },
                    modifier = Modifier.clickable { go.openAppointment(a.householdId, a.id, true) },
                )
            }
        }

        // 日工作计划: building by building, door by door
        item { Text(stringResource(R.string.today_plan), style = MaterialTheme.typography.titleMedium) }
        if (state.buildings.isEmpty()) item { Text(stringResource(R.string.none)) }
        state.buildings.forEach { b ->
            item(key = "building-" + b.gridId + "/" + b.building) {
                Text(b.building.ifEmpty { stringResource(R.string.plan_no_building) }, style = MaterialTheme.typography.titleSmall, modifier = Modifier.padding(top = 8.dp))
            }
            items(b.stops, key = { "stop-" + b.gridId + it.householdId }) { stop -> Stop(stop, go, vm::closeReminder) }
        }

        // 提醒: the plan's reminder entries (contract expiry, spend falling, birthdays …)
        item { Text(stringResource(R.string.today_reminders), style = MaterialTheme.typography.titleMedium, modifier = Modifier.padding(top = 8.dp)) }
        if (state.reminders.isEmpty()) item { Text(stringResource(R.string.reminders_none)) }
        items(state.reminders, key = { "reminder-" + it.stop.householdId + it.item.hashCode() }) { entry ->
            ListItem(
                headlineContent = { Text(entry.stop.customerName) },
                supportingContent = { Text(doorOf(entry.stop)) },
                modifier = Modifier.clickable { go.openHousehold(entry.stop.householdId) },
            )
        }

        item {
            Text(
                stringResource(R.string.today_arrears, Money.yuan(state.arrearsRemainingFen)), style = MaterialTheme.typography.titleMedium,
                modifier = Modifier.clickable(onClick = go.openArrears).padding(top = 8.dp),
            )
        }
        items(state.summaries, key = { "summary-" + it.gridId }) { s ->
            Section(stringResource(R.string.today_grid) + if (state.summaries.size > 1) " " + s.gridId else "") {
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

/** 2单元 5楼 502 */
private fun doorOf(stop: PlanStop): String =
    listOf(stop.unit, stop.floor?.let { "${it}F" } ?: "", stop.room).filter { it.isNotBlank() }.joinToString(" ").ifEmpty { stop.address }

@Composable
private fun Stop(stop: PlanStop, go: TodayActions, closeReminder: (entry: PlanEntry, outcome: ReminderResolution) -> Unit) {
    Column(Modifier.fillMaxWidth().padding(vertical = 4.dp)) {
        Text("${stop.customerName} · ${doorOf(stop)}", style = MaterialTheme.typography.bodyLarge, modifier = Modifier.clickable { go.openHousehold(stop.householdId) })
        stop.items.forEach { item ->
            when (item) {
                is PlanItem.AppointmentItem -> AppointmentRow(item.appointment, go)
                is PlanItem.FollowUpItem -> ListItem(
                    headlineContent = { Text(stringResource(R.string.plan_follow_up, item.visit.followUp)) },
                    supportingContent = { Text(stringResource(R.string.due_on, item.visit.followUpDue)) },
                    modifier = Modifier.clickable { go.openHousehold(stop.householdId) },
                )
                is PlanItem.ArrearsItem -> ListItem(
                    headlineContent = { Text(stringResource(R.string.plan_arrears, Money.yuan(item.line.remainingFen))) },
                    supportingContent = { Text(stringResource(R.string.arrears_months, item.line.account.monthsOverdue)) },
                    modifier = Modifier.clickable(enabled = item.line.remainingFen > 0) { go.collect(item.line.account.id) },
                )
                is PlanItem.ReminderItem ->
                    ReminderRow(item.reminder, { go.openHousehold(stop.householdId) }) { outcome -> closeReminder(PlanEntry(stop, item), outcome) }
            }
        }
    }
}

/** 预警: what it is (the core's label), the date or service concerned, and closing it with an outcome. */
@Composable
private fun ReminderRow(r: Reminder, open: () -> Unit, close: (outcome: ReminderResolution) -> Unit) {
    var choosing by remember { mutableStateOf(false) }
    ListItem(
        headlineContent = { Text(reminderLabel(r.kind)) },
        supportingContent = { Text(listOf(r.date, r.serviceNumber).filter { it.isNotBlank() }.joinToString(" · ")) },
        trailingContent = {
            OutlinedButton(onClick = { choosing = true }) { Text(stringResource(R.string.reminder_close)) }
            DropdownMenu(expanded = choosing, onDismissRequest = { choosing = false }) {
                ReminderResolution.entries.forEach { outcome ->
                    DropdownMenuItem(text = { Text(reminderOutcomeLabel(outcome)) }, onClick = { choosing = false; close(outcome) })
                }
            }
        },
        modifier = Modifier.clickable(onClick = open),
    )
}

@Composable
fun reminderOutcomeLabel(o: ReminderResolution): String = stringResource(
    when (o) {
        ReminderResolution.CONTACTED -> R.string.reminder_contacted
        ReminderResolution.RENEWED -> R.string.reminder_renewed
        ReminderResolution.PAID -> R.string.reminder_paid
        ReminderResolution.RETAINED -> R.string.reminder_retained
        ReminderResolution.GREETED -> R.string.reminder_greeted
        ReminderResolution.DECLINED -> R.string.reminder_declined
        ReminderResolution.UNREACHABLE -> R.string.reminder_unreachable
        ReminderResolution.NOT_NEEDED -> R.string.reminder_not_needed
    },
)

@Composable
private fun AppointmentRow(a: Appointment, go: TodayActions) {
    ListItem(
        headlineContent = { Text(stringResource(R.string.plan_appointment, formatTime(a.agreedAtMs), purposeLabel(a.purpose))) },
        supportingContent = { Text(appointmentStatusLabel(a.status) + if (a.note.isNotBlank()) " · " + a.note else "") },
        trailingContent = {
            OutlinedButton(onClick = { go.openAppointment(a.householdId, a.id, false) }) { Text(stringResource(R.string.appointment_change)) }
        },
        modifier = Modifier.clickable(enabled = a.status != AppointmentStatus.DONE) { go.keepAppointment(a.householdId, a.id) },
    )
}

@Composable
fun appointmentStatusLabel(s: AppointmentStatus): String = stringResource(
    when (s) {
        AppointmentStatus.BOOKED -> R.string.appointment_booked
        AppointmentStatus.CONFIRMED -> R.string.appointment_confirmed
        AppointmentStatus.RESCHEDULED -> R.string.appointment_rescheduled
        AppointmentStatus.CANCELLED -> R.string.appointment_cancelled
        AppointmentStatus.DONE -> R.string.appointment_done
    },
)
