// App versions on the phone (issue 17), against the real sync server on 127.0.0.1: a build
// published with `releases publish` is offered in the sync answer, downloaded with the device
// token (resumed from a part file), and offered for install only when its size, SHA-256 and
// signing certificate are right; an app below the minimum is told to update with the build, and
// what it had pending reached the server first.
package app.gridbook.tests

import app.gridbook.ffi.GridbookException
import app.gridbook.ffi.GridbookStore
import app.gridbook.ffi.GridbookSync
import app.gridbook.ffi.core.DeviceEnvironment
import app.gridbook.logic.AppUpdates
import app.gridbook.logic.SigningCertificates
import app.gridbook.logic.UpdateCheck
import app.gridbook.logic.UpdateRefusal
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Before
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.io.File

/** The platform's answer, as PackageManager would give it: who signs the file and the app. */
private class Certificates(private val ofFile: Set<String>?, private val own: Set<String>) : SigningCertificates {
    override fun ofFile(file: File): Set<String>? = ofFile
    override fun ofInstalledApp(): Set<String> = own
}

private const val OURS = "5a1f0e7d0c3b2a19e8f7d6c5b4a3928170615243342516079f8e7d6c5b4a3921"

class AppUpdatesTest {
    @get:Rule val tmp = TemporaryFolder()
    private lateinit var server: SyncServer
    private lateinit var apk: File

    @Before fun startServer() {
        server = SyncServer.withGrid(tmp.newFolder("server"))
        apk = tmp.newFile("app-release.apk").apply {
            writeBytes(byteArrayOf(0x50, 0x4b, 0x03, 0x04) + ByteArray(150_000) { (it % 251).toByte() })
        }
    }

    @After fun stopServer() = server.close()

    /** A phone whose app is [version]: its store, its sync, its device token. */
    private class Phone(val store: GridbookStore, val sync: GridbookSync, val token: String)

    private fun phone(version: String = "1.0.0"): Phone = runBlocking {
        val store = openStore(tmp.newFile("phone-${System.nanoTime()}.db").path)
        val sync = GridbookSync(store, version)
        Phone(store, sync, sync.enrol(server.url, server.enrolCode(), null).token)
    }

    @Test fun anOfferedBuildIsDownloadedResumedAndInstalledOnlyWhenEverythingMatches() = runBlocking {
        server.releases("publish", "--file", apk.path, "--version", "1.2.0", "--rollout", "100", "--notes", "修复打印")
        val phone = phone()
        val sync = phone.sync
        sync.setEnvironment(DeviceEnvironment("Xiaomi 14", "Android 14", 8uL shl 30, false))
        sync.syncOnce()
        val offer = sync.appUpdate()
        assertNotNull("a newer build rolled out to everyone is offered", offer)
        offer!!
        assertEquals("1.2.0", offer.version)
        assertEquals(apk.length().toULong(), offer.bytes)
        assertFalse(offer.required)
        val token = phone.token

        val dir = tmp.newFolder("downloads")
        // a download cut off after 60,000 bytes left its part file: the rest is fetched by range
        File(dir, offer.sha256 + ".apk.part").writeBytes(apk.readBytes().copyOfRange(0, 60_000))
        val file = AppUpdates.download(server.url, token, offer, dir)
        assertEquals(AppUpdates.sha256Hex(apk), AppUpdates.sha256Hex(file))
        assertEquals(UpdateCheck.Install, AppUpdates.check(offer, file, Certificates(setOf(OURS), setOf(OURS))))

        val otherSigner = AppUpdates.check(offer, file, Certificates(setOf("0".repeat(64)), setOf(OURS)))
        assertEquals(UpdateRefusal.OTHER_SIGNER, (otherSigner as UpdateCheck.Refused).reason)
        assertFalse("a refused file is deleted", file.exists())

        val again = AppUpdates.download(server.url, token, offer, dir)
        val bytes = again.readBytes()
        bytes[1000] = (bytes[1000] + 1).toByte()
        again.writeBytes(bytes)
        val swapped = AppUpdates.check(offer, again, Certificates(setOf(OURS), setOf(OURS)))
        assertEquals(UpdateRefusal.WRONG_HASH, (swapped as UpdateCheck.Refused).reason)

        val short = AppUpdates.download(server.url, token, offer, dir)
        short.writeBytes(short.readBytes().copyOfRange(0, 1000))
        assertEquals(UpdateRefusal.WRONG_SIZE, (AppUpdates.check(offer, short, Certificates(setOf(OURS), setOf(OURS))) as UpdateCheck.Refused).reason)

        val unreadable = AppUpdates.download(server.url, token, offer, dir)
        assertEquals(UpdateRefusal.NOT_A_PACKAGE, (AppUpdates.check(offer, unreadable, Certificates(null, setOf(OURS))) as UpdateCheck.Refused).reason)
    }

    @Test fun anAppBelowTheMinimumIsToldToUpdateAfterItsWorkReachedTheServer() = runBlocking {
        server.releases("publish", "--file", apk.path, "--version", "2.0.0", "--rollout", "0")
        server.releases("min-version", "2.0.0")
        val old = phone()
        val household = old.store.createHousehold(household())
        try {
            old.sync.syncOnce()
            fail("an app below the minimum is told to update")
        } catch (e: GridbookException.UpgradeRequired) {
            assertEquals("2.0.0", e.minVersion)
        }
        assertEquals("the build that meets the minimum, whatever its rollout", "2.0.0", old.sync.appUpdate()?.version)
        assertTrue("kept for the app to show", old.sync.appUpdate()!!.required)
        // the server took the old app's household before refusing it: a current phone pulls it
        server.releases("min-version", "none")
        val current = phone("2.0.0")
        current.sync.syncOnce()
        assertEquals(household.id, current.store.household(household.id).id)
    }
}
