//! The Rust half of `scripts/bench-bindings.sh`: 10,000 notes captured through core
//! directly, to set beside the same capture through Kotlin in the same run. Prints
//! figures, asserts nothing.

use std::time::Instant;

use insikt_core::domain::{NoteKind, SessionKind};
use insikt_core::{Lang, NewNote, NewSession, Store, StoreKey};

const NOTES: usize = 10_000;

fn main() {
    let dir = std::env::temp_dir().join(format!("insikt-bench-rust-{}", std::process::id()));
    let store = Store::open(&dir, &StoreKey::generate()).expect("open");
    let project = store
        .create_project("Bänk", Lang::Sv, "Sara")
        .expect("project");
    let session = store
        .start_session(
            &project,
            NewSession {
                kind: SessionKind::Observation,
                title: "Väntrummet".into(),
                participants: vec![],
                place: None,
                guide: None,
                started_at: None,
            },
        )
        .expect("session");
    store.open_session(&session).expect("open session");
    let started = Instant::now();
    for i in 0..NOTES {
        store
            .add_note(
                &session,
                NewNote::new(
                    NoteKind::Observation,
                    format!("observation nummer {i} i väntrummet"),
                ),
            )
            .expect("note");
    }
    let capture = started.elapsed();
    assert_eq!(store.notes(&session).expect("notes").len(), NOTES);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "rust_capture_ms={:.1} ({NOTES} notes, {:.3} ms a note)",
        capture.as_secs_f64() * 1e3,
        capture.as_secs_f64() * 1e3 / NOTES as f64
    );
}
