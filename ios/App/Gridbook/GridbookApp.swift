// The iOS app: connects the core's log to os.Logger (OSLogSink.swift), opens the device store and the key off the main thread, shows the privacy notice
// first, then enrolment or the tabs of the day, and syncs when it comes to the foreground, when
// the network returns, and in the background with BGTaskScheduler (an app refresh every ~15
// minutes and a processing task that needs the network; each completes on expiry).
import BackgroundTasks
import GridbookFFI
import GridbookKit
import Network
import SwiftUI

enum BackgroundSync {
    static let refreshId = "app.gridbook.sync.refresh"
    static let processingId = "app.gridbook.sync.processing"

    /// Completes a BGTask exactly once: by the sync's end or by the system's expiry, whichever is first.
    final class Once: @unchecked Sendable {
        private let lock = NSLock()
        private var done = false
        func complete(_ task: BGTask, success: Bool) {
            lock.lock()
            defer { lock.unlock() }
            guard !done else { return }
            done = true
            task.setTaskCompleted(success: success)
        }
    }

    /// Registers the handlers; runs before the app finishes launching (the identifiers are in Info.plist).
    static func register() {
        for id in [refreshId, processingId] {
            BGTaskScheduler.shared.register(forTaskWithIdentifier: id, using: nil) { task in
                schedule()  // the next one, whatever happens to this one
                let once = Once()
                let work = Task { @MainActor in
                    guard let graph = await GraphHolder.shared.ready() else { once.complete(task, success: false); return }
                    // the app's watch may not run in the background: the network as it is now
                    graph.sync.setNetwork(await NetworkWatch.current())
                    let ok = await graph.sync.backgroundSync()
                    once.complete(task, success: ok)
                }
                task.expirationHandler = {
                    work.cancel()
                    once.complete(task, success: false)
                }
            }
        }
    }

    static func schedule() {
        let refresh = BGAppRefreshTaskRequest(identifier: refreshId)
        refresh.earliestBeginDate = Date(timeIntervalSinceNow: 15 * 60)
        try? BGTaskScheduler.shared.submit(refresh)
        let processing = BGProcessingTaskRequest(identifier: processingId)
        processing.requiresNetworkConnectivity = true
        processing.requiresExternalPower = false
        try? BGTaskScheduler.shared.submit(processing)
    }
}

/// The store, the key and the sync center, made once.
@MainActor
final class AppGraph: ObservableObject {
    let store: GridbookStore
    let signer: DeviceSigner
    let sync: SyncCenter
    let drafts = Drafts()
    let changes = LocalChanges()
    @Published var session: Session?
    /// Set on the graph opened after a remote wipe: the enrolment screen says so.
    let wipedNotice: Problem?

    init(store: GridbookStore, signer: DeviceSigner, sync: SyncCenter, wipedNotice: Problem? = nil) {
        self.store = store
        self.signer = signer
        self.sync = sync
        self.wipedNotice = wipedNotice
        session = Session.load()
        sync.attach()
    }

    func env(_ session: Session) -> Env {
        Env(store: store, signer: signer, session: session, sync: sync, drafts: drafts, changes: changes)
    }
}

/// The graph, opened off the main thread once; the scene and the background tasks wait for it.
@MainActor
final class GraphHolder: ObservableObject {
    static let shared = GraphHolder()
    enum State { case opening, ready(AppGraph), failed(String) }
    @Published private(set) var state: State = .opening
    private var opening: Task<AppGraph?, Never>?

    /// After a remote wipe (the core destroyed the store and its Keychain key): the signing key goes
    /// too, and a new, empty store is opened; the app is back at enrolment, as a new device.
    func reopenAfterWipe(_ notice: Problem) {
        KeychainSigner.delete()
        opening = nil
        state = .opening
        Task { await ready(wipedNotice: notice) }
    }

    /// Opens the store and the key once (SQLite migration, Keychain): never on the main thread.
    @discardableResult
    func ready(wipedNotice: Problem? = nil) async -> AppGraph? {
        if case .ready(let g) = state { return g }
        if opening == nil {
            OSLogSink.install()  // first: a store that fails to open says why in the log
            opening = Task { @MainActor in
                do {
                    let version = Bundle.main.object(forInfoDictionaryKey: "CFBundleShortVersionString") as? String ?? "0"
                    let (store, signer, sync, status) = try await io { () -> (GridbookStore, DeviceSigner, GridbookSync, SyncStatus) in
                        var dir = try FileManager.default.url(for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
                        // the store, its WAL and its wrapped key stay out of iCloud and computer backups
                        var noBackup = URLResourceValues()
                        noBackup.isExcludedFromBackup = true
                        try dir.setResourceValues(noBackup)
                        // encrypted (SQLCipher), its data key wrapped by a Keychain key (this device only)
                        let store = try GridbookStore.open(path: dir.appendingPathComponent("gridbook.db").path, vault: KeychainVault())
                        let signer = try KeychainSigner.load()
                        // the signer signs a remote wipe's report (the key registered at enrolment)
                        let sync = try GridbookSync(store: store, appVersion: "ios-\(version)", signer: signer)
                        return (store, signer, sync, try sync.status())
                    }
                    let center = SyncCenter(store: store, sync: sync, status: status)
                    center.onWiped = { [weak self] notice in self?.reopenAfterWipe(notice) }
                    let graph = AppGraph(store: store, signer: signer, sync: center, wipedNotice: wipedNotice)
                    state = .ready(graph)
                    return graph
                } catch {
                    // A store that fails to open is never deleted: say so, keep the data.
                    state = .failed(String(describing: error))
                    return nil
                }
            }
        }
        return await opening?.value
    }
}

/// Syncs when the network comes back (periodic jobs may never run on a busy phone), and tells the
/// core which network the phone is on whenever it changes (Wi-Fi or mobile data: photos wait on
/// mobile data as the server's policy says).
@MainActor
final class NetworkWatch {
    private let monitor = NWPathMonitor()
    private var wasOnline = true

    /// Whether the last network path seen was online (the live sync loop asks before each round).
    var isOnline: Bool { wasOnline }

    /// The core's kind of network for a path (GridbookKit's `networkKind`).
    nonisolated static func kind(of path: NWPath) -> NetworkKind {
        networkKind(satisfied: path.status == .satisfied, expensive: path.isExpensive, constrained: path.isConstrained)
    }

    func start(onKind: @escaping @MainActor (NetworkKind) -> Void, onBack: @escaping @MainActor () -> Void) {
        monitor.pathUpdateHandler = { [weak self] path in
            let online = path.status == .satisfied
            let kind = NetworkWatch.kind(of: path)
            Task { @MainActor in
                guard let self else { return }
                onKind(kind)
                if online && !self.wasOnline { onBack() }
                self.wasOnline = online
            }
        }
        monitor.start(queue: DispatchQueue(label: "app.gridbook.network"))
    }

    /// The network now, for a background task that runs without the app's watch: a monitor's
    /// first path (delivered as soon as it starts), then the monitor is cancelled.
    nonisolated static func current() async -> NetworkKind {
        await withCheckedContinuation { (c: CheckedContinuation<NetworkKind, Never>) in
            let monitor = NWPathMonitor()
            let once = FirstPath()
            monitor.pathUpdateHandler = { path in
                guard once.take() else { return }
                // the handler holds the monitor: dropped, so both go
                monitor.pathUpdateHandler = nil
                monitor.cancel()
                c.resume(returning: NetworkWatch.kind(of: path))
            }
            monitor.start(queue: DispatchQueue(label: "app.gridbook.network.now"))
        }
    }

    /// True once: the continuation above resumes exactly once however many paths arrive.
    private final class FirstPath: @unchecked Sendable {
        private let lock = NSLock()
        private var taken = false
        func take() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            if taken { return false }
            taken = true
            return true
        }
    }
}

@main
struct GridbookApp: App {
    @StateObject private var holder = GraphHolder.shared
    @Environment(\.scenePhase) private var phase
    private let network = NetworkWatch()
    /// The foreground's sync loop (SyncCenter.runLive), while the app is active.
    @State private var live: Task<Void, Never>?

    init() {
        BackgroundSync.register()
        BackgroundSync.schedule()
    }

    var body: some Scene {
        WindowGroup {
            Group {
                switch holder.state {
                case .opening:
                    ProgressView(L("app.opening"))
                case .ready(let graph):
                    // the lock screen while the store is locked (idle past the server's minutes)
                    Locked(store: graph.store) {
                        RootView().environmentObject(graph).environmentObject(graph.sync)
                    }
                case .failed(let detail):
                    VStack(alignment: .leading, spacing: 12) {
                        Text(L("app.store_failed"))
                        Text(detail).font(.footnote)
                    }.padding()
                }
            }
            .task {
                guard let graph = await holder.ready() else { return }
                network.start(onKind: { graph.sync.setNetwork($0) },
                              onBack: { Task { await graph.sync.syncIfNeeded(.networkBack) } })
            }
            .onChange(of: phase) { now in
                guard now == .active, case .ready(let graph) = holder.state, !Consent.needed else {
                    live?.cancel()
                    live = nil
                    return
                }
                Task { await graph.sync.syncIfNeeded(.foreground) }
                if live == nil {
                    live = Task { await graph.sync.runLive(online: { network.isOnline }) }
                }
            }
        }
    }
}

/// Where a tab's stack goes; destinations are built only when pushed (never when a list renders).
enum Route: Hashable {
    case household(id: String)
    case newHousehold(premisesId: String?)
    case visit(householdId: String, appointmentId: String?)
    case appointment(householdId: String, appointmentId: String?, late: Bool)
    case collect(accountId: String)
    case notice(accountId: String)
    case tickets(householdId: String?)
    case daySummary
    case arrears
}

struct RootView: View {
    @EnvironmentObject var graph: AppGraph
    @State private var consentNeeded = Consent.needed

    var body: some View {
        if consentNeeded {
            PrivacyView { Consent.agree(); consentNeeded = false }
        } else if let session = graph.session, graph.sync.isEnrolled {
            let env = graph.env(session)
            TabView {
                TabStack(env: env) { TodayView(model: TodayModel(env: env)) }
                    .tabItem { Label(L("tab.today"), systemImage: "calendar") }
                TabStack(env: env) { BuildingsView(model: BuildingsModel(env: env)) }
                    .tabItem { Label(L("tab.buildings"), systemImage: "building.2") }
                TabStack(env: env) { ArrearsView(model: ArrearsModel(env: env)) }
                    .tabItem { Label(L("tab.arrears"), systemImage: "yensign.circle") }
                TabStack(env: env) { TicketsView(model: TicketsModel(env: env)) }
                    .tabItem { Label(L("tab.tickets"), systemImage: "checklist") }
                TabStack(env: env) { SyncView(managerId: session.managerId) }
                    .tabItem { Label(L("tab.sync"), systemImage: "arrow.triangle.2.circlepath") }
            }
        } else {
            EnrolView()
        }
    }
}

/// One tab: its own navigation stack, kept while another tab is shown.
struct TabStack<Content: View>: View {
    let env: Env
    @ViewBuilder let content: () -> Content
    @State private var path = NavigationPath()

    var body: some View {
        NavigationStack(path: $path) {
            content().navigationDestination(for: Route.self) { RouteView(route: $0, env: env) }
        }
    }
}

/// The privacy notice and consent on first start (个人信息保护): nothing is collected before it.
struct PrivacyView: View {
    let agree: () -> Void
    @State private var declined = false

    var body: some View {
        VStack(alignment: .leading, spacing: 16) {
            Text(L("privacy.title")).font(.title2)
            ScrollView { Text(L("privacy.body")).frame(maxWidth: .infinity, alignment: .leading) }
            if declined { Text(L("privacy.declined")).foregroundStyle(.red) }
            Button(L("privacy.agree"), action: agree).buttonStyle(.borderedProminent).frame(maxWidth: .infinity)
            Button(L("privacy.decline")) { declined = true }.frame(maxWidth: .infinity)
        }.padding()
    }
}
