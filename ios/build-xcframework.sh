#!/usr/bin/env bash
# Builds InsiktFFI.xcframework for iOS devices and simulators, on macOS with Xcode.
#
# Needs: Xcode (xcodebuild, lipo, libtool, ld), the Rust targets (`rustup target add
# aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios`), cmake and nasm
# (libjpeg-turbo; nasm for the x86_64 simulator's SIMD code).
#
# - SQLCipher uses Apple's CommonCrypto on these targets: no OpenSSL to build.
# - The static library carries a bundled SQLite (SQLCipher). An app that also links
#   the system's libsqlite3 (directly or through a framework) would get two copies
#   of every sqlite3_* symbol; so each slice is first linked into one relocatable
#   object that exports only the uniffi entry points, which hides everything else
#   (SQLite, OpenSSL-free crypto, Rust's own symbols) from the app's link.
# - The `release-ffi` profile (fat LTO); panics unwind (a panic reaches Swift as an
#   error).
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(uname)" = "Darwin" ] || { echo "build-xcframework.sh runs on macOS with Xcode" >&2; exit 1; }
export IPHONEOS_DEPLOYMENT_TARGET=15.0

# The headers and module map, as scripts/bindgen.sh generated and committed them.
scripts/bindgen.sh --check

out=target/xcframework
rm -rf "$out" ios/InsiktFFI.xcframework
mkdir -p "$out/headers"
cp ios/include/InsiktFFI.h "$out/headers/"
cp ios/include/InsiktFFI.modulemap "$out/headers/module.modulemap"

for target in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
    echo "==> $target"
    cargo build --profile release-ffi --locked -p insikt-ffi --lib --target "$target"
done

# Only the uniffi entry points stay visible.
cat > "$out/exported.txt" <<'SYMS'
_uniffi_*
_ffi_insikt_ffi_*
SYMS

# One slice: the static library linked into a single object with hidden internals.
hide() { # arch lib out
    ld -r -arch "$1" -exported_symbols_list "$out/exported.txt" -all_load "$2" -o "$3.o"
    libtool -static -o "$3" "$3.o"
}

mkdir -p "$out/ios" "$out/sim"
hide arm64 target/aarch64-apple-ios/release-ffi/libinsikt_ffi.a "$out/ios/libinsikt_ffi.a"
hide arm64 target/aarch64-apple-ios-sim/release-ffi/libinsikt_ffi.a "$out/sim/arm64.a"
hide x86_64 target/x86_64-apple-ios/release-ffi/libinsikt_ffi.a "$out/sim/x86_64.a"
lipo -create "$out/sim/arm64.a" "$out/sim/x86_64.a" -output "$out/sim/libinsikt_ffi.a"

# No sqlite3_* symbol may be left for the app's linker to see.
if nm -gU "$out/ios/libinsikt_ffi.a" | grep -q ' _sqlite3_'; then
    echo "error: SQLite symbols are still exported" >&2
    exit 1
fi

xcodebuild -create-xcframework \
    -library "$out/ios/libinsikt_ffi.a" -headers "$out/headers" \
    -library "$out/sim/libinsikt_ffi.a" -headers "$out/headers" \
    -output ios/InsiktFFI.xcframework
echo "ios/InsiktFFI.xcframework ready: open ios/Package.swift or add the package to an app"
