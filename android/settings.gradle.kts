// Lets this module build on its own (`gradle :assembleRelease` in android/), or be
// included from an app's settings with `include(":insikt")` and a projectDir.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "insikt"
