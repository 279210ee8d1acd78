//! A week in the field with a hub: Sara's phone (coordinator, social worker), a young
//! participant's phone and the team's tablet. Everyone works offline, they reconnect
//! in every order, and in the end all hold the same documents — except the young
//! person's phone, which only ever holds their own inbox.

use insikt_core::domain::{
    AgeBand, ConsentScope, GivenBy, MemberRole, NoteKind, ParticipantRole, SessionKind,
};
use insikt_core::sync::HubSyncOptions;
use insikt_core::{DocKey, Lang, NewDiaryEntry, NewNote, NewSession, Store, StoreKey};
use insikt_hub::{HubConfig, Role, RunningHub};

fn sync(store: &Store) {
    let options = HubSyncOptions {
        fetch_originals: true,
        ..Default::default()
    };
    store.sync_with_hub(&options).expect("sync with the hub");
}

fn entry(text: &str) -> NewDiaryEntry {
    NewDiaryEntry {
        session: None,
        heading: "Idag".into(),
        text: text.into(),
        rating: Some(4),
        anonymous: false,
        photo: None,
    }
}

#[test]
fn three_devices_and_a_hub_converge_in_every_order() {
    let dir = tempfile::tempdir().unwrap();
    let hub = RunningHub::start(&dir.path().join("hub"), HubConfig::default()).unwrap();
    hub.hub.add_org("Malmö stad").unwrap();

    let open = |name: &str| Store::open(&dir.path().join(name), &StoreKey::generate()).unwrap();
    let sara = open("sara-phone");
    let tablet = open("team-tablet");
    let youth = open("youth-phone");

    // Sara enrolls as coordinator and sets the project up.
    let code = hub
        .hub
        .invite("Malmö stad", Role::Coordinator, None)
        .unwrap();
    sara.enroll(&hub.url, &code, "Saras telefon").unwrap();
    let project = sara
        .create_project("Trygg fritid", Lang::Sv, "Sara")
        .unwrap();
    sara.add_member_with_id(
        &project,
        tablet.me().clone(),
        "Surfplatta",
        MemberRole::Reviewer,
    )
    .unwrap();
    let p07 = sara
        .add_participant(
            &project,
            "P-07",
            ParticipantRole::YoungPerson,
            AgeBand::From13To15,
        )
        .unwrap();
    for scope in [ConsentScope::Notes, ConsentScope::QuotesInReports] {
        sara.record_consent(&p07, scope, GivenBy::Participant, "2026-11")
            .unwrap();
    }
    let session = sara
        .start_session(
            &project,
            NewSession {
                kind: SessionKind::Interview,
                title: "Samtal på fritidsgården".into(),
                participants: vec![p07.clone()],
                place: Some("Fritidsgården".into()),
                guide: None,
                started_at: None,
            },
        )
        .unwrap();
    sara.add_note(
        &session,
        NewNote::new(NoteKind::Quote, "Jag vill ha någon att prata med."),
    )
    .unwrap();
    sara.send_message(&p07, "Tack för att du var med!").unwrap();
    sync(&sara);

    // The young person's phone enrolls with a participant invite: it gets their inbox.
    let code = hub
        .hub
        .invite("Malmö stad", Role::Participant, Some(p07.as_str()))
        .unwrap();
    youth.enroll(&hub.url, &code, "P-07:s telefon").unwrap();
    sync(&youth);
    assert_eq!(
        youth.own_inbox().unwrap().messages.len(),
        1,
        "the team's message arrived"
    );

    // The tablet enrolls as reviewer.
    let code = hub.hub.invite("Malmö stad", Role::Reviewer, None).unwrap();
    tablet
        .enroll(&hub.url, &code, "Teamets surfplatta")
        .unwrap();
    sync(&tablet);
    assert!(tablet
        .has_document(&DocKey::Session(session.clone()))
        .unwrap());

    // Offline, everyone works; then they reconnect in every order.
    let orders: [[usize; 3]; 6] = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    let devices = [&sara, &tablet, &youth];
    for (round, order) in orders.iter().enumerate() {
        sara.add_note(
            &session,
            NewNote::new(NoteKind::Observation, format!("Iakttagelse {round}")),
        )
        .unwrap();
        tablet
            .add_insight(&project, &format!("Insikt {round}"), &[], "")
            .unwrap();
        youth
            .submit_own_diary_entry(entry(&format!("Dagbok {round}")))
            .unwrap();
        for &i in order {
            sync(devices[i]);
        }
    }
    // One more pass brings the last changes to those who synced first.
    for d in devices {
        sync(d);
    }

    let team = sara.document_heads().unwrap();
    assert_eq!(
        tablet.document_heads().unwrap(),
        team,
        "the tablet holds what Sara holds"
    );
    // The young person's phone holds exactly one document: their inbox, identical.
    let inbox = DocKey::Inbox(p07.clone()).to_string();
    let theirs = youth.document_heads().unwrap();
    assert_eq!(
        theirs.keys().cloned().collect::<Vec<_>>(),
        vec![inbox.clone()]
    );
    assert_eq!(theirs[&inbox], team[&inbox]);
    // Nor can its local API read anything but the inbox.
    assert!(youth.project(&project).is_err());
    assert!(youth.search(&project, "prata", 10).is_err());
    assert!(youth
        .sessions(&project)
        .map(|s| s.is_empty())
        .unwrap_or(true));
    assert!(
        youth.inbox(&p07).is_err(),
        "the team's view of the inbox is not for the phone"
    );
    assert_eq!(youth.own_inbox().unwrap().entries.len(), 6);
    // Their six diary entries reached the team, and the team's search finds them.
    assert_eq!(sara.inbox(&p07).unwrap().entries.len(), 6);
    assert_eq!(sara.search(&project, "Dagbok", 100).unwrap().len(), 6);
    assert_eq!(tablet.insights(&project).unwrap().len(), 6);

    // A photo: the tablet gets the thumbnail with the next sync, the original when
    // someone opens it.
    sara.record_consent(&p07, ConsentScope::Photos, GivenBy::Participant, "2026-11")
        .unwrap();
    let photo = sara
        .add_photo(
            &session,
            &insikt_media::sample::phone_photo(1600, 1200, 6),
            insikt_core::NewPhoto {
                caption: "Anslagstavlan".into(),
                appears: vec![p07.clone()],
                redactions: vec![],
            },
        )
        .unwrap();
    sync(&sara);
    tablet.sync_with_hub(&HubSyncOptions::default()).unwrap();
    let (_, a) = tablet.attachment(&photo).unwrap();
    let thumb = a.thumbnail.clone().unwrap().hash;
    assert!(tablet.has_blob(&thumb).unwrap());
    assert!(!tablet.has_blob(&a.original.hash).unwrap());
    tablet.fetch_blob_from_hub(&a.original.hash).unwrap();
    assert_eq!(
        tablet.blob(&a.original.hash).unwrap(),
        sara.blob(&a.original.hash).unwrap()
    );
    // The young person's phone cannot fetch it: no document it may read refers to it.
    assert!(youth.fetch_blob_from_hub(&a.original.hash).is_err());
}
