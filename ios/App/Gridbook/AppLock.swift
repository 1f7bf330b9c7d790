// The app lock on the phone (docs/at-rest.md, "App lock and the offline session"): the lock screen
// the core's lock state calls for, the phone's passcode, Face ID or Touch ID in front of the
// Keychain vault's unlock, and the server's screenshot blocking as a privacy cover (iOS has no
// FLAG_SECURE: the cover hides the window from the app switcher's snapshot and from recordings).
import GridbookFFI
import GridbookKit
import LocalAuthentication
import os
import SwiftUI
import UIKit

/// Shows `content` while the store is unlocked, the lock screen while it is locked, and the
/// privacy cover when the policy blocks screenshots and the app is inactive or being recorded.
struct Locked<Content: View>: View {
    let store: GridbookStore
    @ViewBuilder let content: () -> Content
    @Environment(\.scenePhase) private var phase
    @State private var status: SessionStatus?
    @State private var captured = UIScreen.main.isCaptured
    @State private var problem: Problem?

    /// How often the core is asked (asking does not count as use, so an idle store locks on time).
    private let poll: UInt64 = 15_000_000_000

    var body: some View {
        ZStack {
            if let status, !status.locked {
                content()
            } else if let status {
                lockScreen(mustSync: status.mustSync)
            } else {
                ProgressView()
            }
            if let status, status.policy.blockScreenshots, phase != .active || captured {
                PrivacyCover()
            }
        }
        .task {
            while !Task.isCancelled {
                status = try? await io { [store] in store.lockStatus() }
                try? await Task.sleep(nanoseconds: poll)
            }
        }
        .onReceive(NotificationCenter.default.publisher(for: UIScreen.capturedDidChangeNotification)) { _ in
            captured = UIScreen.main.isCaptured
        }
        .onReceive(NotificationCenter.default.publisher(for: UIApplication.userDidTakeScreenshotNotification)) { _ in
            // iOS cannot stop a screenshot; it is logged so that the policy's breaches are known
            if status?.policy.blockScreenshots == true {
                Logger(subsystem: "app.gridbook", category: "privacy").notice("a screenshot was taken while the policy blocks them")
            }
        }
    }

    private func lockScreen(mustSync: Bool) -> some View {
        VStack(spacing: 16) {
            Text(L("lock.title")).font(.title2)
            Text(L("lock.explain"))
            if mustSync { Text(L("problem.offline_too_long")).foregroundColor(.red) }
            Button(L("lock.unlock")) { Task { await unlock() } }.buttonStyle(.borderedProminent)
            if let problem { Text(problemText(problem)).foregroundColor(.red) }
        }.padding(24)
    }

    private func unlock() async {
        guard await confirmUser() else { return }
        do {
            // the Keychain vault unwraps the store's key; the core checks it against the key record
            status = try await io { [store] in
                try store.unlock(vault: KeychainVault())
                return store.lockStatus()
            }
            problem = nil
        } catch {
            problem = Problem.of(error)
        }
    }
}

/// The phone's passcode, Face ID or Touch ID. A phone with no passcode at all cannot protect the
/// store: it is let through (the Keychain item still needs the phone unlocked).
func confirmUser() async -> Bool {
    let context = LAContext()
    var error: NSError?
    guard context.canEvaluatePolicy(.deviceOwnerAuthentication, error: &error) else { return true }
    return (try? await context.evaluatePolicy(.deviceOwnerAuthentication, localizedReason: L("lock.reason"))) ?? false
}

/// What the app switcher's snapshot and a screen recording see instead of customers' data.
struct PrivacyCover: View {
    var body: some View {
        ZStack {
            Color(uiColor: .systemBackground)
            Image(systemName: "lock.shield").font(.system(size: 64)).foregroundColor(.secondary)
        }.ignoresSafeArea()
    }
}
