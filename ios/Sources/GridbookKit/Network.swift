// The network the phone is on, as the core's photo policy needs it (issue 20): Wi-Fi, mobile data
// or none, from what NWPathMonitor says of the current path (GridbookApp's NetworkWatch), the twin
// of the Android app's PhoneFacts.network. Kept free of the Network framework so that it builds
// and runs anywhere.
import GridbookFFI

/// The core's `NetworkKind` for a path: none unless it is satisfied; mobile data when iOS calls it
/// expensive (cellular, or a phone's personal hotspot) or constrained (Low Data Mode), as Android
/// counts a metered network; Wi-Fi otherwise (Wi-Fi, Ethernet).
public func networkKind(satisfied: Bool, expensive: Bool, constrained: Bool) -> NetworkKind {
    guard satisfied else { return .none }
    return expensive || constrained ? .mobile : .wifi
}
