//! Photos: ingested from bytes (metadata stripped, regions redacted), stored
//! encrypted, read back as renditions for display.

use insikt_core::domain as core;
use insikt_core::ids::{AttachmentId, MemberId, ParticipantId, SessionId};
use insikt_core::Timestamp;

use crate::call::{background, call};
use crate::error::Result;
use crate::mirror::mirror_enum;
use crate::store::Store;

mirror_enum! {
    /// How a region is made unrecognisable (irreversibly).
    RedactStyle = insikt_media::RedactStyle {
        /// Coarse mosaic, then a wide blur: a soft smudge.
        Blur,
        /// Coarse mosaic of big flat blocks.
        Pixelate,
    }
}

/// An area to redact, in pixels of the upright full-size image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Region {
    /// A rectangle with its top-left corner at (x, y).
    Rect { x: u32, y: u32, w: u32, h: u32 },
    /// The ellipse inscribed in the rectangle (x, y, w, h): faces fit ellipses.
    Ellipse { x: u32, y: u32, w: u32, h: u32 },
}

/// One region and how to redact it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Redaction {
    pub region: Region,
    pub style: RedactStyle,
}

impl From<Redaction> for insikt_media::Redaction {
    fn from(v: Redaction) -> Self {
        let Redaction { region, style } = v;
        insikt_media::Redaction {
            region: match region {
                Region::Rect { x, y, w, h } => insikt_media::Region::Rect { x, y, w, h },
                Region::Ellipse { x, y, w, h } => insikt_media::Region::Ellipse { x, y, w, h },
            },
            style: style.into(),
        }
    }
}

/// What to record with a photo.
#[derive(Clone, Debug, uniffi::Record)]
pub struct NewPhoto {
    pub caption: String,
    /// Who appears in it; each needs consent to photos.
    #[uniffi(default = [])]
    pub appears: Vec<ParticipantId>,
    /// Regions to blur or pixelate before anything is stored (children's faces).
    #[uniffi(default = [])]
    pub redactions: Vec<Redaction>,
}

impl From<NewPhoto> for insikt_core::NewPhoto {
    fn from(v: NewPhoto) -> Self {
        let NewPhoto {
            caption,
            appears,
            redactions,
        } = v;
        insikt_core::NewPhoto {
            caption,
            appears,
            redactions: redactions.into_iter().map(Into::into).collect(),
        }
    }
}

mirror_enum! {
    /// What an attachment is.
    AttachmentKind = core::AttachmentKind { Photo, Audio }
}

/// One stored rendition (or a recording itself). Its bytes: `Store.blob(hash)`.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct StoredBlob {
    /// SHA-256 of the stored bytes, hex: the name to read it by.
    pub hash: String,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
}

impl From<core::StoredBlob> for StoredBlob {
    fn from(v: core::StoredBlob) -> Self {
        let core::StoredBlob {
            hash,
            bytes,
            width,
            height,
        } = v;
        StoredBlob {
            hash,
            bytes,
            width,
            height,
        }
    }
}

/// A photo or recording with its caption and renditions. None of the renditions
/// carries any metadata (no GPS, serials, times, XMP).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Attachment {
    pub id: AttachmentId,
    pub kind: AttachmentKind,
    pub caption: String,
    /// Who appears in the photo or speaks in the recording.
    pub appears: Vec<ParticipantId>,
    pub mime: String,
    /// Photos: about 320 px.
    pub thumbnail: Option<StoredBlob>,
    /// Photos: about 1600 px.
    pub preview: Option<StoredBlob>,
    /// The kept original (photos at most 4096 px, re-encoded; recordings as recorded).
    /// It may not be on this device yet: `Store.fetchBlobFromHub(hash)`.
    pub original: StoredBlob,
    /// Whether regions were blurred or pixelated.
    pub redacted: bool,
    pub author: MemberId,
    pub created_at: Timestamp,
}

impl From<core::Attachment> for Attachment {
    fn from(v: core::Attachment) -> Self {
        let core::Attachment {
            id,
            kind,
            caption,
            appears,
            mime,
            thumbnail,
            preview,
            original,
            redacted,
            author,
            created_at,
        } = v;
        Attachment {
            id,
            kind: kind.into(),
            caption: caption.as_str().to_string(),
            appears,
            mime,
            thumbnail: thumbnail.map(Into::into),
            preview: preview.map(Into::into),
            original: original.into(),
            redacted,
            author,
            created_at,
        }
    }
}

#[uniffi::export]
impl Store {
    /// Adds a photo (JPEG, PNG or WebP bytes; convert HEIC on the platform first) to a
    /// session: decoded with limits, turned upright, redacted, cut into a thumbnail,
    /// a preview and a kept original without any metadata, all stored encrypted.
    pub async fn add_photo(
        &self,
        session: SessionId,
        bytes: Vec<u8>,
        photo: NewPhoto,
    ) -> Result<AttachmentId> {
        let core = self.core.clone();
        background(move || Ok(core.add_photo(&session, &bytes, photo.into())?)).await
    }

    /// The photos and recordings of a session, oldest first.
    pub fn attachments(&self, session: SessionId) -> Result<Vec<Attachment>> {
        call(|| {
            Ok(self
                .core
                .attachments(&session)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// The decrypted bytes of a rendition or recording held on this device, by its
    /// hash (`Attachment.thumbnail.hash`, …). `NotFound` when it is not here yet.
    pub fn blob(&self, hash: String) -> Result<Vec<u8>> {
        call(|| Ok(self.core.blob(&hash)?))
    }
}
