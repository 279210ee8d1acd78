//! Frames an attacker writes by hand, for the attack tests and the hub benchmark:
//! every one is something a device holding a real token can send.
#![allow(dead_code)]

use automerge::transaction::Transactable;
use std::time::{Duration, Instant};

pub fn random_bytes(n: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut out = vec![0u8; n];
    rand::rng().fill_bytes(&mut out);
    out
}

/// A `join` frame of about `bytes` (CBOR written by hand) whose protocol versions
/// are empty strings, one byte each.
pub fn join_of_empty_strings(bytes: usize) -> Vec<u8> {
    let text = |out: &mut Vec<u8>, s: &str| {
        assert!(s.len() < 256);
        out.extend([0x78, s.len() as u8]);
        out.extend(s.as_bytes());
    };
    let mut frame = vec![0xa3];
    text(&mut frame, "type");
    text(&mut frame, "join");
    text(&mut frame, "senderId");
    text(&mut frame, "attacker");
    text(&mut frame, "supportedProtocolVersions");
    let n = bytes - 128;
    frame.push(0x9a);
    frame.extend((n as u32).to_be_bytes());
    frame.resize(frame.len() + n, 0x60);
    frame
}

/// Connects, waiting while the device still holds all its connections (the hub
/// gives a slot back once it has finished with a closed connection).
pub fn connect_when_free(url: &str, token: &str) -> super::raw::Socket {
    let started = Instant::now();
    loop {
        match super::raw::connect(url, Some(token), false) {
            Ok(s) => return s,
            Err(429) if started.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(status) => panic!("refused: {status}"),
        }
    }
}

/// A sync message carrying `changes` (raw change bytes) and claiming `heads`.
pub fn sync_message_with(heads: Vec<automerge::ChangeHash>, changes: Vec<Vec<u8>>) -> Vec<u8> {
    automerge::sync::Message {
        heads,
        need: vec![],
        have: vec![],
        changes: changes.into(),
        flags: None,
        version: automerge::sync::MessageVersion::V1,
    }
    .encode()
}

/// `n` changes of about a megabyte each on `doc` that all depend on a change that
/// is never sent.
pub fn orphan_changes(doc: &mut automerge::AutoCommit, n: usize, tag: &str) -> Vec<Vec<u8>> {
    orphan_changes_of(doc, n, 1 << 20, tag)
}

/// `n` changes of `bytes` each on `doc` that all depend on a change never sent.
pub fn orphan_changes_of(
    doc: &mut automerge::AutoCommit,
    n: usize,
    bytes: usize,
    tag: &str,
) -> Vec<Vec<u8>> {
    let mut forged = doc.fork();
    forged
        .put(automerge::ROOT, format!("{tag}-root"), 1)
        .unwrap();
    forged.commit();
    let withheld = forged.get_heads();
    for i in 0..n {
        forged
            .put(automerge::ROOT, format!("{tag}-{i}"), random_bytes(bytes))
            .unwrap();
        forged.commit();
    }
    forged
        .get_changes(&withheld)
        .into_iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect()
}

/// A bloom filter of `entries` with the given parameters (automerge writes 10 bits
/// per entry and 7 probes), its bits random.
pub fn bloom(entries: u32, bits_per_entry: u32, probes: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [entries, bits_per_entry, probes] {
        leb(&mut out, u64::from(v));
    }
    let bits = (u64::from(entries) * u64::from(bits_per_entry)).div_ceil(8);
    out.extend(random_bytes(bits as usize));
    out
}

pub fn leb(buf: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            buf.push(b);
            return;
        }
        buf.push(b | 0x80);
    }
}

/// An automerge sync message with no heads, one `have` holding `bloom`, no changes.
pub fn have_message(bloom: &[u8]) -> Vec<u8> {
    let mut m = vec![0x42, 0, 0, 1, 0];
    leb(&mut m, bloom.len() as u64);
    m.extend_from_slice(bloom);
    m.push(0);
    m
}
