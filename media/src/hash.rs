//! [`BlobHash`]: the content address of a stored byte string.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::error::MediaError;

/// SHA-256 of a blob's plaintext bytes. `Display` is lowercase hex (64 characters).
///
/// For a rendition this is the hash of the exact JPEG bytes handed to the blob store, so
/// `store.put(&rendition.bytes)` returns the same value as `rendition.hash`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobHash([u8; 32]);

impl BlobHash {
    /// Hash `bytes` with SHA-256.
    pub fn of(bytes: &[u8]) -> Self {
        BlobHash(Sha256::digest(bytes).into())
    }

    /// Wrap raw digest bytes (for example read back from a database column).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        BlobHash(bytes)
    }

    /// The raw 32 digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex, as `Display` prints it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobHash({self})")
    }
}

impl FromStr for BlobHash {
    type Err = MediaError;

    /// Parses 64 hex digits (either case). Anything else is [`MediaError::Corrupt`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| MediaError::Corrupt)?;
        Ok(BlobHash(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector_and_round_trip() {
        let h = BlobHash::of(b"abc");
        assert_eq!(
            h.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(h.to_string().parse::<BlobHash>().unwrap(), h);
        assert!("zz".parse::<BlobHash>().is_err());
    }
}
