//! The one error type of this crate.
//!
//! Messages are safe to log: they never carry file contents, paths, hashes of user content or
//! anything a participant said or showed. Decoder messages from third-party crates are dropped
//! for the same reason (they may quote bytes of the input).

use std::io;

/// Everything that can go wrong in media handling, as a typed value the core can match on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The bytes are not a format this crate accepts (judged by content, not by a file name).
    #[error("unsupported or unrecognised media format")]
    UnsupportedFormat,
    /// The file ends before its structure does (a cut-off download or copy).
    #[error("media file is truncated")]
    Truncated,
    /// The file is structurally broken or could not be decoded.
    #[error("media file is corrupt or cannot be decoded")]
    Corrupt,
    /// The image declares more pixels than the limits allow; refused before any pixel buffer
    /// is allocated.
    #[error("image too large: {width}x{height} pixels")]
    TooLarge {
        /// Declared width in pixels.
        width: u32,
        /// Declared height in pixels.
        height: u32,
    },
    /// Decoding would need more memory, or the input is bigger, than [`crate::IngestLimits`]
    /// allow.
    #[error("media exceeds a configured resource limit")]
    Limits,
    /// A redaction region is empty or lies entirely outside the image.
    #[error("redaction region is empty or outside the image")]
    InvalidRegion,
    /// An encrypted blob failed authentication: wrong key, tampered or truncated file.
    #[error("blob could not be decrypted or authenticated")]
    Decrypt,
    /// A blob decrypted, but its content does not hash to the name it was asked for.
    #[error("blob content does not match its hash")]
    HashMismatch,
    /// No blob with that hash is in the store.
    #[error("blob not found")]
    NotFound,
    /// A blob file or store marker is not in a format or version this build understands.
    #[error("blob store file has an unknown format or version")]
    UnknownBlobFormat,
    /// An I/O failure, reduced to its kind (for example `StorageFull` for a full disk) so
    /// that no path or OS message leaks into logs.
    #[error("i/o error: {0:?}")]
    Io(io::ErrorKind),
    /// Encoding a rendition failed (should not happen for valid pixel buffers).
    #[error("encoding a rendition failed")]
    Encode,
}

impl From<io::Error> for MediaError {
    fn from(e: io::Error) -> Self {
        MediaError::Io(e.kind())
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = MediaError> = std::result::Result<T, E>;
