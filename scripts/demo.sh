#!/usr/bin/env bash
# The main job: a whole field day on built-in material, in an encrypted store, ending
# with three devices converging through an embedded hub on loopback. Installs what the
# build needs first (cmake and nasm build the libjpeg-turbo the photo pipeline links),
# then builds and runs `insikt demo`. Arguments go to the demo (--data DIR, --lang en).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=lib/apt.sh
source "$root/scripts/lib/apt.sh"

ensure_apt cmake:cmake nasm:nasm
if ! command -v cargo >/dev/null 2>&1; then
    echo "error: the demo is built with Rust's cargo (https://rustup.rs)" >&2
    exit 1
fi
exec cargo run --quiet --release --locked --manifest-path "$root/Cargo.toml" -p insikt-cli -- demo "$@"
