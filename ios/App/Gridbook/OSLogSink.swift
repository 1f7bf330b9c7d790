// The Rust core's log in the unified log (subsystem app.gridbook.ios, category core: Console.app,
// or `log stream --predicate 'subsystem == "app.gridbook.ios"'`), installed once at launch. The
// FFI passes message texts only, never the fields logged with them, so the texts are public.
import GridbookFFI
import os

final class OSLogSink: LogSink, @unchecked Sendable {
    private let logger = Logger(subsystem: "app.gridbook.ios", category: "core")

    func log(level: LogLevel, target: String, message: String) {
        let type: OSLogType
        switch level {
        case .error: type = .error
        case .warn: type = .default
        case .info: type = .info
        case .debug, .trace: type = .debug
        }
        logger.log(level: type, "\(target, privacy: .public): \(message, privacy: .public)")
    }

    /// Installs the sink (debug builds log more). Logging is a help, not a need: a failure is
    /// only logged.
    static func install() {
        #if DEBUG
        let level = LogLevel.debug
        #else
        let level = LogLevel.info
        #endif
        do {
            try installLogSink(sink: OSLogSink(), level: level)
        } catch {
            Logger(subsystem: "app.gridbook.ios", category: "core").error("core log not connected: \(String(describing: error), privacy: .public)")
        }
    }
}
