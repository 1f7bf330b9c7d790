// The position for a sign-in (签到) and a visit at the door: asks for permission first, then a
// current fix with a timeout of 30 s (CLLocationManager.requestLocation), else the last known one
// if it is recent; without either the fact records "no fix" (GridbookKit's positionOf: a basement
// has no fix). Core Location's own WGS-84, with its accuracy and simulated-location flag.
import CoreLocation
import Foundation
import GridbookKit

@MainActor
final class PlaceFinder: NSObject, ObservableObject, CLLocationManagerDelegate {
    private let manager = CLLocationManager()
    private var authorised: CheckedContinuation<Void, Never>?
    private var located: CheckedContinuation<CLLocation?, Never>?
    /// How long a sign-in waits for a fix, and how old a last known one may be.
    static let timeout: TimeInterval = TimeInterval(fixWaitMs / 1000)
    static let maxAge: TimeInterval = 10 * 60

    override init() {
        super.init()
        manager.delegate = self
        manager.desiredAccuracy = kCLLocationAccuracyHundredMeters
    }

    /// A fix as Core Location gave it, or nil.
    func fix() async -> PlatformFix? {
        if manager.authorizationStatus == .notDetermined {
            await withCheckedContinuation { c in
                authorised = c
                manager.requestWhenInUseAuthorization()
            }
        }
        guard [.authorizedWhenInUse, .authorizedAlways].contains(manager.authorizationStatus) else { return nil }
        let current: CLLocation? = await withTaskGroup(of: CLLocation?.self) { group in
            group.addTask { @MainActor in
                await withCheckedContinuation { c in
                    self.located = c
                    self.manager.requestLocation()
                }
            }
            group.addTask {
                try? await Task.sleep(nanoseconds: UInt64(Self.timeout * 1_000_000_000))
                return nil
            }
            let first = await group.next() ?? nil
            // whichever came first, the other ends now (the group waits for both)
            await MainActor.run { self.finish(nil) }
            group.cancelAll()
            return first
        }
        let recent = manager.location.flatMap { -$0.timestamp.timeIntervalSinceNow <= Self.maxAge ? $0 : nil }
        guard let l = current ?? recent else { return nil }
        // iOS 15+: the system says whether the fix came from a simulator or an accessory
        let simulated = l.sourceInformation?.isSimulatedBySoftware ?? false
        return PlatformFix(latitude: l.coordinate.latitude, longitude: l.coordinate.longitude,
                           atMs: Int64(l.timestamp.timeIntervalSince1970 * 1000), accuracyM: l.horizontalAccuracy,
                           simulated: simulated)
    }

    private func finish(_ location: CLLocation?) {
        located?.resume(returning: location)
        located = nil
    }

    nonisolated func locationManagerDidChangeAuthorization(_ manager: CLLocationManager) {
        Task { @MainActor in
            guard manager.authorizationStatus != .notDetermined else { return }
            self.authorised?.resume()
            self.authorised = nil
        }
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didUpdateLocations locations: [CLLocation]) {
        let last = locations.last
        Task { @MainActor in self.finish(last) }
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didFailWithError error: Error) {
        Task { @MainActor in self.finish(nil) }
    }
}
