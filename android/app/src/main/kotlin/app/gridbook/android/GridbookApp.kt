// The application: connects the core's log to Logcat, opens the device store once, wires the
// repositories (the app's small object graph) and schedules background sync. A store that fails to open is never deleted: the app
// shows why and the data stays for someone to rescue.
package app.gridbook.android

import android.app.Application
import android.content.Context
import app.gridbook.ffi.GridbookStore
import app.gridbook.ffi.GridbookSync
import app.gridbook.logic.ArchiveRepository
import app.gridbook.logic.FieldworkRepository
import app.gridbook.logic.TicketRepository
import app.gridbook.logic.WorkdayRepository
import app.gridbook.logic.Session
import app.gridbook.logic.SessionStore
import app.gridbook.logic.SyncRepository
import java.io.File

class GridbookApp : Application() {
    /** The graph, or why it could not be built (the store did not open). */
    lateinit var graph: Result<Graph>
        private set

    override fun onCreate() {
        super.onCreate()
        LogcatSink.install(BuildConfig.DEBUG)  // first: a store that fails to open says why in the log
        graph = runCatching { Graph(this) }
        if (graph.isSuccess) SyncWorker.schedule(this)
    }
}

/** Everything the screens share: one store, one sync, the repositories over them. */
class Graph(context: Context) {
    private val app = context.applicationContext
    val store: GridbookStore = GridbookStore.open(File(app.filesDir, "gridbook.db").path)
    val signer = KeystoreSigner.create(app)
    val sessions: SessionStore = PrefsSessionStore(app)
    val sync = SyncRepository(store, GridbookSync(store, BuildConfig.VERSION_NAME), sessions)
    private val afterWrite: () -> Unit = {
        sync.localChange()
        SyncWorker.syncSoon(app)
    }
    val archive = ArchiveRepository(store, onWrite = afterWrite)
    val fieldwork = FieldworkRepository(store, signer, onWrite = afterWrite)
    val workday = WorkdayRepository(store, onWrite = afterWrite)
    val tickets = TicketRepository(store, onWrite = afterWrite)
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
}
