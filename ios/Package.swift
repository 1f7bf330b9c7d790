// swift-tools-version:5.9
// Gridbook for iOS as a Swift package: the Rust core as an xcframework (built by
// scripts/build-xcframework.sh), the generated Swift bindings over it (GridbookFFI), and the
// view-model state the SwiftUI app uses (GridbookKit, the twin of Android's core-logic).
// The app itself is App/ (project.yml for XcodeGen); docs/mobile.md says how to build it.
import PackageDescription

let package = Package(
    name: "Gridbook",
    defaultLocalization: "zh-Hans",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [
        .library(name: "GridbookFFI", targets: ["GridbookFFI"]),
        .library(name: "GridbookKit", targets: ["GridbookKit"]),
    ],
    targets: [
        // libgridbook_ffi.a for device and simulator, with the C headers and module map of the
        // module `gridbook_ffiFFI` that the generated Swift imports. A binary target's name is
        // its xcframework's file name: both are gridbook_ffiFFI.
        .binaryTarget(name: "gridbook_ffiFFI", path: "build/gridbook_ffiFFI.xcframework"),
        // The generated GridbookFFI.swift and GridbookCore.swift (core's records), copied here by
        // scripts/build-xcframework.sh: one module, so the app imports GridbookFFI only.
        .target(name: "GridbookFFI", dependencies: ["gridbook_ffiFFI"], path: "Sources/GridbookFFI", exclude: ["README.md"]),
        .target(name: "GridbookKit", dependencies: ["GridbookFFI"], path: "Sources/GridbookKit"),
    ]
)
