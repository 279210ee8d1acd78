#!/usr/bin/env bash
# Installs what the tests need and runs the whole suite: formatting, lints, every
# Rust test in the workspace, the bindings' Kotlin tests on the JVM
# (scripts/kotlin-test.sh), and the README's first command (scripts/demo.sh). Safe to
# run again: installed tools are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use:
#   exiftool        plants and checks photo metadata in the media tests
#   vipsthumbnail   the media benchmark's baseline (installed so benches also build and run)
#   cmake, nasm     build the libjpeg-turbo (with its SIMD code) that insikt-media's JPEG
#                   encoder links, from the source vendored in the turbojpeg-sys crate
#   libjna-java, junit5   JNA and the JUnit 5 console launcher for the Kotlin tests
#                   (their compiler comes from npm, pinned in android/jvm-test)
# shellcheck source=lib/apt.sh
source scripts/lib/apt.sh
ensure_apt libimage-exiftool-perl:exiftool libvips-tools:vipsthumbnail cmake:cmake nasm:nasm \
    libjna-java:/usr/share/java/jna.jar \
    junit5:/usr/share/java/junit-platform-console-standalone.jar \
    default-jdk-headless:java

# The stock automerge-repo packages the interop tests (hub/tests/interop.rs) run
# against, pinned by interop/package-lock.json. Needs Node.js 20+ with npm. Install
# scripts are skipped: the only one (cbor-extract's) just looks for the prebuilt
# binary its platform package ships, and cbor-x falls back to plain JS without it.
if [ ! -d interop/node_modules ] || [ interop/package-lock.json -nt interop/node_modules/.package-lock.json ]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "error: the interop tests need Node.js 20 or later with npm" >&2
        exit 1
    fi
    echo "==> npm ci --prefix interop"
    npm ci --prefix interop --no-audit --no-fund --ignore-scripts
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo test"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"

echo "==> kotlin: the bindings on the JVM"
scripts/kotlin-test.sh 2>&1 | tee -a "$log"

# The README's first command, as a newcomer runs it: it must build and complete.
echo "==> the main command: scripts/demo.sh"
demo="$(mktemp -d)"
trap 'rm -f "$log"; rm -rf "$demo"' EXIT
scripts/demo.sh --data "$demo/store" --lang en >"$demo/out.txt"
tail -n 9 "$demo/out.txt"
grep -q "Same content on every device: yes" "$demo/out.txt" || {
    echo "error: the demo did not end with every device converged" >&2
    exit 1
}

# One closing line for the whole suite (cargo prints one per test binary, the last
# of which is often a crate's empty doc-test run; the Kotlin tests print one).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i == "passed;") p += $(i-1); if ($i == "failed;") f += $(i-1) } }
     /^kotlin: [0-9]+ passed, [0-9]+ failed$/ { p += $2; f += $4 }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
