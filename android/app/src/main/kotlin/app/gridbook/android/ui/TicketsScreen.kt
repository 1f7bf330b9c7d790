// First-ask tickets (首问负责制): the grid's tickets not yet closed, overdue ones first in red;
// taking a new one (on a visit, for that household) with the reply date promised; and for each:
// escalate, record the reply, close only when the customer confirms (闭环).
package app.gridbook.android.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.LazyRow
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.Checkbox
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.gridbook.android.R
import app.gridbook.android.TicketsViewModel
import app.gridbook.ffi.core.TicketKind
import app.gridbook.ffi.core.TicketStatus
import app.gridbook.logic.TicketLine
import java.time.LocalDate

@Composable
fun ticketKindLabel(k: TicketKind): String = stringResource(
    when (k) {
        TicketKind.REQUEST -> R.string.ticket_request
        TicketKind.COMPLAINT -> R.string.ticket_complaint
        TicketKind.QUESTION -> R.string.ticket_question
    },
)

@Composable
fun ticketStatusLabel(s: TicketStatus): String = stringResource(
    when (s) {
        TicketStatus.OPEN -> R.string.ticket_open
        TicketStatus.ESCALATED -> R.string.ticket_escalated
        TicketStatus.REPLIED -> R.string.ticket_replied
        TicketStatus.CLOSED -> R.string.ticket_closed
    },
)

@Composable
fun TicketsScreen(vm: TicketsViewModel) {
    val state by vm.model.state.collectAsStateWithLifecycle()
    LazyColumn(Modifier.fillMaxWidth().padding(horizontal = 16.dp)) {
        item {
            Text(stringResource(R.string.tickets_title), style = MaterialTheme.typography.headlineSmall)
            if (state.overdueCount > 0) Text(stringResource(R.string.tickets_overdue_banner, state.overdueCount), color = MaterialTheme.colorScheme.error)
            ProblemBanner(state.problem)
        }
        if (vm.householdId != null) item { TakeTicket(vm) }
        if (state.lines.isEmpty()) item { Text(stringResource(R.string.none)) }
        items(state.lines, key = { it.ticket.id }) { line -> TicketCard(line, vm) }
    }
}

@Composable
private fun TakeTicket(vm: TicketsViewModel) {
    var kind by remember { mutableStateOf(TicketKind.COMPLAINT) }
    var text by remember { mutableStateOf("") }
    var promised by remember { mutableStateOf(LocalDate.now().plusDays(2).toString()) }
    Section(stringResource(R.string.ticket_take)) {
        LazyRow {
            items(TicketKind.entries) { k ->
                FilterChip(selected = kind == k, onClick = { kind = k }, label = { Text(ticketKindLabel(k)) }, modifier = Modifier.padding(end = 4.dp))
            }
        }
        Input(R.string.field_ticket_text, text, false) { text = it }
        DateField(R.string.field_promised_reply_by, promised, false) { promised = it }
        Button(enabled = text.isNotBlank(), onClick = { vm.take(kind, text, promised); text = "" }) { Text(stringResource(R.string.ticket_take_button)) }
    }
}

@Composable
private fun TicketCard(line: TicketLine, vm: TicketsViewModel) {
    val t = line.ticket
    var escalateTo by remember(t.id) { mutableStateOf("") }
    var reply by remember(t.id) { mutableStateOf(t.reply) }
    var confirmed by remember(t.id) { mutableStateOf(false) }
    Column(Modifier.fillMaxWidth().padding(vertical = 8.dp)) {
        Text(
            "${ticketKindLabel(t.kind)} · ${ticketStatusLabel(t.status)} · " + stringResource(R.string.ticket_promised, t.promisedReplyBy),
            color = if (line.overdue) MaterialTheme.colorScheme.error else MaterialTheme.colorScheme.onSurface,
            style = MaterialTheme.typography.titleSmall,
        )
        if (line.overdue) Text(stringResource(R.string.ticket_overdue), color = MaterialTheme.colorScheme.error)
        Text(t.text)
        if (t.escalatedTo.isNotBlank()) Text(stringResource(R.string.ticket_escalated_to, t.escalatedTo), style = MaterialTheme.typography.bodySmall)
        when (t.status) {
            TicketStatus.OPEN, TicketStatus.ESCALATED -> {
                Input(R.string.field_escalate_to, escalateTo, false) { escalateTo = it }
                OutlinedButton(onClick = { vm.escalate(t.id, escalateTo) }) { Text(stringResource(R.string.ticket_escalate)) }
                Input(R.string.field_ticket_reply, reply, false) { reply = it }
                OutlinedButton(onClick = { vm.reply(t.id, reply) }) { Text(stringResource(R.string.ticket_reply)) }
            }
            TicketStatus.REPLIED -> {
                Text(stringResource(R.string.ticket_reply_given, t.reply), style = MaterialTheme.typography.bodySmall)
                Row(verticalAlignment = Alignment.CenterVertically) {
                    Checkbox(checked = confirmed, onCheckedChange = { confirmed = it })
                    Text(stringResource(R.string.ticket_customer_confirms))
                }
                Button(onClick = { vm.close(t.id, confirmed) }, enabled = confirmed) { Text(stringResource(R.string.ticket_close)) }
            }
            TicketStatus.CLOSED -> {}
        }
    }
}
