//! The store's 32-byte key. On phones it comes from the Android Keystore or the iOS
//! Keychain through the bindings; the CLI reads it from `INSIKT_KEY` or a key file.

use rand::RngCore;
use std::fmt;
use std::io::Write;
use std::path::Path;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};

/// A 32-byte key, wiped from memory when dropped and never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct StoreKey([u8; 32]);

impl StoreKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A key from a byte slice that must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| Error::MalformedKey)?;
        Ok(Self(arr))
    }

    /// A key from 64 hexadecimal characters.
    pub fn from_hex(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.len() != 64 {
            return Err(Error::MalformedKey);
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| Error::MalformedKey)?;
        Ok(Self(out))
    }

    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Self {
        let mut out = [0u8; 32];
        rand::rng().fill_bytes(&mut out);
        Self(out)
    }

    /// The raw bytes, for deriving sub-keys (for example the blob store's).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as SQLCipher's raw-key literal. A raw key skips SQLCipher's password
    /// derivation: the key is already random, and opening stays fast.
    pub(crate) fn sqlcipher_pragma(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(format!("PRAGMA key = \"x'{}'\";", hex::encode(self.0)))
    }

    /// Reads the key file at `path`, or creates one with a fresh key, readable by the
    /// owner only, when it does not exist.
    pub fn load_or_create_file(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                write_owner_only(path, hex::encode(key.0).as_bytes())?;
                Ok(key)
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreKey(…)")
    }
}

fn write_owner_only(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        super::create_private_dir(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_keys_must_be_exactly_32_bytes() {
        assert!(StoreKey::from_hex(&"ab".repeat(32)).is_ok());
        assert_eq!(StoreKey::from_hex("abcd"), Err(Error::MalformedKey));
        assert_eq!(
            StoreKey::from_hex(&"zz".repeat(32)),
            Err(Error::MalformedKey)
        );
        assert_eq!(format!("{:?}", StoreKey::generate()), "StoreKey(…)");
    }

    #[test]
    fn key_file_is_created_owner_only_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let a = StoreKey::load_or_create_file(&path).unwrap();
        let b = StoreKey::load_or_create_file(&path).unwrap();
        assert_eq!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
