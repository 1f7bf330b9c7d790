// Arrears collection on the spot (欠费催缴): the amount owed, the amount paid and the cash received
// typed in yuan, the change computed and shown large for calling out (唱收唱付), the amount in
// capitals, the payment's reference for WeChat Pay / Alipay (交易单号), the receipt number from the
// phone's book, the customer's signature ("sign again" clears the form's too), then the receipt
// saved and sealed (one tap) and the customer's copy: on screen, shared as a picture (WeChat), and
// printed on a paired Bluetooth thermal printer — the first print the original, later ones copies.
package app.gridbook.android.ui

import android.webkit.WebView
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.height
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import androidx.compose.ui.viewinterop.AndroidView
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.gridbook.android.BluetoothPrinter
import app.gridbook.android.CollectionViewModel
import app.gridbook.android.R
import app.gridbook.ffi.PaperWidth
import app.gridbook.ffi.core.PaymentMethod
import app.gridbook.logic.Money

@Composable
fun CollectionScreen(vm: CollectionViewModel, done: () -> Unit) {
    val s by vm.model.state.collectAsStateWithLifecycle()
    val loadProblem by vm.loadProblem.collectAsStateWithLifecycle()
    val outcome by vm.outcome.collectAsStateWithLifecycle()
    val busy by vm.busy.collectAsStateWithLifecycle()
    val context = LocalContext.current
    var printing by remember { mutableStateOf(false) }
    val line = s.line ?: run { ProblemBanner(loadProblem ?: s.problem); return }
    Column(Modifier.fillMaxWidth().padding(16.dp).verticalScroll(rememberScrollState())) {
        Text(stringResource(R.string.collect_title, line.customerName), style = MaterialTheme.typography.headlineSmall)
        LabelValue(stringResource(R.string.owed), Money.yuan(line.remainingFen))
        LabelValue(stringResource(R.string.months_overdue), line.account.monthsOverdue.toString())
        LabelValue(stringResource(R.string.field_receipt_no), s.receiptNo ?: "—")
        ProblemBanner(s.problem)

        val saved = s.saved
        if (saved != null) {
            // The customer's copy: what was sealed, with the amount in capitals and the code.
            Text(stringResource(R.string.receipt_saved, saved.receiptNo), color = MaterialTheme.colorScheme.secondary)
            Text(stringResource(R.string.verification_code, s.verificationCode ?: ""))
            ProblemBanner(outcome)
            Row {
                Button(enabled = !busy, onClick = { vm.share(context, context.getString(R.string.receipt_share)) }) { Text(stringResource(R.string.receipt_share)) }
                OutlinedButton(enabled = !busy, onClick = { printing = true }, modifier = Modifier.padding(start = 8.dp)) {
                    Text(stringResource(R.string.receipt_print))
                }
            }
            s.printoutHtml?.let { html ->
                AndroidView(
                    factory = { ctx -> WebView(ctx).apply { settings.javaScriptEnabled = false } },
                    update = { it.loadDataWithBaseURL(null, html, "text/html", "utf-8", null) },
                    modifier = Modifier.fillMaxWidth().height(520.dp),
                )
            }
            Button(onClick = done, modifier = Modifier.fillMaxWidth()) { Text(stringResource(R.string.back)) }
            if (printing) {
                PrintDialog(reprint = vm.printing.isReprint(saved), onDismiss = { printing = false }) { address, paper ->
                    printing = false
                    vm.print(context, address, paper)
                }
            }
            return@Column
        }

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
        if (s.asksForReference) {
            OutlinedTextField(
                value = s.paymentRef, onValueChange = vm.model::setReference, label = { Text(stringResource(R.string.field_payment_ref)) },
                supportingText = { Text(stringResource(R.string.payment_ref_hint)) }, isError = s.problem?.field == "payment_ref", singleLine = true,
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Ascii), modifier = Modifier.fillMaxWidth().padding(vertical = 2.dp),
            )
        }

        Section(stringResource(R.string.receipt_signature)) {
            Input(R.string.field_signer, s.signerName, s.problem?.field == "signer_name") { v -> vm.model.setSigner(v, s.relation) }
            RelationChips(s.relation) { r -> vm.model.setSigner(s.signerName, r) }
            // "重签" clears the pad and the signature the form holds
            SignaturePadField(signed = s.signature != null, flags = s.signatureFlags, onSigned = vm.model::sign, onClear = vm.model::clearSignature)
        }
        Button(enabled = s.receiptNo != null && !s.saving, onClick = vm::collect, modifier = Modifier.fillMaxWidth()) {
            Text(stringResource(R.string.receipt_confirm))
        }
    }
}

/** Choose the paper and the paired printer; asks for the Bluetooth permission first where needed. */
@Composable
private fun PrintDialog(reprint: Boolean, onDismiss: () -> Unit, print: (address: String, paper: PaperWidth) -> Unit) {
    val context = LocalContext.current
    var permitted by remember { mutableStateOf(BluetoothPrinter.permitted(context)) }
    var paper by remember { mutableStateOf(PaperWidth.MM58) }
    val ask = rememberLauncherForActivityResult(ActivityResultContracts.RequestMultiplePermissions()) { granted ->
        permitted = granted.values.all { it }
    }
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(stringResource(R.string.receipt_print)) },
        text = {
            Column {
                if (reprint) Text(stringResource(R.string.printer_copy), color = MaterialTheme.colorScheme.tertiary)
                Row {
                    FilterChip(selected = paper == PaperWidth.MM58, onClick = { paper = PaperWidth.MM58 }, label = { Text(stringResource(R.string.printer_paper58)) })
                    FilterChip(
                        selected = paper == PaperWidth.MM80, onClick = { paper = PaperWidth.MM80 }, label = { Text(stringResource(R.string.printer_paper80)) },
                        modifier = Modifier.padding(start = 4.dp),
                    )
                }
                if (!permitted) {
                    TextButton(onClick = { ask.launch(BluetoothPrinter.PERMISSIONS) }) { Text(stringResource(R.string.printer_allow)) }
                } else {
                    val paired = remember(permitted) { BluetoothPrinter.paired(context) }
                    if (paired.isEmpty()) Text(stringResource(R.string.printer_none_paired))
                    paired.forEach { p ->
                        ListItem(
                            headlineContent = { Text(p.name) }, supportingContent = { Text(p.address) },
                            modifier = Modifier.clickable { print(p.address, paper) },
                        )
                    }
                }
            }
        },
        confirmButton = {},
        dismissButton = { TextButton(onClick = onDismiss) { Text(stringResource(R.string.cancel)) } },
    )
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
