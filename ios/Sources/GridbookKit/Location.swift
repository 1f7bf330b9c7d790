// Where the phone was, for a sign-in, a visit at the door and a receipt (issue 20), the twin of
// core-logic's positionOf: the fix Core Location gave (WGS-84, never converted) with its age,
// accuracy and the system's simulated-location flag, or "no fix within 30 s". Never a reason not
// to record. Kept free of Core Location so that it builds and runs anywhere.
import Foundation
import GridbookFFI

/// A fix as Core Location gave it: degrees, when, horizontal accuracy in metres (negative: none),
/// and whether `CLLocationSourceInformation.isSimulatedBySoftware` said it was simulated.
public struct PlatformFix: Equatable, Sendable {
    public let latitude: Double
    public let longitude: Double
    public let atMs: Int64
    public let accuracyM: Double
    public let simulated: Bool

    public init(latitude: Double, longitude: Double, atMs: Int64, accuracyM: Double, simulated: Bool) {
        self.latitude = latitude
        self.longitude = longitude
        self.atMs = atMs
        self.accuracyM = accuracyM
        self.simulated = simulated
    }
}

/// How long the phone waits for a fix before it records "no fix" (30 秒内无定位).
public let fixWaitMs: Int64 = 30_000
/// The oldest a fix may be, and the widest accuracy the core keeps (a fix without one counts as this wide).
public let maxFixAgeMs: Int64 = 10 * 60_000
public let maxAccuracyM: Int64 = 20_000

/// The core's `Position` for `fix` at `nowMs`: micro-degrees, accuracy rounded up (1…20,000 m), age
/// 0…10 min, provider `.other` (Core Location does not say); or no fix after `waitedMs`. A fix out of
/// range (a broken reading) is no fix too.
public func positionOf(_ fix: PlatformFix?, nowMs: Int64, waitedMs: Int64 = fixWaitMs) -> Position {
    guard let f = fix, f.latitude.isFinite, f.longitude.isFinite, abs(f.latitude) <= 90, abs(f.longitude) <= 180 else {
        return .noFix(waitedMs: min(max(waitedMs, 0), maxFixAgeMs))
    }
    let accuracy = f.accuracyM.isFinite && f.accuracyM >= 0 ? min(max(Int64(f.accuracyM.rounded(.up)), 1), maxAccuracyM) : maxAccuracyM
    return .fix(LocationFix(
        latE6: Int64((f.latitude * 1_000_000).rounded()), lonE6: Int64((f.longitude * 1_000_000).rounded()),
        accuracyM: accuracy, ageMs: min(max(nowMs - f.atMs, 0), maxFixAgeMs), provider: .other, mock: f.simulated))
}

extension Position {
    /// The fix's micro-degrees, for the fact's `latE6`/`lonE6`; nil with no fix.
    public var coordinates: (latE6: Int64, lonE6: Int64)? {
        if case let .fix(f) = self { return (f.latE6, f.lonE6) }
        return nil
    }
}
