// The Android library module (AAR) of Insikt: the generated Kotlin bindings, the
// small Kotlin facade, and libinsikt_ffi.so for each ABI, built by build-native.sh
// with cargo-ndk. Built on a workstation with the Android SDK and NDK; the JVM tests
// in src/test run here and in CI through scripts/kotlin-test.sh.
plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.0.21"
}

android {
    namespace = "se.insikt"
    compileSdk = 35
    // The NDK that build-native.sh uses (r27+ aligns ELF segments to 16 KB itself).
    ndkVersion = "27.2.12479018"

    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
        ndk {
            abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64")
        }
    }

    sourceSets["main"].apply {
        kotlin.srcDir("src/main/kotlin")
        // Filled by build-native.sh: src/main/jniLibs/<abi>/libinsikt_ffi.so
        jniLibs.srcDir("src/main/jniLibs")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    packaging {
        // Keep the .so files page-aligned and uncompressed in the APK (16 KB pages).
        jniLibs.useLegacyPackaging = false
    }

    testOptions {
        unitTests.all {
            // The JVM tests load the host build of the library and start the hub:
            // scripts/kotlin-test.sh sets the same properties.
            it.systemProperty("jna.library.path", rootDir.resolve("../target/debug").canonicalPath)
            it.systemProperty("insikt.hub", rootDir.resolve("../target/debug/insikt-hub").canonicalPath)
            it.useJUnitPlatform()
        }
    }
}

// Builds the native libraries before the AAR is assembled.
val buildNative by tasks.registering(Exec::class) {
    workingDir = projectDir
    commandLine("./build-native.sh")
}
tasks.named("preBuild") { dependsOn(buildNative) }

dependencies {
    // JNA as an AAR: it carries libjnidispatch.so for every ABI.
    implementation("net.java.dev.jna:jna:5.15.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
    implementation("androidx.annotation:annotation:1.9.1")

    testImplementation("net.java.dev.jna:jna:5.15.0")
    testImplementation(kotlin("test-junit5"))
    testImplementation("org.junit.jupiter:junit-jupiter:5.11.4")
}
