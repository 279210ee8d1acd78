//! # insikt-media
//!
//! Private-by-construction media handling for Insikt. A pure library: no database, no
//! global state, no logging; every type is owned and `Send + Sync`.
//!
//! - [`photo`]: [`ingest_photo`] turns any JPEG/PNG/WebP into three clean JPEG renditions
//!   (thumbnail, preview, original) with the orientation applied, optional irreversible
//!   [`redact`]ion, and no metadata at all (no GPS, serials, owner, XMP, IPTC, ICC, comments
//!   or embedded thumbnails). Bombs and lies get typed errors, never panics.
//! - [`blob`]: [`BlobStore`], an encrypted, content-addressed file store whose file names
//!   reveal nothing.
//! - [`audio`]: recognise recorded audio formats (stored as recorded, not re-encoded) and
//!   scrub location/time atoms from M4A files in place.
//! - [`error`]: [`MediaError`], whose messages are safe to log.

pub mod audio;
pub mod blob;
pub mod error;
mod hash;
mod limits;
pub mod photo;
pub mod redact;
pub mod sample;

pub use blob::BlobStore;
pub use error::MediaError;
pub use hash::BlobHash;
pub use limits::IngestLimits;
pub use photo::{
    ingest_photo, probe_photo, redact_photo, thumbnail, PhotoFormat, PhotoInfo, PhotoRenditions,
    Rendition, RenditionKind,
};
pub use redact::{RedactStyle, Redaction, Region};

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<BlobStore>();
        assert_send_sync::<BlobHash>();
        assert_send_sync::<MediaError>();
        assert_send_sync::<IngestLimits>();
        assert_send_sync::<PhotoRenditions>();
        assert_send_sync::<Redaction>();
        assert_send_sync::<audio::AudioFormat>();
    }
}
