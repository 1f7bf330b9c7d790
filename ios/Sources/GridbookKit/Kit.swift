// GridbookKit: the app's state over the generated bindings, the Swift twin of Android's
// core-logic (money in fen, problems with the field to point at, the sync status as an
// observable object fed by the core's observer, the signature pad's input, and per-screen models).
import Foundation
import GridbookFFI

// MARK: - Money

public enum Money {
    /// "128", "128.5", "¥1,280.00" → fen; nil for anything else. Never floating point.
    public static func parseYuan(_ text: String) -> Int64? {
        var s = text.trimmingCharacters(in: .whitespaces)
        if s.hasPrefix("¥") || s.hasPrefix("￥") { s.removeFirst() }
        s = s.replacingOccurrences(of: ",", with: "").replacingOccurrences(of: " ", with: "")
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty, whole.count <= 13,
              whole.allSatisfy(\.isASCIIDigit), let yuan = Int64(whole) else { return nil }
        var fen: Int64 = 0
        if parts.count == 2 {
            let d = parts[1]
            guard (1...2).contains(d.count), d.allSatisfy(\.isASCIIDigit) else { return nil }
            fen = Int64(d.padding(toLength: 2, withPad: "0", startingAt: 0)) ?? 0
        }
        return yuan * 100 + fen
    }

    /// "¥1,000.50": the core's formatting, the same on every platform.
    public static func yuan(_ fen: Int64) -> String { "¥" + formatYuan(fen: fen) }

    /// Change to give (唱收唱付), or nil while the cash does not cover the amount.
    public static func change(amount: Int64?, cash: Int64?) -> Int64? {
        guard let a = amount, let c = cash, c >= a else { return nil }
        return c - a
    }
}

private extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

// MARK: - Problems

/// What went wrong, for a screen: the kind decides the text, `field` the box to highlight.
public struct Problem: Error, Equatable {
    public enum Kind { case invalid, notFound, offline, needsEnrolment, refused, interrupted, keyUnavailable, unexpected }
    public let kind: Kind
    public let detail: String
    public var field: String? = nil

    public static func of(_ error: Error) -> Problem {
        if let p = error as? Problem { return p }
        guard let e = error as? GridbookError else { return Problem(kind: .unexpected, detail: String(describing: error)) }
        switch e {
        case .Invalid(let field, let rule): return Problem(kind: .invalid, detail: rule, field: field)
        case .NotFound(let kind, let id): return Problem(kind: .notFound, detail: "\(kind) \(id)")
        case .Network(let d): return Problem(kind: .offline, detail: d)
        case .Unauthorized(let d): return Problem(kind: .needsEnrolment, detail: d)
        case .Rejected(let code, let d): return Problem(kind: .refused, detail: "\(code): \(d)")
        case .Interrupted(let d): return Problem(kind: .interrupted, detail: d)
        case .KeyUnavailable(let d): return Problem(kind: .keyUnavailable, detail: d)
        case .Other(let d): return Problem(kind: .unexpected, detail: d)
        }
    }

    /// zh-CN first, English beside it.
    public var text: String {
        switch kind {
        case .invalid: return "请检查 Please check \(field ?? ""): \(detail)"
        case .notFound: return "记录不存在 Not found"
        case .offline: return "无网络，恢复后自动同步 Offline: syncs when the network is back"
        case .needsEnrolment: return "设备需要重新登记 Enrol this phone again"
        case .refused: return "服务器拒绝 Refused by the server: \(detail)"
        case .interrupted: return "同步中断，下次继续 Interrupted: resumes next time"
        case .keyUnavailable: return "设备密钥不可用，请解锁手机后重试 Device key unavailable: unlock the phone and try again"
        case .unexpected: return "出错了 Something went wrong: \(detail)"
        }
    }
}

/// Runs store work off the main thread.
func io<T>(_ work: @escaping () throws -> T) async throws -> T {
    try await Task.detached(priority: .userInitiated) { try work() }.value
}

// MARK: - Session

/// Who the phone belongs to, as enrolment said (kept in UserDefaults; not a secret).
public struct Session: Codable, Equatable {
    public let deviceId: String
    public let managerId: String
    public let managerName: String
    public let grids: [String]
    public var grid: String { grids.first ?? "" }

    static let key = "gridbook.session"
    public static func load() -> Session? {
        UserDefaults.standard.data(forKey: key).flatMap { try? JSONDecoder().decode(Session.self, from: $0) }
    }
    func save() { UserDefaults.standard.set(try? JSONEncoder().encode(self), forKey: Session.key) }
}

// MARK: - Sync

/// The sync status for SwiftUI: fed by the core's observer, read again after each call.
@MainActor
public final class SyncCenter: ObservableObject {
    @Published public private(set) var status: SyncStatus
    @Published public private(set) var rejected: [RejectedChange] = []
    @Published public private(set) var running = false
    @Published public var problem: Problem?
    public let store: GridbookStore
    let sync: GridbookSync

    private final class Forward: SyncObserver, @unchecked Sendable {
        weak var center: SyncCenter?
        func onStatus(status: SyncStatus) {
            Task { @MainActor [weak center] in center?.status = status }
        }
    }
    private let forward = Forward()

    public init(store: GridbookStore, appVersion: String) throws {
        self.store = store
        sync = try GridbookSync(store: store, appVersion: appVersion)
        status = try sync.status()
        forward.center = self
        sync.setObserver(observer: forward)
        refresh()
    }

    public var isEnrolled: Bool { sync.isEnrolled() }

    public func enrol(serverUrl: String, code: String, signer: DeviceSigner?) async -> Session? {
        do {
            let e = try await sync.enrol(serverUrl: serverUrl, code: code, signer: signer)
            let session = Session(deviceId: e.deviceId, managerId: e.managerId, managerName: e.managerName, grids: e.grids)
            session.save()
            problem = nil
            refresh()
            return session
        } catch {
            problem = Problem.of(error)
            return nil
        }
    }

    @discardableResult
    public func syncNow() async -> SyncReport? {
        running = true
        defer { running = false; refresh() }
        do {
            let report = try await sync.syncOnce()
            problem = nil
            return report
        } catch {
            problem = Problem.of(error)
            return nil
        }
    }

    /// For the background task: a few attempts with the core's backoff. True when it succeeded.
    public func backgroundSync() async -> Bool {
        guard isEnrolled else { return true }
        defer { refresh() }
        return (try? await sync.syncWithRetry(maxAttempts: 3)) != nil
    }

    public func retry(_ c: RejectedChange) async {
        _ = try? store.retryRejected(opId: c.opId)
        await syncNow()
    }

    public func discard(_ c: RejectedChange, by manager: String) {
        _ = try? store.discardRejected(opId: c.opId, by: manager)
        refresh()
    }

    /// A local write happened, or a call ended: count again.
    public func refresh() {
        if let s = try? sync.status() { status = s }
        if let r = try? store.rejectedChanges() { rejected = r }
    }
}

public extension SyncStatus {
    /// One line for the indicator, zh-CN first.
    var summary: String {
        if !enrolled { return "设备未登记 Not enrolled" }
        switch phase {
        case .pushing(let sent, let total): return "正在发送 Sending \(sent)/\(total)"
        case .pulling(let received, let remaining): return "正在接收 Receiving \(received)/\(received + remaining)"
        case .offline: return "无网络 Offline · 待同步 \(pending) waiting"
        case .failed: return "同步失败 Sync failed"
        case .idle:
            if pending > 0 || rejected > 0 || lastSuccessMs == nil {
                return "待同步 \(pending) waiting · 被拒 \(rejected) refused"
            }
            return "已同步 Synced"
        }
    }
}

// MARK: - Signature pad input

/// Touches → strokes with times since the first touch, kept inside the pad.
public struct SignatureInput {
    public let width: Int
    public let height: Int
    public private(set) var strokes: [[PadPoint]] = []
    private var start: TimeInterval?

    public init(width: Int, height: Int) { self.width = width; self.height = height }

    public var isEmpty: Bool { strokes.allSatisfy(\.isEmpty) }

    public mutating func add(x: Double, y: Double, pressure: Double?, newStroke: Bool, at time: TimeInterval = ProcessInfo.processInfo.systemUptime) {
        guard x.isFinite, y.isFinite else { return }
        if newStroke || strokes.isEmpty { strokes.append([]) }
        let t0 = start ?? time
        start = t0
        let ms = UInt32(clamping: Int64(((time - t0) * 1000).rounded()))
        let last = strokes[strokes.count - 1].last?.tMs ?? 0
        strokes[strokes.count - 1].append(PadPoint(
            x: Float(min(max(x, 0), Double(width))), y: Float(min(max(y, 0), Double(height))),
            tMs: max(ms, last), pressure: pressure.map { Float(min(max($0, 0), 1)) }))
    }

    public mutating func clear() { strokes = []; start = nil }

    public var pad: SignaturePad {
        SignaturePad(width: UInt32(width), height: UInt32(height), strokes: strokes.filter { !$0.isEmpty }.map { PadStroke(points: $0) })
    }
}
