// The remote wipe through core-logic and the Kotlin bindings against a real sync server on
// 127.0.0.1 (issue 16): a phone with pending visits and an unsynced receipt is ordered wiped from
// the back office's command line. Retire: everything is uploaded, the store's vault key and files
// go, the signed report reaches the server, SyncRepository says so (and forgets the session), and
// a new store at the same path enrols as a new device. Lost: one push after the order, then the
// wipe. The back office's list shows both.
package app.gridbook.tests

import app.gridbook.ffi.GridbookException
import app.gridbook.ffi.GridbookStore
import app.gridbook.ffi.GridbookSync
import app.gridbook.ffi.SignatureCapture
import app.gridbook.ffi.SignerRelation
import app.gridbook.ffi.core.PaymentMethod
import app.gridbook.ffi.core.Receipt
import app.gridbook.ffi.core.Visit
import app.gridbook.ffi.core.VisitPurpose
import app.gridbook.ffi.core.WipeMode
import app.gridbook.ffi.inMemoryDeviceKey
import app.gridbook.ffi.softwareVault
import app.gridbook.logic.BackgroundOutcome
import app.gridbook.logic.MemorySessionStore
import app.gridbook.logic.ProblemKind
import app.gridbook.logic.SyncRepository
import app.gridbook.logic.backgroundOutcome
import app.gridbook.logic.problem
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.io.File

class WipeEndToEndTest {
    @get:Rule val tmp = TemporaryFolder()
    private lateinit var server: SyncServer

    @Before fun startServer() {
        server = SyncServer.withGrid(tmp.newFolder("server"))
    }

    @After fun stopServer() = server.close()

    /** A phone as the app makes it: its own vault (the wipe destroys it), its signer given to the sync. */
    private class WipablePhone(val path: File) {
        val vault = softwareVault(null)
        val store: GridbookStore = GridbookStore.open(path.path, vault)
        val key = KotlinSigner(inMemoryDeviceKey(null))
        val sessions = MemorySessionStore()
        val sync = SyncRepository(store, GridbookSync(store, APP_VERSION, key), sessions, Dispatchers.Unconfined)
    }

    /** The store's files still on disk (the database, its WAL and shared memory, its key record …). */
    private fun storeFiles(path: File): List<String> =
        path.parentFile.listFiles().orEmpty().map { it.name }.filter { it.startsWith(path.name) }.sorted()

    /** A household and its debt synced, then offline: three visits and a signed receipt of 128.00. */
    private suspend fun dayOfWork(p: WipablePhone): String {
        val h = p.store.createHousehold(household())
        p.sync.syncNow().getOrThrow()
        val account = server.admin("add-arrears", "--grid", GRID, "--household", h.id, "--account-no", "A1", "--owed-fen", "30000", "--months", "2")
        p.sync.syncNow().getOrThrow()
        repeat(3) { i ->
            p.store.recordVisit(Visit(gridId = GRID, householdId = h.id, arrivedAtMs = NOW_MS + i, zoneOffsetMin = CHINA.toLong(),
                purpose = VisitPurpose.ARREARS, outcome = "第${i + 1}次上门", managerId = "mgr-1"))
        }
        p.store.recordSignedReceipt(
            Receipt(gridId = GRID, receiptNo = "", accountId = account, householdId = h.id, owedBeforeFen = 30_000, amountFen = 12_800,
                cashReceivedFen = 20_000, changeFen = 7_200, method = PaymentMethod.CASH, collectedAtMs = NOW_MS + 60_000, zoneOffsetMin = 480,
                collectorId = "mgr-1"),
            SignatureCapture(signaturePad(), "王芳", SignerRelation.Householder), p.key,
        )
        return h.id
    }

    private fun wipeStatus(device: String): String =
        server.admin("wipes").lines().single { it.contains("\"device_id\":\"$device\"") }

    @Test fun aRetiredPhoneUploadsEverythingWipesAndEnrolsAgainAsNew() = runBlocking {
        val path = tmp.newFolder("retire").resolve("phone.db")
        val p = WipablePhone(path)
        p.sync.enrol(server.url, server.enrolCode(), p.key).getOrThrow()
        val device = p.store.deviceId()
        val household = dayOfWork(p)
        assertEquals(5uL, p.store.outboxCounts().pending)
        assertTrue(storeFiles(path).isNotEmpty())

        server.admin("wipe-device", "--device", device, "--mode", "retire", "--by", "zhuguan")
        assertTrue(wipeStatus(device).contains("\"status\":\"ordered\""))
        val result = p.sync.syncNow()
        val problem = result.problem!!
        assertEquals(ProblemKind.WIPED, problem.kind)
        assertEquals(problem, p.sync.wiped.value)
        assertNull("the session is forgotten", p.sessions.load())
        assertEquals(BackgroundOutcome.DONE, backgroundOutcome(problem, 0))
        val report = problem.wipe!!
        assertEquals(WipeMode.RETIRE, report.mode)
        assertEquals(listOf(5uL, 1uL, 0uL, 0uL), listOf(report.opsUploaded, report.receiptsUploaded, report.opsLost, report.receiptsLost))
        assertEquals(12_800L, report.receiptsUploadedFen)
        assertTrue(problem.detail, problem.detail.contains("¥128.00") && problem.detail.contains("已报告后台"))

        // the phone: its files and its vault's key are gone, every call says so
        assertEquals(emptyList<String>(), storeFiles(path))
        assertThrows(GridbookException.KeyUnavailable::class.java) { p.vault.wrap(ByteArray(32)) }
        assertThrows(GridbookException.Wiped::class.java) { p.store.household(household) }
        assertThrows(GridbookException.Wiped::class.java) { p.store.unlock(p.vault) }
        assertEquals(emptyList<String>(), storeFiles(path))

        // the back office: wiped, who asked, what was uploaded and lost
        val row = wipeStatus(device)
        assertTrue(row, row.contains("\"status\":\"wiped\"") && row.contains("\"ordered_by\":\"zhuguan\""))
        assertTrue(row, row.contains("\"receipts_uploaded_fen\":12800") && row.contains("\"ops_lost\":0"))

        // the app opens a new store where the old one was: a new device, enrolled with a new code
        val again = WipablePhone(path)
        assertNotEquals(device, again.store.deviceId())
        again.sync.enrol(server.url, server.enrolCode(), again.key).getOrThrow()
        again.sync.syncNow().getOrThrow()
        assertEquals(4, again.store.householdHistory(household).size)  // three visits and the receipt
    }

    @Test fun aLostPhonePushesOnceAfterTheOrderThenWipes() = runBlocking {
        val path = tmp.newFolder("lost").resolve("phone.db")
        val p = WipablePhone(path)
        p.sync.enrol(server.url, server.enrolCode(), p.key).getOrThrow()
        val device = p.store.deviceId()
        dayOfWork(p)
        server.admin("wipe-device", "--device", device, "--mode", "lost", "--by", "zhuguan")
        val problem = p.sync.syncWithRetry(3).problem!!
        assertEquals(ProblemKind.WIPED, problem.kind)
        val report = problem.wipe!!
        assertEquals(WipeMode.LOST, report.mode)
        assertEquals(listOf(5uL, 0uL, 0uL), listOf(report.opsUploaded, report.opsLost, report.receiptsLost))
        assertEquals(emptyList<String>(), storeFiles(path))
        assertTrue(wipeStatus(device).contains("\"status\":\"wiped\""))
        assertTrue(wipeStatus(device).contains("\"mode\":\"lost\""))
    }
}
