//! The coordinator reads one audit log of who did what to which participant's data,
//! gathered by the hub from every device: consent recorded on her tablet, notes and a
//! photo taken on a researcher's phone, a diary entry from the young person's own
//! phone. Codes and kinds only, never what was said; nobody else reads it.

use insikt_core::domain::{AgeBand, ConsentScope, GivenBy, NoteKind, ParticipantRole, SessionKind};
use insikt_core::{Error, Lang, NewDiaryEntry, NewNote, NewPhoto, NewSession, Store, StoreKey};
use insikt_hub::{HubConfig, Role, RunningHub};

mod common;
use common::sync;

#[test]
fn the_coordinator_reads_every_devices_audit_and_no_content() {
    let dir = tempfile::tempdir().unwrap();
    let hub = RunningHub::start(&dir.path().join("hub"), HubConfig::default()).unwrap();
    hub.hub.add_org("Region Syd").unwrap();
    let open = |n: &str| Store::open(&dir.path().join(n), &StoreKey::generate()).unwrap();
    let keys = [
        StoreKey::generate(),
        StoreKey::generate(),
        StoreKey::generate(),
    ];
    let common::Rasten {
        sara,
        omar,
        phone,
        project,
        p04,
    } = common::rasten(&hub, dir.path(), [&keys[0], &keys[1], &keys[2]], None);

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
    omar.add_note(
        &session,
        NewNote::new(NoteKind::Quote, "Jag saknar min bror"),
    )
    .unwrap();
    omar.add_photo(
        &session,
        &insikt_media::sample::phone_photo(320, 240, 1),
        NewPhoto {
            caption: "Teckning".into(),
            appears: vec![p04.clone()],
            redactions: vec![],
        },
    )
    .unwrap();
    phone
        .submit_own_diary_entry(NewDiaryEntry {
            session: None,
            heading: "Idag".into(),
            text: "Det var en tung dag".into(),
            rating: Some(2),
            anonymous: true,
            photo: None,
        })
        .unwrap();
    sync(&omar);
    sync(&phone);
    sync(&sara);
    // Omar's rows went with his sync; nothing new, nothing sent again.
    let again = omar
        .sync_with_hub(&insikt_core::sync::HubSyncOptions::default())
        .unwrap();
    assert_eq!(again.audit_rows_sent, 0);

    let log = sara.hub_audit_log(&project).unwrap();
    let seen = |action: &str, member: &insikt_core::ids::MemberId| {
        log.iter()
            .filter(|e| e.action == action && &e.member == member && e.participant == p04)
            .count()
    };
    assert_eq!(seen("consent given", sara.me()), 2, "{log:#?}");
    assert_eq!(seen("note", omar.me()), 1, "{log:#?}");
    assert_eq!(seen("photo", omar.me()), 1, "{log:#?}");
    // The diary entry was anonymous: its row names no participant.
    let diary: Vec<_> = log.iter().filter(|e| e.action == "diary-entry").collect();
    assert_eq!(diary.len(), 1, "{log:#?}");
    assert_eq!(
        (&diary[0].member, diary[0].participant.as_str()),
        (phone.me(), "")
    );
    let devices: std::collections::BTreeSet<_> = log.iter().map(|e| e.device.clone()).collect();
    assert_eq!(devices.len(), 3, "rows from three devices");
    assert!(log.windows(2).all(|w| w[0].at >= w[1].at), "newest first");
    let text = format!("{log:?}");
    for words in ["saknar min bror", "tung dag", "Teckning", "Rasten"] {
        assert!(!text.contains(words), "the audit log holds {words:?}");
    }

    // Only coordinators read it: a researcher is refused locally and by the hub.
    assert!(matches!(
        omar.hub_audit_log(&project),
        Err(Error::NotAllowed(_))
    ));
    let agent = ureq::Agent::new_with_defaults();
    let token = omar.enrollment().unwrap().unwrap().token;
    let got = agent
        .get(&format!(
            "{}/v1/projects/{}/audit",
            hub.url,
            project.as_str()
        ))
        .header("Authorization", &format!("Bearer {token}"))
        .call();
    assert!(matches!(got, Err(ureq::Error::StatusCode(403))));
    // Rows a device may not report are skipped one by one, never failing the rest:
    // a participant's phone about someone else, a device under another member than it
    // enrolled as, a row dated far ahead, a project the device's organisation is not
    // in. A coach reports nothing.
    let post = |token: &str, rows: serde_json::Value| {
        agent
            .post(&format!("{}/v1/audit", hub.url))
            .header("Authorization", &format!("Bearer {token}"))
            .send_json(&rows)
    };
    let row = |seq: i64, member: &str, participant: &str, at: i64, project: &str| {
        serde_json::json!({
            "seq": seq, "at": at, "project": project, "member": member,
            "action": "note", "participant": participant, "detail": ""
        })
    };
    let now = insikt_core::Timestamp::now().0;
    let token = phone.enrollment().unwrap().unwrap().token;
    let mut answer = post(
        &token,
        serde_json::json!([
            row(
                90_001,
                phone.me().as_str(),
                "someone-else",
                now,
                project.as_str()
            ),
            row(
                90_002,
                sara.me().as_str(),
                p04.as_str(),
                now,
                project.as_str()
            ),
            row(
                90_003,
                phone.me().as_str(),
                p04.as_str(),
                now + 400 * 24 * 3600 * 1000,
                project.as_str()
            ),
            row(
                90_004,
                phone.me().as_str(),
                p04.as_str(),
                now,
                "another-project"
            ),
            row(
                90_005,
                phone.me().as_str(),
                p04.as_str(),
                now,
                project.as_str()
            ),
        ]),
    )
    .unwrap();
    let counts: serde_json::Value = answer.body_mut().read_json().unwrap();
    assert_eq!(counts, serde_json::json!({ "accepted": 1, "skipped": 4 }));
    let code = hub.hub.invite("Region Syd", Role::Coach, None).unwrap();
    let coach = open("coach");
    coach.enroll(&hub.url, &code, "Coach").unwrap();
    let token = coach.enrollment().unwrap().unwrap().token;
    let refused = post(&token, serde_json::json!([]));
    assert!(matches!(refused, Err(ureq::Error::StatusCode(403))));
    // Omar practises in a project of his own that the hub never takes: its rows
    // are skipped, his sync goes on, and his later rows from the real project arrive.
    let practice = omar.create_project("Övning", Lang::Sv, "Omar").unwrap();
    let dummy = omar
        .add_participant(
            &practice,
            "P-99",
            ParticipantRole::YoungPerson,
            AgeBand::From13To15,
        )
        .unwrap();
    omar.record_consent(&dummy, ConsentScope::Notes, GivenBy::Participant, "v1")
        .unwrap();
    omar.add_note(
        &session,
        NewNote::new(NoteKind::Observation, "Hon skrattade"),
    )
    .unwrap();
    let report = omar
        .sync_with_hub(&insikt_core::sync::HubSyncOptions::default())
        .unwrap();
    assert!(
        !report.audit_upload_failed && report.audit_rows_sent >= 2,
        "{report:?}"
    );
    let log = sara.hub_audit_log(&project).unwrap();
    assert_eq!(
        log.iter()
            .filter(|e| e.action == "note" && &e.member == omar.me())
            .count(),
        2
    );
    assert!(log.iter().all(|e| e.participant != dummy));

    // Another organisation's coordinator does not see the project.
    hub.hub.add_org("Region Nord").unwrap();
    let other = open("other");
    other
        .enroll(
            &hub.url,
            &hub.hub
                .invite("Region Nord", Role::Coordinator, None)
                .unwrap(),
            "Nord",
        )
        .unwrap();
    let token = other.enrollment().unwrap().unwrap().token;
    let got = agent
        .get(&format!(
            "{}/v1/projects/{}/audit",
            hub.url,
            project.as_str()
        ))
        .header("Authorization", &format!("Bearer {token}"))
        .call();
    assert!(matches!(got, Err(ureq::Error::StatusCode(404))));
}
