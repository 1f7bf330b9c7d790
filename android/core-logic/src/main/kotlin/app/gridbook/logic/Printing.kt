// The receipt the customer takes away: the page as one picture for the system share sheet
// (WeChat is where customers keep papers), and the same page as ESC/POS bytes for a portable
// Bluetooth thermal printer (58 or 80 mm). The first print of a receipt on the phone that
// collected it is the original; every other print — a second one, one from the history, one on
// another phone — is marked 副本 / COPY by the core. The app sends the bytes and then calls
// [ReceiptPrinting.printed]. What the copy says of the company (name, seal, check address) and of
// the collector (name, staff number) is the server's, kept by the core at each sync: nothing here.
package app.gridbook.logic

import app.gridbook.ffi.PaperWidth
import app.gridbook.ffi.core.Receipt

/** Which receipts this phone printed, and how often (the app keeps it in its preferences). */
interface PrintLog {
    fun timesPrinted(receiptId: String): Int
    fun printed(receiptId: String)
}

/** An in-memory [PrintLog] (tests, previews). */
class MemoryPrintLog : PrintLog {
    private val counts = mutableMapOf<String, Int>()
    @Synchronized override fun timesPrinted(receiptId: String) = counts[receiptId] ?: 0
    @Synchronized override fun printed(receiptId: String) {
        counts[receiptId] = timesPrinted(receiptId) + 1
    }
}

/** Bytes for the printer, and whether they are a copy. */
class PrintJob(val receiptId: String, val receiptNo: String, val bytes: ByteArray, val reprint: Boolean)

/**
 * [font] gives a CJK font's bytes (Android: /system/fonts/NotoSansCJK-Regular.ttc; iOS: PingFang),
 * read once and kept; null when the phone has none (then nothing can be drawn, and the screen
 * says so). [deviceId] is this phone's.
 */
class ReceiptPrinting(
    private val fieldwork: FieldworkRepository,
    private val log: PrintLog,
    private val deviceId: String,
    private val font: () -> ByteArray?,
) {
    private val fontBytes: ByteArray? by lazy { font() }

    private fun fontOrProblem(): Result<ByteArray> = fontBytes?.let { Result.success(it) }
        ?: Result.failure(ProblemException(Problem.invalid("font", "this phone has no Chinese font to draw the receipt with")))

    /** Whether printing [receipt] now makes a copy: printed here before, or collected on another phone. */
    fun isReprint(receipt: Receipt): Boolean = receipt.deviceId != deviceId || log.timesPrinted(receipt.id) > 0

    /** The customer's copy as a PNG page, for the share sheet. */
    suspend fun image(receipt: Receipt): Result<ByteArray> =
        fontOrProblem().fold({ f -> fieldwork.receiptImage(receipt.id, f) }, { Result.failure(it) })

    /** The printer's bytes for [receipt] on [paper], marked as a copy when it is one. */
    suspend fun job(receipt: Receipt, paper: PaperWidth): Result<PrintJob> {
        val reprint = isReprint(receipt)
        return fontOrProblem().fold(
            { f -> fieldwork.receiptEscpos(receipt.id, f, paper, reprint).map { PrintJob(receipt.id, receipt.receiptNo, it, reprint) } },
            { Result.failure(it) },
        )
    }

    /** The printer took the job: the next print of this receipt is a copy. */
    fun printed(job: PrintJob) = log.printed(job.receiptId)
}

/**
 * Splits printer bytes into writes of at most [size] bytes (Bluetooth LE takes a few hundred at a
 * time; classic SPP streams, but small writes keep cheap printers' buffers from overflowing).
 */
fun ByteArray.printerChunks(size: Int): List<ByteArray> {
    require(size > 0) { "chunk size must be positive" }
    return (indices step size).map { copyOfRange(it, minOf(it + size, this.size)) }
}
