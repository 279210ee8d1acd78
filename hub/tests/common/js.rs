//! A stock `@automerge/automerge-repo` client driven by node (interop/attack.mjs):
//! ordinary JavaScript values written at any path of a document, with a real device
//! token in the URL — as a hostile or careless third-party app would.

use insikt_core::sync::wire::DocumentId;
use insikt_hub::RunningHub;
use std::path::{Path, PathBuf};
use std::process::Command;

/// interop/ at the repository root, after checking its packages are installed.
pub fn interop_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../interop");
    assert!(
        dir.join("node_modules/@automerge/automerge-repo").is_dir(),
        "the stock automerge-repo packages are not installed in {}: \
         run `npm ci --prefix interop` (scripts/test.sh does)",
        dir.join("node_modules").display()
    );
    dir
}

/// The hub's sync endpoint as a stock client must name it: the token in the URL.
pub fn hub_ws(hub: &RunningHub, token: &str) -> String {
    format!(
        "{}/v1/sync?token={token}",
        hub.url.replacen("http://", "ws://", 1)
    )
}

/// Has a stock client make `changes` (see interop/attack.mjs) to `doc` with `token`;
/// returns whether the hub took them.
pub fn attack(hub: &RunningHub, token: &str, doc: &DocumentId, changes: serde_json::Value) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("changes.json");
    std::fs::write(&file, changes.to_string()).unwrap();
    let out = Command::new("node")
        .current_dir(interop_dir())
        .arg("attack.mjs")
        .arg(hub_ws(hub, token))
        .arg(doc.url())
        .arg(&file)
        .args(["--timeout", "4"])
        .output()
        .expect("cannot run `node`: Node.js 20 or later must be on PATH");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert!(
        out.status.success(),
        "the stock client failed ({}): {}{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}", text(&out.stdout)));
    answer["acknowledged"] == true
}

/// Runs the stock reader (interop/client.mjs) for `doc`: its exit code (0 found,
/// 2 unavailable) and what it printed.
pub fn read(hub: &RunningHub, token: &str, doc: &DocumentId) -> (Option<i32>, String) {
    let out = Command::new("node")
        .current_dir(interop_dir())
        .arg("client.mjs")
        .arg(hub_ws(hub, token))
        .arg(doc.url())
        .args(["--timeout", "20"])
        .output()
        .expect("cannot run `node`: Node.js 20 or later must be on PATH");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}
