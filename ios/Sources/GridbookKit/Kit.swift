// GridbookKit: the app's state over the generated bindings, the Swift twin of Android's
// core-logic (money in fen, problems with the field to point at, the sync status as an
// observable object fed by the core's observer, the signature pad's input, what every form
// decides the same way — one submit, drafts that outlive a screen, the count of local writes —
// and per-screen models). Store and key-store work runs off the main thread (`io`).
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

/// What went wrong, for a screen: the kind decides the text (the app's Localizable.strings,
/// `problem.<kind>`), `field` the box to highlight, `detail` the core's rule.
public struct Problem: Error, Equatable {
    public enum Kind: String { case invalid, notFound, offline, needsEnrolment, refused, interrupted, keyUnavailable, locked, offlineTooLong, storeUnreadable, upgradeRequired, wiped, unexpected }
    public let kind: Kind
    public let detail: String
    public var field: String? = nil

    public init(kind: Kind, detail: String, field: String? = nil) {
        self.kind = kind; self.detail = detail; self.field = field
    }

    public static func invalid(_ field: String, _ rule: String) -> Problem { Problem(kind: .invalid, detail: rule, field: field) }

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
        // iOS builds come from the App Store or the operator's MDM, not from the server: the
        // minimum version is shown, and what the phone held was uploaded before the refusal
        case .UpgradeRequired(let minVersion): return Problem(kind: .upgradeRequired, detail: minVersion)
        case .Locked(let d): return Problem(kind: .locked, detail: d)
        case .OfflineTooLong(let d): return Problem(kind: .offlineTooLong, detail: d)
        case .WrongKey(let d), .StoreCorrupted(let d), .NotAStore(let d): return Problem(kind: .storeUnreadable, detail: d)
        // the back office had the phone wiped: its store is gone; the app returns to enrolment
        case .Wiped(let report, let reported): return Problem(kind: .wiped, detail: wipeSummary(report, reported: reported))
        case .Other(let d): return Problem(kind: .unexpected, detail: d)
        }
    }
}

/// What a wipe report says, zh-CN first with English beside it: what was uploaded at the end and
/// what was lost (changes, receipts and their total), for the enrolment screen's banner.
public func wipeSummary(_ report: WipeReport?, reported: Bool) -> String {
    let sent = reported ? "已报告后台 reported to the back office" : "未能报告后台 not reported to the back office"
    guard let r = report else { return "无法统计 could not be counted; \(sent)" }
    let lost = r.opsLost == 0 && r.receiptsLost == 0 ? "无丢失 nothing lost"
        : "丢失 \(r.opsLost) 条、收据 \(r.receiptsLost) 张 \(Money.yuan(r.receiptsLostFen)) lost \(r.opsLost) changes, \(r.receiptsLost) receipts \(Money.yuan(r.receiptsLostFen))"
    return "上传 \(r.opsUploaded) 条、收据 \(r.receiptsUploaded) 张 \(Money.yuan(r.receiptsUploadedFen)) uploaded \(r.opsUploaded) changes, \(r.receiptsUploaded) receipts \(Money.yuan(r.receiptsUploadedFen)); 被驳回 \(r.opsRejected) 条 refused \(r.opsRejected); \(lost); \(sent)"
}

/// Runs store and key-store work off the main thread.
public func io<T>(_ work: @escaping () throws -> T) async throws -> T {
    try await Task.detached(priority: .userInitiated) { try work() }.value
}

// MARK: - Session

/// Who the phone belongs to, as enrolment said (kept in UserDefaults; not a secret). A manager
/// may work several grids: the screens show all of them; `grid` is the first.
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
    /// Forgets who the phone belonged to (after a remote wipe).
    public static func clear() { UserDefaults.standard.removeObject(forKey: key) }
}

// MARK: - What every form decides the same way

/// Forms not yet saved, by the screen they belong to, for the life of the app: leaving a screen
/// (another tab, the stack popped) and coming back finds the form as it was. A saved form's
/// draft is dropped. Main-actor only, as the models are.
@MainActor
public final class Drafts {
    private var forms: [String: Any] = [:]
    public init() {}
    public func get<T>(_ key: String, as type: T.Type = T.self) -> T? { forms[key] as? T }
    public func put(_ key: String, _ form: Any) { forms[key] = form }
    public func drop(_ key: String) { forms[key] = nil }
}

/// Counts the phone's own writes: Today reads again when it moved since it last read.
@MainActor
public final class LocalChanges: ObservableObject {
    @Published public private(set) var version = 0
    public init() {}
    public func bump() { version += 1 }
}

/// The privacy notice on first start (PIPL; the app stores ask for it): nothing else — no
/// enrolment, no location, no sync — until its current version is agreed to.
public enum Consent {
    public static let version = 1
    static let key = "gridbook.privacy.agreed"
    public static var needed: Bool { UserDefaults.standard.integer(forKey: key) < version }
    public static func agree() {
        UserDefaults.standard.set(version, forKey: key)
        UserDefaults.standard.set(Date().timeIntervalSince1970, forKey: key + ".at")
    }
}

/// What woke the sync up.
public enum SyncTrigger { case foreground, networkBack, localChange }

/// A pull older than this is worth doing again when the app comes back (ms).
public let freshMs: Int64 = 5 * 60_000

/// Whether `trigger` should start a sync now (the twin of core-logic's shouldSync).
public func shouldSync(_ trigger: SyncTrigger, status: SyncStatus, nowMs: Int64) -> Bool {
    guard status.enrolled else { return false }
    switch status.phase {
    case .pushing, .pulling: return false
    default: break
    }
    var waiting = status.pending > 0
    switch status.phase {
    case .offline, .failed: waiting = true
    default: break
    }
    let stale = status.lastSuccessMs.map { nowMs - $0 > freshMs } ?? true
    switch trigger {
    case .localChange: return true
    case .foreground, .networkBack: return waiting || stale
    }
}

/// A number a phone can dial; nil when masked or empty.
public func dialable(_ number: String) -> String? {
    guard !number.contains("*") else { return nil }
    let kept = number.filter { $0.isNumber || $0 == "+" }
    return kept.filter(\.isNumber).count >= 3 ? kept : nil
}

/// The purpose recorded when the full number is shown to call the customer.
public let callPurpose = "拨打客户电话 call the customer"

/// Receipt numbers left, and whether to sync for a new book before going out.
public struct ReceiptBook: Equatable {
    public let left: UInt64
    /// The core asks for a new book during sync below this many.
    public static let lowBelow: UInt64 = 50
    public var low: Bool { left < Self.lowBelow }
    public var empty: Bool { left == 0 }
}

// MARK: - Sync

/// The sync status for SwiftUI: fed by the core's observer, read again (off the main thread)
/// after each call.
@MainActor
public final class SyncCenter: ObservableObject {
    @Published public private(set) var status: SyncStatus
    @Published public private(set) var rejected: [RejectedChange] = []
    @Published public private(set) var running = false
    @Published public var problem: Problem?
    /// Set once the back office had the phone wiped (its store is gone); `onWiped` is told once.
    @Published public private(set) var wiped: Problem?
    public var onWiped: (@MainActor (Problem) -> Void)?
    public let store: GridbookStore
    let sync: GridbookSync
    /// The network the phone is on, as the app last saw it (`setNetwork`); nil until then.
    private var network: NetworkKind?

    private final class Forward: SyncObserver, @unchecked Sendable {
        weak var center: SyncCenter?
        func onStatus(status: SyncStatus) {
            Task { @MainActor [weak center] in center?.status = status }
        }
    }
    private let forward = Forward()

    /// `status` is read by the caller off the main thread (`io { try sync.status() }`).
    public init(store: GridbookStore, sync: GridbookSync, status: SyncStatus) {
        self.store = store
        self.sync = sync
        self.status = status
    }

    /// Starts listening to the core; call once on the main actor.
    public func attach() {
        forward.center = self
        sync.setObserver(observer: forward)
        refresh()
    }

    public var isEnrolled: Bool { status.enrolled }

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

    /// The network the phone is on (`networkKind` of NWPathMonitor's path): told to the core now
    /// and again before each sync, so photos wait on mobile data as the server's policy says.
    public func setNetwork(_ kind: NetworkKind) {
        network = kind
        tellNetwork()
    }

    private func tellNetwork() {
        guard let network else { return }
        // a locked store refuses it; the next sync tells it again
        try? sync.setNetwork(network: network)
    }

    @discardableResult
    public func syncNow() async -> SyncReport? {
        guard !running else { return nil }
        tellNetwork()
        running = true
        defer { running = false; refresh() }
        do {
            let report = try await sync.syncOnce()
            problem = nil
            return report
        } catch {
            problem = Problem.of(error)
            noteWipe(problem)
            return nil
        }
    }

    /// A wipe met by a sync call: the session goes, and the app is told (once) to open a new store.
    private func noteWipe(_ p: Problem?) {
        guard let p, p.kind == .wiped, wiped == nil else { return }
        wiped = p
        Session.clear()
        onWiped?(p)
    }

    /// Syncs if `trigger` calls for it (foreground, network back).
    public func syncIfNeeded(_ trigger: SyncTrigger) async {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        if shouldSync(trigger, status: status, nowMs: now) { await syncNow() }
    }

    /// One round of the foreground loop: waits up to `waitS` s for the server's live-change signal
    /// (`/v1/changes`: another phone wrote in this phone's grids), then syncs; when the signal
    /// fails the core waits `waitS` s instead and syncs all the same (core-logic's `liveRound`).
    @discardableResult
    public func liveRound(waitS: UInt32 = 25) async -> SyncReport? {
        tellNetwork()
        defer { refresh() }
        do {
            let report = try await sync.syncLiveRound(waitS: max(waitS, 1))
            problem = nil
            return report
        } catch {
            problem = Problem.of(error)
            noteWipe(problem)
            return nil
        }
    }

    /// The loop while the app is in the foreground (core-logic's `runLive`): online, one
    /// `liveRound` after another; offline, or after a failed round, `pollS` s before the next.
    /// Runs until its task is cancelled.
    public func runLive(online: @escaping () -> Bool, waitS: UInt32 = 25, pollS: UInt64 = 60) async {
        while !Task.isCancelled {
            guard isEnrolled, wiped == nil, online() else {
                try? await Task.sleep(nanoseconds: pollS * 1_000_000_000)
                continue
            }
            if await liveRound(waitS: waitS) == nil {
                try? await Task.sleep(nanoseconds: pollS * 1_000_000_000)
            }
        }
    }

    /// For the background task: a few attempts with the core's backoff. True when it succeeded.
    public func backgroundSync() async -> Bool {
        guard isEnrolled else { return true }
        tellNetwork()
        defer { refresh() }
        do {
            _ = try await sync.syncWithRetry(maxAttempts: 3)
            return true
        } catch {
            noteWipe(Problem.of(error))
            return false
        }
    }

    public func retry(_ c: RejectedChange) async {
        let store = store
        _ = try? await io { try store.retryRejected(opId: c.opId) }
        await syncNow()
    }

    public func discard(_ c: RejectedChange, by manager: String) async {
        let store = store
        _ = try? await io { try store.discardRejected(opId: c.opId, by: manager) }
        refresh()
    }

    /// A local write happened, or a call ended: count again, off the main thread.
    public func refresh() {
        let (sync, store) = (sync, store)
        Task {
            if let s = try? await io({ try sync.status() }) { status = s }
            if let r = try? await io({ try store.rejectedChanges() }) { rejected = r }
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
