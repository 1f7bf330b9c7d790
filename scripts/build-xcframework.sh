#!/usr/bin/env bash
# Builds the Rust core for iOS as ios/build/gridbook_ffiFFI.xcframework (static libraries for devices
# and for the simulator on Apple silicon and Intel, with the C headers and module map of the module
# `gridbook_ffiFFI`), and writes the generated Swift bindings (GridbookFFI.swift and
# GridbookCore.swift, core's records: one Swift module) to ios/Sources/GridbookFFI/. The
# xcframework is named after its module: SwiftPM's binary target (ios/Package.swift) has the
# xcframework's name.
# Runs on macOS with Xcode and rustup:
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
#   scripts/build-xcframework.sh            # release (default)
#   PROFILE=debug scripts/build-xcframework.sh
# Then open the app (docs/mobile.md): cd ios && xcodegen && open Gridbook.xcodeproj
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(uname -s)" = Darwin ] || { echo "build-xcframework: needs macOS with Xcode (xcodebuild, lipo)" >&2; exit 1; }
PROFILE="${PROFILE:-release}"
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
flags=(-p gridbook-ffi --lib)
[ "$PROFILE" = release ] && flags+=(--release)
export IPHONEOS_DEPLOYMENT_TARGET=16.0

for t in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
  cargo build "${flags[@]}" --target "$t"
done

# The Swift bindings, from the host build (same API), and the headers + module map.
scripts/gen-bindings.sh >/dev/null
OUT=ios/build
rm -rf "$OUT" && mkdir -p "$OUT/headers" "$OUT/sim"
cp bindings/swift/gridbook_ffiFFI.h bindings/swift/gridbook_coreFFI.h "$OUT/headers/"
cp bindings/swift/gridbook_ffiFFI.modulemap "$OUT/headers/module.modulemap"
cp bindings/swift/GridbookFFI.swift bindings/swift/GridbookCore.swift ios/Sources/GridbookFFI/

# One simulator library for both simulator architectures.
lipo -create \
  "$TARGET_DIR/aarch64-apple-ios-sim/$PROFILE/libgridbook_ffi.a" \
  "$TARGET_DIR/x86_64-apple-ios/$PROFILE/libgridbook_ffi.a" \
  -output "$OUT/sim/libgridbook_ffi.a"

xcodebuild -create-xcframework \
  -library "$TARGET_DIR/aarch64-apple-ios/$PROFILE/libgridbook_ffi.a" -headers "$OUT/headers" \
  -library "$OUT/sim/libgridbook_ffi.a" -headers "$OUT/headers" \
  -output "$OUT/gridbook_ffiFFI.xcframework"
echo "ios/build/gridbook_ffiFFI.xcframework and ios/Sources/GridbookFFI/{GridbookFFI,GridbookCore}.swift are ready"
