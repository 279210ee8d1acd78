//! A device link carries what a device writes while the link stays open.

use std::sync::Arc;
use std::time::{Duration, Instant};

use insikt_ffi::link::{DeviceLink, PeerScope};
use insikt_ffi::notes::{NewNote, NoteKind};
use insikt_ffi::project::{Lang, MemberRole};
use insikt_ffi::sessions::{NewSession, SessionKind};
use insikt_ffi::Store;

fn open(dir: &std::path::Path) -> Arc<Store> {
    Store::open(dir.to_str().unwrap().into(), vec![9; 32]).unwrap()
}

fn note(text: &str) -> NewNote {
    NewNote {
        kind: NoteKind::Observation,
        text: text.into(),
        about: None,
        anchor: None,
        tags: vec![],
    }
}

/// Moves bytes both ways until neither side has anything to say.
fn pump(a: &DeviceLink, b: &DeviceLink, mut to_b: Vec<u8>) {
    let mut to_a = Vec::new();
    for _ in 0..200 {
        if to_a.is_empty() && to_b.is_empty() {
            return;
        }
        // One byte run at a time, cut in two as a radio link might.
        let half = to_b.len() / 2;
        let mut back = b.receive(to_b[..half].to_vec()).unwrap();
        back.extend(b.receive(to_b[half..].to_vec()).unwrap());
        to_b = Vec::new();
        to_a.extend(back);
        to_b.extend(a.receive(std::mem::take(&mut to_a)).unwrap());
    }
    panic!("the link did not settle");
}

#[test]
fn a_note_written_while_the_link_is_open_reaches_the_peer() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (tablet, phone) = (open(da.path()), open(db.path()));
    let project = tablet
        .create_project("Workshop".into(), Lang::Sv, "Sara".into())
        .unwrap();
    tablet
        .add_member(
            project.clone(),
            phone.member_id().unwrap(),
            "Omar".into(),
            MemberRole::Researcher,
        )
        .unwrap();
    let session = tablet
        .start_session(
            project,
            NewSession {
                kind: SessionKind::Observation,
                title: "Väntrummet".into(),
                participants: vec![],
                place: None,
                guide: None,
                started_at: None,
            },
        )
        .unwrap();
    tablet
        .add_note(session.clone(), note("före länken"))
        .unwrap();
    tablet.notes(session.clone()).unwrap();

    let a = tablet.device_link(PeerScope::Everything).unwrap();
    let b = phone.device_link(PeerScope::Everything).unwrap();
    let first = a.start(true).unwrap();
    let from_b = b.start(false).unwrap();
    let mut to_b = first;
    to_b.extend(a.receive(from_b).unwrap());
    pump(&a, &b, to_b);
    assert!(a.in_sync().unwrap() && b.in_sync().unwrap());
    assert_eq!(phone.notes(session.clone()).unwrap().len(), 1);

    // Written on the tablet with the link still open.
    tablet
        .add_note(session.clone(), note("under länken"))
        .unwrap();
    tablet.notes(session.clone()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    while out.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        out = a.outgoing().unwrap();
    }
    assert!(!out.is_empty(), "nothing to hand over after a local write");
    pump(&a, &b, out);
    let texts: Vec<String> = phone
        .notes(session)
        .unwrap()
        .into_iter()
        .map(|n| n.text)
        .collect();
    assert_eq!(texts, ["före länken", "under länken"]);
}
