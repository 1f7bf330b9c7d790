// The foreground sync loop (core-logic's SyncRepository.runLive) against a real sync server on
// 127.0.0.1: phone B's loop waits on the server's live-change signal and picks up phone A's push
// in its next round, with a poll period far longer than the test (an hour).
package app.gridbook.tests

import app.gridbook.logic.BuildingsModel
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import java.util.Collections

class LiveSyncEndToEndTest {
    @get:Rule val tmp = TemporaryFolder()
    private lateinit var server: SyncServer

    @Before fun startServer() {
        server = SyncServer.withGrid(tmp.newFolder("server"))
    }

    @After fun stopServer() = server.close()

    @Test fun phoneBsLoopPicksUpPhoneAsPushWithoutWaitingForItsPoll() = runBlocking {
        val a = Phone(tmp.newFile("a.db"))
        val b = Phone(tmp.newFile("b.db"))
        a.sync.enrol(server.url, server.enrolCode(), a.key).getOrThrow()
        b.sync.enrol(server.url, server.enrolCode(), b.key).getOrThrow()
        b.sync.syncNow().getOrThrow()
        val events = Collections.synchronizedList(mutableListOf<String>())
        val pulled = CompletableDeferred<Unit>()
        // an hour between polls: only the live signal can bring A's write within the test
        val loop = launch(Dispatchers.IO) {
            b.sync.runLive(online = { true }, waitS = 25, pollMs = 3_600_000) { round ->
                val report = round.getOrThrow()
                if (report.pulled > 0uL) {
                    events.add("B pulled")
                    pulled.complete(Unit)
                } else {
                    events.add("B round without news")
                }
            }
        }
        assertTrue(BuildingsModel(a.archive, GRID).addPremises(building("7号楼")))
        events.add("A pushes")
        assertEquals(1uL, a.sync.syncNow().getOrThrow().acknowledged)
        // a guard against hanging, far below the poll period; the assertions are on the order
        withTimeout(60_000) { pulled.await() }
        loop.cancelAndJoin()
        val order = events.toList()
        assertTrue("$order", order.indexOf("A pushes") < order.indexOf("B pulled"))
        val premises = b.archive.premises(GRID).getOrThrow()
        assertEquals(listOf("7号楼"), premises.map { it.name })
    }
}
