//! Sync benchmarks (a report, not a test).
//!
//! 1. Two replicas diverged by 1,000 notes each: round trips to converge, bytes on
//!    the wire against the size of the changes themselves, and time over loopback.
//!    Targets: ≤ 3 round trips, ≤ 1.3× the bytes of the changes.
//! 2. The hub (a child process) serving 100 devices at once, each on its own
//!    connection, 25 projects of four devices: edits per second through the hub,
//!    p50/p99 latency from an edit leaving a device to the hub's answer, and the
//!    hub's memory. Target: p99 ≤ 500 ms.
//! 3. Attacks by devices holding real tokens (issue 15): a 16 MiB `join` of empty
//!    strings, orphan changes, bloom filters for documents without end, a 200 MB
//!    upload streamed in and downloaded four times at once, a connection flood. The
//!    hub's peak memory (the child process's `VmHWM`) against a bound of 150 MiB.
//!
//! `cargo bench -p insikt-hub --bench sync` (`-- replicas`, `-- devices` or
//! `-- attacks` for one section)

use automerge::{Automerge, ChangeHash};
use insikt_core::domain::{
    AgeBand, ConsentScope, GivenBy, MemberRole, NoteKind, ParticipantRole, SessionKind,
};
use insikt_core::ids::{ProjectId, SessionId};
use insikt_core::sync::wire::{DocumentId, Message};
use insikt_core::sync::{
    run, Limits, Session, StoreDocuments, TcpTransport, Transport, WsTransport,
};
use insikt_core::{DocKey, Lang, NewNote, NewSession, Store, StoreKey};
use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

#[path = "../tests/common/mod.rs"]
mod common;
use common::forge::{
    bloom, connect_when_free, have_message, join_of_empty_strings, orphan_changes, random_bytes,
    sync_message_with,
};
use common::ChildHub;

/// The organisation the hub benchmarks enroll their devices in.
const ORG: &str = "Bänkkommunen";

const NOTES: usize = 1000;

fn open(dir: &Path, name: &str) -> Store {
    Store::open(&dir.join(name), &StoreKey::generate()).unwrap()
}

/// A coordinator's store with a project and a two-person session, and a second
/// member's store holding the same documents.
fn pair(dir: &Path) -> (Store, Store, ProjectId, SessionId) {
    let a = open(dir, "a");
    let b = open(dir, "b");
    let project = a.create_project("Bänk", Lang::Sv, "A").unwrap();
    a.add_member_with_id(&project, b.me().clone(), "B", MemberRole::Researcher)
        .unwrap();
    let mut who = Vec::new();
    for code in ["P-01", "P-02"] {
        let p = a
            .add_participant(
                &project,
                code,
                ParticipantRole::YoungPerson,
                AgeBand::From16To17,
            )
            .unwrap();
        a.record_consent(&p, ConsentScope::Notes, GivenBy::Participant, "v1")
            .unwrap();
        who.push(p);
    }
    let session = a
        .start_session(
            &project,
            NewSession {
                kind: SessionKind::Observation,
                title: "Workshop".into(),
                participants: who,
                place: None,
                guide: None,
                started_at: None,
            },
        )
        .unwrap();
    for key in a.document_keys().unwrap() {
        b.merge_document(&key, &a.document_bytes(&key).unwrap())
            .unwrap();
    }
    (a, b, project, session)
}

fn heads(store: &Store, key: &DocKey) -> Vec<ChangeHash> {
    Automerge::load(&store.document_bytes(key).unwrap())
        .unwrap()
        .get_heads()
}

/// Field-note-like text that does not compress to nothing: words drawn at random.
fn note_text(rng: &mut impl rand::Rng, who: &str) -> String {
    const WORDS: &[&str] = &[
        "väntrummet",
        "handläggaren",
        "brevet",
        "mamma",
        "skolan",
        "fritidsledaren",
        "rädd",
        "lugn",
        "sms",
        "mötet",
        "förstod",
        "inte",
        "kändes",
        "tryggt",
        "frågade",
        "ingen",
        "svarade",
        "dagen",
        "efter",
        "kuratorn",
        "tid",
        "orolig",
        "berättade",
        "själv",
    ];
    let n = rng.random_range(8..16);
    let words: Vec<&str> = (0..n)
        .map(|_| WORDS[rng.random_range(0..WORDS.len())])
        .collect();
    format!("{who}: {} {}", words.join(" "), rng.random::<u32>())
}

fn diverge(store: &Store, session: &SessionId, who: &str) {
    let mut rng = rand::rng();
    for _ in 0..NOTES {
        store
            .add_note(
                session,
                NewNote::new(NoteKind::Observation, note_text(&mut rng, who)),
            )
            .unwrap();
    }
}

/// The new changes themselves: the sum of each change's own encoding, as automerge
/// stores and sends a change.
fn change_bytes(store: &Store, key: &DocKey, before: &[ChangeHash]) -> usize {
    let doc = Automerge::load(&store.document_bytes(key).unwrap()).unwrap();
    doc.get_changes(before)
        .iter()
        .map(|c| c.raw_bytes().len())
        .sum()
}

fn diverged_pair() -> (Store, Store, DocKey, usize) {
    let dir = tempfile::tempdir().unwrap().keep();
    let (a, b, _, session) = pair(&dir);
    let key = DocKey::Session(session.clone());
    let before = heads(&a, &key);
    diverge(&a, &session, "A");
    diverge(&b, &session, "B");
    let changes = change_bytes(&a, &key, &before) + change_bytes(&b, &key, &before);
    (a, b, key, changes)
}

fn replicas() {
    println!("== two replicas diverged by {NOTES} notes each ==");
    // Round trips and bytes: both sides deliver everything in flight at once, a
    // round per direction.
    let (a, b, key, changes) = diverged_pair();
    let mut sa = Session::new(
        StoreDocuments::new(a.clone()).unwrap(),
        "a",
        Limits::default(),
    );
    let mut sb = Session::new(
        StoreDocuments::new(b.clone()).unwrap(),
        "b",
        Limits::default(),
    );
    let mut to_b: VecDeque<Vec<u8>> = sa.start(true).into();
    let mut to_a: VecDeque<Vec<u8>> = sb.start(false).into();
    let (mut rounds, mut wire, mut handshake_bytes) = (0usize, 0usize, 0usize);
    while !to_a.is_empty() || !to_b.is_empty() {
        rounds += 1;
        let (now_a, now_b): (Vec<_>, Vec<_>) = (to_a.drain(..).collect(), to_b.drain(..).collect());
        for f in now_b {
            wire += f.len();
            if rounds == 1 {
                handshake_bytes += f.len();
            }
            to_a.extend(sb.receive(f));
        }
        for f in now_a {
            wire += f.len();
            to_b.extend(sa.receive(f));
        }
    }
    assert_eq!(heads(&a, &key), heads(&b, &key), "converged");
    println!(
        "  the changes themselves (2 × {NOTES} notes, each change's own encoding): {changes} bytes"
    );
    println!(
        "  on the wire: {wire} bytes in {} frames = {:.2}× the changes (join/peer handshake {handshake_bytes} bytes)",
        sa.report().frames_sent + sb.report().frames_sent,
        wire as f64 / changes as f64
    );
    println!(
        "  one-way deliveries until quiet: {rounds} → {} round trips, the handshake's included",
        rounds.div_ceil(2)
    );

    // Time over loopback: a fresh diverged pair, a TCP socket, a thread each side.
    let (a, b, key, _) = diverged_pair();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let started = Instant::now();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut t = TcpTransport::new(stream, 64 << 20);
        let mut s = Session::new(
            StoreDocuments::new(b.clone()).unwrap(),
            "b",
            Limits::default(),
        );
        run(
            &mut s,
            &mut t,
            false,
            Duration::from_millis(50),
            Duration::from_secs(60),
        )
        .unwrap();
        b
    });
    let mut t = TcpTransport::new(std::net::TcpStream::connect(addr).unwrap(), 64 << 20);
    let mut s = Session::new(
        StoreDocuments::new(a.clone()).unwrap(),
        "a",
        Limits::default(),
    );
    run(
        &mut s,
        &mut t,
        true,
        Duration::from_millis(50),
        Duration::from_secs(60),
    )
    .unwrap();
    let b = server.join().unwrap();
    let total = started.elapsed();
    assert_eq!(heads(&a, &key), heads(&b, &key), "converged over loopback");
    println!(
        "  over loopback TCP: converged and settled in {:.0} ms (includes the 50 ms quiet period that ends a session)",
        total.as_secs_f64() * 1000.0
    );
}

/// The hub's CPU time so far (user + system), in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

const PROJECTS: usize = 25;
const PER_PROJECT: usize = 4;
const EDITS: usize = 20;

fn hundred_devices() {
    println!(
        "== the hub serving {} devices ({PROJECTS} projects × {PER_PROJECT}) ==",
        PROJECTS * PER_PROJECT
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    std::fs::create_dir_all(&data).unwrap();
    // Organisations are made before the hub serves (one process at a time on setup).
    let hub = ChildHub::start(&data, ORG);
    let (rss0, _) = hub.memory_kib();
    let mut devices: Vec<(Store, SessionId)> = Vec::new();
    let setup = Instant::now();
    for p in 0..PROJECTS {
        let lead = open(dir.path(), &format!("p{p}-lead"));
        lead.enroll(&hub.url, &hub.invite(ORG, "coordinator"), "lead")
            .unwrap();
        let project = lead
            .create_project(&format!("Projekt {p}"), Lang::Sv, "Lead")
            .unwrap();
        let members: Vec<Store> = (1..PER_PROJECT)
            .map(|i| open(dir.path(), &format!("p{p}-m{i}")))
            .collect();
        for m in &members {
            lead.add_member_with_id(&project, m.me().clone(), "M", MemberRole::Researcher)
                .unwrap();
        }
        let child = lead
            .add_participant(
                &project,
                "P-01",
                ParticipantRole::Child,
                AgeBand::From10To12,
            )
            .unwrap();
        lead.record_consent(&child, ConsentScope::Notes, GivenBy::Guardian, "v1")
            .unwrap();
        let mut sessions = Vec::new();
        for (i, _) in std::iter::once(&lead).chain(members.iter()).enumerate() {
            sessions.push(
                lead.start_session(
                    &project,
                    NewSession {
                        kind: SessionKind::Observation,
                        title: format!("Observation {i}"),
                        participants: vec![child.clone()],
                        place: None,
                        guide: None,
                        started_at: None,
                    },
                )
                .unwrap(),
            );
        }
        lead.sync_with_hub(&Default::default()).unwrap();
        for m in &members {
            m.enroll(&hub.url, &hub.invite(ORG, "researcher"), "m")
                .unwrap();
            m.sync_with_hub(&Default::default()).unwrap();
        }
        devices.push((lead, sessions[0].clone()));
        for (m, s) in members.into_iter().zip(sessions.into_iter().skip(1)) {
            devices.push((m, s));
        }
    }
    println!(
        "  set-up: {} devices enrolled and synced in {:.1} s",
        devices.len(),
        setup.elapsed().as_secs_f64()
    );

    // The load: each device's current material document goes to a light client (an
    // automerge document and a socket, no store), so that the hub, not 100 stores on
    // two cores, is what gets measured. Every device opens its connection, syncs its
    // document, and when all are ready they edit at once.
    let barrier = Arc::new(Barrier::new(devices.len() + 1));
    let mut threads = Vec::new();
    for (store, session) in devices {
        let barrier = barrier.clone();
        let e = store.enrollment().unwrap().unwrap();
        let about = store_first_participant(&store, &session);
        let mut first = NewNote::new(NoteKind::Observation, "Första anteckningen");
        first.about = Some(about.clone());
        store.add_note(&session, first).unwrap();
        let material = DocKey::Material(session.clone(), about);
        let bytes = store.document_bytes(&material).unwrap();
        drop(store);
        threads.push(std::thread::spawn(move || {
            light_client(e, material, bytes, barrier)
        }));
    }
    barrier.wait();
    let started = Instant::now();
    let cpu0 = cpu_seconds(hub.child.id());
    let (_, hwm_during) = hub.memory_kib();
    let mut all: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let wall = started.elapsed();
    let hub_cpu = cpu_seconds(hub.child.id()) - cpu0;
    let (rss, hwm) = hub.memory_kib();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "  {} edits in {:.2} s: {:.0} edits/s through the hub (each fanned out to the project's other three devices, its team)",
        all.len(),
        wall.as_secs_f64(),
        all.len() as f64 / wall.as_secs_f64()
    );
    println!(
        "  latency edit → hub's answer: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target p99 ≤ 500 ms)",
        pct(0.5).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
        all[all.len() - 1].as_secs_f64() * 1000.0
    );
    println!(
        "  hub memory: RSS {:.1} MiB at start, {:.1} MiB after; peak {:.1} MiB (peak {:.1} MiB when the edits began)",
        rss0 as f64 / 1024.0,
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0,
        hwm_during as f64 / 1024.0
    );
    println!(
        "  hub CPU during the edits: {hub_cpu:.1} s of {:.1} s wall = {:.2} ms per edit (clients run in this process on the same 2 cores)",
        wall.as_secs_f64(),
        hub_cpu * 1000.0 / all.len() as f64
    );
}

/// A device reduced to one automerge document and a WebSocket: syncs it, then makes
/// `EDITS` changes, timing each from sending it to the hub's answer about it.
fn light_client(
    e: insikt_core::store::HubEnrollment,
    key: DocKey,
    bytes: Vec<u8>,
    barrier: Arc<Barrier>,
) -> Vec<Duration> {
    use automerge::sync::SyncDoc;
    use automerge::transaction::Transactable;
    let ours = DocumentId::of(&key);
    let mut doc = automerge::AutoCommit::load(&bytes).unwrap();
    let mut state = automerge::sync::State::new();
    let mut t = WsTransport::connect(&e.url, &e.token).unwrap();
    let me = e.device_id.clone();
    let mut hub_id = String::new();
    let send_doc = |t: &mut WsTransport,
                    doc: &mut automerge::AutoCommit,
                    state: &mut automerge::sync::State,
                    hub: &str| {
        if let Some(m) = doc.sync().generate_sync_message(state) {
            let msg = Message::Sync {
                sender: me.clone(),
                target: hub.to_string(),
                doc: ours,
                data: m.encode(),
            };
            t.send(&msg.encode()).unwrap();
            true
        } else {
            false
        }
    };
    t.send(
        &Message::Join {
            sender: e.device_id.clone(),
            versions: vec!["1".into()],
            metadata: None,
        }
        .encode(),
    )
    .unwrap();
    // Handles one frame; true when it was the hub's message about our document.
    let take = |t: &mut WsTransport,
                doc: &mut automerge::AutoCommit,
                state: &mut automerge::sync::State,
                hub_id: &mut String,
                f: Vec<u8>|
     -> bool {
        match Message::decode(&f, 1 << 26).unwrap() {
            Message::Peer { sender, .. } => {
                *hub_id = sender;
                send_doc(t, doc, state, hub_id);
                false
            }
            Message::Sync { doc: d, data, .. } if d == ours => {
                let m = automerge::sync::Message::decode(&data).unwrap();
                doc.sync().receive_sync_message(state, m).unwrap();
                send_doc(t, doc, state, hub_id);
                true
            }
            // Other documents of the project: this light client does not keep them.
            _ => false,
        }
    };
    // Initial sync: until the hub has nothing more to say about our document.
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        match t.recv(Duration::from_millis(300)).unwrap() {
            Some(f) => {
                take(&mut t, &mut doc, &mut state, &mut hub_id, f);
            }
            None if !hub_id.is_empty() => break,
            None => assert!(Instant::now() < until, "no handshake"),
        }
    }
    barrier.wait();
    let mut latencies = Vec::new();
    let notes = doc
        .put_object(automerge::ROOT, "bench_notes", automerge::ObjType::Map)
        .unwrap();
    for i in 0..EDITS {
        doc.put(
            &notes,
            format!("note-{i}"),
            format!("Ändring {i}: väntrummet kändes tryggare efter att handläggaren svarat på sms"),
        )
        .unwrap();
        doc.commit();
        let sent = Instant::now();
        if !send_doc(&mut t, &mut doc, &mut state, &hub_id) {
            continue;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(
                Instant::now() < deadline,
                "no answer from the hub within 30 s"
            );
            if let Some(f) = t.recv(Duration::from_millis(100)).unwrap() {
                if take(&mut t, &mut doc, &mut state, &mut hub_id, f) {
                    latencies.push(sent.elapsed());
                    break;
                }
            }
        }
    }
    t.close();
    latencies
}

fn store_first_participant(store: &Store, session: &SessionId) -> insikt_core::ids::ParticipantId {
    let project = store.project_of_session(session).unwrap();
    store
        .sessions(&project)
        .unwrap()
        .into_iter()
        .find(|s| &s.id == session)
        .and_then(|s| s.participants.first().cloned())
        .unwrap()
}

/// The bound the attacks section reports against.
const ATTACK_BOUND_MIB: u64 = 150;

fn attacks() {
    use common::raw::{connect, handshake, read_until, send_sync};
    println!("== attacks on the hub (bound: {ATTACK_BOUND_MIB} MiB peak) ==");
    let dir = tempfile::tempdir().unwrap();
    let hub = ChildHub::start(&dir.path().join("hub"), ORG);
    let sara = open(dir.path(), "sara");
    sara.enroll(&hub.url, &hub.invite(ORG, "coordinator"), "Sara")
        .unwrap();
    let project = sara.create_project("Rasten", Lang::Sv, "Sara").unwrap();
    let session = sara
        .start_session(
            &project,
            NewSession {
                kind: SessionKind::Observation,
                title: "Rasten".into(),
                participants: vec![],
                place: None,
                guide: None,
                started_at: None,
            },
        )
        .unwrap();
    sara.sync_with_hub(&Default::default()).unwrap();
    let attackers: Vec<String> = (0..3)
        .map(|i| {
            let s = open(dir.path(), &format!("x{i}"));
            s.enroll(&hub.url, &hub.invite(ORG, "researcher"), "x")
                .unwrap()
                .token
        })
        .collect();
    hub.reset_peak();
    let (rss0, _) = hub.memory_kib();
    println!("  hub at rest: RSS {:.1} MiB", rss0 as f64 / 1024.0);
    // Each phase's own peak: the kernel's high-water mark is started over before it.
    let worst = std::cell::Cell::new(0u64);
    let report = |what: &str, started: Instant| {
        let (rss, hwm) = hub.memory_kib();
        worst.set(worst.get().max(hwm));
        println!(
            "  {what}: {:.1} s; hub peak {:.1} MiB, RSS after {:.1} MiB",
            started.elapsed().as_secs_f64(),
            hwm as f64 / 1024.0,
            rss as f64 / 1024.0
        );
        hub.reset_peak();
    };
    let honest = |what: &str| {
        let started = Instant::now();
        sara.add_note(&session, NewNote::new(NoteKind::Observation, what))
            .unwrap();
        sara.sync_with_hub(&Default::default()).unwrap();
        started.elapsed()
    };

    // 1. Four 16 MiB joins of empty strings at once (all one device may open), three
    //    rounds.
    let started = Instant::now();
    let frame = join_of_empty_strings(16 << 20);
    for _ in 0..3 {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (url, t, frame) = (hub.url.clone(), attackers[0].clone(), frame.clone());
                std::thread::spawn(move || {
                    let mut s = connect_when_free(&url, &t);
                    s.send(tungstenite::Message::Binary(frame.into())).unwrap();
                    read_until(&mut s, |_| false).unwrap_err()
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
    report(
        "12 joins of 16 MiB of empty strings (4 at a time), each refused",
        started,
    );

    // 2. Orphan changes: twenty of a megabyte on one connection, then ten more on
    //    each of three devices' connections at once.
    let started = Instant::now();
    let key = DocKey::Session(session.clone());
    let doc_id = DocumentId::of(&key);
    let mut base = automerge::AutoCommit::load(&sara.document_bytes(&key).unwrap()).unwrap();
    let mut refused = 0;
    {
        let mut s = connect_when_free(&hub.url, &attackers[0]);
        handshake(&mut s, "x");
        for half in orphan_changes(&mut base, 20, "first").chunks(10) {
            send_sync(
                &mut s,
                "x",
                doc_id,
                sync_message_with(vec![], half.to_vec()),
            );
        }
        if read_until(&mut s, |m| matches!(m, Message::DocUnavailable { .. })).is_ok() {
            refused += 1;
        }
    }
    let threads: Vec<_> = attackers
        .iter()
        .map(|t| {
            let (url, t, changes) = (
                hub.url.clone(),
                t.clone(),
                orphan_changes(&mut base, 10, "more"),
            );
            std::thread::spawn(move || {
                let mut s = connect_when_free(&url, &t);
                handshake(&mut s, "x");
                send_sync(&mut s, "x", doc_id, sync_message_with(vec![], changes));
                // Held open a moment, so that all three are on the hub at once.
                let answer = read_until(&mut s, |m| matches!(m, Message::DocUnavailable { .. }));
                answer.is_ok()
            })
        })
        .collect();
    refused += threads
        .into_iter()
        .map(|t| usize::from(t.join().unwrap()))
        .sum::<usize>();
    report(
        &format!("50 orphan changes of 1 MB on four connections ({refused} refused)"),
        started,
    );

    // 3. Bloom filters of a megabyte for one unknown document after another, on every
    //    connection three devices may open.
    let started = Instant::now();
    let bloom = have_message(&bloom(838_000, 10, 7));
    let threads: Vec<_> = (0..12)
        .map(|i| {
            let (url, t, bloom) = (hub.url.clone(), attackers[i % 3].clone(), bloom.clone());
            std::thread::spawn(move || {
                let mut s = connect_when_free(&url, &t);
                handshake(&mut s, "x");
                for n in 0u32..64 {
                    let mut id = [0u8; 16];
                    id[..4].copy_from_slice(&n.to_be_bytes());
                    id[4] = i as u8;
                    id[6] = 0x40;
                    id[8] = 0x80;
                    let m = Message::Sync {
                        sender: "x".into(),
                        target: "insikt-hub".into(),
                        doc: DocumentId::from_bytes(id),
                        data: bloom.clone(),
                    };
                    // Closed by the hub (this connection kept the most): done.
                    let sent = s.send(tungstenite::Message::Binary(m.encode().into()));
                    if sent.is_err()
                        || read_until(&mut s, |m| matches!(m, Message::Sync { .. })).is_err()
                    {
                        return n;
                    }
                }
                64
            })
        })
        .collect();
    let kept: Vec<u32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    report(
        &format!(
            "12 connections sending 1 MB bloom filters for new documents (closed after {:?})",
            kept
        ),
        started,
    );

    // 4. A 200 MB recording uploaded in 8 MiB pieces, then downloaded four times at
    //    once, a fifth refused; uploads of 64 MiB from the three other devices meanwhile.
    let started = Instant::now();
    let big = random_bytes(200 << 20);
    let hash = insikt_media::BlobHash::of(&big).to_hex();
    let token = sara.enrollment().unwrap().unwrap().token;
    let put = |token: &str, bytes: &[u8], project: &str| {
        let hash = insikt_media::BlobHash::of(bytes).to_hex();
        let agent = ureq::Agent::new_with_defaults();
        for (i, piece) in bytes.chunks(8 << 20).enumerate() {
            agent
                .put(&format!(
                    "{}/v1/blobs/{hash}?project={project}&offset={}&total={}",
                    hub.url,
                    i * (8 << 20),
                    bytes.len()
                ))
                .header("Authorization", &format!("Bearer {token}"))
                .send(piece)
                .unwrap();
        }
    };
    std::thread::scope(|scope| {
        scope.spawn(|| put(&token, &big, project.as_str()));
        for t in &attackers {
            scope.spawn(|| put(t, &random_bytes(64 << 20), project.as_str()));
        }
    });
    report("a 200 MB upload and three of 64 MB at once", started);
    attach_recording(&sara, &session, &hash, big.len() as u64);
    sara.sync_with_hub(&Default::default()).unwrap();
    let started = Instant::now();
    let url = format!("{}/v1/blobs/{hash}", hub.url);
    let get = |token: &str| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent()
            .get(&url)
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap()
    };
    let open_downloads: Vec<_> = (0..4).map(|_| get(&token)).collect();
    let fifth = get(&token).status().as_u16();
    let mut equal = 0;
    for mut r in open_downloads {
        let body = r
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .unwrap();
        equal += usize::from(body == big);
    }
    drop(big);
    report(
        &format!("four 200 MB downloads at once ({equal} complete), a fifth answered {fifth}"),
        started,
    );

    // 5. A connection flood from one device.
    let started = Instant::now();
    let mut kept = Vec::new();
    let mut refused = 0;
    for _ in 0..200 {
        match connect(&hub.url, Some(&attackers[1]), false) {
            Ok(s) => kept.push(s),
            Err(_) => refused += 1,
        }
    }
    report(
        &format!(
            "200 connections from one device: {} open, {refused} refused",
            kept.len()
        ),
        started,
    );
    drop(kept);

    let took = honest("after the attacks");
    let (rss, _) = hub.memory_kib();
    let hwm = worst.get();
    println!(
        "  the coordinator syncs afterwards in {:.0} ms; hub RSS {:.1} MiB; highest peak {:.1} MiB (bound {ATTACK_BOUND_MIB} MiB: {})",
        took.as_secs_f64() * 1000.0,
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0,
        if hwm < ATTACK_BOUND_MIB * 1024 { "within" } else { "OVER" }
    );
}

/// Attaches a recording the hub holds for the project to a session, as the app does
/// once its upload finished.
fn attach_recording(store: &Store, session: &SessionId, hash: &str, bytes: u64) {
    use insikt_core::domain::{Attachment, AttachmentKind, StoredBlob};
    let key = DocKey::Session(session.clone());
    let mut doc = automerge::AutoCommit::load(&store.document_bytes(&key).unwrap()).unwrap();
    let a = Attachment {
        id: insikt_core::ids::AttachmentId::new(),
        kind: AttachmentKind::Audio,
        caption: Default::default(),
        appears: vec![],
        mime: "audio/mp4".into(),
        thumbnail: None,
        preview: None,
        original: StoredBlob {
            hash: hash.into(),
            bytes,
            width: 0,
            height: 0,
        },
        redacted: false,
        author: store.me().clone(),
        created_at: insikt_core::Timestamp::now(),
    };
    let mut map: std::collections::BTreeMap<String, Attachment> =
        autosurgeon::hydrate_prop(&doc, automerge::ROOT, "attachments").unwrap_or_default();
    map.insert(a.id.as_str().to_string(), a);
    autosurgeon::reconcile_prop(&mut doc, automerge::ROOT, "attachments", &map).unwrap();
    store.merge_document(&key, &doc.save()).unwrap();
}

/// Runs every section, or those named: `cargo bench -p insikt-hub --bench sync --
/// attacks`.
fn main() {
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |section: &str| named.is_empty() || named.iter().any(|n| n == section);
    if run("replicas") {
        replicas();
    }
    if run("devices") {
        hundred_devices();
    }
    if run("attacks") {
        attacks();
    }
}
