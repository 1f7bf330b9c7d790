// The Android app: Compose screens over core-logic, the Rust core as libgridbook_ffi.so per ABI
// (built by build-rust.sh with cargo-ndk into src/main/jniLibs), background sync with WorkManager.
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
    kotlinOptions {
        jvmTarget = "17"
    }
    buildFeatures {
        compose = true
        buildConfig = true
    }
    packaging {
        jniLibs.useLegacyPackaging = false
    }
}

// The Rust core for every ABI, and the Kotlin bindings, before anything compiles. Needs cargo and
// cargo-ndk with ANDROID_NDK_HOME set (docs/mobile.md). -Pgridbook.skipRust=true uses what is
// already in src/main/jniLibs and ../bindings/kotlin.
val buildRust by tasks.registering(Exec::class) {
    group = "gridbook"
    description = "Builds libgridbook_ffi.so for each ABI (cargo-ndk) and generates the Kotlin bindings"
    workingDir = rootProject.projectDir
    commandLine("./build-rust.sh", if (project.hasProperty("release")) "release" else "debug")
}
if (!project.hasProperty("gridbook.skipRust")) {
    tasks.named("preBuild") { dependsOn(buildRust) }
}

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
    implementation(libs.lifecycle.viewmodel.compose)
    implementation(libs.lifecycle.runtime.compose)
    implementation(libs.navigation.compose)
    implementation(libs.work.runtime)
}
