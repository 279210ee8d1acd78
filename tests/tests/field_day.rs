//! A field day: two social workers interview children, young people and staff on
//! their phones with no network, and in the afternoon the team meets around a tablet
//! to turn the material into insights, questions and ideas. Devices exchange their
//! documents in whatever order they happen to meet; everyone ends up with the same
//! project, and nothing anyone wrote is lost.

use insikt_core::domain::{
    AgeBand, MemberRole, NoteKind, ParticipantRole, SessionKind, Step, StepStatus,
};
use insikt_core::{Error, Lang, NewIdea, NewNote};
use insikt_scenarios::{consenting_participant, start, Device};

#[test]
fn a_field_day_with_two_phones_and_a_workshop_tablet() {
    let dir = tempfile::tempdir().unwrap();
    let sara = Device::new("saras-phone", dir.path());
    let omar = Device::new("omars-phone", dir.path());
    let tablet = Device::new("team-tablet", dir.path());

    // Morning, at the office: Sara frames the project and brings the team in.
    let project = sara
        .store
        .create_project("Första kontakten", Lang::Sv, "Sara")
        .unwrap();
    sara.store
        .set_canvas(
            &project,
            Some("förstå ungas första kontakt"),
            Some("unga 10–20 år"),
            None,
            None,
        )
        .unwrap();
    sara.store
        .add_member_with_id(
            &project,
            omar.store.me().clone(),
            "Omar",
            MemberRole::Researcher,
        )
        .unwrap();
    sara.store
        .add_member_with_id(
            &project,
            tablet.store.me().clone(),
            "Workshop",
            MemberRole::Reviewer,
        )
        .unwrap();
    let child = consenting_participant(
        &sara.store,
        &project,
        "P-01",
        ParticipantRole::Child,
        AgeBand::From10To12,
    );
    let young = consenting_participant(
        &sara.store,
        &project,
        "P-02",
        ParticipantRole::YoungPerson,
        AgeBand::From16To17,
    );
    let staff = consenting_participant(
        &sara.store,
        &project,
        "P-03",
        ParticipantRole::Staff,
        AgeBand::Adult,
    );
    sara.send_all_to(&omar);
    sara.send_all_to(&tablet);
    assert_eq!(
        omar.store.my_role(&project).unwrap(),
        MemberRole::Researcher
    );
    assert_eq!(
        tablet.store.my_role(&project).unwrap(),
        MemberRole::Reviewer
    );

    // In the field, offline: Sara meets the child, Omar the young person and a staff member.
    let s1 = start(
        &sara.store,
        &project,
        SessionKind::Interview,
        "Intervju P-01",
        std::slice::from_ref(&child),
    );
    let q1 = sara
        .store
        .add_note(
            &s1,
            NewNote::new(NoteKind::Quote, "Ingen sa något till mig om varför de kom."),
        )
        .unwrap();
    sara.store
        .add_note(
            &s1,
            NewNote::new(NoteKind::Pain, "Visste inte vad som skulle hända sedan"),
        )
        .unwrap();
    let s2 = start(
        &omar.store,
        &project,
        SessionKind::Interview,
        "Intervju P-02",
        std::slice::from_ref(&young),
    );
    let q2 = omar
        .store
        .add_note(
            &s2,
            NewNote::new(NoteKind::Quote, "Jag hade vågat fråga mer på sms."),
        )
        .unwrap();
    let s3 = start(
        &omar.store,
        &project,
        SessionKind::Interview,
        "Intervju P-03",
        std::slice::from_ref(&staff),
    );
    omar.store
        .add_note(
            &s3,
            NewNote::new(
                NoteKind::Observation,
                "Ritar bilder för att förklara utredningen",
            ),
        )
        .unwrap();
    let shared = start(
        &omar.store,
        &project,
        SessionKind::Observation,
        "Väntrummet",
        &[],
    );
    let obs = omar
        .store
        .add_note(
            &shared,
            NewNote::new(NoteKind::Observation, "Efternamnet ropas upp högt"),
        )
        .unwrap();

    // The tablet cannot capture field notes: reviewers work with what was captured.
    assert!(matches!(
        tablet
            .store
            .add_note(&shared, NewNote::new(NoteKind::Plain, "x")),
        Err(Error::NotFound { .. }) | Err(Error::NotAllowed(_))
    ));

    // Lunch: Omar's phone meets the tablet first, Sara's later; then the phones meet.
    omar.send_all_to(&tablet);
    sara.send_all_to(&tablet);
    assert_eq!(tablet.store.search(&project, "sms", 10).unwrap().len(), 1);

    // The workshop, on the tablet: insights backed by both phones' quotes.
    let insight = tablet
        .store
        .add_insight(
            &project,
            "Unga får inte veta varför",
            &[q1.clone(), q2.clone()],
            "Förklara först",
        )
        .unwrap();
    tablet
        .store
        .add_hmw(&project, &insight, "Hur kan vi förklara för barnet först?")
        .unwrap();
    let idea = tablet
        .store
        .add_idea(
            &project,
            NewIdea {
                title: "Sms till handläggaren".into(),
                ..Default::default()
            },
        )
        .unwrap();
    tablet.store.vote(&project, &idea, 3).unwrap();
    tablet
        .store
        .set_step_status(&project, Step::Focus, StepStatus::Done)
        .unwrap();

    // Meanwhile, still apart, Sara corrects Omar's observation and Omar adds to it.
    omar.send_all_to(&sara);
    sara.store
        .edit_note(&obs, "Efternamnet ropas upp högt i väntrummet")
        .unwrap();
    omar.store
        .edit_note(&obs, "Efternamnet ropas upp högt, familjen ser generad ut")
        .unwrap();
    sara.store.vote(&project, &idea, 0).ok(); // Sara has not seen the idea yet: not found is fine.

    // Evening: everyone meets everyone, in both directions, in a different order.
    for _ in 0..2 {
        tablet.send_all_to(&sara);
        sara.send_all_to(&omar);
        omar.send_all_to(&tablet);
        tablet.send_all_to(&omar);
        omar.send_all_to(&sara);
    }

    // Everyone holds the same project, the same notes, the same search results.
    let devices = [&sara, &omar, &tablet];
    for d in devices {
        assert_eq!(
            d.store.project(&project).unwrap(),
            sara.store.project(&project).unwrap(),
            "{}",
            d.name
        );
        for s in [&s1, &s2, &s3, &shared] {
            assert_eq!(
                d.store.notes(s).unwrap(),
                sara.store.notes(s).unwrap(),
                "{}",
                d.name
            );
        }
        assert_eq!(d.store.sessions(&project).unwrap().len(), 4, "{}", d.name);
        assert_eq!(
            d.store.search(&project, "väntrummet", 10).unwrap().len(),
            1,
            "{}",
            d.name
        );
        let ranking = d.store.idea_ranking(&project).unwrap();
        assert_eq!(ranking[0].dots, 3, "{}", d.name);
    }
    // Neither edit of the observation was lost.
    let merged = omar.store.note(&obs).unwrap().text;
    assert!(
        merged.contains("i väntrummet") && merged.contains("generad"),
        "{merged}"
    );
    // The insight cites both phones' quotes, which every device can open.
    for d in devices {
        let evidence = d.store.insight_evidence(&project, &insight).unwrap();
        assert_eq!(evidence.len(), 2);
        assert!(
            evidence
                .iter()
                .all(|e| matches!(e, insikt_core::EvidenceView::Present(_))),
            "{}",
            d.name
        );
    }
}

#[test]
fn consent_follows_the_participant_to_every_device() {
    let dir = tempfile::tempdir().unwrap();
    let sara = Device::new("saras-phone", dir.path());
    let omar = Device::new("omars-phone", dir.path());
    let project = sara
        .store
        .create_project("Samtycke", Lang::En, "Sara")
        .unwrap();
    sara.store
        .add_member_with_id(
            &project,
            omar.store.me().clone(),
            "Omar",
            MemberRole::Researcher,
        )
        .unwrap();
    let p = consenting_participant(
        &sara.store,
        &project,
        "P-09",
        ParticipantRole::YoungPerson,
        AgeBand::From13To15,
    );
    sara.send_all_to(&omar);
    let session = start(
        &omar.store,
        &project,
        SessionKind::Interview,
        "Interview",
        std::slice::from_ref(&p),
    );
    omar.store
        .add_note(&session, NewNote::new(NoteKind::Plain, "before withdrawal"))
        .unwrap();
    // The young person withdraws consent to notes, on Sara's phone.
    sara.store
        .withdraw_consent(
            &p,
            Some(insikt_core::domain::ConsentScope::Notes),
            insikt_core::domain::GivenBy::Participant,
        )
        .unwrap();
    sara.send_all_to(&omar);
    let refused = omar
        .store
        .add_note(&session, NewNote::new(NoteKind::Plain, "after withdrawal"));
    assert!(matches!(
        refused,
        Err(Error::ConsentMissing { scope: "notes", .. })
    ));
}
