//! Change listeners: the app registers a listener for a project or a session and is
//! told which documents changed, after local writes and after sync. Registering
//! returns a handle; closing or releasing it stops the listener.

use std::sync::{Arc, Mutex};

use insikt_core::ids::{ParticipantId, ProjectId, SessionId};
use insikt_core::store::{DocKey, Watch};

use crate::call::call;
use crate::error::Result;
use crate::store::Store;

/// Which document changed.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum ChangedDocument {
    /// The project: team, canvas, insights, ideas, votes, tests.
    Project,
    /// A participant's record and consent.
    Participant { participant: ParticipantId },
    /// A session and its notes about no single participant.
    Session { session: SessionId },
    /// The notes and photos about one participant in one session.
    Material {
        session: SessionId,
        participant: ParticipantId,
    },
    /// A participant's inbox: diary entries and messages.
    Inbox { participant: ParticipantId },
}

/// One change.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Change {
    pub project: ProjectId,
    pub document: ChangedDocument,
    /// It was erased (consent withdrawn) rather than changed.
    pub erased: bool,
}

impl From<insikt_core::store::Change> for Change {
    fn from(v: insikt_core::store::Change) -> Self {
        let insikt_core::store::Change {
            project,
            document,
            erased,
        } = v;
        let document = match document {
            DocKey::Project(_) => ChangedDocument::Project,
            DocKey::Participant(participant) => ChangedDocument::Participant { participant },
            DocKey::Session(session) => ChangedDocument::Session { session },
            DocKey::Material(session, participant) => ChangedDocument::Material {
                session,
                participant,
            },
            DocKey::Inbox(participant) => ChangedDocument::Inbox { participant },
        };
        Change {
            project,
            document,
            erased,
        }
    }
}

/// Implemented by the app: told about changes on a thread of the core's, never the
/// main thread, with the changes since the last call (each document once). It may
/// read the store; it should return quickly (post to the UI and return).
#[uniffi::export(foreign)]
pub trait ChangeListener: Send + Sync {
    /// Documents changed.
    fn on_change(&self, changes: Vec<Change>);
}

/// A registered listener. Closing or releasing it stops the listener: no call starts
/// after `stop` returns (unless it is stopped from inside its own callback).
#[derive(uniffi::Object)]
pub struct ListenerHandle {
    observer: Mutex<Option<insikt_core::store::Observer>>,
}

#[uniffi::export]
impl ListenerHandle {
    /// Stops the listener now (releasing the handle does the same).
    pub fn stop(&self) -> Result<()> {
        call(|| {
            let observer = self
                .observer
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            // Dropped outside the lock: it waits for a callback under way, and that
            // callback may be stopping this very handle.
            drop(observer);
            Ok(())
        })
    }
}

impl Store {
    fn listen(
        &self,
        watch: Watch,
        listener: Arc<dyn ChangeListener>,
    ) -> Result<Arc<ListenerHandle>> {
        call(|| {
            let observer = self.core.observe(watch, move |changes| {
                listener.on_change(changes.into_iter().map(Into::into).collect())
            })?;
            Ok(Arc::new(ListenerHandle {
                observer: Mutex::new(Some(observer)),
            }))
        })
    }
}

#[uniffi::export]
impl Store {
    /// Listens to every change of a project's documents.
    pub fn observe_project(
        &self,
        project: ProjectId,
        listener: Arc<dyn ChangeListener>,
    ) -> Result<Arc<ListenerHandle>> {
        self.listen(Watch::Project(project), listener)
    }

    /// Listens to one session: its notes, photos and description.
    pub fn observe_session(
        &self,
        session: SessionId,
        listener: Arc<dyn ChangeListener>,
    ) -> Result<Arc<ListenerHandle>> {
        self.listen(Watch::Session(session), listener)
    }

    /// Listens to every change in the store (a participant's phone: its inbox).
    pub fn observe_all(&self, listener: Arc<dyn ChangeListener>) -> Result<Arc<ListenerHandle>> {
        self.listen(Watch::Store, listener)
    }
}
