//! Helpers shared by the hub's scenario tests.
#![allow(dead_code)]

use insikt_core::sync::HubSyncOptions;
use insikt_core::Store;
use std::path::Path;

/// Every live byte of an SQLCipher database, decrypted with its key.
pub fn dump(db: &Path, key: &[u8; 32], scratch: &Path, name: &str) -> Vec<u8> {
    let out = scratch.join(format!("{name}-plain.db"));
    let _ = std::fs::remove_file(&out);
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex::encode(key)))
        .unwrap();
    conn.execute(
        "ATTACH DATABASE ?1 AS plain KEY ''",
        [out.to_str().unwrap()],
    )
    .unwrap();
    conn.query_row("SELECT sqlcipher_export('plain')", [], |_| Ok(()))
        .unwrap();
    conn.execute_batch("DETACH DATABASE plain;").unwrap();
    std::fs::read(&out).unwrap()
}

pub fn hub_dump(hub_dir: &Path, scratch: &Path) -> Vec<u8> {
    let key = std::fs::read_to_string(hub_dir.join("hub.key")).unwrap();
    let key: [u8; 32] = hex::decode(key.trim()).unwrap().try_into().unwrap();
    dump(&hub_dir.join("hub.db"), &key, scratch, "hub")
}

pub fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Syncs with the hub, fetching originals too.
pub fn sync(s: &Store) {
    s.sync_with_hub(&HubSyncOptions {
        fetch_originals: true,
        ..Default::default()
    })
    .unwrap();
}
