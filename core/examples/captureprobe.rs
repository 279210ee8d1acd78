use insikt_core::domain::*;
use insikt_core::*;
use std::time::Instant;
fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &StoreKey::generate()).unwrap();
    let project = store.create_project("x", Lang::Sv, "x").unwrap();
    let p = store
        .add_participant(&project, "P-1", ParticipantRole::Child, AgeBand::Unknown)
        .unwrap();
    store
        .record_consent(&p, ConsentScope::Notes, GivenBy::Guardian, "1")
        .unwrap();
    let s = store
        .start_session(
            &project,
            NewSession {
                kind: SessionKind::Interview,
                title: "t".into(),
                participants: vec![p],
                place: None,
                guide: None,
                started_at: None,
            },
        )
        .unwrap();
    let mut t = Instant::now();
    for i in 1..=400 {
        store
            .add_note(
                &s,
                NewNote::new(
                    NoteKind::Plain,
                    "skolan mamma pappa handläggaren mötet brevet fritidsgården",
                ),
            )
            .unwrap();
        if i % 50 == 0 {
            println!("{i}: {:?} per note", t.elapsed() / 50);
            t = Instant::now();
        }
    }
}
