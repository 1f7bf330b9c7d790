// The Rust core's log in Logcat (tag "Gridbook"): installed once when the app starts. The FFI
// passes message texts only, never the fields logged with them, so nothing personal reaches it.
package app.gridbook.android

import android.util.Log
import app.gridbook.ffi.LogLevel
import app.gridbook.ffi.LogSink
import app.gridbook.ffi.installLogSink

class LogcatSink : LogSink {
    override fun log(level: LogLevel, target: String, message: String) {
        val priority = when (level) {
            LogLevel.ERROR -> Log.ERROR
            LogLevel.WARN -> Log.WARN
            LogLevel.INFO -> Log.INFO
            LogLevel.DEBUG -> Log.DEBUG
            LogLevel.TRACE -> Log.VERBOSE
        }
        Log.println(priority, TAG, "$target: $message")
    }

    companion object {
        const val TAG = "Gridbook"

        /** Installs the sink: debug builds log more. Logging is a help, not a need: a failure is only logged. */
        fun install(debug: Boolean) {
            runCatching { installLogSink(LogcatSink(), if (debug) LogLevel.DEBUG else LogLevel.INFO) }
                .onFailure { Log.w(TAG, "core log not connected: $it") }
        }
    }
}
