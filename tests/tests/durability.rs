//! A note is acknowledged only once it is durably stored: killing the process right
//! after an acknowledgement loses nothing.

use insikt_core::ids::{NoteId, SessionId};
use insikt_core::{Store, StoreKey};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn killing_the_app_after_an_acknowledgement_loses_nothing() {
    for (round, acks_before_kill) in [1usize, 37, 400].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let key = StoreKey::generate();
        let key_hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let mut child = Command::new(env!("CARGO_BIN_EXE_capture-loop"))
            .arg(dir.path())
            .arg(&key_hex)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let session: SessionId = first.trim_start_matches("session ").parse().unwrap();
        let mut acked: Vec<NoteId> = Vec::new();
        while acked.len() < acks_before_kill {
            acked.push(lines.next().unwrap().unwrap().parse().unwrap());
        }
        // SIGKILL: no destructors, no flushes, no chance to tidy up.
        child.kill().unwrap();
        child.wait().unwrap();
        // Anything the child printed before it died was acknowledged too.
        for line in lines.map_while(Result::ok) {
            if let Ok(id) = line.parse() {
                acked.push(id);
            }
        }
        let store = Store::open(dir.path(), &key).unwrap();
        let stored: Vec<NoteId> = store
            .notes(&session)
            .unwrap()
            .into_iter()
            .map(|n| n.id)
            .collect();
        for id in &acked {
            assert!(
                stored.contains(id),
                "round {round}: acknowledged note {id} was lost"
            );
        }
        // The documents agree with the index after the crash.
        store.rebuild_index().unwrap();
        assert_eq!(
            store.notes(&session).unwrap().len(),
            stored.len(),
            "round {round}"
        );
    }
}
