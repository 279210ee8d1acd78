//! Photos and recordings attached to sessions and idea cards. The bytes live in the
//! encrypted blob store, never in a document; documents hold the hashes.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use super::prose::Prose;
use crate::i18n::labelled_enum;
use crate::ids::{AttachmentId, MemberId, ParticipantId};
use crate::time::Timestamp;

labelled_enum! {
    /// What an attachment is.
    AttachmentKind {
        Photo = "photo", "Foto", "Photo";
        Audio = "audio", "Ljudinspelning", "Audio recording";
    }
}

/// One stored rendition (or the recording itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct StoredBlob {
    /// SHA-256 of the stored bytes, hex.
    pub hash: String,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
}

/// A photo or recording with its caption.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Attachment {
    pub id: AttachmentId,
    pub kind: AttachmentKind,
    pub caption: Prose,
    /// The participants who appear in the photo or speak in the recording.
    pub appears: Vec<ParticipantId>,
    pub mime: String,
    /// Photos: a thumbnail of about 320 px.
    pub thumbnail: Option<StoredBlob>,
    /// Photos: a preview of about 1600 px.
    pub preview: Option<StoredBlob>,
    /// The kept original (photos: at most 4096 px, re-encoded without metadata;
    /// recordings: as recorded).
    pub original: StoredBlob,
    /// Whether regions were blurred or pixelated.
    pub redacted: bool,
    pub author: MemberId,
    pub created_at: Timestamp,
}

impl Attachment {
    /// Every blob hash this attachment holds.
    pub fn hashes(&self) -> Vec<&str> {
        [&self.thumbnail, &self.preview]
            .into_iter()
            .flatten()
            .chain(std::iter::once(&self.original))
            .map(|b| b.hash.as_str())
            .collect()
    }
}
