//! A workshop in a room without a network: the team tablet and a social worker's
//! phone meet over a local link (here a loopback socket carrying the same framed
//! byte stream a Bluetooth or Wi-Fi Direct transport carries), with no server.
//! Both edited apart; after one session they hold the same documents. Then a young
//! person's phone meets the tablet: limited to its inbox, it receives nothing else.

use insikt_core::domain::{AgeBand, MemberRole, NoteKind, ParticipantRole, SessionKind};
use insikt_core::sync::{run, Limits, PeerScope, Session, StoreDocuments, TcpTransport};
use insikt_core::{DocKey, Lang, NewNote, Store};
use insikt_scenarios::sim::fingerprint;
use insikt_scenarios::{consenting_participant, start, Device};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// Runs one sync session between `a` (dialling) and `b` over a loopback socket;
/// `b_scope` limits what `b` shows `a`.
fn meet(a: &Store, b: &Store, b_scope: PeerScope) -> (usize, usize) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let b = b.clone();
    let other = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut t = TcpTransport::new(stream, 16 << 20);
        let mut s = Session::new(StoreDocuments::new(b).unwrap(), "b", Limits::default());
        s.set_scope(b_scope);
        run(
            &mut s,
            &mut t,
            false,
            Duration::from_millis(100),
            Duration::from_secs(30),
        )
        .unwrap()
        .changed
        .len()
    });
    let mut t = TcpTransport::new(TcpStream::connect(addr).unwrap(), 16 << 20);
    let mut s = Session::new(
        StoreDocuments::new(a.clone()).unwrap(),
        "a",
        Limits::default(),
    );
    let mine = run(
        &mut s,
        &mut t,
        true,
        Duration::from_millis(100),
        Duration::from_secs(30),
    )
    .unwrap()
    .changed
    .len();
    (mine, other.join().unwrap())
}

#[test]
fn a_tablet_and_a_phone_converge_over_a_local_link_and_a_participant_sees_only_their_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let tablet = Device::new("tablet", dir.path());
    let phone = Device::new("phone", dir.path());
    let project = tablet
        .store
        .create_project("Verkstad", Lang::Sv, "Lina")
        .unwrap();
    tablet
        .store
        .add_member_with_id(
            &project,
            phone.store.me().clone(),
            "Omar",
            MemberRole::Researcher,
        )
        .unwrap();
    let child = consenting_participant(
        &tablet.store,
        &project,
        "P-03",
        ParticipantRole::Child,
        AgeBand::From10To12,
    );
    tablet.store.send_message(&child, "Tack!").unwrap();
    // The phone has nothing yet: the first meeting brings everything.
    let (got, _) = meet(&phone.store, &tablet.store, PeerScope::All);
    assert!(
        got >= 3,
        "the phone received the project, the participant and the inbox"
    );

    // Apart: the phone interviews, the tablet runs the workshop.
    let s = start(
        &phone.store,
        &project,
        SessionKind::Interview,
        "Samtal",
        std::slice::from_ref(&child),
    );
    phone
        .store
        .add_note(&s, NewNote::new(NoteKind::Quote, "Jag gillar verkstaden"))
        .unwrap();
    tablet
        .store
        .add_insight(&project, "Barn vill bygga själva", &[], "")
        .unwrap();
    meet(&phone.store, &tablet.store, PeerScope::All);
    assert_eq!(fingerprint(&phone.store), fingerprint(&tablet.store));
    assert_eq!(
        tablet
            .store
            .search(&project, "verkstaden", 10)
            .unwrap()
            .len(),
        1
    );

    // The child's own phone meets the tablet; the tablet shows it only the inbox.
    let kid = Device::new("kid", dir.path());
    meet(
        &kid.store,
        &tablet.store,
        PeerScope::Only(vec![DocKey::Inbox(child.clone())]),
    );
    assert_eq!(
        kid.store.document_keys().unwrap(),
        vec![DocKey::Inbox(child)]
    );
}

/// Only the hub builds a document's later generations (see `store::generation`):
/// a paired device offering one — here a forged one claiming that every diary entry
/// was purged — is refused, and so is a change to a document's generation fields.
#[test]
fn a_paired_device_cannot_push_a_generation_of_its_own() {
    use automerge::transaction::Transactable;
    use insikt_core::store::generation::{next_generation, RollPlan, PURGED_BEFORE};
    let dir = tempfile::tempdir().unwrap();
    let tablet = Device::new("tablet", dir.path());
    let rogue = Device::new("rogue", dir.path());
    let project = tablet
        .store
        .create_project("Verkstad", Lang::Sv, "Lina")
        .unwrap();
    let child = consenting_participant(
        &tablet.store,
        &project,
        "P-03",
        ParticipantRole::Child,
        AgeBand::From10To12,
    );
    tablet.store.send_message(&child, "Tack!").unwrap();
    let key = DocKey::Inbox(child.clone());
    let mut inbox =
        automerge::AutoCommit::load(&tablet.store.document_bytes(&key).unwrap()).unwrap();
    let mut forged =
        next_generation(&mut inbox, &RollPlan::default(), insikt_core::Timestamp(1)).unwrap();
    forged
        .put(automerge::ROOT, PURGED_BEFORE, i64::MAX)
        .unwrap();
    forged.commit();
    rogue.store.merge_document(&key, &forged.save()).unwrap();
    assert_eq!(rogue.store.document_generation(&key).unwrap(), Some(1));

    meet(&tablet.store, &rogue.store, PeerScope::All);
    meet(&rogue.store, &tablet.store, PeerScope::All);
    assert_eq!(tablet.store.document_generation(&key).unwrap(), Some(0));
    assert_eq!(tablet.store.inbox(&child).unwrap().messages.len(), 1);

    // A change to the generation fields of a document held here is refused too.
    inbox.put(automerge::ROOT, PURGED_BEFORE, i64::MAX).unwrap();
    inbox.commit();
    let refused = tablet.store.merge_document(&key, &inbox.save());
    assert!(
        matches!(refused, Err(insikt_core::Error::NotAllowed(_))),
        "{refused:?}"
    );
    assert_eq!(tablet.store.inbox(&child).unwrap().messages.len(), 1);
}
