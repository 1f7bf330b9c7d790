// Arrears collection on the spot (欠费催缴): amount and cash typed in yuan, change computed
// (唱收唱付), the payment's reference for WeChat Pay and Alipay (交易单号), the next number of the
// device's receipt book, the customer's signature, then the receipt recorded and sealed in one
// step and the customer's copy shown. Started from a plan item, the household page or the arrears
// list alike. A second tap on "collect" shows the saved receipt and writes nothing; the unsaved
// form outlives its screen (Drafts).
package app.gridbook.logic

import app.gridbook.ffi.core.ArrearsLine
import app.gridbook.ffi.CustomerSignature
import app.gridbook.ffi.core.PaymentMethod
import app.gridbook.ffi.core.Position
import app.gridbook.ffi.core.Receipt
import app.gridbook.ffi.SignatureCapture
import app.gridbook.ffi.SignatureFlag
import app.gridbook.ffi.SignaturePad
import app.gridbook.ffi.SignerRelation
import app.gridbook.ffi.amountInCapitals
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
    /** 交易单号 of a WeChat Pay, Alipay or card payment (none for cash). */
    val paymentRef: String = "",
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
    /** Where the phone was when collecting ([positionOf]: a fix, or "no fix"); null until located. */
    val location: Position? = null,
    /** A save is under way: the button takes no tap. */
    val saving: Boolean = false,
    /** After saving: the receipt, its sealed signature, the customer's copy and its code. */
    val saved: Receipt? = null,
    val sealed: CustomerSignature? = null,
    val printoutHtml: String? = null,
    val verificationCode: String? = null,
    val problem: Problem? = null,
) {
    /** The reference box is shown for these methods (a cash receipt has none). */
    val asksForReference: Boolean get() = method != PaymentMethod.CASH
}

class CollectionModel(
    private val fieldwork: FieldworkRepository,
    private val session: Session,
    private val clockMs: () -> Long = System::currentTimeMillis,
    private val zoneOffsetMin: () -> Int = ::phoneZoneOffsetMin,
    private val drafts: Drafts? = null,
) {
    private val _state = MutableStateFlow(CollectionState())
    val state: StateFlow<CollectionState> = _state.asStateFlow()
    private val once = SubmitOnce()
    private var draftKey: String? = null

    /**
     * Where the phone was, once the platform answered (a fix, or "no fix" after the wait): the
     * first answer counts, a saved receipt is not changed, collecting never waits for it.
     */
    fun locate(position: Position) {
        val s = _state.value
        if (s.line == null || s.location != null || s.saved != null) return
        _state.value = s.copy(location = position)
    }

    /**
     * Starts collecting on an arrears line: the amount proposed is what remains owed. A form left
     * unsaved for the same account comes back as it was.
     */
    suspend fun start(line: ArrearsLine, signerName: String) {
        val key = "collect:${line.account.id}"
        draftKey = key
        val number = fieldwork.nextReceiptNo()
        val noBook = number.isSuccess && number.getOrNull() == null
        val problem = number.problem ?: if (noBook) NO_BOOK else null
        val kept = drafts?.get<CollectionState>(key)
        val base = kept?.copy(line = line) ?: CollectionState(
            line = line, signerName = signerName, amountText = Money.format(line.remainingFen).replace(",", ""),
        )
        update(recompute(base.copy(receiptNo = number.getOrNull(), problem = problem)))
    }

    fun setAmount(text: String) = change { it.copy(amountText = text) }
    fun setCash(text: String) = change { it.copy(cashText = text) }
    fun setReference(text: String) = change { it.copy(paymentRef = text.trim()) }

    /** Cash has no reference: switching to it clears one typed for another method. */
    fun setMethod(method: PaymentMethod) =
        change { it.copy(method = method, paymentRef = if (method == PaymentMethod.CASH) "" else it.paymentRef) }

    fun setSigner(name: String, relation: SignerRelation) = change { it.copy(signerName = name, relation = relation) }

    fun sign(pad: SignaturePad) {
        val taken = takeSignature(pad)
        change { it.copy(signature = taken.pad, signatureFlags = taken.flags) }
        if (_state.value.saved == null) _state.value = _state.value.copy(problem = taken.problem)
    }

    /** "重签 Sign again": the pad is cleared, and so is the signature the form holds. */
    fun clearSignature() = change { it.copy(signature = null, signatureFlags = emptyList()) }

    /** Edits are for before the receipt is saved; a saved receipt is never changed. */
    private fun change(f: (CollectionState) -> CollectionState) {
        val s = _state.value
        if (s.saved != null || s.saving) return
        update(recompute(f(s).copy(problem = null)))
    }

    private fun recompute(s: CollectionState): CollectionState {
        val amount = Money.parseYuan(s.amountText)
        val cash = if (s.method == PaymentMethod.CASH) Money.parseYuan(s.cashText) else amount
        return s.copy(
            amountFen = amount, cashFen = cash, changeFen = Money.change(amount, cash),
            amountCapitals = amount?.let { a -> attempt { amountInCapitals(a) }.getOrDefault("") } ?: "",
        )
    }

    /**
     * Records the receipt with the customer's sealed signature, then shows their copy. True when
     * saved. Runs once: a second tap (during the save or after it) returns true, writes nothing
     * and leaves the saved receipt on screen.
     */
    suspend fun collect(): Boolean = once.run({ _state.value.saved != null }) {
        val s = _state.value
        val line = s.line ?: return@run false
        val fail = { p: Problem -> _state.value = _state.value.copy(problem = p); false }
        val number = s.receiptNo ?: return@run fail(NO_BOOK)
        val amount = s.amountFen ?: return@run fail(Problem.invalid("amount_fen", "enter the amount in yuan, e.g. 128.00"))
        val cash = s.cashFen ?: return@run fail(Problem.invalid("cash_received_fen", "enter the cash received in yuan"))
        val change = s.changeFen ?: return@run fail(Problem.invalid("cash_received_fen", "the cash received must cover the amount"))
        if (s.method in REFERENCE_REQUIRED && s.paymentRef.isBlank()) {
            return@run fail(Problem.invalid("payment_ref", "enter the payment's 交易单号 from the customer's payment screen"))
        }
        val pad = s.signature ?: return@run fail(Problem.invalid("signature", "the customer signs the receipt"))
        if (s.signatureFlags.isNotEmpty()) return@run fail(Problem.invalid("signature", "the signature looks implausible: ask the customer to sign again"))
        _state.value = s.copy(saving = true, problem = null)
        val receipt = Receipt(
            gridId = line.account.gridId, receiptNo = number, accountId = line.account.id,
            householdId = line.account.householdId, owedBeforeFen = line.remainingFen, amountFen = amount,
            cashReceivedFen = cash, changeFen = change, method = s.method, collectedAtMs = clockMs(),
            zoneOffsetMin = zoneOffsetMin().toLong(), collectorId = session.managerId, paymentRef = s.paymentRef,
            location = s.location,
        )
        val signed = fieldwork.recordSignedReceipt(receipt, SignatureCapture(pad, s.signerName, s.relation))
        val saved = signed.getOrNull()
        if (saved == null) {
            _state.value = _state.value.copy(saving = false, problem = signed.problem ?: Problem(ProblemKind.UNEXPECTED, "no receipt"))
            return@run false
        }
        draftKey?.let { drafts?.drop(it) }
        _state.value = _state.value.copy(saving = false, saved = saved.receipt, sealed = saved.signature, verificationCode = saved.verificationCode)
        // The receipt is saved whatever happens to its preview.
        val copy = fieldwork.printout(saved.receipt.id)
        _state.value = _state.value.copy(printoutHtml = copy.getOrNull()?.html, problem = copy.problem)
        true
    }

    private fun update(s: CollectionState) {
        _state.value = s
        if (s.saved == null) draftKey?.let { key -> drafts?.put(key, s.copy(saving = false, problem = null)) }
    }

    companion object {
        /** WeChat Pay and Alipay payments are matched to the merchant's statement by this number. */
        val REFERENCE_REQUIRED = setOf(PaymentMethod.WECHAT, PaymentMethod.ALIPAY)
        private val NO_BOOK = Problem.invalid("receipt_no", "no receipt numbers left on this phone: sync to get a new book")
    }
}
