// The privacy notice on first start (个人信息保护, as PIPL and the Chinese app stores ask): what the
// app keeps about customers and the manager, where it goes, and that nothing is collected before
// the manager agrees. Declining closes the app.
package app.gridbook.android.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.safeDrawingPadding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import app.gridbook.android.R

@Composable
fun PrivacyScreen(agree: () -> Unit, decline: () -> Unit) {
    Column(Modifier.fillMaxSize().safeDrawingPadding().padding(24.dp)) {
        Text(stringResource(R.string.privacy_title), style = MaterialTheme.typography.headlineSmall)
        Text(
            stringResource(R.string.privacy_body), style = MaterialTheme.typography.bodyMedium,
            modifier = Modifier.weight(1f).verticalScroll(rememberScrollState()).padding(vertical = 12.dp),
        )
        Button(onClick = agree, modifier = Modifier.fillMaxWidth()) { Text(stringResource(R.string.privacy_agree)) }
        TextButton(onClick = decline, modifier = Modifier.fillMaxWidth()) { Text(stringResource(R.string.privacy_decline)) }
    }
}
