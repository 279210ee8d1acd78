//! The one error the apps see, and the one place core's errors become it.
//!
//! Its variants are stable and each names what an app does about it; its messages,
//! like core's, never carry note text, participant codes, names, paths or keys — at
//! most an opaque id.

use insikt_core::Error as CoreError;

/// What went wrong, in the terms an app acts on. Kotlin: `InsiktException`; Swift:
/// `InsiktError`.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum InsiktError {
    /// The key does not open this store (or the file is not an Insikt store): ask the
    /// platform keystore again, never retry with another key.
    #[error("the key does not open this store")]
    WrongKey,
    /// The store cannot be opened now: another process or an unclosed `Store` object
    /// holds it, or a newer app version wrote it. Close the other one, or update.
    #[error("the store cannot be opened: {reason}")]
    StoreUnavailable { reason: String },
    /// This device's role (or mode) does not allow the call: hide the action.
    #[error("not allowed: {reason}")]
    NotAllowed { reason: String },
    /// The participant's consent does not cover this scope: ask for consent first.
    #[error("consent does not cover {scope:?} for participant {participant}")]
    ConsentMissing {
        participant: insikt_core::ids::ParticipantId,
        scope: crate::participants::ConsentScope,
    },
    /// Nothing with this id is here (or visible to this device).
    #[error("no {what} with id {id}")]
    NotFound { what: String, id: String },
    /// The input breaks a rule; the reason says which, and can be shown.
    #[error("invalid input: {reason}")]
    InvalidInput { reason: String },
    /// A photo or recording was refused (unsupported, truncated, corrupt, too large,
    /// a redaction outside the image).
    #[error("media refused: {reason}")]
    BadMedia { reason: String },
    /// The disk is full; nothing of the call was saved. Free space and retry.
    #[error("the disk is full; nothing was saved")]
    StorageFull,
    /// The hub or the peer could not be reached, or the sync did not complete (no
    /// network, timed out, closed early). Nothing was lost: retry later.
    #[error("sync did not complete: {reason}")]
    Unreachable { reason: String },
    /// The hub refused this device (a wrong or revoked token): enroll again.
    #[error("the hub refused this device: {reason}")]
    RefusedByHub { reason: String },
    /// The material was erased (consent withdrawn) and cannot be used again.
    #[error("the {what} was erased")]
    Erased { what: String },
    /// A bug or a broken store: report it. The store stays usable.
    #[error("internal error: {reason}")]
    Internal { reason: String },
}

/// Results of the exported calls.
pub type Result<T, E = InsiktError> = std::result::Result<T, E>;

impl InsiktError {
    pub(crate) fn invalid(reason: &str) -> Self {
        InsiktError::InvalidInput {
            reason: reason.into(),
        }
    }
}

impl From<CoreError> for InsiktError {
    fn from(e: CoreError) -> Self {
        use InsiktError as E;
        match e {
            CoreError::WrongKey | CoreError::NotAStore => E::WrongKey,
            CoreError::StoreBusy | CoreError::StoreTooNew { .. } => E::StoreUnavailable {
                reason: e.to_string(),
            },
            CoreError::MalformedKey => E::invalid("a store key is 32 bytes"),
            CoreError::NotFound { what, id } => E::NotFound {
                what: what.into(),
                id,
            },
            CoreError::ConsentMissing { participant, scope } => {
                match crate::participants::ConsentScope::from_key(scope) {
                    Some(scope) => E::ConsentMissing {
                        participant: participant.into(),
                        scope,
                    },
                    None => E::Internal {
                        reason: "consent missing for an unknown scope".into(),
                    },
                }
            }
            CoreError::Erased { what } => E::Erased { what: what.into() },
            CoreError::NotAllowed(reason) => E::NotAllowed {
                reason: reason.into(),
            },
            CoreError::InvalidInput(reason) => E::invalid(reason),
            CoreError::DiskFull => E::StorageFull,
            // Core folds the blob store's "not found" into its media error (issue 10
            // gives it a variant of its own): a rendition not on this device yet is
            // something to fetch, not a bad photo.
            CoreError::Media(reason) if reason == "blob not found" => E::NotFound {
                what: "blob".into(),
                id: String::new(),
            },
            CoreError::Media(reason) => E::BadMedia { reason },
            CoreError::Unauthorized(reason) => E::RefusedByHub { reason },
            // Until core tells network trouble from a local disk error (issue 10), an
            // i/o error of a network kind means the peer is out of reach.
            CoreError::Io(kind) if is_network_kind(&kind) => E::Unreachable { reason: kind },
            CoreError::Sync(reason) => E::Unreachable { reason },
            CoreError::Io(_) | CoreError::Storage(_) | CoreError::Document(_) => E::Internal {
                reason: e.to_string(),
            },
        }
    }
}

/// Whether an i/o error kind (as core reports it, `{:?}` of `std::io::ErrorKind`) is a
/// network failure.
fn is_network_kind(kind: &str) -> bool {
    matches!(
        kind,
        "ConnectionRefused"
            | "ConnectionReset"
            | "ConnectionAborted"
            | "NotConnected"
            | "TimedOut"
            | "HostUnreachable"
            | "NetworkUnreachable"
            | "NetworkDown"
            | "AddrNotAvailable"
            | "BrokenPipe"
            | "UnexpectedEof"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_trouble_is_unreachable_and_disk_trouble_is_not() {
        let refused = InsiktError::from(CoreError::Io("ConnectionRefused".into()));
        assert!(matches!(refused, InsiktError::Unreachable { .. }));
        let disk = InsiktError::from(CoreError::Io("PermissionDenied".into()));
        assert!(matches!(disk, InsiktError::Internal { .. }));
        assert!(matches!(
            InsiktError::from(CoreError::DiskFull),
            InsiktError::StorageFull
        ));
    }

    #[test]
    fn consent_scope_survives_the_conversion() {
        let e = InsiktError::from(CoreError::ConsentMissing {
            participant: "0190-…".into(),
            scope: insikt_core::domain::ConsentScope::Photos.as_key(),
        });
        assert!(matches!(
            e,
            InsiktError::ConsentMissing {
                scope: crate::participants::ConsentScope::Photos,
                ..
            }
        ));
    }
}
