#!/usr/bin/env bash
# Builds the Rust core for Android: libgridbook_ffi.so for arm64-v8a, armeabi-v7a and x86_64 with
# cargo-ndk into app/src/main/jniLibs/<abi>/, and the Kotlin bindings into ../bindings/kotlin
# (generated from the host build, which describes the same API). Called by the app's Gradle build
# (task buildRust); run it by hand with:  android/build-rust.sh [debug|release]
# Needs: rustup targets aarch64-linux-android armv7-linux-androideabi x86_64-linux-android,
# cargo install cargo-ndk, and ANDROID_NDK_HOME (docs/mobile.md).
set -euo pipefail
cd "$(dirname "$0")"
PROFILE="${1:-debug}"
command -v cargo-ndk >/dev/null 2>&1 || { echo "build-rust: cargo-ndk is missing: cargo install cargo-ndk" >&2; exit 1; }
[ -n "${ANDROID_NDK_HOME:-}" ] || { echo "build-rust: set ANDROID_NDK_HOME to the NDK (e.g. \$ANDROID_HOME/ndk/27.2.12479018)" >&2; exit 1; }
flags=(-p gridbook-ffi)
[ "$PROFILE" = release ] && flags+=(--release)
(cd .. && cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 --platform 26 -o android/app/src/main/jniLibs build "${flags[@]}")
../scripts/gen-bindings.sh >/dev/null
ls app/src/main/jniLibs/*/libgridbook_ffi.so
