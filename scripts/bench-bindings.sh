#!/usr/bin/env bash
# Figures for the bindings (printed, never asserted):
#   - 10,000 notes captured through Kotlin against the same through Rust directly,
#     in the same run, as a ratio (target: at most 1.5x);
#   - a store of 20,000 notes opened and its sessions listed from Kotlin (target:
#     at most 150 ms);
#   - the stripped release size of libinsikt_ffi.so for x86_64 (target: at most 15 MB).
# Everything is built with the `release-ffi` profile, the one the AAR and the
# XCFramework ship (fat LTO; the first build takes several minutes). Run
# scripts/kotlin-test.sh once first (it installs the Kotlin compiler and JNA).
set -euo pipefail
cd "$(dirname "$0")/.."
KLIB=android/jvm-test/node_modules/kotlin-compiler/lib
[ -d "$KLIB" ] || { echo "run scripts/kotlin-test.sh first (it installs kotlinc)" >&2; exit 1; }

echo "==> cargo build --profile release-ffi -p insikt-ffi"
cargo build --locked --profile release-ffi -q -p insikt-ffi

echo "==> Rust: 10,000 notes through core"
rust=$(cargo bench --locked --profile release-ffi -q -p insikt-ffi --bench capture 2>/dev/null | grep '^rust_capture_ms=')
echo "$rust"

echo "==> Kotlin: the same through the bindings; a 20,000-note store opened"
out=target/kotlin-bench
rm -rf "$out" && mkdir -p "$out"
cp="$KLIB/kotlinx-coroutines-core-jvm.jar:/usr/share/java/jna.jar"
mapfile -t sources < <(find android/src/main/kotlin android/src/bench/kotlin -name '*.kt' -not -path '*/se/insikt/android/*' | sort)
android/jvm-test/node_modules/kotlin-compiler/bin/kotlinc -nowarn -jvm-target 17 -cp "$cp" -d "$out" "${sources[@]}"
kotlin=$(java -Djna.library.path="$PWD/target/release-ffi" -cp "$out:$KLIB/kotlin-stdlib.jar:$cp" se.insikt.BenchKt)
echo "$kotlin"

r=$(echo "$rust" | sed 's/^rust_capture_ms=\([0-9.]*\).*/\1/')
k=$(echo "$kotlin" | sed -n 's/^kotlin_capture_ms=\([0-9.]*\).*/\1/p')
awk -v k="$k" -v r="$r" 'BEGIN { printf "capture through Kotlin / through Rust: %.2fx (target <= 1.5x)\n", k / r }'
echo "$kotlin" | sed -n 's/^kotlin_open_list_ms=\([0-9.]*\)\(.*\)/open + list sessions from Kotlin: \1 ms\2 (target <= 150 ms)/p'

stripped="$out/libinsikt_ffi.so"
strip -o "$stripped" target/release-ffi/libinsikt_ffi.so
bytes=$(stat -c %s "$stripped")
awk -v b="$bytes" 'BEGIN { printf "libinsikt_ffi.so (x86_64, release-ffi, stripped): %.1f MB (target <= 15 MB)\n", b / 1048576 }'
