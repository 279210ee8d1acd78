//! Need to know (issue 15, finding 8): a project's participants, sessions, material
//! and inboxes — and the photos they reference — go only to the devices of its team.
//! Written as the attack: a researcher enrolled in the organisation but on another
//! project's team asks for everything with a raw client and a stock client; a member
//! removed from the team syncs again. The honest devices keep syncing.
//!
//! Needs Node.js and `npm ci --prefix interop` for the stock client.

use insikt_core::domain::{NoteKind, SessionKind};
use insikt_core::sync::wire::{DocumentId, Message};
use insikt_core::{DocKey, Lang, NewNote, NewPhoto, NewSession, Store, StoreKey};
use insikt_hub::{HubConfig, Role, RunningHub};
use std::time::Duration;

mod common;
use common::raw::{ask_for, connect, handshake, read_within};
use common::{contains, join_team, store_dump, sync, token};

const QUOTE: &str = "Jag saknar min bror";

#[test]
fn a_researcher_off_the_team_gets_none_of_its_material_and_a_removed_member_purges_it() {
    let dir = tempfile::tempdir().unwrap();
    let hub = RunningHub::start(&dir.path().join("hub"), HubConfig::default()).unwrap();
    hub.hub.add_org("Region Syd").unwrap();
    let keys = [
        StoreKey::generate(),
        StoreKey::generate(),
        StoreKey::generate(),
    ];
    let common::Rasten {
        sara,
        omar,
        phone: _,
        project,
        p04,
    } = common::rasten(
        &hub,
        dir.path(),
        [&keys[0], &keys[1], &keys[2]],
        Some("Tack!"),
    );
    // Omar interviews P-04: a note and a photo.
    let session = omar
        .start_session(
            &project,
            NewSession {
                kind: SessionKind::Interview,
                title: "Samtal".into(),
                participants: vec![p04.clone()],
                place: None,
                guide: None,
                started_at: None,
            },
        )
        .unwrap();
    omar.add_note(&session, NewNote::new(NoteKind::Quote, QUOTE))
        .unwrap();
    let photo = omar
        .add_photo(
            &session,
            &insikt_media::sample::phone_photo(320, 240, 1),
            NewPhoto {
                caption: "Teckning".into(),
                appears: vec![p04.clone()],
                redactions: vec![],
            },
        )
        .unwrap();
    let hash = omar.attachment(&photo).unwrap().1.original.hash;
    sync(&omar);
    sync(&sara);

    // Sara runs a second project; Nadia joins its team — and only its team.
    let bygget = sara.create_project("Bygget", Lang::Sv, "Sara").unwrap();
    sync(&sara);
    let nadia_key = StoreKey::generate();
    let nadia = Store::open(&dir.path().join("nadia"), &nadia_key).unwrap();
    join_team(&hub, &nadia, "Region Syd", &bygget, Role::Researcher);
    sync(&nadia);
    let held = nadia.document_keys().unwrap();
    assert!(held.contains(&DocKey::Project(bygget.clone())));
    assert!(
        held.iter().all(|k| matches!(k, DocKey::Project(_))),
        "nothing of Rasten's material: {held:?}"
    );
    let scratch = tempfile::tempdir().unwrap();
    let dump = store_dump(&nadia, &nadia_key, scratch.path(), "nadia");
    assert!(!contains(&dump, QUOTE) && !contains(&dump, "P-04"));
    assert!(!nadia.has_blob(&hash).unwrap());

    // Asking for them by id, frame by frame, with her own token: unavailable.
    let material = [
        DocKey::Participant(p04.clone()),
        DocKey::Session(session.clone()),
        DocKey::Material(session.clone(), p04.clone()),
        DocKey::Inbox(p04.clone()),
    ];
    let mut s = connect(&hub.url, Some(&token(&nadia)), false).unwrap();
    handshake(&mut s, "nadia-raw");
    for key in &material {
        assert!(!ask_for(&mut s, "nadia-raw", DocumentId::of(key)), "{key}");
    }
    // With a stock client: unavailable too; the photo is not hers either.
    let (code, out) = common::js::read(
        &hub,
        &token(&nadia),
        &DocumentId::of(&DocKey::Session(session.clone())),
    );
    assert_eq!(code, Some(2), "{out}");
    let got = ureq::get(&format!("{}/v1/blobs/{hash}", hub.url))
        .header("Authorization", &format!("Bearer {}", token(&nadia)))
        .call();
    assert!(matches!(got, Err(ureq::Error::StatusCode(404))));

    // Fan-out: an edit of Rasten's session goes to its team, not to Nadia's open
    // connection.
    let watched: Vec<DocumentId> = material.iter().map(DocumentId::of).collect();
    let mut watcher = connect(&hub.url, Some(&token(&nadia)), false).unwrap();
    handshake(&mut watcher, "nadia-watch");
    while read_within(&mut watcher, Duration::from_millis(800), |_| true).is_ok() {}
    omar.add_note(
        &session,
        NewNote::new(NoteKind::Observation, "Ler åt frågan"),
    )
    .unwrap();
    sync(&omar);
    let leaked = read_within(
        &mut watcher,
        Duration::from_secs(2),
        |m| matches!(m, Message::Sync { doc, .. } if watched.contains(doc)),
    );
    assert!(leaked.is_err(), "Nadia's connection was sent {leaked:?}");
    sync(&sara);
    assert_eq!(sara.search(&project, "frågan", 10).unwrap().len(), 1);

    // Omar leaves the team: on his next sync his phone purges Rasten's material,
    // and the hub gives him none of it again.
    sara.revoke_member(&project, omar.me()).unwrap();
    sync(&sara);
    let report = omar
        .sync_with_hub(&insikt_core::sync::HubSyncOptions::default())
        .unwrap();
    assert!(report.purged >= 3, "{report:?}");
    let held = omar.document_keys().unwrap();
    assert!(
        held.iter().all(|k| matches!(k, DocKey::Project(_))),
        "{held:?}"
    );
    assert!(!omar.has_blob(&hash).unwrap());
    let dump = store_dump(&omar, &keys[1], scratch.path(), "omar");
    assert!(!contains(&dump, QUOTE));
    sync(&omar);
    assert!(omar
        .document_keys()
        .unwrap()
        .iter()
        .all(|k| matches!(k, DocKey::Project(_))));

    // The team goes on: Sara's notes and an erasure still travel to a new member.
    let lina = Store::open(&dir.path().join("lina"), &StoreKey::generate()).unwrap();
    join_team(&hub, &lina, "Region Syd", &project, Role::Researcher);
    sync(&lina);
    assert_eq!(lina.search(&project, "bror", 10).unwrap().len(), 1);
    sara.erase_participant(&p04).unwrap();
    sync(&sara);
    sync(&lina);
    assert!(lina.is_erased(&DocKey::Participant(p04)).unwrap());
}
