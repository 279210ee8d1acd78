#!/usr/bin/env bash
# Builds libinsikt_ffi.so for the Android ABIs into src/main/jniLibs/<abi>/, with
# cargo-ndk. Run on a workstation with the Android NDK (the Gradle build runs it
# before assembling the AAR).
#
# Needs: ANDROID_NDK_HOME (r27 or later), `cargo install cargo-ndk`, the Rust
# targets (`rustup target add aarch64-linux-android armv7-linux-androideabi
# x86_64-linux-android`), cmake and nasm (libjpeg-turbo) and perl (OpenSSL).
#
# - SQLCipher's crypto: OpenSSL built from source for each ABI and linked
#   statically (insikt-ffi's `vendored-openssl` feature); Android has no libcrypto
#   for apps.
# - libjpeg-turbo (insikt-media's encoder) is built by its crate with CMake, here
#   with the NDK's own CMake toolchain file for each ABI.
# - 16 KB pages (Android 15 devices): every ELF load segment aligned to 16 KB.
# - The `release-ffi` profile (fat LTO) with the symbols stripped; panics still
#   unwind, so that a panic reaches the app as an error (see bindings/src/call.rs).
set -euo pipefail
cd "$(dirname "$0")"
: "${ANDROID_NDK_HOME:?set ANDROID_NDK_HOME to the Android NDK (r27 or later)}"
API=26
ABIS=(${ABIS:-arm64-v8a armeabi-v7a x86_64})

export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-Wl,-z,max-page-size=16384 -C link-arg=-Wl,-z,common-page-size=16384"
export CARGO_PROFILE_RELEASE_FFI_STRIP=symbols
toolchain="$ANDROID_NDK_HOME/build/cmake/android.toolchain.cmake"

for abi in "${ABIS[@]}"; do
    case "$abi" in
        arm64-v8a) target=aarch64-linux-android ;;
        armeabi-v7a) target=armv7-linux-androideabi ;;
        x86_64) target=x86_64-linux-android ;;
        *) echo "unknown ABI $abi" >&2; exit 1 ;;
    esac
    echo "==> $abi ($target)"
    # The cmake crate reads these for the target it builds for.
    export "CMAKE_TOOLCHAIN_FILE_${target//-/_}=$toolchain"
    export ANDROID_ABI="$abi" ANDROID_PLATFORM="android-$API"
    cargo ndk --target "$abi" --platform "$API" --output-dir src/main/jniLibs \
        build --profile release-ffi --locked -p insikt-ffi --features vendored-openssl
    so="src/main/jniLibs/$abi/libinsikt_ffi.so"
    # Refuse a library that would not load on a 16 KB-page device.
    if command -v llvm-readelf >/dev/null 2>&1; then
        if llvm-readelf -lW "$so" | awk '$1 == "LOAD" && $NF !~ /0x4000|0x10000/ { bad = 1 } END { exit !bad }'; then
            echo "error: $so has LOAD segments not aligned to 16 KB" >&2
            exit 1
        fi
    fi
done
echo "native libraries in src/main/jniLibs: ${ABIS[*]}"
