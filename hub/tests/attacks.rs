//! The hub against devices that hold real tokens and misuse them (issue 15, findings
//! 3–7 and 9). Each test is the attack — raw frames or HTTP with the attacking role's
//! own token, against a hub the test starts — and shows it refused or bounded, and
//! the honest devices syncing on afterwards.

mod common;

use automerge::sync::SyncDoc;
use automerge::transaction::Transactable;
use common::forge::{
    bloom, connect_when_free, have_message, join_of_empty_strings, leb, orphan_changes,
    orphan_changes_of, random_bytes, sync_message_with,
};
use common::raw::{
    connect, connect_url, handshake, read_until, read_within, send, send_sync, sync_doc,
};
use common::{rasten, sync, ChildHub, Rasten};
use insikt_core::domain::{Attachment, SessionKind};
use insikt_core::ids::{AttachmentId, ProjectId, SessionId};
use insikt_core::sync::wire::{DocumentId, Message};
use insikt_core::{DocKey, Lang, NewPhoto, NewSession, Store, StoreKey};
use insikt_hub::{HubConfig, Role, RunningHub};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tungstenite::Message as Ws;

/// A hub with Region Syd's team (see `common::rasten`): Sara, Omar, and P-04's phone.
struct Team {
    dir: tempfile::TempDir,
    hub: RunningHub,
    r: Rasten,
}

fn team(config: HubConfig) -> Team {
    let dir = tempfile::tempdir().unwrap();
    let hub = RunningHub::start(&dir.path().join("hub"), config).unwrap();
    hub.hub.add_org("Region Syd").unwrap();
    let keys = [
        StoreKey::generate(),
        StoreKey::generate(),
        StoreKey::generate(),
    ];
    let r = rasten(
        &hub,
        dir.path(),
        [&keys[0], &keys[1], &keys[2]],
        Some("Hej!"),
    );
    sync(&r.sara);
    Team { dir, hub, r }
}

impl Team {
    fn hub_dir(&self) -> PathBuf {
        self.dir.path().join("hub")
    }

    /// A device of `org` in `role`, enrolled (through its store, as the app does).
    fn device(&self, org: &str, role: Role, name: &str) -> Store {
        let s = Store::open(&self.dir.path().join(name), &StoreKey::generate()).unwrap();
        let code = self.hub.hub.invite(org, role, None).unwrap();
        s.enroll(&self.hub.url, &code, name).unwrap();
        s
    }

    /// A device of Region Syd on the team of Rasten's project in `role` (need to
    /// know: only the team gets a project's material).
    fn member(&self, role: Role, name: &str) -> Store {
        self.member_of("Region Syd", &self.r.project, role, name)
    }

    /// A device of `org` on the team of `project` in `role`.
    fn member_of(&self, org: &str, project: &ProjectId, role: Role, name: &str) -> Store {
        let s = Store::open(&self.dir.path().join(name), &StoreKey::generate()).unwrap();
        common::join_team(&self.hub, &s, org, project, role);
        s
    }

    /// Omar interviews P-04 and photographs a drawing; returns the session and the
    /// photo.
    fn photo_session(&self) -> (SessionId, Attachment) {
        let omar = &self.r.omar;
        let session = start_session(omar, &self.r.project, vec![self.r.p04.clone()]);
        let id = omar
            .add_photo(
                &session,
                &insikt_media::sample::phone_photo(640, 480, 1),
                NewPhoto {
                    caption: "Teckning".into(),
                    appears: vec![self.r.p04.clone()],
                    redactions: vec![],
                },
            )
            .unwrap();
        sync(omar);
        sync(&self.r.sara);
        let (_, photo) = omar.attachment(&id).unwrap();
        (session, photo)
    }

    /// Whether the hub's blob directory holds `hash` at all.
    fn hub_holds_file(&self, hash: &str) -> bool {
        let dir = self.hub_dir();
        let key = std::fs::read_to_string(dir.join("hub.key")).unwrap();
        let key: [u8; 32] = hex::decode(key.trim()).unwrap().try_into().unwrap();
        insikt_media::BlobStore::open(&dir.join("blobs"), &key)
            .unwrap()
            .contains(&hash.parse().unwrap())
            .unwrap()
    }
}

fn start_session(
    store: &Store,
    project: &ProjectId,
    participants: Vec<insikt_core::ids::ParticipantId>,
) -> SessionId {
    store
        .start_session(
            project,
            NewSession {
                kind: SessionKind::Interview,
                title: "Samtal".into(),
                participants,
                place: None,
                guide: None,
                started_at: None,
            },
        )
        .unwrap()
}

fn token(store: &Store) -> String {
    store.enrollment().unwrap().unwrap().token
}

/// Puts `attachment` (under a new id) into a session document on `store`, as a
/// modified app would.
fn forge_attachment(store: &Store, session: &SessionId, mut attachment: Attachment) {
    let key = DocKey::Session(session.clone());
    let mut doc = automerge::AutoCommit::load(&store.document_bytes(&key).unwrap()).unwrap();
    attachment.id = AttachmentId::new();
    let mut map: std::collections::BTreeMap<String, Attachment> =
        autosurgeon::hydrate_prop(&doc, automerge::ROOT, "attachments").unwrap_or_default();
    map.insert(attachment.id.as_str().to_string(), attachment);
    autosurgeon::reconcile_prop(&mut doc, automerge::ROOT, "attachments", &map).unwrap();
    store.merge_document(&key, &doc.save()).unwrap();
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// `GET url` with a bearer token: the status and the body.
fn get(url: &str, token: &str) -> (u16, Vec<u8>) {
    let mut r = agent()
        .get(url)
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap_or_default();
    (status, body)
}

/// `GET url` as JSON.
fn get_json(url: &str, token: &str) -> (u16, serde_json::Value) {
    let (status, body) = get(url, token);
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// `PUT /v1/blobs/{hash}?…` of one piece: the status and the JSON answer.
fn put_piece(
    hub: &str,
    token: &str,
    hash: &str,
    query: &str,
    piece: &[u8],
) -> (u16, serde_json::Value) {
    let mut r = agent()
        .put(&format!("{hub}/v1/blobs/{hash}?{query}"))
        .header("Authorization", &format!("Bearer {token}"))
        .send(piece)
        .unwrap();
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_vec().unwrap_or_default();
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// Uploads `bytes` whole for `project` in pieces of at most 8 MiB; the last answer.
fn upload(hub: &str, token: &str, project: &str, bytes: &[u8]) -> (u16, serde_json::Value) {
    let hash = insikt_media::BlobHash::of(bytes).to_hex();
    let mut offset = 0;
    loop {
        let end = (offset + (8 << 20)).min(bytes.len());
        let answer = put_piece(
            hub,
            token,
            &hash,
            &format!("project={project}&offset={offset}&total={}", bytes.len()),
            &bytes[offset..end],
        );
        offset = end;
        if answer.0 != 200 || offset >= bytes.len() {
            return answer;
        }
    }
}

/// Waits up to ten seconds for `done`.
fn wait_for(done: impl Fn() -> bool) -> bool {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > Duration::from_secs(10) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

// ---------------------------------------------------------------------------------
// Finding 3: a blob's hash was a bearer key across organisations, and outlived
// erasure.

#[test]
fn another_organisations_reference_to_a_photo_gets_nothing_and_an_erasure_leaves_nothing() {
    let t = team(HubConfig::default());
    let (_session, photo) = t.photo_session();
    let hashes: Vec<String> = photo.hashes().into_iter().map(str::to_string).collect();
    assert_eq!(hashes.len(), 3);

    // Another organisation's coordinator and researcher learn the hashes and put
    // them in an attachment of their own session.
    t.hub.hub.add_org("Kommun Öst").unwrap();
    let bea = t.device("Kommun Öst", Role::Coordinator, "bea");
    let theirs = bea.create_project("Öst", Lang::Sv, "Bea").unwrap();
    let p = bea
        .add_participant(
            &theirs,
            "P-90",
            insikt_core::domain::ParticipantRole::YoungPerson,
            insikt_core::domain::AgeBand::From13To15,
        )
        .unwrap();
    let their_session = start_session(&bea, &theirs, vec![p]);
    forge_attachment(&bea, &their_session, photo.clone());
    sync(&bea);
    let ebba = t.member_of("Kommun Öst", &theirs, Role::Researcher, "ebba");
    sync(&ebba);
    assert!(ebba
        .has_document(&DocKey::Session(their_session.clone()))
        .unwrap());
    for h in &hashes {
        for who in [&bea, &ebba] {
            let (status, body) = get(&format!("{}/v1/blobs/{h}", t.hub.url), &token(who));
            assert_eq!(status, 404, "another organisation read A's photo");
            assert!(body.len() < 100);
        }
    }
    assert!(!ebba.has_blob(&photo.original.hash).unwrap());

    // Region Syd's own devices still get it.
    let rut = t.member(Role::Reviewer, "rut");
    sync(&rut);
    assert!(rut.has_blob(&photo.original.hash).unwrap());

    // P-04 withdraws and Sara erases them: nobody gets the photo any more, and the
    // hub's file is gone, though Kommun Öst's session still names it.
    t.r.sara.erase_participant(&t.r.p04).unwrap();
    sync(&t.r.sara);
    for h in &hashes {
        for who in [&t.r.sara, &t.r.omar, &bea, &ebba] {
            let (status, _) = get(&format!("{}/v1/blobs/{h}", t.hub.url), &token(who));
            assert_eq!(status, 404);
        }
        assert!(!t.hub_holds_file(h), "the erased photo's file survived");
    }
    // Everyone syncs on.
    sync(&t.r.omar);
    sync(&bea);
    sync(&ebba);
    assert!(!t.r.omar.has_blob(&photo.original.hash).unwrap());
}

#[test]
fn the_same_bytes_in_two_organisations_are_two_projects_blobs() {
    let t = team(HubConfig::default());
    let (_session, photo) = t.photo_session();
    let original = t.r.omar.blob(&photo.original.hash).unwrap();

    // Kommun Öst's coordinator really holds the same bytes (say the photo was sent
    // to her) and uploads them for her own project, as its devices do.
    t.hub.hub.add_org("Kommun Öst").unwrap();
    let bea = t.device("Kommun Öst", Role::Coordinator, "bea");
    let theirs = bea.create_project("Öst", Lang::Sv, "Bea").unwrap();
    let their_session = start_session(&bea, &theirs, vec![]);
    forge_attachment(&bea, &their_session, photo.clone());
    sync(&bea);
    let url = format!("{}/v1/blobs/{}", t.hub.url, photo.original.hash);
    assert_eq!(get(&url, &token(&bea)).0, 404);
    // She has to send every byte: the hub does not say it has them.
    let (status, answer) = upload(&t.hub.url, &token(&bea), theirs.as_str(), &original);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["complete"], true);
    assert_eq!(get(&url, &token(&bea)), (200, original.clone()));

    // Region Syd erases P-04: its devices no longer get the photo; Kommun Öst keeps
    // its own upload.
    t.r.sara.erase_participant(&t.r.p04).unwrap();
    sync(&t.r.sara);
    assert_eq!(get(&url, &token(&t.r.sara)).0, 404);
    assert_eq!(get(&url, &token(&t.r.omar)).0, 404);
    assert_eq!(get(&url, &token(&bea)), (200, original));
    // And the other renditions, which only Region Syd held, are gone.
    let thumb = photo.thumbnail.as_ref().unwrap().hash.clone();
    assert!(!t.hub_holds_file(&thumb));
    sync(&t.r.omar);
    sync(&bea);
}

// ---------------------------------------------------------------------------------
// Finding 4: any uploader could ask whether the hub holds a file.

#[test]
fn status_and_put_reveal_no_blob_the_device_may_not_read() {
    let t = team(HubConfig::default());
    let (_session, photo) = t.photo_session();
    let h = &photo.original.hash;
    let status_url = |project: Option<&ProjectId>| match project {
        Some(p) => format!("{}/v1/blobs/{h}/status?project={}", t.hub.url, p.as_str()),
        None => format!("{}/v1/blobs/{h}/status", t.hub.url),
    };

    t.hub.hub.add_org("Kommun Öst").unwrap();
    let bea = t.device("Kommun Öst", Role::Coordinator, "bea");
    let theirs = bea.create_project("Öst", Lang::Sv, "Bea").unwrap();
    sync(&bea);
    let fresh = serde_json::json!({ "complete": false, "received": 0 });
    // Asked for her own project (named, or the only one she has): nothing there.
    assert_eq!(
        get_json(&status_url(Some(&theirs)), &token(&bea)),
        (200, fresh.clone())
    );
    assert_eq!(
        get_json(&status_url(None), &token(&bea)),
        (200, fresh.clone())
    );
    // Asked for Region Syd's project: no such project, as far as she may know.
    assert_eq!(
        get_json(&status_url(Some(&t.r.project)), &token(&bea)).0,
        404
    );
    // A first piece is taken as the start of her own upload, never answered
    // "complete".
    let total = photo.original.bytes;
    let (status, answer) = put_piece(
        &t.hub.url,
        &token(&bea),
        h,
        &format!("project={}&offset=0&total={total}", theirs.as_str()),
        &[0u8; 10],
    );
    assert_eq!(
        (status, answer),
        (
            200,
            serde_json::json!({ "complete": false, "received": 10 })
        )
    );
    let (status, _) = put_piece(
        &t.hub.url,
        &token(&bea),
        h,
        &format!("project={}&offset=0&total={total}", t.r.project.as_str()),
        &[0u8; 10],
    );
    assert_eq!(status, 404);

    // P-04's own phone may upload to the project, but its inbox does not hold the
    // interview photo: it learns nothing either.
    let phone = token(&t.r.phone);
    assert_eq!(
        get_json(&status_url(Some(&t.r.project)), &phone),
        (200, fresh.clone())
    );
    // Omar, who may read the photo, need not send it again.
    assert_eq!(
        get_json(&status_url(Some(&t.r.project)), &token(&t.r.omar)),
        (
            200,
            serde_json::json!({ "complete": true, "received": null })
        )
    );
    // A device of an earlier version names no project: with two projects, the hub
    // takes the one whose documents refer to the blob.
    t.r.sara.create_project("Andra", Lang::Sv, "Sara").unwrap();
    sync(&t.r.sara);
    assert_eq!(
        get_json(&status_url(None), &token(&t.r.sara)),
        (
            200,
            serde_json::json!({ "complete": true, "received": null })
        )
    );
    let unknown = insikt_media::BlobHash::of(b"nobody refers to this").to_hex();
    let (status, _) = get_json(
        &format!("{}/v1/blobs/{unknown}/status", t.hub.url),
        &token(&t.r.sara),
    );
    assert_eq!(
        status, 400,
        "with two projects and no reference it must be named"
    );
    assert!(t.r.sara.has_blob(h).unwrap());
}

// ---------------------------------------------------------------------------------
// Finding 5: one message made the hub use ~50× its size in memory.

#[test]
fn a_join_frame_full_of_empty_strings_is_refused_at_once_and_the_hub_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let hub = ChildHub::start(&dir.path().join("hub"), "Region Syd");
    let sara = Store::open(&dir.path().join("sara"), &StoreKey::generate()).unwrap();
    sara.enroll(&hub.url, &hub.invite("Region Syd", "coordinator"), "Sara")
        .unwrap();
    sara.create_project("Rasten", Lang::Sv, "Sara").unwrap();
    sync(&sara);
    let attacker = Store::open(&dir.path().join("x"), &StoreKey::generate()).unwrap();
    let t = attacker
        .enroll(&hub.url, &hub.invite("Region Syd", "researcher"), "x")
        .unwrap()
        .token;
    let frame = join_of_empty_strings(16 << 20);
    assert!(frame.len() <= 16 << 20);
    let (rss0, _) = hub.memory_kib();
    // Four connections at once (all this device may open), twice.
    for _ in 0..2 {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (url, t, frame) = (hub.url.clone(), t.clone(), frame.clone());
                std::thread::spawn(move || {
                    let mut s = connect_when_free(&url, &t);
                    let started = Instant::now();
                    s.send(Ws::Binary(frame.into())).unwrap();
                    let reason = read_until(&mut s, |_| false).unwrap_err();
                    (started.elapsed(), reason)
                })
            })
            .collect();
        for th in threads {
            let (took, reason) = th.join().unwrap();
            assert!(reason.contains("supportedProtocolVersions"), "{reason}");
            assert!(took < Duration::from_secs(5), "refused after {took:?}");
        }
    }
    let (rss, hwm) = hub.memory_kib();
    eprintln!(
        "hub memory: {} MiB before, {} MiB after, peak {} MiB",
        rss0 / 1024,
        rss / 1024,
        hwm / 1024
    );
    assert!(hwm < 150 * 1024, "the hub's peak was {} MiB", hwm / 1024);
    // The team syncs on.
    sara.add_participant(
        &sara.projects().unwrap()[0].id,
        "P-01",
        insikt_core::domain::ParticipantRole::Child,
        insikt_core::domain::AgeBand::From10To12,
    )
    .unwrap();
    sync(&sara);
}

// ---------------------------------------------------------------------------------
// Finding 6: memory grew with what an attacker sent and stayed after it left.

#[test]
fn orphan_changes_are_capped_never_stored_and_leave_with_their_connection() {
    let t = team(HubConfig::default());
    let session = start_session(&t.r.sara, &t.r.project, vec![t.r.p04.clone()]);
    sync(&t.r.sara);
    let key = DocKey::Session(session.clone());
    let doc_id = DocumentId::of(&key);
    let mut base = automerge::AutoCommit::load(&t.r.sara.document_bytes(&key).unwrap()).unwrap();
    let attacker = t.member(Role::Researcher, "x");
    sync(&attacker);
    let orphans = orphan_changes(&mut base, 20, "forged");

    // Ten orphans of a megabyte: kept for now (a real sync may leave some for a
    // round trip), but counted.
    let mut s = connect(&t.hub.url, Some(&token(&attacker)), false).unwrap();
    handshake(&mut s, "x");
    send_sync(
        &mut s,
        "x",
        doc_id,
        sync_message_with(vec![], orphans[..10].to_vec()),
    );
    let held = wait_for(|| t.hub.hub.held().waiting_change_bytes >= 10 << 20);
    assert!(held, "the hub did not take the orphans");

    // Meanwhile an honest peer writes 70 times: the hub stores the document, and
    // rewrites it as one snapshot on the way, without the orphans.
    let honest = t.member(Role::Researcher, "honest");
    sync(&honest);
    let mut h = connect(&t.hub.url, Some(&token(&honest)), false).unwrap();
    handshake(&mut h, "honest");
    let mut mine = base.fork();
    let mut state = automerge::sync::State::new();
    assert!(!sync_doc(&mut h, "honest", doc_id, &mut mine, &mut state));
    for i in 0..70 {
        mine.put(automerge::ROOT, "honest_edit", i).unwrap();
        mine.commit();
        assert!(!sync_doc(&mut h, "honest", doc_id, &mut mine, &mut state));
    }

    // Ten more orphans are over what a connection may leave: the document is
    // refused to the sender and dropped from memory.
    send_sync(
        &mut s,
        "x",
        doc_id,
        sync_message_with(vec![], orphans[10..].to_vec()),
    );
    read_within(
        &mut s,
        Duration::from_secs(30),
        |m| matches!(m, Message::DocUnavailable { doc, .. } if *doc == doc_id),
    )
    .expect("the document is refused to the sender");
    assert_eq!(t.hub.hub.held().waiting_change_bytes, 0);

    // Another ten on a new connection, which then closes: freed with it.
    let mut s2 = connect(&t.hub.url, Some(&token(&attacker)), false).unwrap();
    handshake(&mut s2, "x2");
    let more = orphan_changes(&mut base, 10, "again");
    send_sync(&mut s2, "x2", doc_id, sync_message_with(vec![], more));
    assert!(wait_for(
        || t.hub.hub.held().waiting_change_bytes >= 10 << 20
    ));
    drop(s2);
    assert!(
        wait_for(|| t.hub.hub.held().waiting_change_bytes == 0),
        "not freed with the connection"
    );

    // What the hub stored loads without anything waiting, and holds no forged key.
    let stored: Vec<u8> = t
        .hub
        .hub
        .admin(|c| {
            Ok(c.query_row(
                "SELECT data FROM documents WHERE doc_id = ?1",
                [doc_id.to_string()],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert!(stored.len() < 1 << 20, "{} bytes stored", stored.len());
    let stored = automerge::AutoCommit::load(&stored).unwrap();
    assert!(
        stored.get_missing_deps(&[]).is_empty(),
        "orphans in the snapshot"
    );
    let increments: i64 = t
        .hub
        .hub
        .admin(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM doc_changes WHERE doc_id = ?1",
                [doc_id.to_string()],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert!(
        increments < 64,
        "no snapshot was written ({increments} increments)"
    );
    // The team syncs on, and the session reads as before with the honest edits.
    sync(&t.r.sara);
    let hers = automerge::AutoCommit::load(&t.r.sara.document_bytes(&key).unwrap()).unwrap();
    use automerge::ReadDoc;
    assert!(hers.get(automerge::ROOT, "honest_edit").unwrap().is_some());
    assert!(hers.get(automerge::ROOT, "forged-0").unwrap().is_none());
}

#[test]
fn new_documents_that_never_name_themselves_leave_nothing_behind() {
    let t = team(HubConfig::default());
    let x = t.member(Role::Researcher, "x");
    sync(&x);
    let loaded = t.hub.hub.held().loaded_documents;
    let mut s = connect(&t.hub.url, Some(&token(&x)), false).unwrap();
    handshake(&mut s, "x");
    // Three hundred documents the hub has never seen, each brought as changes that
    // wait for one never sent (more than the 256 a connection could once leave
    // half-built): the hub answers each, builds no document of them, and holds their
    // changes with the connection only, within its share, until it closes.
    let mut seed = automerge::AutoCommit::new();
    seed.put(automerge::ROOT, "schema", 1).unwrap();
    seed.commit();
    for i in 0..300u32 {
        let changes = orphan_changes_of(&mut seed, 1, 1 << 10, "new");
        let mut id = [0u8; 16];
        id[..4].copy_from_slice(&i.to_be_bytes());
        id[6] = 0x40;
        id[8] = 0x80;
        let doc = DocumentId::from_bytes(id);
        send_sync(&mut s, "x", doc, sync_message_with(vec![], changes));
        read_until(
            &mut s,
            |m| matches!(m, Message::Sync { doc: d, .. } if *d == doc),
        )
        .expect("the hub answers and the connection goes on");
    }
    let held = t.hub.hub.held();
    assert!(held.waiting_change_bytes <= 300 * 2048, "{held:?}");
    assert!(held.loaded_documents <= loaded + 5, "{held:?}");
    // What is left is each document's sync state on this connection, counted.
    assert!(held.peer_state_bytes <= 300 * 1024, "{held:?}");
    drop(s);
    assert!(wait_for(|| t.hub.hub.held().peer_state_bytes == 0));
    assert!(wait_for(|| t.hub.hub.held().waiting_change_bytes == 0));
    sync(&t.r.sara);
}

#[test]
fn what_a_peer_says_in_sync_messages_is_held_to_a_budget() {
    let t = team(HubConfig::default());
    let x = t.member(Role::Researcher, "x");
    sync(&x);
    let unknown = |i: u32| {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&i.to_be_bytes());
        b[6] = 0x40; // a version-4 UUID, as a stock client makes
        b[8] = 0x80;
        DocumentId::from_bytes(b)
    };

    // Bloom filters of a megabyte (valid ones) for document after document: the
    // connection is closed once it would keep more than its share.
    let mut s = connect(&t.hub.url, Some(&token(&x)), false).unwrap();
    handshake(&mut s, "x");
    let big = have_message(&bloom(838_000, 10, 7));
    let mut sent = 0;
    let closed = loop {
        let doc = unknown(sent);
        send_sync(&mut s, "x", doc, big.clone());
        sent += 1;
        // The answer about this document (a later frame about an earlier one is not).
        match read_until(
            &mut s,
            |m| matches!(m, Message::Sync { doc: d, .. } if *d == doc),
        ) {
            Ok(_) => assert!(sent < 40, "the hub kept {sent} MB of bloom filters"),
            Err(reason) => break reason,
        }
    };
    assert!(closed.contains("sync state"), "{closed}");
    assert!((10..=20).contains(&sent), "closed after {sent}");
    assert!(
        wait_for(|| t.hub.hub.held().peer_state_bytes == 0),
        "not freed with the connection"
    );

    // Filters that would crash automerge, and lists of empty elements: refused at
    // once, the hub unharmed.
    let floods: Vec<(Vec<u8>, &str)> = vec![
        (have_message(&bloom(1, 0, 7)), "bloom"),
        (have_message(&bloom(1, 10, u32::MAX)), "bloom"),
        (
            {
                let mut m = vec![0x42, 0, 0];
                leb(&mut m, 4 << 20);
                m.resize(m.len() + (8 << 20), 0);
                m
            },
            "have",
        ),
        (
            {
                let mut m = vec![0x42, 0, 0, 0];
                leb(&mut m, 8 << 20);
                m.resize(m.len() + (8 << 20), 0);
                m
            },
            "changes",
        ),
    ];
    for (data, what) in floods {
        let mut s = connect(&t.hub.url, Some(&token(&x)), false).unwrap();
        handshake(&mut s, "x");
        let started = Instant::now();
        send_sync(&mut s, "x", unknown(1), data);
        let reason = read_until(&mut s, |_| false).unwrap_err();
        assert!(reason.contains(what), "{reason}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    sync(&t.r.sara);
    sync(&t.r.omar);
}

// ---------------------------------------------------------------------------------
// Finding 7: blocking work on the async threads; no caps on downloads or
// connections, no idle timeout.

#[test]
fn connections_downloads_and_uploads_are_shared_fairly() {
    let t = team(HubConfig {
        idle_timeout: Duration::from_secs(1),
        ..HubConfig::default()
    });
    let omar = token(&t.r.omar);

    // Four connections per device; a fifth is refused until one closes.
    let mut open: Vec<_> = (0..4)
        .map(|i| {
            let mut s = connect(&t.hub.url, Some(&omar), false).unwrap();
            handshake(&mut s, &format!("omar-{i}"));
            s
        })
        .collect();
    assert_eq!(connect(&t.hub.url, Some(&omar), false).err(), Some(429));
    // A connection that goes quiet is closed: these four sent nothing for a while
    // and never answered a ping.
    std::thread::sleep(Duration::from_millis(2500));
    for s in &mut open {
        assert!(read_until(s, |_| false).is_err());
    }
    drop(open);
    let mut s = connect_when_free(&t.hub.url, &omar);
    handshake(&mut s, "omar");
    drop(s);

    // A 20 MB recording, uploaded in pieces for the project and attached to a
    // session: streamed in, streamed out.
    let session = start_session(&t.r.omar, &t.r.project, vec![]);
    let big = random_bytes(20 << 20);
    let hash = insikt_media::BlobHash::of(&big).to_hex();
    let (status, answer) = upload(&t.hub.url, &omar, t.r.project.as_str(), &big);
    assert_eq!(
        (status, answer["complete"].clone()),
        (200, serde_json::json!(true))
    );
    let (_, mut recording) = t.photo_session();
    recording.thumbnail = None;
    recording.preview = None;
    recording.original.hash = hash.clone();
    recording.original.bytes = big.len() as u64;
    forge_attachment(&t.r.omar, &session, recording);
    sync(&t.r.omar);

    // Four downloads at once per device: a fifth waits its turn (429) while four
    // are held open by a client that does not read.
    let url = format!("{}/v1/blobs/{hash}", t.hub.url);
    let sara = token(&t.r.sara);
    let held: Vec<_> = (0..4)
        .map(|_| {
            agent()
                .get(&url)
                .header("Authorization", &format!("Bearer {sara}"))
                .call()
                .unwrap()
        })
        .collect();
    assert!(held.iter().all(|r| r.status() == 200));
    assert_eq!(get(&url, &sara).0, 429);
    // Another device is not held up.
    assert_eq!(get(&url, &omar), (200, big.clone()));
    for mut r in held {
        let body = r
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .unwrap();
        assert_eq!(body.len(), big.len());
        assert!(body == big);
    }
    assert_eq!(get(&url, &sara), (200, big));
    sync(&t.r.sara);
}

// ---------------------------------------------------------------------------------
// Finding 9: unlimited unreferenced uploads, uploads restarted by another device,
// audit rows under any member.

#[test]
fn a_participants_phone_cannot_fill_the_hub_with_files_nothing_uses() {
    let t = team(HubConfig::default());
    let phone = token(&t.r.phone);
    let mut outcomes = Vec::new();
    for _ in 0..10 {
        let blob = random_bytes(4 << 20);
        // No project named: the phone's own.
        let hash = insikt_media::BlobHash::of(&blob).to_hex();
        let (status, _) = put_piece(
            &t.hub.url,
            &phone,
            &hash,
            &format!("offset=0&total={}", blob.len()),
            &blob,
        );
        outcomes.push(status);
    }
    assert_eq!(outcomes, [200, 200, 200, 200, 200, 200, 200, 200, 413, 413]);
    // A team device's quota is larger.
    let omar = token(&t.r.omar);
    for _ in 0..10 {
        let blob = random_bytes(4 << 20);
        assert_eq!(
            upload(&t.hub.url, &omar, t.r.project.as_str(), &blob).0,
            200
        );
    }
    // Unused files leave with the daily clean-up; the phone may upload again.
    assert_eq!(t.hub.hub.collect_blob_garbage(Duration::ZERO).unwrap(), 18);
    let blob = random_bytes(4 << 20);
    assert_eq!(
        upload(&t.hub.url, &phone, t.r.project.as_str(), &blob).0,
        200
    );
    sync(&t.r.sara);
}

#[test]
fn an_upload_belongs_to_the_device_that_started_it() {
    let t = team(HubConfig::default());
    let project = t.r.project.as_str();
    let omar = token(&t.r.omar);
    let rut = t.member(Role::Researcher, "rut");
    // Her first connection puts her on the team.
    sync(&rut);
    let rut = token(&rut);
    let blob = random_bytes(3 << 20);
    let hash = insikt_media::BlobHash::of(&blob).to_hex();
    let total = blob.len();
    // Omar sends the first megabyte.
    let (status, answer) = put_piece(
        &t.hub.url,
        &omar,
        &hash,
        &format!("project={project}&offset=0&total={total}"),
        &blob[..1 << 20],
    );
    assert_eq!(
        (status, answer["received"].clone()),
        (200, serde_json::json!(1 << 20))
    );
    // Rut announces the same hash with another total: that starts her own upload,
    // not a restart of his.
    let (status, answer) = put_piece(
        &t.hub.url,
        &rut,
        &hash,
        &format!("project={project}&offset=0&total={}", total + 1),
        &[0u8; 100],
    );
    assert_eq!(
        (status, answer["received"].clone()),
        (200, serde_json::json!(100))
    );
    let status_url = format!("{}/v1/blobs/{hash}/status?project={project}", t.hub.url);
    assert_eq!(get_json(&status_url, &omar).1["received"], 1 << 20);
    let (status, answer) = put_piece(
        &t.hub.url,
        &omar,
        &hash,
        &format!("project={project}&offset={}&total={total}", 1 << 20),
        &blob[1 << 20..],
    );
    assert_eq!(
        (status, answer["complete"].clone()),
        (200, serde_json::json!(true))
    );
    sync(&t.r.omar);
}

#[test]
fn a_device_enrolled_without_a_member_id_writes_audit_rows_only_as_itself() {
    let t = team(HubConfig::default());
    // A client that enrolls without saying which member it writes for.
    let code = t
        .hub
        .hub
        .invite("Region Syd", Role::Researcher, None)
        .unwrap();
    let enrolled: serde_json::Value = agent()
        .post(&format!("{}/v1/enroll", t.hub.url))
        .send_json(serde_json::json!({ "code": code, "label": "raw" }))
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let raw = enrolled["token"].as_str().unwrap().to_string();
    let device = enrolled["device_id"].as_str().unwrap().to_string();
    // It reports a note as written by Sara.
    let row = serde_json::json!([{
        "seq": 1, "at": insikt_core::Timestamp::now().0, "project": t.r.project.as_str(),
        "member": t.r.sara.me().as_str(), "action": "note", "participant": t.r.p04.as_str(),
        "detail": ""
    }]);
    let answer: serde_json::Value = agent()
        .post(&format!("{}/v1/audit", t.hub.url))
        .header("Authorization", &format!("Bearer {raw}"))
        .send_json(&row)
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(answer["accepted"], 1);
    // The coordinator's log shows the row under the device, not under Sara.
    let log = t.r.sara.hub_audit_log(&t.r.project).unwrap();
    let theirs: Vec<_> = log
        .iter()
        .filter(|e| e.device.as_deref() == Some(device.as_str()))
        .collect();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].member.as_str(), format!("device:{device}"));
    assert!(log
        .iter()
        .filter(|e| e.member == *t.r.sara.me())
        .all(|e| e.device.as_deref() != Some(device.as_str())));
}

// ---------------------------------------------------------------------------------
// Tokens in URLs: a one-time ticket instead.

#[test]
fn a_one_time_ticket_stands_in_for_the_token_in_the_url() {
    let t = team(HubConfig::default());
    let omar = token(&t.r.omar);
    let ticket = |bearer: Option<&str>| {
        let mut req = agent().post(&format!("{}/v1/tickets", t.hub.url));
        if let Some(b) = bearer {
            req = req.header("Authorization", &format!("Bearer {b}"));
        }
        let mut r = req.send_empty().unwrap();
        let status = r.status().as_u16();
        let body: serde_json::Value = r.body_mut().read_json().unwrap_or_default();
        (
            status,
            body["ticket"].as_str().unwrap_or_default().to_string(),
        )
    };
    let ws = |ticket: &str| {
        format!(
            "{}/v1/sync?ticket={ticket}",
            t.hub.url.replacen("http://", "ws://", 1)
        )
    };
    assert_eq!(ticket(None).0, 401);
    let (status, one) = ticket(Some(&omar));
    assert_eq!(status, 200);
    let mut s = connect_url(&ws(&one)).unwrap();
    handshake(&mut s, "omar-js");
    // Once only; the token itself is no ticket.
    assert_eq!(connect_url(&ws(&one)).err(), Some(401));
    assert_eq!(connect_url(&ws(&omar)).err(), Some(401));
    // A ticket of a device revoked meanwhile is refused.
    let rut = t.member(Role::Researcher, "rut");
    let (_, theirs) = ticket(Some(&token(&rut)));
    let id = rut.enrollment().unwrap().unwrap().device_id;
    t.hub.hub.revoke(&id, None).unwrap();
    assert_eq!(connect_url(&ws(&theirs)).err(), Some(401));
    // The ticket's connection syncs like any other.
    let project = DocumentId::of(&DocKey::Project(t.r.project.clone()));
    let mut am = automerge::AutoCommit::new();
    let mut state = automerge::sync::State::new();
    send(
        &mut s,
        &Message::Request {
            sender: "omar-js".into(),
            target: "insikt-hub".into(),
            doc: project,
            data: am
                .sync()
                .generate_sync_message(&mut state)
                .unwrap()
                .encode(),
        },
    );
    assert!(!sync_doc(&mut s, "omar-js", project, &mut am, &mut state));
    use automerge::ReadDoc;
    assert!(am.get(automerge::ROOT, "name").unwrap().is_some());
}
