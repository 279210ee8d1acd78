use insikt_core::domain::*;
use insikt_core::*;
use std::time::Instant;
fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), &StoreKey::generate()).unwrap();
    let project = store.create_project("x", Lang::Sv, "x").unwrap();
    let words = [
        "skolan",
        "mamma",
        "pappa",
        "handläggaren",
        "mötet",
        "brevet",
        "fritidsgården",
        "kuratorn",
        "rädd",
        "trygg",
        "lyssnade",
    ];
    let mut t = Instant::now();
    for s in 0..50 {
        let p = store
            .add_participant(
                &project,
                &format!("P-{s}"),
                ParticipantRole::Child,
                AgeBand::Unknown,
            )
            .unwrap();
        store
            .record_consent(&p, ConsentScope::Notes, GivenBy::Guardian, "1")
            .unwrap();
        let sid = store
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
        for i in 0..100 {
            let text: Vec<&str> = (0..16)
                .map(|k| words[(i * 7 + k * 3 + s) % words.len()])
                .collect();
            store
                .add_note(&sid, NewNote::new(NoteKind::Plain, text.join(" ")))
                .unwrap();
        }
        if s % 10 == 9 {
            println!("{s}: {:?} per note", t.elapsed() / 1000);
            t = Instant::now();
        }
    }
}
