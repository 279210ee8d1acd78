//! The one error type of the core. Its messages are safe to show and to log: they name
//! what kind of thing went wrong and, at most, an opaque id — never note text, a
//! participant code, a name, a path inside the user's material, or a key.

use thiserror::Error;

/// Everything that can go wrong in the core.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// The key does not open this store.
    #[error("the key does not open this store")]
    WrongKey,
    /// The file is not an Insikt store (another database, or not a database at all).
    #[error("this is not an Insikt store")]
    NotAStore,
    /// The store was written by a newer version of Insikt.
    #[error("the store has schema version {found}, newer than this app supports ({supported})")]
    StoreTooNew { found: u32, supported: u32 },
    /// Another process has this store open.
    #[error("the store is in use by another process")]
    StoreBusy,
    /// A key is not 32 bytes / 64 hex characters.
    #[error("a key must be 64 hexadecimal characters (32 bytes)")]
    MalformedKey,
    /// Something with this id does not exist (or is not visible here).
    #[error("no {what} with id {id}")]
    NotFound { what: &'static str, id: String },
    /// The capture or export is not covered by the participant's consent.
    #[error("consent does not cover {scope} for participant {participant}")]
    ConsentMissing {
        participant: String,
        scope: &'static str,
    },
    /// The material was erased and cannot be used again.
    #[error("the {what} was erased")]
    Erased { what: &'static str },
    /// The caller's role does not allow this.
    #[error("not allowed: {0}")]
    NotAllowed(&'static str),
    /// Input that does not meet a rule; the message says which rule.
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// The disk is full; nothing was acknowledged.
    #[error("the disk is full; the last change was not saved")]
    DiskFull,
    /// Storage failed; the detail is a code, never content.
    #[error("storage error ({0})")]
    Storage(String),
    /// A document could not be read or merged.
    #[error("document error ({0})")]
    Document(String),
    /// A photo or recording was refused or could not be stored; the message names the
    /// kind of problem (unsupported format, truncated, too large…), never the content.
    #[error("media: {0}")]
    Media(String),
    /// An I/O error outside the database.
    #[error("i/o error ({0})")]
    Io(String),
    /// Sync with a peer failed; the message is the protocol's reason (never content).
    #[error("sync: {0}")]
    Sync(String),
    /// The hub refused this device (no or a wrong token, a revoked device).
    #[error("the hub refused this device: {0}")]
    Unauthorized(String),
}

/// Results of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => Error::DiskFull,
            Some(ErrorCode::NotADatabase) => Error::WrongKey,
            // The code and number only: SQLite's own message can quote values.
            Some(code) => Error::Storage(format!("{code:?}")),
            None => Error::Storage(storage_kind(&e)),
        }
    }
}

fn storage_kind(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::QueryReturnedNoRows => "no rows".into(),
        rusqlite::Error::InvalidColumnType(..) => "column type".into(),
        rusqlite::Error::FromSqlConversionFailure(..) => "conversion".into(),
        _ => "sqlite".into(),
    }
}

impl From<automerge::AutomergeError> for Error {
    fn from(e: automerge::AutomergeError) -> Self {
        // automerge messages can contain values; keep only the variant's shape.
        let text = format!("{e:?}");
        let kind = text.split(['(', ' ', '{']).next().unwrap_or("automerge");
        Error::Document(kind.to_string())
    }
}

impl From<autosurgeon::ReconcileError> for Error {
    fn from(_: autosurgeon::ReconcileError) -> Self {
        Error::Document("reconcile".into())
    }
}

impl From<autosurgeon::HydrateError> for Error {
    fn from(_: autosurgeon::HydrateError) -> Self {
        Error::Document("unexpected document shape".into())
    }
}

impl From<insikt_media::MediaError> for Error {
    fn from(e: insikt_media::MediaError) -> Self {
        match e {
            insikt_media::MediaError::Io(std::io::ErrorKind::StorageFull) => Error::DiskFull,
            // The media crate's messages are written to be safe to show and log.
            other => Error::Media(other.to_string()),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::StorageFull {
            Error::DiskFull
        } else {
            Error::Io(format!("{:?}", e.kind()))
        }
    }
}

impl Error {
    pub(crate) fn not_found(what: &'static str, id: impl ToString) -> Self {
        Error::NotFound {
            what,
            id: id.to_string(),
        }
    }
}
