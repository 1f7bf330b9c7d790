// Buildings → households (楼宇 → 住户): the premises of each of the manager's grids (chips to switch),
// a building's households in door order, search by name, phone, address or service number, and
// adding a building or a household.
package app.gridbook.android.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
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
import app.gridbook.android.BuildingsViewModel
import app.gridbook.android.R
import app.gridbook.ffi.core.Household
import app.gridbook.ffi.core.Premises
import app.gridbook.ffi.core.PremisesType

@Composable
fun BuildingsScreen(vm: BuildingsViewModel, openHousehold: (String) -> Unit, newHousehold: (premisesId: String?, grid: String) -> Unit) {
    val state by vm.model.state.collectAsStateWithLifecycle()
    var query by remember { mutableStateOf("") }
    var adding by remember { mutableStateOf(false) }
    LazyColumn(Modifier.fillMaxWidth().padding(horizontal = 16.dp)) {
        item {
            GridChips(state.grids, state.grid) { query = ""; vm.selectGrid(it) }
            OutlinedTextField(
                value = query, onValueChange = { query = it; vm.search(it) },
                label = { Text(stringResource(R.string.search_hint)) }, singleLine = true, modifier = Modifier.fillMaxWidth(),
            )
            ProblemBanner(state.problem)
        }
        if (state.query.isNotBlank()) {
            items(state.found, key = { "found-" + it.id }) { h -> HouseholdRow(h) { openHousehold(h.id) } }
        } else {
            item {
                Row {
                    TextButton(onClick = { adding = true }) { Text(stringResource(R.string.add_building)) }
                    TextButton(onClick = { newHousehold(state.selected?.id, state.grid) }) { Text(stringResource(R.string.add_household)) }
                }
            }
            items(state.premises, key = { it.id }) { p ->
                ListItem(
                    headlineContent = { Text(p.name, style = if (p.id == state.selected?.id) MaterialTheme.typography.titleMedium else MaterialTheme.typography.bodyLarge) },
                    supportingContent = { Text(p.address.ifBlank { p.community }) },
                    modifier = Modifier.clickable { vm.select(p) },
                )
                if (p.id == state.selected?.id) {
                    state.households.forEach { h -> HouseholdRow(h) { openHousehold(h.id) } }
                }
            }
        }
    }
    if (adding) AddBuildingDialog(onDismiss = { adding = false }) { vm.add(it); adding = false }
}

@Composable
private fun HouseholdRow(h: Household, onClick: () -> Unit) {
    ListItem(
        headlineContent = { Text("${h.unit} ${h.room}  ${h.customerName}") },
        supportingContent = { Text(listOf(h.mobile, h.address).filter { it.isNotBlank() }.joinToString(" · ")) },
        modifier = Modifier.padding(start = 16.dp).clickable(onClick = onClick),
    )
}

@Composable
private fun AddBuildingDialog(onDismiss: () -> Unit, onAdd: (Premises) -> Unit) {
    var name by remember { mutableStateOf("") }
    var address by remember { mutableStateOf("") }
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(stringResource(R.string.add_building)) },
        text = {
            androidx.compose.foundation.layout.Column {
                OutlinedTextField(name, { name = it }, label = { Text(stringResource(R.string.building_name)) }, singleLine = true)
                OutlinedTextField(address, { address = it }, label = { Text(stringResource(R.string.field_address)) })
            }
        },
        confirmButton = {
            Button(enabled = name.isNotBlank(), onClick = {
                onAdd(Premises(gridId = "", premisesType = PremisesType.BUILDING, name = name.trim(), address = address.trim()))
            }) { Text(stringResource(R.string.save)) }
        },
        dismissButton = { TextButton(onClick = onDismiss) { Text(stringResource(R.string.cancel)) } },
    )
}
