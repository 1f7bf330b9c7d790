// Arrears collection on the spot (欠费催缴): amount and cash typed in yuan, change computed
// (唱收唱付), the next number of the device's receipt book, the customer's signature, then the
// receipt recorded and sealed in one step and the customer's copy shown (the receipt preview).
package app.gridbook.logic

import app.gridbook.ffi.CustomerSignature
import app.gridbook.ffi.SignatureCapture
import app.gridbook.ffi.SignatureFlag
import app.gridbook.ffi.SignaturePad
import app.gridbook.ffi.SignerRelation
import app.gridbook.ffi.amountInCapitals
import app.gridbook.ffi.checkSignature
import app.gridbook.ffi.core.ArrearsLine
import app.gridbook.ffi.core.PaymentMethod
import app.gridbook.ffi.core.Receipt
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

data class CollectionState(
    val line: ArrearsLine? = null,
    /** The number printed on this receipt: the next one of the device's book. */
    val receiptNo: String? = null,
    val method: PaymentMethod = PaymentMethod.CASH,
    val amountText: String = "",
    val cashText: String = "",
    val amountFen: Long? = null,
    val cashFen: Long? = null,
    /** Change to give, fen: null until the cash covers the amount. */
    val changeFen: Long? = null,
    /** The amount in capitals (大写), for calling out. */
    val amountCapitals: String = "",
    val signerName: String = "",
    val relation: SignerRelation = SignerRelation.Householder,
    val signature: SignaturePad? = null,
    val signatureFlags: List<SignatureFlag> = emptyList(),
    /** After saving: the receipt, its sealed signature, the customer's copy and its code. */
    val saved: Receipt? = null,
    val sealed: CustomerSignature? = null,
    val printoutHtml: String? = null,
    val verificationCode: String? = null,
    val problem: Problem? = null,
)

class CollectionModel(
    private val fieldwork: FieldworkRepository,
    private val session: Session,
    private val companyName: String,
    private val clockMs: () -> Long = System::currentTimeMillis,
    private val zoneOffsetMin: () -> Int = ::phoneZoneOffsetMin,
) {
    private val _state = MutableStateFlow(CollectionState())
    val state: StateFlow<CollectionState> = _state.asStateFlow()

    /** Starts collecting on an arrears line: the amount proposed is what remains owed. */
    suspend fun start(line: ArrearsLine, signerName: String) {
        val number = fieldwork.nextReceiptNo()
        val noBook = number.isSuccess && number.getOrNull() == null
        _state.value = recompute(
            CollectionState(
                line = line, receiptNo = number.getOrNull(), signerName = signerName,
                amountText = Money.format(line.remainingFen).replace(",", ""),
                problem = number.problem ?: if (noBook) Problem.invalid("receipt_no", "no receipt numbers left on this phone: sync to get a new book") else null,
            ),
        )
    }

    fun setAmount(text: String) = change { it.copy(amountText = text) }
    fun setCash(text: String) = change { it.copy(cashText = text) }
    fun setMethod(method: PaymentMethod) = change { it.copy(method = method) }
    fun setSigner(name: String, relation: SignerRelation) = change { it.copy(signerName = name, relation = relation) }

    fun sign(pad: SignaturePad) {
        val check = attempt { checkSignature(pad) }
        change { it.copy(signature = if (check.isSuccess) pad else null, signatureFlags = check.getOrNull()?.flags ?: emptyList()) }
        _state.value = _state.value.copy(problem = check.problem)
    }

    /** Edits are for before the receipt is saved; a saved receipt is never changed. */
    private fun change(f: (CollectionState) -> CollectionState) {
        if (_state.value.saved != null) return
        _state.value = recompute(f(_state.value).copy(problem = null))
    }

    private fun recompute(s: CollectionState): CollectionState {
        val amount = Money.parseYuan(s.amountText)
        val cash = if (s.method == PaymentMethod.CASH) Money.parseYuan(s.cashText) else amount
        return s.copy(
            amountFen = amount, cashFen = cash, changeFen = Money.change(amount, cash),
            amountCapitals = amount?.let { a -> attempt { amountInCapitals(a) }.getOrDefault("") } ?: "",
        )
    }

    /** Records the receipt with the customer's sealed signature, then shows their copy. True when saved. */
    suspend fun collect(): Boolean {
        val s = _state.value
        val line = s.line ?: return false
        if (s.saved != null) return true
        val fail = { p: Problem -> _state.value = s.copy(problem = p); false }
        val number = s.receiptNo ?: return fail(Problem.invalid("receipt_no", "no receipt numbers left on this phone: sync to get a new book"))
        val amount = s.amountFen ?: return fail(Problem.invalid("amount_fen", "enter the amount in yuan, e.g. 128.00"))
        val cash = s.cashFen ?: return fail(Problem.invalid("cash_received_fen", "enter the cash received in yuan"))
        val change = s.changeFen ?: return fail(Problem.invalid("cash_received_fen", "the cash received must cover the amount"))
        val pad = s.signature ?: return fail(Problem.invalid("signature", "the customer signs the receipt"))
        if (s.signatureFlags.isNotEmpty()) return fail(Problem.invalid("signature", "the signature looks implausible: ask the customer to sign again"))
        val receipt = Receipt(
            gridId = line.account.gridId, receiptNo = number, accountId = line.account.id,
            householdId = line.account.householdId, owedBeforeFen = line.remainingFen, amountFen = amount,
            cashReceivedFen = cash, changeFen = change, method = s.method, collectedAtMs = clockMs(),
            zoneOffsetMin = zoneOffsetMin().toLong(), collectorId = session.managerId,
        )
        val signed = fieldwork.recordSignedReceipt(receipt, SignatureCapture(pad, s.signerName, s.relation))
        val saved = signed.getOrNull() ?: return fail(signed.problem ?: Problem(ProblemKind.UNEXPECTED, "no receipt"))
        val copy = fieldwork.printout(saved.receipt.id, companyName)
        _state.value = s.copy(
            saved = saved.receipt, sealed = saved.signature, verificationCode = saved.verificationCode,
            printoutHtml = copy.getOrNull()?.html, problem = copy.problem,
        )
        return true
    }
}
