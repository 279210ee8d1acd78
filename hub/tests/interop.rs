//! Interoperability with the stock automerge-repo packages (interop/package.json pins
//! them): a stock JS client reads and edits an Insikt document through the hub with
//! its device token in the URL, and is refused like anyone else without the right
//! token or role; and an Insikt device syncs through the stock
//! `@automerge/automerge-repo-sync-server` to another Insikt device.
//!
//! Needs Node.js and `npm ci --prefix interop` (scripts/test.sh runs it).

use automerge::ReadDoc;
use insikt_core::domain::{AgeBand, ConsentScope, GivenBy, NoteKind, ParticipantRole, SessionKind};
use insikt_core::sync::wire::DocumentId;
use insikt_core::sync::WsTransport;
use insikt_core::sync::{heads_of, stream, HubSyncOptions, Limits, Session, StoreDocuments};
use insikt_core::{DocKey, Lang, NewNote, NewSession, Store, StoreKey};
use insikt_hub::{HubConfig, Role, RunningHub};
use std::collections::BTreeMap;
use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long a JS client may take; node starts slowly on a small machine.
const CLIENT_TIMEOUT_SECS: u32 = 25;

/// interop/ at the repository root, after checking its packages are installed.
fn interop_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../interop");
    let modules = dir.join("node_modules/@automerge");
    assert!(
        modules.join("automerge-repo").is_dir()
            && modules.join("automerge-repo-network-websocket").is_dir()
            && modules.join("automerge-repo-sync-server").is_dir(),
        "the stock automerge-repo packages are not installed in {}: \
         run `npm ci --prefix interop` (scripts/test.sh does)",
        dir.join("node_modules").display()
    );
    dir
}

fn node() -> Command {
    let dir = interop_dir();
    let mut command = Command::new("node");
    command.current_dir(dir);
    command
}

/// Runs the stock JS client (interop/client.mjs) against `ws_url` for `doc`.
fn js_client(ws_url: &str, doc: &DocumentId, set: Option<&str>) -> Output {
    let mut command = node();
    command
        .arg("client.mjs")
        .arg(ws_url)
        .arg(doc.url())
        .args(["--timeout", &CLIENT_TIMEOUT_SECS.to_string()]);
    if let Some(set) = set {
        command.args(["--set", set]);
    }
    command
        .output()
        .expect("cannot run `node`: Node.js 20 or later must be on PATH")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn describe(out: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// The hub's sync endpoint as a stock client must name it: the token in the URL.
fn hub_ws(hub: &RunningHub, token: &str) -> String {
    format!(
        "{}/v1/sync?token={token}",
        hub.url.replacen("http://", "ws://", 1)
    )
}

fn enroll_token(hub: &RunningHub, org: &str, role: Role) -> String {
    let code = hub.hub.invite(org, role, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), &StoreKey::generate()).unwrap();
    s.enroll(&hub.url, &code, "interop").unwrap().token
}

fn sorted_heads(store: &Store, key: &DocKey) -> Vec<String> {
    let mut h = heads_of(&store.document_bytes(key).unwrap()).unwrap();
    h.sort();
    h
}

fn all_heads(store: &Store) -> BTreeMap<String, Vec<String>> {
    store
        .document_keys()
        .unwrap()
        .into_iter()
        .map(|k| {
            let h = sorted_heads(store, &k);
            (k.to_string(), h)
        })
        .collect()
}

/// A project with a participant, an interview session and notes on `store`.
fn field_material(store: &Store, name: &str) -> (insikt_core::ids::ProjectId, DocKey) {
    let project = store.create_project(name, Lang::Sv, "Sara").unwrap();
    store
        .set_canvas(
            &project,
            Some("Jag vill att unga ska känna sig trygga på fritiden"),
            Some("Unga 13-17 år"),
            None,
            None,
        )
        .unwrap();
    let p = store
        .add_participant(
            &project,
            "P-03",
            ParticipantRole::YoungPerson,
            AgeBand::From13To15,
        )
        .unwrap();
    store
        .record_consent(&p, ConsentScope::Notes, GivenBy::Participant, "v1")
        .unwrap();
    let session = store
        .start_session(
            &project,
            NewSession {
                kind: SessionKind::Interview,
                title: "Samtal i bilen".into(),
                participants: vec![p.clone()],
                place: None,
                guide: None,
                started_at: None,
            },
        )
        .unwrap();
    store
        .add_note(
            &session,
            NewNote::new(NoteKind::Quote, "Det är lättare att prata när man kör."),
        )
        .unwrap();
    store
        .add_note(
            &session,
            NewNote::new(NoteKind::Observation, "Tittar ut genom fönstret."),
        )
        .unwrap();
    (project, DocKey::Session(session))
}

/// A hub with the organisation Region Väst and Sara's phone enrolled as its
/// coordinator.
fn region_vast() -> (tempfile::TempDir, RunningHub, Store) {
    let dir = tempfile::tempdir().unwrap();
    let hub = RunningHub::start(&dir.path().join("hub"), HubConfig::default()).unwrap();
    hub.hub.add_org("Region Väst").unwrap();
    let sara = Store::open(&dir.path().join("sara"), &StoreKey::generate()).unwrap();
    let code = hub
        .hub
        .invite("Region Väst", Role::Coordinator, None)
        .unwrap();
    sara.enroll(&hub.url, &code, "Saras telefon").unwrap();
    (dir, hub, sara)
}

#[test]
fn a_stock_js_client_reads_and_edits_a_project_through_the_hub() {
    let (_dir, hub, sara) = region_vast();
    let project = sara
        .create_project("Trygg i bilen", Lang::Sv, "Sara")
        .unwrap();
    sara.set_canvas(
        &project,
        Some("Jag vill förstå hur unga upplever skjutsar"),
        None,
        None,
        None,
    )
    .unwrap();
    sara.sync_with_hub(&HubSyncOptions::default()).unwrap();

    // A researcher's token in the URL: the stock client finds the project and prints it.
    // (Invited into the project's team: only its team writes the project.)
    let token = {
        let code = hub
            .hub
            .invite_to_project("Region Väst", project.as_str(), Role::Researcher)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path(), &StoreKey::generate()).unwrap();
        s.enroll(&hub.url, &code, "interop").unwrap().token
    };
    let key = DocKey::Project(project.clone());
    let doc = DocumentId::of(&key);
    let out = js_client(&hub_ws(&hub, &token), &doc, None);
    assert!(
        out.status.success(),
        "the JS client failed: {}",
        describe(&out)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", describe(&out)));
    assert_eq!(json["name"], "Trygg i bilen");
    assert_eq!(json["id"], project.as_str());
    assert_eq!(
        json["canvas"]["purpose"],
        "Jag vill förstå hur unga upplever skjutsar"
    );

    // The stock client edits the project (a new root key); the edit reaches the hub and
    // from there Sara's phone.
    let before = sorted_heads(&sara, &key);
    let out = js_client(
        &hub_ws(&hub, &token),
        &doc,
        Some("js_note=skrivet av en vanlig automerge-repo-klient"),
    );
    assert!(
        out.status.success(),
        "the JS edit failed: {}",
        describe(&out)
    );
    sara.sync_with_hub(&HubSyncOptions::default()).unwrap();
    let after = sorted_heads(&sara, &key);
    assert_ne!(before, after, "the JS edit did not reach Sara's phone");
    let bytes = sara.document_bytes(&key).unwrap();
    let am = automerge::AutoCommit::load(&bytes).unwrap();
    // A string set by JS automerge 3 is a Text object, not a scalar string.
    let note = match am.get(automerge::ROOT, "js_note").unwrap() {
        Some((automerge::Value::Object(automerge::ObjType::Text), id)) => am.text(&id).ok(),
        Some((automerge::Value::Scalar(s), _)) => s.as_str().map(str::to_owned),
        _ => None,
    };
    assert!(
        note.as_deref()
            .is_some_and(|n| n.contains("skrivet av en vanlig automerge-repo-klient")),
        "js_note on Sara's phone: {note:?}"
    );
    // The project still reads as a project.
    assert_eq!(sara.project(&project).unwrap().name, "Trygg i bilen");
}

#[test]
fn a_stock_js_client_is_refused_without_the_right_token_or_role() {
    let (_dir, hub, sara) = region_vast();
    let (project, session) = field_material(&sara, "Ung i bilen");
    sara.sync_with_hub(&HubSyncOptions::default()).unwrap();
    let project_doc = DocumentId::of(&DocKey::Project(project));
    let session_doc = DocumentId::of(&session);

    // A wrong token: the upgrade is refused, the client never gets a document.
    let out = js_client(&hub_ws(&hub, "ikt_00"), &project_doc, None);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(text(&out.stderr).contains("401"), "{}", describe(&out));
    assert!(out.stdout.is_empty(), "{}", describe(&out));

    // A coach reads the project (the token works) but not a session.
    let coach = enroll_token(&hub, "Region Väst", Role::Coach);
    let out = js_client(&hub_ws(&hub, &coach), &project_doc, None);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stdout).contains("Ung i bilen"));
    let out = js_client(&hub_ws(&hub, &coach), &session_doc, None);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("unavailable"),
        "{}",
        describe(&out)
    );
    assert!(out.stdout.is_empty(), "{}", describe(&out));
}

#[test]
fn a_stock_js_client_connects_with_a_one_time_ticket_instead_of_its_token() {
    let (_dir, hub, sara) = region_vast();
    let project = sara.create_project("Biljetten", Lang::Sv, "Sara").unwrap();
    sara.sync_with_hub(&HubSyncOptions::default()).unwrap();

    // One HTTP call with the token in a header, then only the ticket in the URL (and
    // so in any proxy's access log).
    let token = enroll_token(&hub, "Region Väst", Role::Researcher);
    let ticket = || -> String {
        let answer: serde_json::Value = ureq::post(&format!("{}/v1/tickets", hub.url))
            .header("Authorization", &format!("Bearer {token}"))
            .send_empty()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        answer["ticket"].as_str().unwrap().to_string()
    };
    let url = |ticket: &str| {
        format!(
            "{}/v1/sync?ticket={ticket}",
            hub.url.replacen("http://", "ws://", 1)
        )
    };
    let doc = DocumentId::of(&DocKey::Project(project));
    let once = ticket();
    let out = js_client(&url(&once), &doc, None);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stdout).contains("Biljetten"),
        "{}",
        describe(&out)
    );
    // Used once: the same ticket again is refused like a wrong token.
    let out = js_client(&url(&once), &doc, None);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(text(&out.stderr).contains("401"), "{}", describe(&out));
}

/// The stock sync server as a child process, killed when dropped (also on a panic).
struct StockServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl StockServer {
    fn start(dir: &Path) -> StockServer {
        let data = dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.join("server.log");
        let out = File::create(&log).unwrap();
        let child = node()
            .arg("sync-server.mjs")
            .arg(port.to_string())
            .arg(&data)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("cannot run `node`: Node.js 20 or later must be on PATH");
        let mut server = StockServer { child, port, log };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the stock sync server exited ({status}): {}", server.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the stock sync server did not listen in time: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for StockServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn insikt_devices_sync_through_the_stock_sync_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = StockServer::start(dir.path());

    // Device A holds a project, a participant, a session and notes, and offers them all.
    let a = Store::open(&dir.path().join("a"), &StoreKey::generate()).unwrap();
    field_material(&a, "Ung i bilen");
    let keys = a.document_keys().unwrap();
    assert!(keys.len() >= 3, "{keys:?}");
    let mut session = Session::new(
        StoreDocuments::new(a.clone()).unwrap(),
        "insikt-a",
        Limits::default(),
    );
    let mut transport = WsTransport::connect_url(&server.url(), None).unwrap();
    stream::run(
        &mut session,
        &mut transport,
        true,
        Duration::from_millis(500),
        Duration::from_secs(20),
    )
    .unwrap_or_else(|e| panic!("device A: {e}\nserver: {}", server.log()));
    transport.close();

    // Device B holds nothing and asks for each of A's documents by name.
    let b = Store::open(&dir.path().join("b"), &StoreKey::generate()).unwrap();
    let mut session = Session::new(
        StoreDocuments::new(b.clone()).unwrap(),
        "insikt-b",
        Limits::default(),
    );
    for key in &keys {
        session.want(key.clone());
    }
    // And one document nobody has: the stock server answers that search with
    // `doc-unavailable` followed by an empty `sync`, which must not leave B holding an
    // empty document.
    let missing = DocKey::Inbox(insikt_core::ids::ParticipantId::new());
    session.want(missing.clone());
    let mut transport = WsTransport::connect_url(&server.url(), None).unwrap();
    let report = stream::run(
        &mut session,
        &mut transport,
        true,
        Duration::from_millis(500),
        Duration::from_secs(20),
    )
    .unwrap_or_else(|e| panic!("device B: {e}\nserver: {}", server.log()));
    transport.close();
    assert_eq!(report.unavailable, 1, "{report:?}");
    assert!(!b.has_document(&missing).unwrap(), "{report:?}");
    assert_eq!(b.document_keys().unwrap(), keys, "{report:?}");
    assert_eq!(all_heads(&b), all_heads(&a));
    drop(server);
}
