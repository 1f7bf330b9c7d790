// Support for the Kotlin binding tests: a real sync server as a child process (temp database,
// admin commands, port file), sample records, a hand-drawn signature, a signer written in Kotlin,
// the app's log sink.
package app.gridbook.tests

import app.gridbook.ffi.DeviceSigner
import app.gridbook.ffi.GridbookException
import app.gridbook.ffi.GridbookStore
import app.gridbook.ffi.LogLevel
import app.gridbook.ffi.LogSink
import app.gridbook.ffi.PadPoint
import app.gridbook.ffi.PadStroke
import app.gridbook.ffi.SignaturePad
import app.gridbook.ffi.core.Area
import app.gridbook.ffi.core.CompetitorService
import app.gridbook.ffi.core.Household
import app.gridbook.ffi.core.IdType
import app.gridbook.ffi.core.OwnService
import app.gridbook.ffi.core.Premises
import app.gridbook.ffi.core.PremisesType
import app.gridbook.ffi.core.Segment
import app.gridbook.ffi.softwareVault
import java.io.File
import java.util.concurrent.TimeUnit

const val GRID = "g1"
/** What the test server prints on every receipt: its configuration and mgr-1's staff number (工号). */
const val COMPANY = "中国电信 幸福里营业部"
const val STAFF_NO = "HN0731"
const val APP_VERSION = "kt-test-1.0"
const val NOW_MS = 1_795_000_000_000L
const val CHINA = 480

/** The stores' key vault: one software vault for the run (phones use the Keystore vault). */
val TEST_VAULT = softwareVault(null)

/** Opens (or creates) an encrypted phone store at [path] through the run's vault. */
fun openStore(path: String): GridbookStore = GridbookStore.open(path, TEST_VAULT)

val ROOT: File = File(System.getProperty("gridbook.root") ?: ".").absoluteFile

/** gridbook-sync-server on 127.0.0.1 (port chosen by the OS) over a database in [dir]. */
class SyncServer(dir: File) : AutoCloseable {
    private val binary = File(System.getenv("GRIDBOOK_SYNC_SERVER") ?: "$ROOT/target/debug/gridbook-sync-server")
    private val db = File(dir, "server.db")
    private val portFile = File(dir, "port")
    private val log = File(dir, "server.log")
    private var process: Process? = null
    lateinit var url: String
        private set

    init {
        check(binary.exists()) { "$binary does not exist: cargo build -p gridbook-sync-server" }
        dir.mkdirs()
    }

    fun admin(vararg args: String): String {
        val pb = ProcessBuilder(listOf(binary.path, "admin", "--db", db.path) + args)
        pb.environment()["GRIDBOOK_LOG"] = "warn"
        val p = pb.start()
        val out = p.inputStream.bufferedReader().readText()
        val err = p.errorStream.bufferedReader().readText()
        check(p.waitFor(60, TimeUnit.SECONDS)) { "admin ${args.joinToString(" ")} timed out" }
        check(p.exitValue() == 0) { "admin ${args.joinToString(" ")} failed (${p.exitValue()}): $err" }
        return out.trim()
    }

    /** `gridbook-sync-server releases --db … <args>`: builds of the app and the minimum version. */
    fun releases(vararg args: String): String {
        val pb = ProcessBuilder(listOf(binary.path, "releases", "--db", db.path) + args)
        pb.environment()["GRIDBOOK_LOG"] = "warn"
        val p = pb.start()
        val out = p.inputStream.bufferedReader().readText()
        val err = p.errorStream.bufferedReader().readText()
        check(p.waitFor(60, TimeUnit.SECONDS)) { "releases ${args.joinToString(" ")} timed out" }
        check(p.exitValue() == 0) { "releases ${args.joinToString(" ")} failed (${p.exitValue()}): $err" }
        return out.trim()
    }

    fun enrolCode(manager: String = "mgr-1"): String = admin("enrol-code", "--manager", manager).lines().last().trim()

    /** Serves the database; [serveArgs] are more of `serve`'s options (--company-name …). */
    fun start(vararg serveArgs: String): SyncServer {
        portFile.delete()
        val command = listOf(binary.path, "serve", "--db", db.path, "--listen", "127.0.0.1:0", "--port-file", portFile.path) + serveArgs
        val pb = ProcessBuilder(command)
        pb.environment()["GRIDBOOK_LOG"] = "warn"
        pb.redirectErrorStream(true).redirectOutput(log)
        val p = pb.start()
        process = p
        val deadline = System.nanoTime() + 30_000_000_000L
        while (System.nanoTime() < deadline) {
            val addr = if (portFile.exists()) portFile.readText().trim() else ""
            if (addr.isNotEmpty()) {
                url = "http://$addr"
                return this
            }
            check(p.isAlive) { "server exited with ${p.exitValue()}: ${log.readText()}" }
            Thread.sleep(50)
        }
        close()
        error("server did not listen within 30 s: ${log.readText()}")
    }

    override fun close() {
        process?.let { p ->
            p.destroy()
            if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS)
        }
    }

    companion object {
        /**
         * A started server with grid g1 (and g2, assigned to nobody) and field manager mgr-1 on g1,
         * staff number [STAFF_NO], the receipts printed under [COMPANY] (the server's configuration,
         * which every sync brings to the phones).
         */
        fun withGrid(dir: File): SyncServer = SyncServer(dir).apply {
            admin("create-grid", "--id", GRID, "--name", "幸福里网格")
            admin("create-grid", "--id", "g2", "--name", "和平里网格")
            admin("create-manager", "--id", "mgr-1", "--name", "李经理", "--role", "field")
            admin("assign-grid", "--manager", "mgr-1", "--grid", GRID)
            admin("set-staff-no", "--manager", "mgr-1", "--staff-no", STAFF_NO)
            start("--company-name", COMPANY)
        }
    }
}

/** A resident ID number with its correct check digit (ISO 7064 MOD 11-2). */
fun residentId(base17: String): String {
    val weights = intArrayOf(7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    val sum = base17.mapIndexed { i, c -> (c - '0') * weights[i] }.sum()
    return base17 + "10X98765432"[sum % 11]
}

val ID_NUMBER = residentId("11010519800101002")

fun building(name: String = "3号楼") = Premises(
    gridId = GRID, premisesType = PremisesType.BUILDING, name = name, community = "幸福里小区", street = "人民路", floors = 18,
)

fun household(premisesId: String? = null) = Household(
    gridId = GRID, premisesId = premisesId, unit = "2单元", floor = 5, room = "502",
    address = "人民路88号幸福里小区3号楼2单元502", customerName = "王芳", mobile = "13812345678",
    idType = IdType.RESIDENT_ID, idNumber = ID_NUMBER,
    services = listOf(OwnService(product = "broadband", serviceNumber = "0731-88886666", plan = "融合套餐129元")),
    competitorServices = listOf(CompetitorService(operator = "china_mobile", product = "mobile")),
    area = Area.URBAN, segment = Segment.RESIDENT,
)

/** A plausible handwritten signature: two strokes, 60 points, over a second, on a 600×200 pad. */
fun signaturePad(points: Int = 30): SignaturePad {
    var t = 0u
    val strokes = (0 until 2).map { s ->
        PadStroke((0 until points).map { i ->
            PadPoint(40f + s * 180 + i * 4.5f, 60f + (i % 7) * 9f + s * 5, t, 0.5f).also { t += 20u }
        }).also { t += 150u }
    }
    return SignaturePad(600u, 200u, strokes)
}

/** A signer written in Kotlin, as the Android Keystore one is (here it delegates to a key in memory). */
class KotlinSigner(private val inner: DeviceSigner, private val broken: Boolean = false, private val locked: Boolean = false) : DeviceSigner {
    var signed = 0
        private set
    override fun publicKey(): ByteArray = inner.publicKey()
    override fun sign(message: ByteArray): ByteArray {
        if (locked) throw GridbookException.KeyUnavailable("用户未解锁 keystore locked")
        signed += 1
        return if (broken) ByteArray(10) else inner.sign(message)
    }
}

/** The phone's log as the app gives it to the core (Logcat, os.Logger): remembers every line. */
class LogLines : LogSink {
    private val lines = mutableListOf<Triple<LogLevel, String, String>>()

    @Synchronized override fun log(level: LogLevel, target: String, message: String) {
        lines.add(Triple(level, target, message))
    }

    @Synchronized fun taken(): List<Triple<LogLevel, String, String>> = lines.toList()
}
