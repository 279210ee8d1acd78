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

/// Stops its own handle from inside its callback, slowly.
struct StopsItself {
    handle: std::sync::OnceLock<Arc<insikt_ffi::observe::ListenerHandle>>,
    calls: std::sync::atomic::AtomicUsize,
    entered: Mutex<Sender<()>>,
}

impl ChangeListener for StopsItself {
    fn on_change(&self, _: Vec<Change>) {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let _ = self.entered.lock().unwrap().send(());
        // Meanwhile the app stops the handle from another thread.
        std::thread::sleep(Duration::from_millis(300));
        if let Some(handle) = self.handle.get() {
            handle.stop().unwrap();
        }
    }
}

#[test]
fn a_listener_stopping_itself_while_the_app_stops_it_does_not_deadlock() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).unwrap();
    let (entered_tx, entered) = channel();
    let listener = Arc::new(StopsItself {
        handle: Default::default(),
        calls: Default::default(),
        entered: Mutex::new(entered_tx),
    });
    let handle = store.observe_all(listener.clone()).unwrap();
    listener.handle.set(handle.clone()).ok().unwrap();
    store
        .create_project("Rasten".into(), Lang::Sv, "Sara".into())
        .unwrap();
    entered.recv_timeout(Duration::from_secs(10)).unwrap();
    // The app stops it while the callback runs (and the callback stops it too).
    let (stopped_tx, stopped) = channel();
    let app = handle.clone();
    std::thread::spawn(move || {
        app.stop().unwrap();
        let _ = stopped_tx.send(());
    });
    stopped
        .recv_timeout(Duration::from_secs(10))
        .expect("stopping a listener whose callback stops it too deadlocked");
    store
        .create_project("Annat".into(), Lang::Sv, "Sara".into())
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(listener.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
}
