// Gridbook for Android: the Compose app and the plain Kotlin module under it (core-logic), which
// also compiles and is tested on a JVM without the Android SDK (scripts/test-bindings.sh).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "gridbook-android"
include(":core-logic", ":app")
