//! Cross-crate scenarios live in `tests/`; this library holds what they share.

pub mod sim;

use insikt_core::domain::{AgeBand, ConsentScope, GivenBy, ParticipantRole, SessionKind};
use insikt_core::ids::{ParticipantId, ProjectId, SessionId};
use insikt_core::{Lang, NewSession, Store, StoreKey};
use std::path::Path;

/// A device: its store and a name for messages.
pub struct Device {
    pub name: &'static str,
    pub store: Store,
}

impl Device {
    /// A new device with its own store and key in `dir`.
    pub fn new(name: &'static str, dir: &Path) -> Device {
        let store = Store::open(&dir.join(name), &StoreKey::generate()).expect("open a new store");
        Device { name, store }
    }

    /// Sends what a sync sends, without the network: first the tombstones of erased
    /// documents (which `other` honours), then every document this device holds.
    /// Returns how many documents changed on `other`.
    pub fn send_all_to(&self, other: &Device) -> usize {
        let tombstones = self.store.tombstones().expect("list tombstones");
        other
            .store
            .honour_tombstones(&tombstones)
            .expect("honour tombstones");
        let mut changed = 0;
        for key in self.store.document_keys().expect("list documents") {
            let bytes = self.store.document_bytes(&key).expect("read document");
            match other.store.merge_document(&key, &bytes) {
                Ok(true) => changed += 1,
                Ok(false) => {}
                // The receiver erased it: it must stay erased there.
                Err(insikt_core::Error::Erased { .. }) => {}
                Err(e) => panic!("merge failed: {e}"),
            }
        }
        changed
    }
}

/// A participant with consent to notes and quotes.
pub fn consenting_participant(
    store: &Store,
    project: &ProjectId,
    code: &str,
    role: ParticipantRole,
    age: AgeBand,
) -> ParticipantId {
    let p = store
        .add_participant(project, code, role, age)
        .expect("add participant");
    for scope in [ConsentScope::Notes, ConsentScope::QuotesInReports] {
        store
            .record_consent(&p, scope, GivenBy::Participant, "2026-10")
            .expect("record consent");
    }
    p
}

/// Starts a session with the given participants.
pub fn start(
    store: &Store,
    project: &ProjectId,
    kind: SessionKind,
    title: &str,
    who: &[ParticipantId],
) -> SessionId {
    let input = NewSession {
        kind,
        title: title.into(),
        participants: who.to_vec(),
        place: Some("Fritidsgården".into()),
        guide: None,
        started_at: None,
    };
    store.start_session(project, input).expect("start session")
}

/// A fresh project with one consenting child and an interview, for tools.
pub fn project_with_interview(store: &Store) -> (ProjectId, SessionId) {
    let project = store
        .create_project("Hållbar kontakt", Lang::Sv, "Sara")
        .expect("create project");
    let child = consenting_participant(
        store,
        &project,
        "P-01",
        ParticipantRole::Child,
        AgeBand::From10To12,
    );
    let session = start(
        store,
        &project,
        SessionKind::Interview,
        "Intervju",
        &[child],
    );
    (project, session)
}
