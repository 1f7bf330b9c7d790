// The Android app: Compose screens over core-logic, the Rust core as libgridbook_ffi.so per ABI
// (built by build-rust.sh with cargo-ndk into src/main/jniLibs, the release build optimised),
// background sync with WorkManager.
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
    alias(libs.plugins.kotlin.compose)
}

android {
    namespace = "app.gridbook.android"
    compileSdk = 35

    defaultConfig {
        applicationId = "app.gridbook.android"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        // zh-CN is the default (values/), English beside it (values-en/).
        resourceConfigurations += listOf("zh-rCN", "en")
        // The ABIs the core is built for; JNA's aar also ships x86, which would load no core.
        ndk { abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64") }
    }

    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    buildFeatures {
        compose = true
        buildConfig = true
    }
    packaging {
        // Stored uncompressed and 16 KB aligned in the APK (Android 15+ devices with 16 KB pages).
        jniLibs.useLegacyPackaging = false
    }
}

kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
}

// The core for the variant being built: debug for debug, release (optimised) for release.
tasks.matching { it.name == "preDebugBuild" }.configureEach { dependsOn(rootProject.tasks.named("buildRustDebug")) }
tasks.matching { it.name == "preReleaseBuild" }.configureEach { dependsOn(rootProject.tasks.named("buildRustRelease")) }

dependencies {
    implementation(project(":core-logic"))
    implementation("net.java.dev.jna:jna:${libs.versions.jna.get()}@aar")
    implementation(libs.kotlinx.coroutines.android)
    implementation(platform(libs.compose.bom))
    implementation(libs.compose.ui)
    implementation(libs.compose.ui.tooling.preview)
    implementation(libs.compose.material3)
    implementation(libs.compose.material.icons)
    implementation(libs.activity.compose)
    implementation(libs.core.ktx)
    implementation(libs.lifecycle.viewmodel.compose)
    implementation(libs.lifecycle.runtime.compose)
    implementation(libs.lifecycle.process)
    implementation(libs.navigation.compose)
    implementation(libs.work.runtime)
}
