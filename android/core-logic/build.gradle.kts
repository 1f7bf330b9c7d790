// core-logic: repositories and view-model state over the generated Kotlin bindings. Plain
// Kotlin/JVM, no Android SDK: the same sources are compiled and tested on a JVM by
// scripts/test-bindings.sh. The generated bindings (bindings/kotlin, git-ignored) are part of
// this module's sources, so compiling waits for the root project's genBindings.
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.kotlin.jvm)
}

// Bytecode for Java 17 from whatever JDK runs Gradle (17 or 21): no toolchain to download,
// nothing for a JDK 21 IDE to resolve.
java {
    sourceCompatibility = JavaVersion.VERSION_17
    targetCompatibility = JavaVersion.VERSION_17
}
kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
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

// A clean build generates the bindings before anything reads them.
tasks.named("compileKotlin") { dependsOn(rootProject.tasks.named("genBindings")) }

dependencies {
    // The app brings JNA as an Android archive (jna@aar, with its native parts); the JVM gets the jar.
    compileOnly(libs.jna)
    implementation(libs.kotlinx.coroutines.core)
    testImplementation(libs.jna)
    testImplementation(libs.junit)
}

tasks.test {
    systemProperty("jna.library.path", rootProject.file("../bindings/kotlin").path)
    systemProperty("gridbook.root", rootProject.file("..").path)
}
