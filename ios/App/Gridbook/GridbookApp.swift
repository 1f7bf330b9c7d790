// The iOS app: connects the core's log to os.Logger (OSLogSink.swift), opens the device store
// once, builds the sync center and the device key, shows enrolment or the tabs of a visit, and
// syncs in the background with BGTaskScheduler (an app refresh task every ~15 minutes and a
// processing task that needs the network).
import BackgroundTasks
import GridbookFFI
import GridbookKit
import SwiftUI

enum BackgroundSync {
    static let refreshId = "app.gridbook.sync.refresh"
    static let processingId = "app.gridbook.sync.processing"

    /// Registers the handlers; must run before the app finishes launching.
    static func register() {
        for id in [refreshId, processingId] {
            BGTaskScheduler.shared.register(forTaskWithIdentifier: id, using: nil) { task in
                schedule()  // the next one, whatever happens to this one
                let work = Task { @MainActor in
                    guard let graph = GraphHolder.shared.graph else { task.setTaskCompleted(success: false); return }
                    task.setTaskCompleted(success: await graph.sync.backgroundSync())
                }
                task.expirationHandler = { work.cancel() }
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
    @Published var session: Session?

    init() throws {
        let dir = try FileManager.default.url(for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
        store = try GridbookStore.open(path: dir.appendingPathComponent("gridbook.db").path)
        signer = try KeychainSigner.load()
        let version = Bundle.main.object(forInfoDictionaryKey: "CFBundleShortVersionString") as? String ?? "0"
        sync = try SyncCenter(store: store, appVersion: "ios-\(version)")
        session = Session.load()
    }

    func env(_ session: Session) -> Env { Env(store: store, signer: signer, session: session, sync: sync) }
}

@main
struct GridbookApp: App {
    private let holder = GraphHolder.shared

    init() {
        BackgroundSync.register()
        BackgroundSync.schedule()
    }

    var body: some Scene {
        WindowGroup {
            switch holder.result {
            case .success(let graph):
                RootView().environmentObject(graph).environmentObject(graph.sync)
            case .failure(let error):
                // A store that fails to open is never deleted: say so, keep the data.
                VStack(alignment: .leading, spacing: 12) {
                    Text("本机数据库无法打开，数据未删除，请联系支持。")
                    Text("The database on this phone cannot be opened. Nothing was deleted: contact support.")
                    Text(String(describing: error)).font(.footnote)
                }.padding()
            }
        }
    }
}

/// The graph, or why it could not be made; one for the scene and the background tasks.
@MainActor
final class GraphHolder {
    static let shared = GraphHolder()
    let result: Result<AppGraph, Error>
    var graph: AppGraph? { try? result.get() }

    private init() {
        OSLogSink.install()  // first: a store that fails to open says why in the log
        result = Result { try AppGraph() }
    }
}

struct RootView: View {
    @EnvironmentObject var graph: AppGraph

    var body: some View {
        if let session = graph.session, graph.sync.isEnrolled {
            TabView {
                NavigationStack { TodayView(model: TodayModel(env: graph.env(session))) }
                    .tabItem { Label("今日 Today", systemImage: "calendar") }
                NavigationStack { BuildingsView(model: BuildingsModel(env: graph.env(session))) }
                    .tabItem { Label("楼宇 Buildings", systemImage: "building.2") }
                NavigationStack { TicketsView(model: TicketsModel(env: graph.env(session))) }
                    .tabItem { Label("工单 Tickets", systemImage: "checklist") }
                NavigationStack { SyncView(managerId: session.managerId) }
                    .tabItem { Label("同步 Sync", systemImage: "arrow.triangle.2.circlepath") }
            }
        } else {
            EnrolView()
        }
    }
}
