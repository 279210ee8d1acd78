//! Sync benchmarks (a report, not a test).
//!
//! 1. Two replicas diverged by 1,000 notes each: round trips to converge, bytes on
//!    the wire against the size of the changes themselves, and time over loopback.
//!    Targets: ≤ 3 round trips, ≤ 1.3× the bytes of the changes.
//! 2. The hub (a child process) serving 100 devices at once, each on its own
//!    connection, 25 projects of four devices: edits per second through the hub,
//!    p50/p99 latency from an edit leaving a device to the hub's answer, and the
//!    hub's memory. Target: p99 ≤ 500 ms.
//!
//! `cargo bench -p insikt-hub --bench sync`

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
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

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

struct HubProcess {
    child: Child,
    url: String,
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_hub(data: &Path) -> HubProcess {
    let bin = env!("CARGO_BIN_EXE_insikt-hub");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = |args: &[&str]| {
        let out = Command::new(bin)
            .arg("--data")
            .arg(data)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    run(&["org", "add", "Bänkkommunen"]);
    let child = Command::new(bin)
        .arg("--data")
        .arg(data)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    HubProcess { child, url }
}

fn invite(data: &Path, role: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_insikt-hub"))
        .arg("--data")
        .arg(data)
        .args(["invite", "--org", "Bänkkommunen", "--role", role])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
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

fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
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
    let hub = start_hub(&data);
    let (rss0, _) = memory_kib(hub.child.id());
    let mut devices: Vec<(Store, SessionId)> = Vec::new();
    let setup = Instant::now();
    for p in 0..PROJECTS {
        let lead = open(dir.path(), &format!("p{p}-lead"));
        lead.enroll(&hub.url, &invite(&data, "coordinator"), "lead")
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
            m.enroll(&hub.url, &invite(&data, "researcher"), "m")
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
    let (_, hwm_during) = memory_kib(hub.child.id());
    let mut all: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let wall = started.elapsed();
    let hub_cpu = cpu_seconds(hub.child.id()) - cpu0;
    let (rss, hwm) = memory_kib(hub.child.id());
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

fn main() {
    replicas();
    hundred_devices();
}
