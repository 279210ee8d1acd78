//! # insikt-core
//!
//! The shared core of Insikt, an offline-first app for field research in
//! user-driven innovation of social services (Innovationsguiden's six steps).
//!
//! Read top-down:
//! - [`Store`] is the device's encrypted store and the whole API: open it with a
//!   [`StoreKey`], then create a project, add participants and their consent, run
//!   sessions, capture notes, build insights, ideas and tests, and search.
//! - [`domain`] holds the method's types, which are also the shapes of the synced
//!   automerge documents (see `docs/documents.md` for the boundaries and why).
//! - [`policy`] says who may write what in the synced documents, and reads the
//!   team as every replica should believe it; the hub enforces it, devices follow it.
//! - [`Error`] is the one error type; its messages never carry personal data.

pub mod domain;
pub mod error;
pub mod i18n;
pub mod ids;
pub mod policy;
pub mod store;
pub mod sync;
pub mod time;

pub use error::{Error, Result};
pub use i18n::Lang;
pub use store::{
    AuditEntry, ConsentStatus, DocKey, Durability, ErasureReport, EvidenceView, IdeaRank,
    InsightView, NewDiaryEntry, NewIdea, NewNote, NewPhoto, NewRecording, NewSession, NoteView,
    OpenOptions, ParticipantView, ProjectSummary, SearchHit, SessionView, Store, StoreKey,
};
pub use time::Timestamp;

/// Photo redaction, as the media pipeline takes it.
pub use insikt_media::{RedactStyle, Redaction, Region};
