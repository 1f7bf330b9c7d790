// Arrears collection on the spot (欠费催缴): the amount owed, the amount paid and the cash received
// typed in yuan, the change computed and shown large for calling out (唱收唱付), the amount in
// capitals, the receipt number from the phone's book, the customer's signature, then the receipt
// saved and sealed and the customer's copy shown.
package app.gridbook.android.ui

import android.webkit.WebView
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.height
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import androidx.compose.ui.viewinterop.AndroidView
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.gridbook.android.CollectionViewModel
import app.gridbook.android.R
import app.gridbook.ffi.core.PaymentMethod
import app.gridbook.logic.Money

@Composable
fun CollectionScreen(vm: CollectionViewModel, done: () -> Unit) {
    val s by vm.model.state.collectAsStateWithLifecycle()
    val line = s.line ?: run { ProblemBanner(s.problem); return }
    Column(Modifier.fillMaxWidth().padding(16.dp).verticalScroll(rememberScrollState())) {
        Text(stringResource(R.string.collect_title, line.customerName), style = MaterialTheme.typography.headlineSmall)
        LabelValue(stringResource(R.string.owed), Money.yuan(line.remainingFen))
        LabelValue(stringResource(R.string.months_overdue), line.account.monthsOverdue.toString())
        LabelValue(stringResource(R.string.field_receipt_no), s.receiptNo ?: "—")
        ProblemBanner(s.problem)

        Row {
            PaymentMethod.entries.forEach { m ->
                FilterChip(selected = s.method == m, onClick = { vm.model.setMethod(m) }, label = { Text(methodLabel(m)) }, modifier = Modifier.padding(end = 4.dp))
            }
        }
        MoneyField(R.string.field_amount, s.amountText, s.problem?.field == "amount_fen", vm.model::setAmount)
        if (s.amountCapitals.isNotEmpty()) Text(stringResource(R.string.capitals, s.amountCapitals))
        if (s.method == PaymentMethod.CASH) {
            MoneyField(R.string.field_cash, s.cashText, s.problem?.field == "cash_received_fen", vm.model::setCash)
            Text(
                stringResource(R.string.change, s.changeFen?.let { Money.yuan(it) } ?: "—"),
                style = MaterialTheme.typography.headlineMedium,
            )
        }

        Section(stringResource(R.string.receipt_signature)) {
            Input(R.string.field_signer, s.signerName, s.problem?.field == "signer_name") { v -> vm.model.setSigner(v, s.relation) }
            RelationChips(s.relation) { r -> vm.model.setSigner(s.signerName, r) }
            SignaturePadField(signed = s.signature != null, flags = s.signatureFlags, onSigned = vm.model::sign, onClear = {})
        }

        val saved = s.saved
        if (saved == null) {
            Button(enabled = s.receiptNo != null, onClick = vm::collect, modifier = Modifier.fillMaxWidth()) {
                Text(stringResource(R.string.receipt_confirm))
            }
        } else {
            // The customer's copy: what was sealed, with the amount in capitals and the code.
            Text(stringResource(R.string.receipt_saved, saved.receiptNo), color = MaterialTheme.colorScheme.secondary)
            Text(stringResource(R.string.verification_code, s.verificationCode ?: ""))
            s.printoutHtml?.let { html ->
                AndroidView(
                    factory = { ctx -> WebView(ctx).apply { settings.javaScriptEnabled = false } },
                    update = { it.loadDataWithBaseURL(null, html, "text/html", "utf-8", null) },
                    modifier = Modifier.fillMaxWidth().height(520.dp),
                )
            }
            Button(onClick = done, modifier = Modifier.fillMaxWidth()) { Text(stringResource(R.string.back)) }
        }
    }
}

@Composable
private fun methodLabel(m: PaymentMethod): String = stringResource(
    when (m) {
        PaymentMethod.CASH -> R.string.method_cash
        PaymentMethod.WECHAT -> R.string.method_wechat
        PaymentMethod.ALIPAY -> R.string.method_alipay
        PaymentMethod.CARD -> R.string.method_card
    },
)

@Composable
private fun MoneyField(label: Int, value: String, error: Boolean, onChange: (String) -> Unit) {
    OutlinedTextField(
        value = value, onValueChange = onChange, label = { Text(stringResource(label)) }, isError = error, singleLine = true,
        prefix = { Text("¥") }, keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Decimal),
        modifier = Modifier.fillMaxWidth().padding(vertical = 2.dp),
    )
}
