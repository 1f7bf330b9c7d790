// Root build: plugin versions only (gradle/libs.versions.toml), and the Rust core every module
// needs before it compiles: the Kotlin bindings (genBindings, read by :core-logic) and
// libgridbook_ffi.so for each ABI (buildRustDebug / buildRustRelease, packed by :app). Needs cargo,
// and for the libraries cargo-ndk with ANDROID_NDK_HOME (docs/mobile.md). -Pgridbook.skipRust=true
// uses what is already in app/src/main/jniLibs and ../bindings/kotlin.
plugins {
    alias(libs.plugins.android.application) apply false
    alias(libs.plugins.kotlin.android) apply false
    alias(libs.plugins.kotlin.jvm) apply false
    alias(libs.plugins.kotlin.compose) apply false
}

val skipRust = providers.gradleProperty("gridbook.skipRust").isPresent

/** The generated Kotlin bindings (host build; the API is the same on every target). */
val genBindings by tasks.registering(Exec::class) {
    group = "gridbook"
    description = "Generates the Kotlin bindings of the Rust core into ../bindings/kotlin"
    workingDir = rootProject.projectDir.parentFile
    commandLine("scripts/gen-bindings.sh")
    enabled = !skipRust
}

/** libgridbook_ffi.so for each ABI in [profile] (cargo-ndk), 16 KB aligned (build-rust.sh). */
fun Exec.buildsRust(profile: String) {
    group = "gridbook"
    description = "Builds libgridbook_ffi.so ($profile) for arm64-v8a, armeabi-v7a and x86_64 into app/src/main/jniLibs"
    workingDir = rootProject.projectDir
    commandLine("./build-rust.sh", profile)
    enabled = !skipRust
}

// A release APK carries the optimised core unless -Pgridbook.rustProfile=debug asks otherwise.
val releaseProfile = providers.gradleProperty("gridbook.rustProfile").getOrElse("release")
tasks.register<Exec>("buildRustDebug") { buildsRust("debug") }
tasks.register<Exec>("buildRustRelease") { buildsRust(releaseProfile) }
