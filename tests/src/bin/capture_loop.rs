//! Captures notes until killed, printing each note's id once it is acknowledged.
//! Used by the durability test, which kills this process at a random moment and
//! then checks that every acknowledged note is in the store.
//!
//! Usage: capture-loop DIR KEY_HEX

use insikt_core::domain::NoteKind;
use insikt_core::{NewNote, Store, StoreKey};
use std::io::Write;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(key)) = (args.next(), args.next()) else {
        eprintln!("usage: capture-loop DIR KEY_HEX");
        std::process::exit(2);
    };
    let key = StoreKey::from_hex(&key).expect("a 64-hex key");
    let store = Store::open(std::path::Path::new(&dir), &key).expect("open store");
    let (_, session) = insikt_scenarios::project_with_interview(&store);
    println!("session {session}");
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let id = store
            .add_note(
                &session,
                NewNote::new(
                    NoteKind::Plain,
                    format!("anteckning nummer {i} om hur mötet gick"),
                ),
            )
            .expect("capture");
        // The id is printed only after add_note returned: this is the acknowledgement.
        writeln!(out, "{id}").expect("stdout");
        out.flush().expect("stdout");
    }
}
