#!/usr/bin/env bash
# Writes the Kotlin and Swift bindings of insikt-ffi, from the library itself, with
# the uniffi-bindgen built from the same uniffi release (bindings/uniffi-bindgen).
#
#   scripts/bindgen.sh           build the library, write the bindings into the tree
#   scripts/bindgen.sh --check   write them into a scratch folder and fail if the
#                                committed ones differ (scripts/test.sh runs this)
#
# LIB=/path/to/libinsikt_ffi.so uses a library built already (any profile or
# feature set: the exported interface is the same).
#
# What is written (and committed; never edit it by hand):
#   android/src/main/kotlin/se/insikt/ffi/insikt_ffi.kt   the Kotlin bindings
#   ios/Sources/Insikt/Generated/Insikt.swift              the Swift bindings
#   ios/include/InsiktFFI.h, ios/include/InsiktFFI.modulemap   the C module the
#                                                          XCFramework carries
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
if [ "${1:-}" = "--check" ]; then check=true; fi

if [ -z "${LIB:-}" ]; then
    cargo build --locked -p insikt-ffi
    LIB=target/debug/libinsikt_ffi.so
fi
cargo build --locked -q -p insikt-uniffi-bindgen
BINDGEN=target/debug/uniffi-bindgen

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$BINDGEN" generate --no-format --language kotlin --out-dir "$out/kotlin" "$LIB" >/dev/null
"$BINDGEN" generate --no-format --language swift --out-dir "$out/swift" "$LIB" >/dev/null

# generated file -> its place in the tree
declare -A places=(
    ["kotlin/se/insikt/ffi/insikt_ffi.kt"]="android/src/main/kotlin/se/insikt/ffi/insikt_ffi.kt"
    ["swift/Insikt.swift"]="ios/Sources/Insikt/Generated/Insikt.swift"
    ["swift/InsiktFFI.h"]="ios/include/InsiktFFI.h"
    ["swift/InsiktFFI.modulemap"]="ios/include/InsiktFFI.modulemap"
)

# Every generated file has a place, so nothing new goes unnoticed.
generated=$(cd "$out" && find . -type f | sed 's|^\./||' | sort)
for f in $generated; do
    if [ -z "${places[$f]:-}" ]; then
        echo "bindgen: uniffi-bindgen wrote $f, which has no place in the tree" >&2
        exit 1
    fi
done

stale=0
for f in "${!places[@]}"; do
    dest="${places[$f]}"
    if $check; then
        if ! cmp -s "$out/$f" "$dest"; then
            echo "bindgen: $dest is not what the library generates" >&2
            diff -u "$dest" "$out/$f" | head -40 >&2 || true
            stale=1
        fi
    else
        mkdir -p "$(dirname "$dest")"
        cp "$out/$f" "$dest"
    fi
done
if ((stale)); then
    echo "bindgen: run scripts/bindgen.sh and commit the result" >&2
    exit 1
fi
if $check; then
    echo "bindgen: the committed Kotlin and Swift bindings match the library"
else
    printf 'bindgen: wrote %s\n' "${places[@]}"
fi
