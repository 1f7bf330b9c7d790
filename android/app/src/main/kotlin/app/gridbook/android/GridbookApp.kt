// The application: opens the device store and the device key once, off the main thread (SQLite
// migration, Keystore), wires the repositories (the app's small object graph), and syncs — every
// 15 minutes, soon after each change, when the app comes to the foreground and when the network
// returns (many Chinese ROMs kill periodic jobs). A store that fails to open is never deleted:
// the app shows why and the data stays for someone to rescue. A store the back office had wiped
// (docs/mobile.md, "Remote wipe") is replaced by a new, empty one and the app returns to enrolment.
package app.gridbook.android

import android.app.Application
import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import app.gridbook.ffi.GridbookStore
import app.gridbook.ffi.GridbookSync
import app.gridbook.logic.ArchiveRepository
import app.gridbook.logic.Consent
import app.gridbook.logic.ConsentStore
import app.gridbook.logic.Drafts
import app.gridbook.logic.FieldworkRepository
import app.gridbook.logic.LocalChanges
import app.gridbook.logic.PrintLog
import app.gridbook.logic.Problem
import app.gridbook.logic.Session
import app.gridbook.logic.SessionStore
import app.gridbook.logic.SyncRepository
import app.gridbook.logic.SyncTrigger
import app.gridbook.logic.TicketRepository
import app.gridbook.logic.WorkdayRepository
import app.gridbook.logic.shouldSync
import app.gridbook.ffi.core.Position
import app.gridbook.logic.positionOf
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import java.io.File

/** The graph as the screens see it: still opening, ready, or why it could not be opened. */
sealed interface GraphState {
    data object Opening : GraphState
    class Ready(val graph: Graph) : GraphState
    class Failed(val error: Throwable) : GraphState
}

class GridbookApp : Application() {
    /** Work that outlives a screen (opening the store, foreground syncs). */
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    private val _graph = MutableStateFlow<GraphState>(GraphState.Opening)
    val graph: StateFlow<GraphState> = _graph.asStateFlow()
    val consent: Consent by lazy { Consent(PrefsConsentStore(this)) }

    override fun onCreate() {
        super.onCreate()
        LogcatSink.install(BuildConfig.DEBUG)  // first: a store that fails to open says why in the log
        scope.launch(Dispatchers.IO) {
            // runCatching: a missing or broken libgridbook_ffi.so is an Error, and the screen should say so too
            open(wipedNotice = null)
            if (_graph.value is GraphState.Ready) SyncWorker.schedule(this@GridbookApp)
        }
        ProcessLifecycleOwner.get().lifecycle.addObserver(object : DefaultLifecycleObserver {
            override fun onStart(owner: LifecycleOwner) {
                trigger(SyncTrigger.FOREGROUND)
                startLive()
            }
            override fun onStop(owner: LifecycleOwner) {
                live?.cancel()
                live = null
            }
        })
        getSystemService(ConnectivityManager::class.java)?.registerDefaultNetworkCallback(object : ConnectivityManager.NetworkCallback() {
            override fun onAvailable(network: Network) = trigger(SyncTrigger.NETWORK_BACK)
        })
    }

    /** Opens the store and wires the graph; a wipe met by a sync opens a new store in its place. */
    private fun open(wipedNotice: Problem?) {
        _graph.value = runCatching { Graph(this, wipedNotice) }.fold({ GraphState.Ready(it) }, { GraphState.Failed(it) })
        val graph = (_graph.value as? GraphState.Ready)?.graph ?: return
        scope.launch {
            val notice = graph.sync.wiped.first { it != null } ?: return@launch
            withContext(Dispatchers.IO) {
                // the old store's files and its Keystore key are gone (the core); the signing key
                // and the session go too: a new store is a new device, enrolled with a new code
                KeystoreSigner.delete(this@GridbookApp)
                open(notice)
            }
        }
    }

    /** The graph once it is open, or null if it failed (the screens show why). */
    suspend fun awaitGraph(): Graph? = (graph.first { it !is GraphState.Opening } as? GraphState.Ready)?.graph

    /** The foreground's sync loop: another phone's write arrives as soon as the server has it. */
    private var live: Job? = null

    /** Starts the live loop (SyncRepository.runLive) while the app is on screen and enrolled. */
    private fun startLive() {
        if (consent.needed || live?.isActive == true) return
        val g = (graph.value as? GraphState.Ready)?.graph ?: return
        if (!g.sync.isEnrolled) return
        val connectivity = getSystemService(ConnectivityManager::class.java)
        live = scope.launch(Dispatchers.IO) { g.sync.runLive(online = { connectivity?.activeNetwork != null }) }
    }

    /** Syncs now if the core-logic's rule says this moment calls for it. */
    private fun trigger(trigger: SyncTrigger) {
        if (consent.needed) return
        val g = (graph.value as? GraphState.Ready)?.graph ?: return
        if (shouldSync(trigger, g.sync.status.value, System.currentTimeMillis())) SyncWorker.syncSoon(this, delaySeconds = 0)
    }
}

/**
 * Everything the screens share: one store, one sync, the repositories over them. Made off the main
 * thread. [wipedNotice] is set on the graph opened after a remote wipe: the enrolment screen says so.
 */
class Graph(context: Context, val wipedNotice: Problem? = null) {
    private val app = context.applicationContext

    /** Where the phone is now, for a visit or a receipt: a fix within 30 s, or "no fix" (never a blocker). */
    suspend fun position(): Position =
        positionOf(if (CurrentLocation.permitted(app)) CurrentLocation.fix(app) else null, System.currentTimeMillis())
    // encrypted (SQLCipher), its key wrapped by the Keystore; excluded from backups (data_extraction_rules.xml)
    val store: GridbookStore = GridbookStore.open(File(app.filesDir, "gridbook.db").path, KeystoreVault())
    val signer = KeystoreSigner.create(app)
    val sessions: SessionStore = PrefsSessionStore(app)
    // the signer signs a remote wipe's report (the key registered at enrolment)
    val sync = SyncRepository(store, GridbookSync(store, BuildConfig.VERSION_NAME, signer), sessions)
    /** Unsaved forms, kept when a tab is tapped or a screen is rebuilt. */
    val drafts = Drafts()
    /** The phone's own writes: Today reads again after a visit or a collection. */
    val changes = LocalChanges()
    val printLog: PrintLog = PrefsPrintLog(app)
    private val afterWrite: () -> Unit = {
        sync.localChange()
        changes.bump()
        SyncWorker.syncSoon(app)
    }
    val archive = ArchiveRepository(store, onWrite = afterWrite)
    val fieldwork = FieldworkRepository(store, signer, onWrite = afterWrite)
    val workday = WorkdayRepository(store, onWrite = afterWrite)
    val tickets = TicketRepository(store, onWrite = afterWrite)
    val deviceId: String = store.deviceId()
    val session: Session? get() = sessions.load()
}

/** The session in SharedPreferences (who the phone belongs to; not a secret: the token is in the store). */
class PrefsSessionStore(context: Context) : SessionStore {
    private val prefs = context.getSharedPreferences("session", Context.MODE_PRIVATE)

    override fun load(): Session? {
        val device = prefs.getString("device_id", null) ?: return null
        return Session(
            deviceId = device,
            managerId = prefs.getString("manager_id", "") ?: "",
            managerName = prefs.getString("manager_name", "") ?: "",
            grids = prefs.getString("grids", "")?.split(',')?.filter { it.isNotBlank() } ?: emptyList(),
        )
    }

    override fun save(session: Session) {
        prefs.edit()
            .putString("device_id", session.deviceId)
            .putString("manager_id", session.managerId)
            .putString("manager_name", session.managerName)
            .putString("grids", session.grids.joinToString(","))
            .apply()
    }

    override fun clear() {
        prefs.edit().clear().apply()
    }
}

/** Which privacy notice was agreed to, and when. */
class PrefsConsentStore(context: Context) : ConsentStore {
    private val prefs = context.getSharedPreferences("privacy", Context.MODE_PRIVATE)
    override fun agreedVersion() = prefs.getInt("agreed_version", 0)
    override fun agree(version: Int, atMs: Long) {
        prefs.edit().putInt("agreed_version", version).putLong("agreed_at_ms", atMs).apply()
    }
}

/** Which receipts this phone printed (the next print of one is a copy). */
class PrefsPrintLog(context: Context) : PrintLog {
    private val prefs = context.getSharedPreferences("printed_receipts", Context.MODE_PRIVATE)
    override fun timesPrinted(receiptId: String) = prefs.getInt(receiptId, 0)
    override fun printed(receiptId: String) {
        prefs.edit().putInt(receiptId, timesPrinted(receiptId) + 1).apply()
    }
}
