//! Store benchmark: a project of 200 sessions and 20,000 notes.
//!
//! Prints note-capture latency (median, p99) against a plain rusqlite insert of the
//! same text into an equally configured SQLCipher database in the same run, cold open
//! time, and search latency. It reports; it asserts nothing.
//!
//! Run: `cargo bench -p insikt-core --bench store`

use insikt_core::domain::{AgeBand, ConsentScope, GivenBy, NoteKind, ParticipantRole, SessionKind};
use insikt_core::ids::SessionId;
use insikt_core::{Lang, NewNote, NewSession, Store, StoreKey};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::time::{Duration, Instant};

const SESSIONS: usize = 200;
const NOTES: usize = 20_000;
const MEASURED: usize = 2_000;

const WORDS: &[&str] = &[
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
    "förstod",
    "hemma",
    "kompisar",
    "fotboll",
    "läxor",
    "sömn",
    "telefonen",
    "väntrummet",
    "frågade",
    "berättade",
    "ingen",
    "alltid",
    "ibland",
    "svårt",
    "bra",
    "tyst",
    "arg",
    "ledsen",
    "glad",
    "hjälp",
    "stöd",
    "familjen",
    "socialtjänsten",
    "utredning",
    "beslut",
    "förklara",
    "sms",
    "bussen",
    "kvällen",
    "helgen",
    "lärare",
];

fn sentence(rng: &mut StdRng) -> String {
    let n = rng.random_range(8..24);
    (0..n)
        .map(|_| WORDS[rng.random_range(0..WORDS.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn populate(store: &Store, rng: &mut StdRng) -> (insikt_core::ids::ProjectId, Vec<SessionId>) {
    let project = store
        .create_project("Benchmark", Lang::Sv, "Bench")
        .unwrap();
    let mut sessions = Vec::new();
    for i in 0..SESSIONS {
        let p = store
            .add_participant(
                &project,
                &format!("P-{i:03}"),
                ParticipantRole::YoungPerson,
                AgeBand::From13To15,
            )
            .unwrap();
        store
            .record_consent(&p, ConsentScope::Notes, GivenBy::Participant, "1")
            .unwrap();
        let input = NewSession {
            kind: SessionKind::Interview,
            title: format!("Intervju {i}"),
            participants: vec![p],
            place: Some("Fritidsgården".into()),
            guide: None,
            started_at: None,
        };
        sessions.push(store.start_session(&project, input).unwrap());
    }
    // Session by session, as interviews happen.
    for i in 0..NOTES {
        let text = sentence(rng);
        store
            .add_note(
                &sessions[i * SESSIONS / NOTES],
                NewNote::new(NoteKind::Plain, text),
            )
            .unwrap();
    }
    (project, sessions)
}

/// Captures `texts` into `sessions` in runs of `run` notes per session, opening each
/// session first as the app does when it shows it. Returns the capture times and the
/// session-open times, sorted.
fn capture(
    store: &Store,
    sessions: &[SessionId],
    texts: &[String],
    run: usize,
) -> (Vec<Duration>, Vec<Duration>) {
    let mut times = Vec::new();
    let mut opens = Vec::new();
    for (i, chunk) in texts.chunks(run).enumerate() {
        let session = &sessions[(i * 7) % sessions.len()];
        let t = Instant::now();
        store.open_session(session).unwrap();
        opens.push(t.elapsed());
        for text in chunk {
            let note = NewNote::new(NoteKind::Quote, text.clone());
            let t = Instant::now();
            store.add_note(session, note).unwrap();
            times.push(t.elapsed());
        }
    }
    times.sort();
    opens.sort();
    (times, opens)
}

/// The worst case: every note goes to a session whose documents are not in memory.
fn capture_cold(store: &Store, sessions: &[SessionId], texts: &[String]) -> Vec<Duration> {
    let mut times: Vec<Duration> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let note = NewNote::new(NoteKind::Quote, text.clone());
            let t = Instant::now();
            store
                .add_note(&sessions[(i * 37) % sessions.len()], note)
                .unwrap();
            t.elapsed()
        })
        .collect();
    times.sort();
    times
}

/// The baseline: one INSERT of the same text into a SQLCipher database configured
/// like the store (WAL, same synchronous level), one transaction per insert.
fn baseline(dir: &Path, key: &StoreKey, texts: &[String], sync: &str) -> Vec<Duration> {
    let conn = rusqlite::Connection::open(dir.join("baseline.db")).unwrap();
    let hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    conn.execute_batch(&format!(
        "PRAGMA key = \"x'{hex}'\"; PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync};"
    ))
    .unwrap();
    conn.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, session TEXT, text BLOB)")
        .unwrap();
    let mut times: Vec<Duration> = texts
        .iter()
        .map(|text| {
            let t = Instant::now();
            conn.execute(
                "INSERT INTO notes (session, text) VALUES ('s', ?1)",
                [text.as_bytes()],
            )
            .unwrap();
            t.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn main() {
    let mut rng = StdRng::seed_from_u64(2026);
    let dir = tempfile::tempdir().unwrap();
    let key = StoreKey::generate();
    let store_dir = dir.path().join("store");

    println!("Insikt store benchmark: {SESSIONS} sessions, {NOTES} notes (SQLCipher, WAL)");
    let t = Instant::now();
    let store = Store::open(&store_dir, &key).unwrap();
    let (project, sessions) = populate(&store, &mut rng);
    println!(
        "  populate: {:.1} s ({:.2} ms per note including setup)",
        t.elapsed().as_secs_f64(),
        ms(t.elapsed()) / NOTES as f64
    );

    // Let the journal worker finish the populate backlog before measuring.
    store.notes(&sessions[0]).unwrap();
    let texts: Vec<String> = (0..MEASURED).map(|_| sentence(&mut rng)).collect();
    let (cap, session_opens) = capture(&store, &sessions, &texts, 100);
    let t = Instant::now();
    store.notes(&sessions[0]).unwrap();
    let backlog = t.elapsed();
    let base = baseline(dir.path(), &key, &texts, "NORMAL");
    let (cap50, cap99, base50, base99) = (
        percentile(&cap, 0.5),
        percentile(&cap, 0.99),
        percentile(&base, 0.5),
        percentile(&base, 0.99),
    );
    println!("\nnote capture ({MEASURED} notes into the populated project; acknowledged = durable against a kill)");
    println!(
        "  insikt add_note    median {:.3} ms   p99 {:.3} ms   max {:.3} ms",
        ms(cap50),
        ms(cap99),
        ms(*cap.last().unwrap())
    );
    println!(
        "  plain insert       median {:.3} ms   p99 {:.3} ms",
        ms(base50),
        ms(base99)
    );
    println!(
        "  ratio              median {:.1}x      p99 {:.1}x",
        ms(cap50) / ms(base50),
        ms(cap99) / ms(base99)
    );
    println!("  targets            median <= 0.5 ms, p99 <= 5 ms");
    println!(
        "  journal: notes still pending after the last capture applied in {:.1} ms (the worker applies while capture goes on)",
        ms(backlog)
    );
    println!(
        "  opening a session for capture (loads its documents; outside the capture path): median {:.2} ms, max {:.2} ms",
        ms(percentile(&session_opens, 0.5)),
        ms(*session_opens.last().unwrap())
    );
    drop(store);
    let store = Store::open(&store_dir, &key).unwrap();
    let cold = capture_cold(&store, &sessions, &texts[..200]);
    println!(
        "  worst case, a note into a session not opened (document loaded on the spot): median {:.2} ms, p99 {:.2} ms",
        ms(percentile(&cold, 0.5)),
        ms(percentile(&cold, 0.99))
    );

    store.compact().unwrap();
    drop(store);
    let mut opens = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let store = Store::open(&store_dir, &key).unwrap();
        let projects = store.projects().unwrap();
        let sessions = store.sessions(&projects[0].id).unwrap();
        let first = store.notes(&sessions[0].id).unwrap();
        opens.push(t.elapsed());
        assert!(!first.is_empty());
    }
    opens.sort();
    println!("\ncold open (open + key check + project list + session list + first session's notes), 10 runs");
    println!(
        "  median {:.1} ms   max {:.1} ms   target <= 200 ms",
        ms(percentile(&opens, 0.5)),
        ms(*opens.last().unwrap())
    );

    let store = Store::open(&store_dir, &key).unwrap();
    let queries: Vec<String> = (0..300)
        .map(|i| match i % 3 {
            0 => WORDS[rng.random_range(0..WORDS.len())].to_string(),
            1 => format!(
                "{} {}",
                WORDS[rng.random_range(0..WORDS.len())],
                WORDS[rng.random_range(0..WORDS.len())]
            ),
            _ => WORDS[rng.random_range(0..WORDS.len())]
                .chars()
                .take(4)
                .collect(),
        })
        .collect();
    let mut searches = Vec::new();
    let mut hits = 0;
    for q in &queries {
        let t = Instant::now();
        hits += store.search(&project, q, 20).unwrap().len();
        searches.push(t.elapsed());
    }
    searches.sort();
    println!(
        "\nsearch (300 queries: one word, two words, a prefix; top 20 of {} notes)",
        NOTES + MEASURED
    );
    println!(
        "  p50 {:.2} ms   p99 {:.2} ms   ({} hits)   target p50 <= 5 ms",
        ms(percentile(&searches, 0.5)),
        ms(percentile(&searches, 0.99)),
        hits
    );

    generations(&store, &sessions[0], &mut rng);
    policy_checks(&store, &sessions[0], &mut rng);
    drop(store);
}

/// What the hub's judgement of one message costs (`insikt_core::policy`): the paths
/// its changes touch, the table, and reading what they touched as its type — against
/// reading the whole document.
fn policy_checks(store: &Store, session: &SessionId, rng: &mut StdRng) {
    use automerge::{AutoCommit, ROOT};
    use insikt_core::domain::{Note, NoteKind};
    use insikt_core::ids::{MemberId, NoteId};
    use insikt_core::policy::{self, schema, DocKind, Who, Writer};
    use insikt_core::DocKey;
    println!("\npolicy (the hub judging one message that adds a note; no target in the issues)");
    let key = DocKey::Session(session.clone());
    let bytes = store.document_bytes(&key).unwrap();
    let note = |rng: &mut StdRng| Note {
        id: NoteId::new(),
        kind: NoteKind::Observation,
        text: sentence(rng).into(),
        author: MemberId::new(),
        about: None,
        anchor: Default::default(),
        tags: Vec::new(),
        created_at: insikt_core::Timestamp(1),
        updated_at: insikt_core::Timestamp(1),
        deleted_at: None,
    };
    for notes in [1_000usize, 10_000] {
        let mut doc = AutoCommit::load(&bytes).unwrap();
        let map = match automerge::ReadDoc::get(&doc, ROOT, "notes").unwrap() {
            Some((_, id)) => id,
            None => unreachable!("a session has notes"),
        };
        for _ in 0..notes {
            note(rng).write_new(&mut doc, &map).unwrap();
            doc.commit();
        }
        let before = doc.get_heads();
        note(rng).write_new(&mut doc, &map).unwrap();
        doc.commit();
        let who = Who {
            writer: Writer::Researcher,
            member: None,
        };
        let t = Instant::now();
        let touches = policy::touched(&mut doc, &before).unwrap();
        policy::check(DocKind::Session, &who, &touches).unwrap();
        schema::check_touched(DocKind::Session, &doc, &touches).unwrap();
        let judged = t.elapsed();
        let t = Instant::now();
        schema::check_whole(DocKind::Session, &doc).unwrap();
        let whole = t.elapsed();
        println!(
            "  a session of {notes:>6} notes: judging the message {:.2} ms ({} paths); reading the whole session {:.0} ms",
            ms(judged),
            touches.len(),
            ms(whole)
        );
    }
}

/// What purging history costs (`store::generation`): the hub's look at a document's
/// history, its rebuild, and a device adopting the rebuilt document.
fn generations(store: &Store, session: &SessionId, rng: &mut StdRng) {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ROOT};
    use insikt_core::store::generation::{needs_new_generation, next_generation, RollPlan};
    use insikt_core::DocKey;
    println!(
        "
generations (purging a document's history; no target in the issues)"
    );
    let key = DocKey::Session(session.clone());
    let bytes = store.document_bytes(&key).unwrap();
    for notes in [1_000usize, 10_000] {
        // A session document as captured: one change per note, then 20 photos added
        // and deleted (what makes the hub rebuild it).
        let mut doc = AutoCommit::load(&bytes).unwrap();
        let map = match automerge::ReadDoc::get(&doc, ROOT, "notes").unwrap() {
            Some((_, id)) => id,
            None => doc.put_object(ROOT, "notes", ObjType::Map).unwrap(),
        };
        for i in 0..notes {
            let n = doc
                .put_object(&map, format!("bench-{i}"), ObjType::Map)
                .unwrap();
            doc.put(&n, "text", sentence(rng)).unwrap();
            doc.commit();
        }
        let attachments = match automerge::ReadDoc::get(&doc, ROOT, "attachments").unwrap() {
            Some((_, id)) => id,
            None => doc.put_object(ROOT, "attachments", ObjType::Map).unwrap(),
        };
        for i in 0..20 {
            let a = doc
                .put_object(&attachments, format!("a{i}"), ObjType::Map)
                .unwrap();
            doc.put(&a, "caption", sentence(rng)).unwrap();
            doc.commit();
        }
        for i in 0..20 {
            doc.delete(&attachments, format!("a{i}")).unwrap();
        }
        doc.commit();
        let size = doc.save().len();
        let t = Instant::now();
        let needed = needs_new_generation(&mut doc, &RollPlan::default()).unwrap();
        let look = t.elapsed();
        assert!(needed);
        let t = Instant::now();
        let mut next =
            next_generation(&mut doc, &RollPlan::default(), insikt_core::Timestamp(1)).unwrap();
        let rebuild = t.elapsed();
        let after = next.save().len();
        println!(
            "  {notes:>6} notes ({} kB): hub reads the history {:.0} ms, rebuilds {:.0} ms ({} kB after)",
            size / 1024,
            ms(look),
            ms(rebuild),
            after / 1024
        );
        if notes == 1_000 {
            // A device adopts it: carries over, replaces, re-indexes, in one transaction.
            let mut adopted = AutoCommit::load(&store.document_bytes(&key).unwrap()).unwrap();
            let mut next = next_generation(
                &mut adopted,
                &RollPlan::default(),
                insikt_core::Timestamp(1),
            )
            .unwrap();
            let t = Instant::now();
            store.adopt_generation(&key, &next.save()).unwrap();
            println!(
                "  a device adopting a rebuilt session of {} notes: {:.0} ms",
                store.notes(session).unwrap().len(),
                ms(t.elapsed())
            );
        }
    }
}
