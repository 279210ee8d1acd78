//! Devices with valid tokens that write what their role may not (issue 15, findings 1
//! and 2), each written as the attack: a stock `@automerge/automerge-repo` client with
//! a real device token, or a tampered device passing changes on in a workshop. The
//! hub refuses the change (that document only), no device acts on it, and the honest
//! devices keep syncing — erasure and retention still reach them.
//!
//! Needs Node.js and `npm ci --prefix interop` (scripts/test.sh runs it).

use insikt_core::domain::{AgeBand, MemberRole, ParticipantRole};
use insikt_core::sync::wire::DocumentId;
use insikt_core::sync::HubSyncOptions;
use insikt_core::{DocKey, Error, NewDiaryEntry, Store, StoreKey, Timestamp};
use insikt_hub::{HubConfig, Role, RunningHub};
use serde_json::json;

mod common;
use common::js::attack;
use common::{join_team, sync, token};

const DAY_MS: i64 = 24 * 3600 * 1000;

struct Team {
    _dir: tempfile::TempDir,
    hub: RunningHub,
    rasten: common::Rasten,
    rita: Store,
}

/// Rasten's team (Sara coordinator, Omar researcher, P-04's phone) with Rita, a
/// reviewer invited into the project, and a diary entry from P-04's phone on
/// everyone's devices.
fn team() -> Team {
    let dir = tempfile::tempdir().unwrap();
    let hub = RunningHub::start(&dir.path().join("hub"), HubConfig::default()).unwrap();
    hub.hub.add_org("Region Syd").unwrap();
    let keys = [
        StoreKey::generate(),
        StoreKey::generate(),
        StoreKey::generate(),
    ];
    let rasten = common::rasten(&hub, dir.path(), [&keys[0], &keys[1], &keys[2]], None);
    let rita = Store::open(&dir.path().join("rita"), &StoreKey::generate()).unwrap();
    join_team(&hub, &rita, "Region Syd", &rasten.project, Role::Reviewer);
    sync(&rita);
    assert_eq!(
        rita.my_role(&rasten.project).unwrap(),
        MemberRole::Reviewer,
        "the invite put Rita on the team"
    );
    rasten
        .phone
        .submit_own_diary_entry(NewDiaryEntry {
            session: None,
            heading: "Idag".into(),
            text: "Det var en tung dag".into(),
            rating: Some(2),
            anonymous: false,
            photo: None,
        })
        .unwrap();
    sync(&rasten.phone);
    sync(&rasten.sara);
    sync(&rasten.omar);
    Team {
        _dir: dir,
        hub,
        rasten,
        rita,
    }
}

/// Erasure and retention still travel: Sara sets a period and erases a participant,
/// and Omar's phone follows.
fn honest_devices_keep_syncing(t: &Team) {
    let (sara, omar, project) = (&t.rasten.sara, &t.rasten.omar, &t.rasten.project);
    let p05 = sara
        .add_participant(project, "P-05", ParticipantRole::Child, AgeBand::From10To12)
        .unwrap();
    sync(sara);
    sync(omar);
    assert!(omar
        .has_document(&DocKey::Participant(p05.clone()))
        .unwrap());
    sara.set_retention(project, Some(30)).unwrap();
    sara.erase_participant(&p05).unwrap();
    sync(sara);
    sync(omar);
    assert!(omar.is_erased(&DocKey::Participant(p05)).unwrap());
    assert_eq!(omar.retention_period(project).unwrap(), Some(30));
}

#[test]
fn a_reviewer_cannot_purge_the_material_demote_the_coordinator_or_erase() {
    let t = team();
    let (sara, omar, project, p04) = (
        &t.rasten.sara,
        &t.rasten.omar,
        &t.rasten.project,
        &t.rasten.p04,
    );
    let doc = DocumentId::of(&DocKey::Project(project.clone()));
    let rita = token(&t.rita);
    let attacks = [
        // The finding: retention 0 made the coordinator's device purge every diary
        // entry and photo, and the hub's sweep rebuild the inbox without them.
        json!([{ "path": ["retention_days"], "value": 0 }]),
        json!([{ "path": ["retention_days"], "value": 1 }]),
        // Changing the coordinator's role made erasure fail on her own device.
        json!([{ "path": ["members", sara.me().as_str(), "role"], "value": "reviewer" }]),
        json!([{ "path": ["members", t.rita.me().as_str(), "role"], "value": "coordinator" }]),
        json!([{ "path": ["members", sara.me().as_str(), "revoked_at"], "value": 1 }]),
        json!([{ "path": ["erasures", p04.as_str()], "value": {
            "at": 1, "by": t.rita.me().as_str(),
            "documents": [format!("participant:{p04}"), format!("inbox:{p04}")] } }]),
        // The project's name is the coordinator's too.
        json!([{ "path": ["name"], "value": "Mitt projekt" }]),
    ];
    for changes in &attacks {
        assert!(
            !attack(&t.hub, &rita, &doc, changes.clone()),
            "the hub took a reviewer's {changes}"
        );
    }
    // A researcher may not either.
    let omars = token(omar);
    assert!(!attack(
        &t.hub,
        &omars,
        &doc,
        json!([{ "path": ["retention_days"], "value": 0 }])
    ));
    // A period that is not a number of days does not read as one: refused, even from
    // the coordinator's own token (it must never read as "no period").
    assert!(!attack(
        &t.hub,
        &token(sara),
        &doc,
        json!([{ "path": ["retention_days"], "value": "30" }])
    ));
    // What a reviewer does write — the board — the hub takes (a positive control).
    assert!(attack(
        &t.hub,
        &rita,
        &doc,
        json!([{ "path": ["js_board_note"], "value": "ett kort från tavlan" }])
    ));

    // Sara's device syncs, is still the coordinator and purged nothing.
    sync(sara);
    assert_eq!(sara.my_role(project).unwrap(), MemberRole::Coordinator);
    assert_eq!(sara.retention_period(project).unwrap(), None);
    assert_eq!(sara.inbox(p04).unwrap().entries.len(), 1);
    assert!(!sara.is_erased(&DocKey::Participant(p04.clone())).unwrap());
    let r = sara
        .apply_retention(project, Timestamp(Timestamp::now().0 + 3 * DAY_MS))
        .unwrap();
    assert_eq!(r.diary_entries, 0);
    // Nor does the hub's sweep, days later.
    let swept = t
        .hub
        .sweep_retention(Timestamp::now().0 + 3 * DAY_MS)
        .unwrap();
    assert_eq!(swept.rebuilt, 0, "{swept:?}");
    sync(sara);
    assert_eq!(sara.inbox(p04).unwrap().entries.len(), 1);
    honest_devices_keep_syncing(&t);
}

#[test]
fn a_change_passed_on_by_a_coordinators_device_is_judged_by_its_author() {
    let t = team();
    let (sara, omar, project, p04) = (
        &t.rasten.sara,
        &t.rasten.omar,
        &t.rasten.project,
        &t.rasten.p04,
    );
    // Rita's tablet is tampered with: it writes the attack into its own copy of the
    // project under its own actor (what its app would never do), then pairs with
    // Sara's phone in a workshop, with no hub in between.
    let key = DocKey::Project(project.clone());
    let mut forged = automerge::AutoCommit::load(&t.rita.document_bytes(&key).unwrap())
        .unwrap()
        .with_actor(automerge::ActorId::from(
            hex::decode(t.rita.actor_hex()).unwrap(),
        ));
    {
        use automerge::transaction::Transactable;
        use automerge::ReadDoc;
        forged
            .put(automerge::ROOT, "retention_days", 1_u64)
            .unwrap();
        let members = forged.get(automerge::ROOT, "members").unwrap().unwrap().1;
        let sara_entry = forged.get(&members, sara.me().as_str()).unwrap().unwrap().1;
        forged.put(&sara_entry, "role", "reviewer").unwrap();
        let mut erasures = std::collections::BTreeMap::new();
        erasures.insert(
            p04.to_string(),
            insikt_core::domain::Erasure {
                at: Timestamp::now(),
                by: t.rita.me().clone(),
                documents: vec![format!("inbox:{p04}"), format!("participant:{p04}")],
            },
        );
        autosurgeon::reconcile_prop(&mut forged, automerge::ROOT, "erasures", &erasures).unwrap();
        forged.commit();
    }
    t.rita.merge_document(&key, &forged.save()).unwrap();
    common::pair(&t.rita, sara);

    // Sara's phone holds the change but does not act on it: a reviewer wrote it.
    let doc = automerge::AutoCommit::load(&sara.document_bytes(&key).unwrap()).unwrap();
    let plain: insikt_core::domain::ProjectDoc = insikt_core::domain::read::hydrate(&doc).unwrap();
    assert_eq!(plain.retention_days, Some(1), "the change arrived");
    assert_eq!(sara.my_role(project).unwrap(), MemberRole::Coordinator);
    // …and shows the team as it acts on it.
    let shown = sara.project(project).unwrap();
    assert_eq!(
        shown.members[sara.me().as_str()].role,
        MemberRole::Coordinator
    );
    assert!(shown.retention_days.is_none() && shown.erasures.is_empty());
    assert_eq!(sara.retention_period(project).unwrap(), None);
    assert!(!sara.is_erased(&DocKey::Inbox(p04.clone())).unwrap());
    assert_eq!(sara.inbox(p04).unwrap().entries.len(), 1);

    // Passed on by a coordinator's connection, the hub still judges it by its author
    // (Rita's registered actor) and refuses it; Sara hears so, the rest is synced.
    let session = omar
        .start_session(
            project,
            insikt_core::NewSession {
                kind: insikt_core::domain::SessionKind::Observation,
                title: "Fritids".into(),
                participants: vec![],
                place: None,
                guide: None,
                started_at: None,
            },
        )
        .unwrap();
    sync(omar);
    assert!(matches!(
        sara.sync_with_hub(&HubSyncOptions::default()),
        Err(Error::NotAllowed(_))
    ));
    assert!(
        sara.has_document(&DocKey::Session(session)).unwrap(),
        "everything else reached Sara"
    );
    sync(omar);
    assert!(omar
        .has_document(&DocKey::Participant(p04.clone()))
        .unwrap());
    assert_eq!(omar.retention_period(project).unwrap(), None);
    let omars = automerge::AutoCommit::load(&omar.document_bytes(&key).unwrap()).unwrap();
    let theirs: insikt_core::domain::ProjectDoc =
        insikt_core::domain::read::hydrate(&omars).unwrap();
    assert!(theirs.erasures.is_empty() && theirs.retention_days.is_none());
}

#[test]
fn a_phones_stock_client_cannot_stop_the_team_from_syncing() {
    let t = team();
    let (sara, omar, phone, project, p04) = (
        &t.rasten.sara,
        &t.rasten.omar,
        &t.rasten.phone,
        &t.rasten.project,
        &t.rasten.p04,
    );
    let inbox = DocumentId::of(&DocKey::Inbox(p04.clone()));
    let phones = token(phone);
    // The finding: `schema` as a signed integer stopped every coordinator's sync.
    // A phone may not touch it at all.
    assert!(!attack(
        &t.hub,
        &phones,
        &inbox,
        json!([{ "path": ["schema"], "value": 1 }])
    ));
    // Nor the team's messages, nor anything outside its entries.
    for changes in [
        json!([{ "path": ["messages", "m1"], "value": { "text": "Från teamet", "from": "x", "sent_at": 1, "read_at": null, "id": "m1" } }]),
        json!([{ "path": ["participant_id"], "value": "someone-else" }]),
    ] {
        assert!(!attack(&t.hub, &phones, &inbox, changes));
    }
    // Entries that do not read as entries: refused.
    let entry = |id: &str, rating: serde_json::Value, heading: serde_json::Value| {
        json!([{ "path": ["entries", id], "value": {
            "id": id, "session": null, "heading": heading, "text": "skrivet i en annan app",
            "rating": rating, "anonymous": false, "written_at": Timestamp::now().0 } }])
    };
    assert!(!attack(
        &t.hub,
        &phones,
        &inbox,
        entry("e-neg", json!(-1), json!("Idag"))
    ));
    assert!(!attack(
        &t.hub,
        &phones,
        &inbox,
        entry("e-num", json!(3), json!(42))
    ));
    assert!(!attack(
        &t.hub,
        &phones,
        &inbox,
        entry("e-frac", json!(2.5), json!("Idag"))
    ));
    // An entry written with ordinary JS values — strings as text objects, numbers as
    // signed integers — is an entry: the hub takes it and the team reads it.
    assert!(attack(
        &t.hub,
        &phones,
        &inbox,
        entry("e-js", json!(4), json!("Från JS"))
    ));
    // A researcher's stock client writing `schema` as a JS number: allowed for the
    // role, and it still reads.
    assert!(attack(
        &t.hub,
        &token(omar),
        &inbox,
        json!([{ "path": ["schema"], "value": 1 }])
    ));

    sync(sara);
    sync(omar);
    let seen = sara.inbox(p04).unwrap();
    assert_eq!(seen.entries.len(), 2);
    let js = &seen.entries["e-js"];
    assert_eq!((js.heading.as_str(), js.rating), ("Från JS", Some(4)));
    assert!(sara.set_aside_documents().unwrap().is_empty());
    sync(phone);
    assert_eq!(phone.own_inbox().unwrap().entries.len(), 2);
    honest_devices_keep_syncing(&t);
    let _ = project;
}
