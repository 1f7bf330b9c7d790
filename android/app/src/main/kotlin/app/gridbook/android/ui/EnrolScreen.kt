// Enrolment (设备登记): the server address and the one-time code from the back office; after a
// remote wipe, a banner says the phone was wiped and what was lost.
package app.gridbook.android.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
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
import app.gridbook.android.EnrolViewModel
import app.gridbook.android.R

@Composable
fun EnrolScreen(vm: EnrolViewModel, enrolled: () -> Unit) {
    var server by remember { mutableStateOf("https://") }
    var code by remember { mutableStateOf("") }
    val problem by vm.problem.collectAsStateWithLifecycle()
    val busy by vm.busy.collectAsStateWithLifecycle()
    Column(Modifier.fillMaxWidth().padding(24.dp)) {
        Text(stringResource(R.string.enrol_title), style = MaterialTheme.typography.headlineSmall)
        Text(stringResource(R.string.enrol_hint), style = MaterialTheme.typography.bodyMedium)
        vm.wiped?.let { ProblemBanner(it) }
        OutlinedTextField(server, { server = it }, label = { Text(stringResource(R.string.enrol_server)) }, singleLine = true, modifier = Modifier.fillMaxWidth())
        OutlinedTextField(code, { code = it }, label = { Text(stringResource(R.string.field_code)) }, singleLine = true, modifier = Modifier.fillMaxWidth())
        ProblemBanner(problem)
        Button(enabled = !busy && code.isNotBlank(), onClick = { vm.enrol(server, code, enrolled) }, modifier = Modifier.fillMaxWidth().padding(top = 12.dp)) {
            Text(stringResource(R.string.enrol_button))
        }
    }
}
