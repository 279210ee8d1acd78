//! Every refusal the hub owes: no token, a wrong token, a revoked device (also in the
//! middle of a connection), a participant asking for project material, a blob no
//! readable document references, oversized and forged messages — and the hub keeps
//! serving everyone else.

use insikt_core::domain::{AgeBand, ConsentScope, GivenBy, ParticipantRole};
use insikt_core::sync::wire::{DocumentId, Message};
use insikt_core::sync::HubSyncOptions;
use insikt_core::{DocKey, Error, Lang, Store, StoreKey};
use insikt_hub::{HubConfig, Role, RunningHub};
use std::time::{Duration, Instant};
use tungstenite::Message as Ws;

mod common;
use common::raw::{connect, handshake, read_until, send};

struct World {
    _dir: tempfile::TempDir,
    hub: RunningHub,
    sara: Store,
    project: insikt_core::ids::ProjectId,
    participant: insikt_core::ids::ParticipantId,
}

fn world(config: HubConfig) -> World {
    let dir = tempfile::tempdir().unwrap();
    let hub = RunningHub::start(&dir.path().join("hub"), config).unwrap();
    hub.hub.add_org("Region Norr").unwrap();
    let sara = Store::open(&dir.path().join("sara"), &StoreKey::generate()).unwrap();
    let code = hub
        .hub
        .invite("Region Norr", Role::Coordinator, None)
        .unwrap();
    sara.enroll(&hub.url, &code, "Sara").unwrap();
    let project = sara.create_project("Ung röst", Lang::Sv, "Sara").unwrap();
    let participant = sara
        .add_participant(
            &project,
            "P-01",
            ParticipantRole::YoungPerson,
            AgeBand::From16To17,
        )
        .unwrap();
    sara.record_consent(
        &participant,
        ConsentScope::Notes,
        GivenBy::Participant,
        "v1",
    )
    .unwrap();
    sara.send_message(&participant, "Hej!").unwrap();
    sara.sync_with_hub(&HubSyncOptions::default()).unwrap();
    World {
        _dir: dir,
        hub,
        sara,
        project,
        participant,
    }
}

fn enroll_token(w: &World, role: Role, participant: Option<&str>) -> String {
    let code = w.hub.hub.invite("Region Norr", role, participant).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), &StoreKey::generate()).unwrap();
    s.enroll(&w.hub.url, &code, "test").unwrap().token
}

/// The token of a device on the project's team in `role` (its first sync puts it
/// there), as blob uploads need.
fn team_token(w: &World, role: Role) -> String {
    let code = w
        .hub
        .hub
        .invite_to_project("Region Norr", w.project.as_str(), role)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), &StoreKey::generate()).unwrap();
    let token = s.enroll(&w.hub.url, &code, "test").unwrap().token;
    s.sync_with_hub(&HubSyncOptions::default()).unwrap();
    token
}

#[test]
fn no_token_and_wrong_tokens_are_refused_before_the_upgrade() {
    let w = world(HubConfig::default());
    assert_eq!(connect(&w.hub.url, None, false).err(), Some(401));
    assert_eq!(connect(&w.hub.url, Some("ikt_00"), false).err(), Some(401));
    assert_eq!(connect(&w.hub.url, Some("ikt_00"), true).err(), Some(401));
    // A valid token works in the header and in the URL (as stock clients send it).
    let token = enroll_token(&w, Role::Researcher, None);
    connect(&w.hub.url, Some(&token), false).unwrap();
    connect(&w.hub.url, Some(&token), true).unwrap();
    // An invite code works once.
    let code = w
        .hub
        .hub
        .invite("Region Norr", Role::Researcher, None)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), &StoreKey::generate()).unwrap();
    s.enroll(&w.hub.url, &code, "one").unwrap();
    assert!(matches!(
        s.enroll(&w.hub.url, &code, "two"),
        Err(Error::Unauthorized(_))
    ));
}

#[test]
fn a_revoked_device_is_cut_off_at_once_also_mid_connection() {
    let w = world(HubConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let phone = Store::open(dir.path(), &StoreKey::generate()).unwrap();
    let code = w
        .hub
        .hub
        .invite("Region Norr", Role::Researcher, None)
        .unwrap();
    let e = phone.enroll(&w.hub.url, &code, "Omars telefon").unwrap();
    phone.sync_with_hub(&HubSyncOptions::default()).unwrap();

    let mut open = connect(&w.hub.url, Some(&e.token), false).unwrap();
    handshake(&mut open, "omar");
    let started = Instant::now();
    w.hub.hub.revoke(&e.device_id, None).unwrap();
    let reason = read_until(&mut open, |_| false).unwrap_err();
    assert!(reason.contains("revoked"), "closed with: {reason}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(connect(&w.hub.url, Some(&e.token), false).err(), Some(401));
    assert!(matches!(
        phone.sync_with_hub(&HubSyncOptions::default()),
        Err(Error::Unauthorized(_))
    ));
    // Everyone else carries on.
    w.sara.sync_with_hub(&HubSyncOptions::default()).unwrap();
}

#[test]
fn a_participant_gets_only_their_inbox() {
    let w = world(HubConfig::default());
    let token = enroll_token(&w, Role::Participant, Some(w.participant.as_str()));
    let mut s = connect(&w.hub.url, Some(&token), true).unwrap();
    handshake(&mut s, "youth");
    // The hub offers the inbox, and nothing else.
    let inbox = DocumentId::of(&DocKey::Inbox(w.participant.clone()));
    let offered = read_until(&mut s, |m| matches!(m, Message::Sync { .. })).unwrap();
    assert!(matches!(offered, Message::Sync { doc, .. } if doc == inbox));
    // Asking for the project, the participant record or a session: unavailable.
    for key in [
        DocKey::Project(w.project.clone()),
        DocKey::Participant(w.participant.clone()),
    ] {
        let doc = DocumentId::of(&key);
        let empty = automerge::sync::State::new();
        let mut am = automerge::AutoCommit::new();
        let mut st = empty.clone();
        use automerge::sync::SyncDoc;
        let data = am.sync().generate_sync_message(&mut st).unwrap().encode();
        send(
            &mut s,
            &Message::Request {
                sender: "youth".into(),
                target: "insikt-hub".into(),
                doc,
                data,
            },
        );
        let answer = read_until(&mut s, |m| {
            matches!(m, Message::DocUnavailable { doc: d, .. } if *d == doc)
                || matches!(m, Message::Sync { doc: d, .. } if *d == doc)
        })
        .unwrap();
        assert!(
            matches!(answer, Message::DocUnavailable { .. }),
            "{key} must stay unavailable to a participant"
        );
    }
}

#[test]
fn a_coach_follows_the_project_but_never_receives_raw_material() {
    let w = world(HubConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let coach = Store::open(dir.path(), &StoreKey::generate()).unwrap();
    let code = w.hub.hub.invite("Region Norr", Role::Coach, None).unwrap();
    coach.enroll(&w.hub.url, &code, "Coach").unwrap();
    coach.sync_with_hub(&HubSyncOptions::default()).unwrap();
    assert_eq!(
        coach.document_keys().unwrap(),
        vec![DocKey::Project(w.project.clone())]
    );
}

#[test]
fn blobs_are_served_only_when_a_readable_document_references_them() {
    let w = world(HubConfig::default());
    let token = team_token(&w, Role::Researcher);
    let bytes = b"not referenced by any document".to_vec();
    let hash = insikt_media::BlobHash::of(&bytes).to_hex();
    let agent = ureq::Agent::new_with_defaults();
    let url = format!(
        "{}/v1/blobs/{hash}?offset=0&total={}",
        w.hub.url,
        bytes.len()
    );
    agent
        .put(&url)
        .header("Authorization", &format!("Bearer {token}"))
        .send(&bytes[..])
        .unwrap();
    let got = agent
        .get(&format!("{}/v1/blobs/{hash}", w.hub.url))
        .header("Authorization", &format!("Bearer {token}"))
        .call();
    assert!(matches!(got, Err(ureq::Error::StatusCode(404))));
    // No document names it: the daily clean-up removes it once it is old enough.
    let hub = &w.hub.hub;
    assert_eq!(
        hub.collect_blob_garbage(Duration::from_secs(3600)).unwrap(),
        0
    );
    assert_eq!(hub.collect_blob_garbage(Duration::ZERO).unwrap(), 1);
    assert_eq!(hub.collect_blob_garbage(Duration::ZERO).unwrap(), 0);
    // A piece that does not continue the upload, or a wrong hash, is refused.
    let other = b"another".to_vec();
    let h2 = insikt_media::BlobHash::of(b"something else").to_hex();
    let bad = agent
        .put(&format!(
            "{}/v1/blobs/{h2}?offset=0&total={}",
            w.hub.url,
            other.len()
        ))
        .header("Authorization", &format!("Bearer {token}"))
        .send(&other[..]);
    assert!(matches!(bad, Err(ureq::Error::StatusCode(400))));
    // Without a token: refused.
    let anon = agent.get(&format!("{}/v1/blobs/{hash}", w.hub.url)).call();
    assert!(matches!(anon, Err(ureq::Error::StatusCode(401))));
    // Unfinished uploads are capped per device: declaring 500 MB five times and
    // sending a byte of each is refused before the fifth.
    let statuses: Vec<bool> = (0..5u8)
        .map(|i| {
            let h = insikt_media::BlobHash::of(&[i; 7]).to_hex();
            agent
                .put(&format!(
                    "{}/v1/blobs/{h}?offset=0&total={}",
                    w.hub.url,
                    500u64 << 20
                ))
                .header("Authorization", &format!("Bearer {token}"))
                .send(&[i][..])
                .is_ok()
        })
        .collect();
    assert_eq!(statuses, vec![true, true, true, true, false]);
}

#[test]
fn oversized_and_forged_messages_disconnect_the_sender_only() {
    let w = world(HubConfig {
        max_message_bytes: 64 << 10,
        ..HubConfig::default()
    });
    let token = enroll_token(&w, Role::Researcher, None);

    // Oversized.
    let mut s = connect(&w.hub.url, Some(&token), false).unwrap();
    handshake(&mut s, "big");
    let _ = s.send(Ws::Binary(vec![0u8; 200 << 10].into()));
    assert!(read_until(&mut s, |_| false).is_err());

    // Forged: not CBOR; a sync message whose payload is not automerge; a truncated one.
    let doc = DocumentId::of(&DocKey::Project(w.project.clone()));
    let forged: Vec<Vec<u8>> = vec![
        vec![0xff, 0x00, 0x13],
        Message::Sync {
            sender: "forger".into(),
            target: "insikt-hub".into(),
            doc,
            data: vec![0x42; 40],
        }
        .encode(),
        {
            let mut m = Message::Sync {
                sender: "forger".into(),
                target: "insikt-hub".into(),
                doc,
                data: vec![1, 2, 3],
            }
            .encode();
            m.truncate(m.len() - 5);
            m
        },
    ];
    for frame in forged {
        let mut s = connect(&w.hub.url, Some(&token), false).unwrap();
        handshake(&mut s, "forger");
        s.send(Ws::Binary(frame.into())).unwrap();
        let reason = read_until(&mut s, |_| false).unwrap_err();
        assert!(!reason.is_empty());
    }

    // The hub still serves everyone else.
    w.sara.sync_with_hub(&HubSyncOptions::default()).unwrap();
}

#[test]
fn organisations_are_isolated_unless_a_project_is_shared_with_them() {
    let w = world(HubConfig::default());
    w.hub.hub.add_org("Kommun Öst").unwrap();
    w.hub.hub.add_org("Kommun Väst").unwrap();
    let member = |org: &str| {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path(), &StoreKey::generate()).unwrap();
        let code = w.hub.hub.invite(org, Role::Researcher, None).unwrap();
        s.enroll(&w.hub.url, &code, org).unwrap();
        (dir, s)
    };
    let (_d1, east) = member("Kommun Öst");
    let (_d2, west) = member("Kommun Väst");
    east.sync_with_hub(&HubSyncOptions::default()).unwrap();
    assert!(
        east.document_keys().unwrap().is_empty(),
        "another organisation's project stays hidden"
    );
    // Region Norr opens its project to Kommun Öst: Öst's devices see it, Väst's do not.
    w.hub
        .hub
        .share_project(w.project.as_str(), "Kommun Öst")
        .unwrap();
    east.sync_with_hub(&HubSyncOptions::default()).unwrap();
    west.sync_with_hub(&HubSyncOptions::default()).unwrap();
    assert!(east
        .has_document(&DocKey::Project(w.project.clone()))
        .unwrap());
    assert!(west.document_keys().unwrap().is_empty());
    // Guessing a document id does not help either.
    let token = west.enrollment().unwrap().unwrap().token;
    let mut s = connect(&w.hub.url, Some(&token), false).unwrap();
    handshake(&mut s, "west");
    let doc = DocumentId::of(&DocKey::Project(w.project.clone()));
    let mut am = automerge::AutoCommit::new();
    let mut st = automerge::sync::State::new();
    use automerge::sync::SyncDoc;
    let data = am.sync().generate_sync_message(&mut st).unwrap().encode();
    send(
        &mut s,
        &Message::Request {
            sender: "west".into(),
            target: "insikt-hub".into(),
            doc,
            data,
        },
    );
    let answer = read_until(&mut s, |m| {
        matches!(m, Message::DocUnavailable { .. } | Message::Sync { .. })
    })
    .unwrap();
    assert!(matches!(answer, Message::DocUnavailable { .. }));
}

#[test]
fn a_projects_erasures_never_reach_another_projects_documents() {
    let w = world(HubConfig::default());
    // Org A (Region Norr, the world's project) has a session; org B's coordinator
    // learns its id and forges an erasure naming it in B's own project.
    let session = w
        .sara
        .start_session(
            &w.project,
            insikt_core::NewSession {
                kind: insikt_core::domain::SessionKind::Interview,
                title: "Samtal".into(),
                participants: vec![w.participant.clone()],
                place: None,
                guide: None,
                started_at: None,
            },
        )
        .unwrap();
    w.sara.sync_with_hub(&HubSyncOptions::default()).unwrap();
    w.hub.hub.add_org("Kommun B").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let b = Store::open(dir.path(), &StoreKey::generate()).unwrap();
    let code = w
        .hub
        .hub
        .invite("Kommun B", Role::Coordinator, None)
        .unwrap();
    b.enroll(&w.hub.url, &code, "B").unwrap();
    let theirs = b.create_project("B:s projekt", Lang::Sv, "B").unwrap();
    let key = DocKey::Project(theirs.clone());
    let mut doc = automerge::AutoCommit::load(&b.document_bytes(&key).unwrap()).unwrap();
    let mut forged = std::collections::BTreeMap::new();
    forged.insert(
        "x".to_string(),
        insikt_core::domain::Erasure {
            at: insikt_core::Timestamp::now(),
            by: b.me().clone(),
            documents: vec![
                DocKey::Session(session.clone()).to_string(),
                DocKey::Project(w.project.clone()).to_string(),
            ],
        },
    );
    autosurgeon::reconcile_prop(&mut doc, automerge::ROOT, "erasures", &forged).unwrap();
    b.merge_document(&key, &doc.save()).unwrap();
    b.sync_with_hub(&HubSyncOptions::default()).unwrap();
    // The hub and A's devices keep A's session and project.
    w.sara.sync_with_hub(&HubSyncOptions::default()).unwrap();
    assert!(w
        .sara
        .has_document(&DocKey::Session(session.clone()))
        .unwrap());
    assert!(!w.sara.is_erased(&DocKey::Session(session)).unwrap());
    let dir2 = tempfile::tempdir().unwrap();
    let fresh = Store::open(dir2.path(), &StoreKey::generate()).unwrap();
    // A new member of A's team (need to know: only the team gets the material).
    let code = w
        .hub
        .hub
        .invite_to_project("Region Norr", w.project.as_str(), Role::Researcher)
        .unwrap();
    fresh.enroll(&w.hub.url, &code, "fresh").unwrap();
    fresh.sync_with_hub(&HubSyncOptions::default()).unwrap();
    assert!(fresh
        .has_document(&DocKey::Project(w.project.clone()))
        .unwrap());
    assert_eq!(
        fresh.document_keys().unwrap().len(),
        w.sara.document_keys().unwrap().len()
    );
}

#[test]
fn asking_for_many_missing_documents_is_answered_not_punished() {
    let w = world(HubConfig::default());
    let token = enroll_token(&w, Role::Researcher, None);
    let mut s = connect(&w.hub.url, Some(&token), false).unwrap();
    handshake(&mut s, "js-like");
    use automerge::sync::SyncDoc;
    let mut am = automerge::AutoCommit::new();
    let data = am
        .sync()
        .generate_sync_message(&mut automerge::sync::State::new())
        .unwrap()
        .encode();
    let n = 400;
    for i in 0..n {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
        send(
            &mut s,
            &Message::Request {
                sender: "js-like".into(),
                target: "insikt-hub".into(),
                doc: DocumentId::from_bytes(bytes),
                data: data.clone(),
            },
        );
    }
    let mut unavailable = 0;
    while unavailable < n {
        read_until(&mut s, |m| matches!(m, Message::DocUnavailable { .. })).unwrap();
        unavailable += 1;
    }
}

#[test]
fn only_a_coordinators_changes_may_touch_the_erasures() {
    let w = world(HubConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let omar = Store::open(dir.path(), &StoreKey::generate()).unwrap();
    // On the team, so that his changes to the project are judged, not ignored.
    let code = w
        .hub
        .hub
        .invite_to_project("Region Norr", w.project.as_str(), Role::Researcher)
        .unwrap();
    omar.enroll(&w.hub.url, &code, "Omar").unwrap();
    omar.sync_with_hub(&HubSyncOptions::default()).unwrap();
    let key = DocKey::Project(w.project.clone());
    // Two forgeries: an entry in the map, and a whole new map in its place.
    for replace_map in [false, true] {
        let mut doc = automerge::AutoCommit::load(&omar.document_bytes(&key).unwrap()).unwrap();
        let entry = insikt_core::domain::Erasure {
            at: insikt_core::Timestamp::now(),
            by: omar.me().clone(),
            documents: vec![DocKey::Participant(w.participant.clone()).to_string()],
        };
        if replace_map {
            use automerge::transaction::Transactable;
            doc.put_object(automerge::ROOT, "erasures", automerge::ObjType::Map)
                .unwrap();
        } else {
            let mut map = std::collections::BTreeMap::new();
            map.insert("forged".to_string(), entry);
            autosurgeon::reconcile_prop(&mut doc, automerge::ROOT, "erasures", &map).unwrap();
        }
        // The forged change reaches Omar's store as if from a peer.
        let _ = omar.merge_document(&key, &doc.save());
        assert!(
            omar.sync_with_hub(&HubSyncOptions::default()).is_err(),
            "the hub refuses a researcher's erasure (replace_map: {replace_map})"
        );
    }
    // Nothing was erased anywhere else.
    w.sara.sync_with_hub(&HubSyncOptions::default()).unwrap();
    assert!(w
        .sara
        .has_document(&DocKey::Participant(w.participant.clone()))
        .unwrap());
}

#[test]
fn a_change_to_a_documents_generation_fields_is_refused_and_the_connection_goes_on() {
    use automerge::sync::SyncDoc;
    use automerge::transaction::Transactable;
    use insikt_core::store::generation::{purged_before, PURGED_BEFORE};
    let w = world(HubConfig::default());
    let key = DocKey::Inbox(w.participant.clone());
    let inbox = DocumentId::of(&key);
    let token = enroll_token(&w, Role::Researcher, None);
    let mut s = connect(&w.hub.url, Some(&token), false).unwrap();
    handshake(&mut s, "rogue");
    // A raw client that claims every diary entry before the end of time was purged.
    let mut am = automerge::AutoCommit::load(&w.sara.document_bytes(&key).unwrap()).unwrap();
    am.put(automerge::ROOT, PURGED_BEFORE, i64::MAX).unwrap();
    am.commit();
    let mut st = automerge::sync::State::new();
    let mut refused = false;
    for _ in 0..10 {
        if let Some(m) = am.sync().generate_sync_message(&mut st) {
            send(
                &mut s,
                &Message::Sync {
                    sender: "rogue".into(),
                    target: "insikt-hub".into(),
                    doc: inbox,
                    data: m.encode(),
                },
            );
        }
        let answer = read_until(&mut s, |m| {
            matches!(m, Message::Sync { doc, .. } | Message::DocUnavailable { doc, .. } if *doc == inbox)
        })
        .expect("the connection goes on");
        match answer {
            Message::DocUnavailable { .. } => {
                refused = true;
                break;
            }
            Message::Sync { data, .. } => {
                let m = automerge::sync::Message::decode(&data).unwrap();
                am.sync().receive_sync_message(&mut st, m).unwrap();
            }
            _ => unreachable!(),
        }
    }
    assert!(refused, "the hub refused the inbox to the rogue client");
    // The hub's inbox is as it was: Sara syncs and finds no such claim.
    w.sara.sync_with_hub(&HubSyncOptions::default()).unwrap();
    let hers = automerge::AutoCommit::load(&w.sara.document_bytes(&key).unwrap()).unwrap();
    assert_eq!(purged_before(&hers).unwrap(), None);
    assert_eq!(w.sara.inbox(&w.participant).unwrap().messages.len(), 1);
}
