//! A young person withdraws consent and the coordinator erases them. The erasure
//! reaches the hub with the project: the hub destroys their documents and photos and
//! refuses them from then on. A researcher's phone that was away, still holding the
//! material, meets the hub later: it purges what it holds and brings nothing back.

use insikt_core::domain::{
    AgeBand, ConsentScope, GivenBy, MemberRole, NoteKind, ParticipantRole, SessionKind,
};
use insikt_core::{DocKey, Lang, NewNote, NewPhoto, NewSession, Store, StoreKey};
use insikt_hub::{HubConfig, Role, RunningHub};

mod common;
use common::{contains, hub_dump, sync};

#[test]
fn an_erasure_travels_through_the_hub_and_a_stale_phone_cannot_bring_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let hub = RunningHub::start(&dir.path().join("hub"), HubConfig::default()).unwrap();
    hub.hub.add_org("Region Syd").unwrap();
    let open = |n: &str| Store::open(&dir.path().join(n), &StoreKey::generate()).unwrap();
    let sara = open("sara");
    let omar = open("omar");
    let project = sara.create_project("Röster", Lang::Sv, "Sara").unwrap();
    sara.add_member_with_id(&project, omar.me().clone(), "Omar", MemberRole::Researcher)
        .unwrap();
    let mut people = Vec::new();
    for code in ["P-07", "P-08"] {
        let p = sara
            .add_participant(
                &project,
                code,
                ParticipantRole::YoungPerson,
                AgeBand::From16To17,
            )
            .unwrap();
        for scope in [ConsentScope::Notes, ConsentScope::Photos] {
            sara.record_consent(&p, scope, GivenBy::Participant, "v1")
                .unwrap();
        }
        people.push(p);
    }
    let (p07, p08) = (people[0].clone(), people[1].clone());
    sara.enroll(
        &hub.url,
        &hub.hub
            .invite("Region Syd", Role::Coordinator, None)
            .unwrap(),
        "Sara",
    )
    .unwrap();
    omar.enroll(
        &hub.url,
        &hub.hub
            .invite("Region Syd", Role::Researcher, None)
            .unwrap(),
        "Omar",
    )
    .unwrap();
    sync(&sara);
    sync(&omar);

    // Omar interviews each of them alone, with a photo of P-07's drawing.
    let mut sessions = Vec::new();
    for (p, text) in [
        (&p07, "P-07 berättar om skolan"),
        (&p08, "P-08 berättar om träningen"),
    ] {
        let s = omar
            .start_session(
                &project,
                NewSession {
                    kind: SessionKind::Interview,
                    title: "Samtal".into(),
                    participants: vec![p.clone()],
                    place: None,
                    guide: None,
                    started_at: None,
                },
            )
            .unwrap();
        omar.add_note(&s, NewNote::new(NoteKind::Quote, text))
            .unwrap();
        sessions.push(s);
    }
    let photo = insikt_media::sample::phone_photo(800, 600, 1);
    let attachment = omar
        .add_photo(
            &sessions[0],
            &photo,
            NewPhoto {
                caption: "Teckning".into(),
                appears: vec![p07.clone()],
                redactions: vec![],
            },
        )
        .unwrap();
    sync(&omar);
    sync(&sara);
    let (_, a) = sara.attachment(&attachment).unwrap();
    assert!(
        sara.has_blob(&a.original.hash).unwrap(),
        "the photo reached Sara"
    );
    // The team tablet reviews the material too.
    let tablet = open("tablet");
    sara.add_member_with_id(
        &project,
        tablet.me().clone(),
        "Surfplatta",
        MemberRole::Reviewer,
    )
    .unwrap();
    sync(&sara);
    tablet
        .enroll(
            &hub.url,
            &hub.hub.invite("Region Syd", Role::Reviewer, None).unwrap(),
            "Tablet",
        )
        .unwrap();
    sync(&tablet);
    assert!(tablet
        .has_document(&DocKey::Session(sessions[0].clone()))
        .unwrap());
    assert!(tablet.has_blob(&a.original.hash).unwrap());

    // Omar's phone goes in a drawer, and even captures one more note about P-07.
    omar.add_note(
        &sessions[0],
        NewNote::new(NoteKind::Observation, "Sent tillägg om P-07"),
    )
    .unwrap();

    let scratch = tempfile::tempdir().unwrap();
    let hub_dir = dir.path().join("hub");
    assert!(
        contains(&hub_dump(&hub_dir, scratch.path()), "P-07 berättar"),
        "the scan can see text on the hub"
    );

    // P-07 withdraws; Sara erases them and syncs.
    sara.erase_participant(&p07).unwrap();
    sync(&sara);
    let blob_url = format!("{}/v1/blobs/{}", hub.url, a.original.hash);
    let sara_token = sara.enrollment().unwrap().unwrap().token;
    let fetched = ureq::get(&blob_url)
        .header("Authorization", &format!("Bearer {sara_token}"))
        .call();
    assert!(
        matches!(fetched, Err(ureq::Error::StatusCode(404))),
        "the hub destroyed the photo"
    );

    // Omar's phone returns: it purges P-07's material and re-sends nothing.
    sync(&omar);
    sync(&sara);
    sync(&tablet);
    for store in [&sara, &omar, &tablet] {
        let keys = store.document_keys().unwrap();
        assert!(!keys.contains(&DocKey::Participant(p07.clone())));
        assert!(!keys.contains(&DocKey::Session(sessions[0].clone())));
        assert!(store
            .is_erased(&DocKey::Session(sessions[0].clone()))
            .unwrap());
        assert!(
            keys.contains(&DocKey::Session(sessions[1].clone())),
            "P-08's session stays"
        );
        assert!(!store.has_blob(&a.original.hash).unwrap());
        assert_eq!(store.search(&project, "tillägg", 10).unwrap().len(), 0);
        assert_eq!(store.search(&project, "träningen", 10).unwrap().len(), 1);
    }
    // Scanned raw, decrypted with its key, the hub holds none of it; P-08's stays.
    let dump = hub_dump(&hub_dir, scratch.path());
    for gone in ["P-07 berättar", "Sent tillägg", "Teckning"] {
        assert!(!contains(&dump, gone), "{gone} survived on the hub");
    }
    assert!(contains(&dump, "P-08 berättar"));
    // A fresh device of the team never sees any of it (invited into the team: only
    // the team gets the material).
    let fresh = open("fresh");
    fresh
        .enroll(
            &hub.url,
            &hub.hub
                .invite_to_project("Region Syd", project.as_str(), Role::Reviewer)
                .unwrap(),
            "Fresh",
        )
        .unwrap();
    sync(&fresh);
    let keys = fresh.document_keys().unwrap();
    assert!(!keys.contains(&DocKey::Session(sessions[0].clone())));
    assert!(keys.contains(&DocKey::Session(sessions[1].clone())));
    assert!(keys.contains(&DocKey::Participant(p08)));
}
