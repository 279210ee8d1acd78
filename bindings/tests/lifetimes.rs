//! The door's lifetimes from Rust: closing a store releases it even while a link made
//! from it is still held, and a listener handle stops its listener.

use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use insikt_ffi::link::PeerScope;
use insikt_ffi::notes::{NewNote, NoteKind};
use insikt_ffi::observe::{Change, ChangeListener};
use insikt_ffi::project::Lang;
use insikt_ffi::sessions::{NewSession, SessionKind};
use insikt_ffi::{InsiktError, Store};

fn open(dir: &std::path::Path) -> Result<Arc<Store>, InsiktError> {
    Store::open(dir.to_str().unwrap().into(), vec![7; 32])
}

#[test]
fn closing_a_store_closes_its_links_and_releases_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).unwrap();
    let link = store.device_link(PeerScope::Everything).unwrap();
    assert!(!link.start(true).unwrap().is_empty());
    assert!(matches!(
        open(dir.path()),
        Err(InsiktError::StoreUnavailable { .. })
    ));
    drop(store);
    // The link still exists, but the store is released: it opens again.
    let again = open(dir.path()).unwrap();
    assert!(matches!(
        link.in_sync(),
        Err(InsiktError::NotAllowed { .. })
    ));
    drop(again);
}

struct Forward(Mutex<Sender<Vec<Change>>>);

impl ChangeListener for Forward {
    fn on_change(&self, changes: Vec<Change>) {
        let _ = self.0.lock().unwrap().send(changes);
    }
}

#[test]
fn a_stopped_listener_hears_nothing_more() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).unwrap();
    let project = store
        .create_project("Rasten".into(), Lang::Sv, "Sara".into())
        .unwrap();
    let session = store
        .start_session(
            project.clone(),
            NewSession {
                kind: SessionKind::Observation,
                title: "Skolgården".into(),
                participants: vec![],
                place: None,
                guide: None,
                started_at: None,
            },
        )
        .unwrap();
    let (tx, rx) = channel();
    let handle = store
        .observe_project(project, Arc::new(Forward(Mutex::new(tx))))
        .unwrap();
    let note = |text: &str| NewNote {
        kind: NoteKind::Plain,
        text: text.into(),
        about: None,
        anchor: None,
        tags: vec![],
    };
    store.add_note(session.clone(), note("första")).unwrap();
    assert!(rx.recv_timeout(Duration::from_secs(10)).is_ok());
    handle.stop().unwrap();
    store.add_note(session.clone(), note("andra")).unwrap();
    store.notes(session).unwrap();
    // The listener (and its sender) went with the stopped observer.
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(2)),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
    );
}
