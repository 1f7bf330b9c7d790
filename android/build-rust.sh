#!/usr/bin/env bash
# Builds the Rust core for Android: libgridbook_ffi.so for arm64-v8a, armeabi-v7a and x86_64 with
# cargo-ndk into app/src/main/jniLibs/<abi>/, and the Kotlin bindings into ../bindings/kotlin
# (generated from the host build, which describes the same API). Called by the Gradle build
# (buildRustDebug before preDebugBuild, buildRustRelease before preReleaseBuild); by hand:
#   android/build-rust.sh [debug|release]
# The libraries are linked for 16 KB pages (-z max-page-size=16384), which Android 15+ devices
# with 16 KB pages require (NDK r28 does it by default; r26/r27 need the flag).
# Needs: rustup targets aarch64-linux-android armv7-linux-androideabi x86_64-linux-android,
# cargo install cargo-ndk, and ANDROID_NDK_HOME (docs/mobile.md).
set -euo pipefail
cd "$(dirname "$0")"
PROFILE="${1:-debug}"
case "$PROFILE" in debug|release) ;; *) echo "build-rust: profile is debug or release, not $PROFILE" >&2; exit 2 ;; esac
command -v cargo-ndk >/dev/null 2>&1 || { echo "build-rust: cargo-ndk is missing: cargo install cargo-ndk" >&2; exit 1; }
[ -n "${ANDROID_NDK_HOME:-}" ] || { echo "build-rust: set ANDROID_NDK_HOME to the NDK (e.g. \$ANDROID_HOME/ndk/27.2.12479018)" >&2; exit 1; }
flags=(-p gridbook-ffi --lib)
[ "$PROFILE" = release ] && flags+=(--release)
page=(-C link-arg=-Wl,-z,max-page-size=16384)
export CARGO_TARGET_AARCH64_LINUX_ANDROID_RUSTFLAGS="${page[*]}"
export CARGO_TARGET_ARMV7_LINUX_ANDROIDEABI_RUSTFLAGS="${page[*]}"
export CARGO_TARGET_X86_64_LINUX_ANDROID_RUSTFLAGS="${page[*]}"
(cd .. && cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 --platform 26 -o android/app/src/main/jniLibs build "${flags[@]}")
../scripts/gen-bindings.sh >/dev/null
ls app/src/main/jniLibs/*/libgridbook_ffi.so
