//! Change observation: an app registers an observer for the store, a project or a
//! session and is told which documents changed — after local writes (notes once the
//! capture journal applied them), after merges from a peer or the hub, and after
//! erasures.
//!
//! Writers publish under the store's lock, so publishing only queues: each observer
//! has its own thread that delivers batches to its callback outside every lock (a
//! callback may read the store). Dropping the [`Observer`] stops its thread; so does
//! dropping the last handle on the store.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, Weak};

use super::docs::DocKey;
use super::Store;
use crate::error::{Error, Result};
use crate::ids::{ProjectId, SessionId};

/// One changed document.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Change {
    /// The project it belongs to.
    pub project: ProjectId,
    pub document: DocKey,
    /// The document was erased (consent withdrawn) rather than changed.
    pub erased: bool,
}

/// Which changes an observer is told about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Watch {
    /// Every document of the store.
    Store,
    /// The documents of one project.
    Project(ProjectId),
    /// One session: its own document and the material documents of its participants.
    Session(SessionId),
}

impl Watch {
    fn covers(&self, change: &Change) -> bool {
        match self {
            Watch::Store => true,
            Watch::Project(p) => &change.project == p,
            Watch::Session(s) => matches!(
                &change.document,
                DocKey::Session(x) | DocKey::Material(x, _) if x == s
            ),
        }
    }
}

/// The observers registered on one store.
#[derive(Default)]
pub(crate) struct Registry {
    next: AtomicU64,
    subscribers: Mutex<Vec<(u64, Sender<Change>)>>,
}

impl Registry {
    /// Queues a change for every observer; never blocks.
    pub(crate) fn publish(&self, project: &ProjectId, document: &DocKey, erased: bool) {
        let mut subscribers = match self.subscribers.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if subscribers.is_empty() {
            return;
        }
        let change = Change {
            project: project.clone(),
            document: document.clone(),
            erased,
        };
        subscribers.retain(|(_, tx)| tx.send(change.clone()).is_ok());
    }

    fn add(&self) -> (u64, Receiver<Change>) {
        let (tx, rx) = channel();
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        match self.subscribers.lock() {
            Ok(mut s) => s.push((id, tx)),
            Err(poisoned) => poisoned.into_inner().push((id, tx)),
        }
        (id, rx)
    }

    fn remove(&self, id: u64) {
        match self.subscribers.lock() {
            Ok(mut s) => s.retain(|(x, _)| *x != id),
            Err(poisoned) => poisoned.into_inner().retain(|(x, _)| *x != id),
        }
    }
}

/// A registered observer. Dropping it stops deliveries: no callback starts after the
/// drop returns (unless it is dropped from inside its own callback, which then
/// finishes).
pub struct Observer {
    id: u64,
    registry: Weak<Registry>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Observer {
    fn drop(&mut self) {
        if let Some(registry) = self.registry.upgrade() {
            // Dropping the sender ends the delivery thread's wait.
            registry.remove(self.id);
        }
        if let Some(thread) = self.thread.take() {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observer").field("id", &self.id).finish()
    }
}

impl Store {
    /// Registers `notify` for the changes `watch` covers. It is called on a thread of
    /// its own with the changes that arrived since its last call (each document once),
    /// never while the store is locked, so it may read the store. A panic in it is
    /// contained and later changes are still delivered.
    pub fn observe(
        &self,
        watch: Watch,
        mut notify: impl FnMut(Vec<Change>) + Send + 'static,
    ) -> Result<Observer> {
        let (id, rx) = self.observers.add();
        let thread = std::thread::Builder::new()
            .name("insikt-observer".into())
            .spawn(move || {
                // Ends when the observer is dropped or the store closes: either way
                // the sender goes.
                while let Ok(first) = rx.recv() {
                    let mut batch: Vec<Change> = std::iter::once(first)
                        .chain(rx.try_iter())
                        .filter(|c| watch.covers(c))
                        .collect();
                    batch.sort();
                    batch.dedup();
                    if batch.is_empty() {
                        continue;
                    }
                    let call = std::panic::AssertUnwindSafe(|| notify(batch));
                    let _ = std::panic::catch_unwind(call);
                }
            });
        match thread {
            Ok(thread) => Ok(Observer {
                id,
                registry: Arc::downgrade(&self.observers),
                thread: Some(thread),
            }),
            Err(e) => {
                self.observers.remove(id);
                Err(Error::from(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{NoteKind, SessionKind};
    use crate::store::{NewNote, NewSession, StoreKey};
    use crate::Lang;
    use std::time::Duration;

    fn session(store: &Store, project: &ProjectId) -> SessionId {
        store
            .start_session(
                project,
                NewSession {
                    kind: SessionKind::Observation,
                    title: "Fritidsgården".into(),
                    participants: vec![],
                    place: None,
                    guide: None,
                    started_at: None,
                },
            )
            .unwrap()
    }

    #[test]
    fn observers_hear_of_their_scope_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreKey::generate()).unwrap();
        let project = store.create_project("Rasten", Lang::Sv, "Sara").unwrap();
        let (s1, s2) = (session(&store, &project), session(&store, &project));
        let (tx, rx) = channel();
        let observer = store
            .observe(Watch::Session(s1.clone()), move |c| tx.send(c).unwrap())
            .unwrap();
        store
            .add_note(&s2, NewNote::new(NoteKind::Plain, "the other session"))
            .unwrap();
        store
            .add_note(&s1, NewNote::new(NoteKind::Plain, "this session"))
            .unwrap();
        let got = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(got.len(), 1, "only the watched session: {got:?}");
        assert_eq!(got[0].document, DocKey::Session(s1.clone()));
        assert!(!got[0].erased);
        drop(observer);
        store
            .add_note(&s1, NewNote::new(NoteKind::Plain, "after the drop"))
            .unwrap();
        store.notes(&s1).unwrap();
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
    }

    #[test]
    fn closing_the_store_ends_its_observers() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreKey::generate()).unwrap();
        let (tx, rx) = channel::<Vec<Change>>();
        let observer = store
            .observe(Watch::Store, move |c| tx.send(c).unwrap())
            .unwrap();
        drop(store);
        // The callback (and its sender) went with the delivery thread.
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
        );
        drop(observer);
    }
}
