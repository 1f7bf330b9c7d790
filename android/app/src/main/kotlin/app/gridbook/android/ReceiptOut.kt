// The receipt leaves the phone: as a picture through the system share sheet (WeChat is where
// customers keep papers) and as ESC/POS bytes to a paired Bluetooth thermal printer over the
// serial port profile (SPP), the way portable 58 / 80 mm printers take them. The CJK font the core
// draws with is the system's Noto Sans CJK.
package app.gridbook.android

import android.Manifest
import android.annotation.SuppressLint
import android.bluetooth.BluetoothManager
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Build
import androidx.core.content.FileProvider
import app.gridbook.logic.PrintJob
import app.gridbook.logic.Problem
import app.gridbook.logic.ProblemException
import app.gridbook.logic.printerChunks
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.withContext
import java.io.File
import java.io.IOException
import java.util.UUID

object SystemFont {
    /** Where Android keeps its CJK fonts (the first that exists is read). */
    private val CANDIDATES = listOf(
        "/system/fonts/NotoSansCJK-Regular.ttc",
        "/system/fonts/NotoSansSC-Regular.otf",
        "/system/fonts/DroidSansFallback.ttf",
        "/system/fonts/DroidSansFallbackFull.ttf",
    )

    fun cjk(): ByteArray? = CANDIDATES.asSequence().map(::File).firstOrNull { it.canRead() }?.readBytes()
}

object ReceiptShare {
    /**
     * The system share sheet with the receipt's picture, written to the app's cache (never to
     * shared storage) and lent to the chosen app for reading only.
     */
    suspend fun share(context: Context, receiptNo: String, png: ByteArray, title: String) {
        val file = withContext(Dispatchers.IO) {
            File(context.cacheDir, "shared").apply { mkdirs() }.resolve("receipt-${receiptNo.filter { it.isLetterOrDigit() || it == '-' }}.png")
                .apply { writeBytes(png) }
        }
        val uri = FileProvider.getUriForFile(context, "${context.packageName}.files", file)
        val send = Intent(Intent.ACTION_SEND).apply {
            type = "image/png"
            putExtra(Intent.EXTRA_STREAM, uri)
            addFlags(Intent.FLAG_GRANT_READ_URI_PERMISSION)
        }
        context.startActivity(Intent.createChooser(send, title).addFlags(Intent.FLAG_ACTIVITY_NEW_TASK))
    }
}

object BluetoothPrinter {
    /** The serial port profile portable printers speak. */
    private val SPP: UUID = UUID.fromString("00001101-0000-1000-8000-00805F9B34FB")

    /** A paired printer: its name and address. */
    data class Paired(val name: String, val address: String)

    /** Android 12+ asks for "nearby devices" (BLUETOOTH_CONNECT); before, the install granted it. */
    val PERMISSIONS: Array<String> =
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) arrayOf(Manifest.permission.BLUETOOTH_CONNECT) else emptyArray()

    fun permitted(context: Context) = PERMISSIONS.all { context.checkSelfPermission(it) == PackageManager.PERMISSION_GRANTED }

    /** The devices paired in the system's Bluetooth settings (printers are paired there, with their PIN). */
    @SuppressLint("MissingPermission")  // permitted() is checked first
    fun paired(context: Context): List<Paired> {
        if (!permitted(context)) return emptyList()
        val adapter = context.getSystemService(BluetoothManager::class.java)?.adapter ?: return emptyList()
        return try {
            adapter.bondedDevices.orEmpty().map { Paired(it.name ?: it.address, it.address) }.sortedBy { it.name }
        } catch (e: SecurityException) {
            emptyList()
        }
    }

    /** Sends [job] to the printer at [address]; a problem naming the printer when it did not go. */
    @SuppressLint("MissingPermission")  // permitted() is checked first
    suspend fun print(context: Context, address: String, job: PrintJob): Result<Unit> = withContext(Dispatchers.IO) {
        val adapter = context.getSystemService(BluetoothManager::class.java)?.adapter
        if (!permitted(context) || adapter == null) return@withContext failed("Bluetooth is off or not allowed")
        try {
            adapter.cancelDiscovery()  // discovery slows a connection down
            adapter.getRemoteDevice(address).createRfcommSocketToServiceRecord(SPP).use { socket ->
                socket.connect()
                val out = socket.outputStream
                for (chunk in job.bytes.printerChunks(CHUNK)) {
                    out.write(chunk)
                    out.flush()
                    delay(PACE_MS)  // cheap printers drop bytes when their buffer overflows
                }
                // closing at once can cut the last line off on some printers
                delay(LINGER_MS)
            }
            Result.success(Unit)
        } catch (e: IOException) {
            failed("the printer did not answer (is it on, paired and near?): ${e.message}")
        } catch (e: SecurityException) {
            failed("Bluetooth permission withdrawn")
        } catch (e: IllegalArgumentException) {
            failed("not a Bluetooth address: $address")
        }
    }

    private fun failed(why: String): Result<Unit> = Result.failure(ProblemException(Problem.invalid("printer", why)))

    private const val CHUNK = 512
    private const val PACE_MS = 20L
    private const val LINGER_MS = 800L
}
