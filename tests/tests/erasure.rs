//! A young person withdraws consent. The coordinator erases their material; the team
//! tablet is in the office and hears of it at once; a social worker's phone is in a
//! drawer, still holding the material, and even captures one more note about them
//! before it meets anyone again. When it does, it purges what it holds, and nothing
//! it held comes back anywhere.

use insikt_core::domain::{
    AgeBand, ConsentScope, MemberRole, NoteKind, ParticipantRole, SessionKind,
};
use insikt_core::{DocKey, Error, Lang, NewNote};
use insikt_scenarios::{consenting_participant, start, Device};

#[test]
fn an_erasure_reaches_every_device_and_a_stale_phone_cannot_bring_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let sara = Device::new("coordinator", dir.path());
    let omar = Device::new("omars-phone", dir.path());
    let tablet = Device::new("team-tablet", dir.path());
    let project = sara
        .store
        .create_project("Röster", Lang::Sv, "Sara")
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
            "Tablet",
            MemberRole::Reviewer,
        )
        .unwrap();
    let p07 = consenting_participant(
        &sara.store,
        &project,
        "P-07",
        ParticipantRole::YoungPerson,
        AgeBand::From13To15,
    );
    let p08 = consenting_participant(
        &sara.store,
        &project,
        "P-08",
        ParticipantRole::YoungPerson,
        AgeBand::From16To17,
    );
    sara.send_all_to(&omar);

    // Omar interviews both young people, and P-07 alone.
    let alone = start(
        &omar.store,
        &project,
        SessionKind::Interview,
        "P-07 ensam",
        std::slice::from_ref(&p07),
    );
    omar.store
        .add_note(
            &alone,
            NewNote::new(NoteKind::Quote, "lilafjäril berättade om hemmet"),
        )
        .unwrap();
    let both = start(
        &omar.store,
        &project,
        SessionKind::Interview,
        "Gruppsamtal",
        &[p07.clone(), p08.clone()],
    );
    let mut about = NewNote::new(NoteKind::Plain, "lilafjäril i gruppen");
    about.about = Some(p07.clone());
    omar.store.add_note(&both, about).unwrap();
    let mut kept = NewNote::new(NoteKind::Plain, "P-08 om skolan");
    kept.about = Some(p08.clone());
    omar.store.add_note(&both, kept).unwrap();
    for (a, b) in [(&omar, &sara), (&omar, &tablet), (&sara, &tablet)] {
        a.send_all_to(b);
        b.send_all_to(a);
    }
    assert_eq!(
        tablet
            .store
            .search(&project, "lilafjäril", 10)
            .unwrap()
            .len(),
        2
    );

    // P-07 withdraws consent; Sara erases. The tablet hears at once; Omar's phone is away.
    sara.store
        .withdraw_consent(&p07, None, insikt_core::domain::GivenBy::Participant)
        .unwrap();
    sara.store.erase_participant(&p07).unwrap();
    sara.send_all_to(&tablet);
    // Away, Omar still writes about P-07 (his phone does not know yet).
    let mut late = NewNote::new(NoteKind::Plain, "lilafjäril igen, sent");
    late.about = Some(p07.clone());
    omar.store.add_note(&both, late).unwrap();

    // Months later Omar's phone meets the tablet, in both directions, then Sara.
    tablet.send_all_to(&omar);
    omar.send_all_to(&tablet);
    omar.send_all_to(&sara);
    sara.send_all_to(&omar);

    for d in [&sara, &omar, &tablet] {
        assert!(
            d.store
                .search(&project, "lilafjäril", 10)
                .unwrap()
                .is_empty(),
            "{}",
            d.name
        );
        assert!(
            d.store
                .participants(&project)
                .unwrap()
                .iter()
                .all(|p| p.id != p07),
            "{}",
            d.name
        );
        let keys = d.store.document_keys().unwrap();
        assert!(
            keys.iter().all(|k| k.subject() != Some(&p07)),
            "{} holds P-07's documents",
            d.name
        );
        assert!(
            !keys.contains(&DocKey::Session(alone.clone())),
            "{}",
            d.name
        );
        // P-08's material stays, everywhere.
        assert_eq!(
            d.store.search(&project, "skolan", 10).unwrap().len(),
            1,
            "{}",
            d.name
        );
    }
    // And nobody can write about P-07 again.
    let mut again = NewNote::new(NoteKind::Plain, "x");
    again.about = Some(p07.clone());
    assert!(matches!(
        omar.store.add_note(&both, again),
        Err(Error::NotFound { .. }) | Err(Error::Erased { .. })
    ));
    let _ = ConsentScope::Notes;
}
