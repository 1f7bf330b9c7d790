// core-logic: repositories and view-model state over the generated Kotlin bindings. Plain
// Kotlin/JVM, no Android SDK: the same sources are compiled and tested on a JVM by
// scripts/test-bindings.sh. The generated bindings (bindings/kotlin, git-ignored) are part of
// this module's sources: run scripts/gen-bindings.sh first (the app's build does, see app/).
plugins {
    alias(libs.plugins.kotlin.jvm)
}

kotlin {
    jvmToolchain(17)
}

sourceSets {
    main {
        kotlin.srcDir(rootProject.file("../bindings/kotlin"))
    }
    test {
        // The JVM suite lives with the other binding tests; it needs the host library and the
        // sync server, which scripts/test-bindings.sh provides.
        kotlin.srcDir(rootProject.file("../tests/kotlin"))
    }
}

dependencies {
    // The app brings JNA as an Android archive (jna@aar, with its native parts); the JVM gets the jar.
    compileOnly(libs.jna)
    implementation(libs.kotlinx.coroutines.core)
    testImplementation(libs.jna)
    testImplementation(libs.junit)
}

tasks.test {
    systemProperty("jna.library.path", rootProject.file("../target/debug").path)
    systemProperty("gridbook.root", rootProject.file("..").path)
}
