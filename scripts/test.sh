#!/usr/bin/env bash
# Installs what the tests need and runs the whole suite: formatting, lints, and every
# Rust test in the workspace. Safe to run again: installed tools are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use:
#   exiftool        plants and checks photo metadata in the media tests
#   vipsthumbnail   the media benchmark's baseline (installed so benches also build and run)
#   cmake, nasm     build the libjpeg-turbo (with its SIMD code) that insikt-media's JPEG
#                   encoder links, from the source vendored in the turbojpeg-sys crate
APT_PACKAGES=(libimage-exiftool-perl libvips-tools cmake nasm)

need_apt=()
command -v exiftool >/dev/null 2>&1 || need_apt+=(libimage-exiftool-perl)
command -v vipsthumbnail >/dev/null 2>&1 || need_apt+=(libvips-tools)
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
command -v nasm >/dev/null 2>&1 || need_apt+=(nasm)
if ((${#need_apt[@]})); then
    echo "==> installing ${need_apt[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
: "${APT_PACKAGES[@]}"

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
# One closing line for the whole suite (cargo prints one per test binary, the last
# of which is often a crate's empty doc-test run).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i == "passed;") p += $(i-1); if ($i == "failed;") f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
