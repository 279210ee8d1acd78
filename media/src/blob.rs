//! [`BlobStore`]: an encrypted, content-addressed store of byte strings in one directory.
//!
//! - **Addressing.** A blob is named by the SHA-256 of its plaintext ([`BlobHash`]). On disk
//!   its file name is HMAC-SHA256(name key, hash) in hex, so a directory listing reveals
//!   neither the hashes (which would let anyone confirm "this known photo is stored here")
//!   nor anything else about the content.
//! - **Keys.** Three independent keys are derived from the caller's master key with
//!   HKDF-SHA256: one encrypts, one names files, one makes the key-check marker that lets
//!   [`BlobStore::open`] refuse a wrong master key at once.
//! - **Format v1.** `magic "IKBL" | version 1 | suite 1 | 24-byte nonce | sealed hash (48) |
//!   19-byte STREAM nonce prefix | chunks`. The hash is sealed with XChaCha20-Poly1305 so
//!   [`BlobStore::list`] can read it without decrypting content; the content is encrypted
//!   with XChaCha20-Poly1305 in the STREAM construction (big-endian 32-bit counter, last-chunk
//!   flag) in 64 KiB chunks, each chunk authenticated together with the whole header. A cut
//!   at any chunk boundary, a reordered, flipped or appended byte all fail authentication.
//! - **Durability.** Writes go to a temporary file in the same directory, are fsynced, then
//!   renamed over the final name and the directory is fsynced: a killed process leaves
//!   either the whole blob or none under its real name.
//! - **Streaming.** [`BlobStore::writer`] takes a blob piece by piece (an upload), encrypting
//!   and hashing as it goes, and stores it only when its bytes are the blob it was announced
//!   as; [`BlobStore::reader`] hands one back a chunk at a time (a download). Neither holds
//!   more than a chunk of it in memory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Digest;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{MediaError, Result};
use crate::hash::BlobHash;

const MAGIC: &[u8; 4] = b"IKBL";
const VERSION: u8 = 1;
/// Cipher suite 1: XChaCha20-Poly1305, STREAM-BE32, 64 KiB chunks.
const SUITE: u8 = 1;
const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const NONCE: usize = 24;
const STREAM_PREFIX: usize = 19;
const SEALED_HASH: usize = 32 + TAG;
const HEADER: usize = 4 + 1 + 1 + NONCE + SEALED_HASH + STREAM_PREFIX;

const KEY_CHECK_FILE: &str = "blobstore.v1";
const KEY_CHECK_MAGIC: &[u8; 4] = b"IKBS";
const TEMP_PREFIX: &str = ".tmp-";
/// Temp files older than this at open are leftovers of a killed process.
const STALE_TEMP: Duration = Duration::from_secs(3600);

/// An encrypted, content-addressed blob directory. Cheap to share across threads.
pub struct BlobStore {
    dir: PathBuf,
    enc_key: Zeroizing<[u8; 32]>,
    name_key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for BlobStore {
    // Keys and the directory (which may contain a user name) stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlobStore { .. }")
    }
}

impl BlobStore {
    /// Opens (creating if needed) the store in `dir` with a 32-byte master key from the
    /// platform keystore. Fails with [`MediaError::Decrypt`] if the directory was created with
    /// a different key.
    pub fn open(dir: &Path, master_key: &[u8; 32]) -> Result<BlobStore> {
        let hk = Hkdf::<Sha256>::new(Some(b"insikt-media/blob-store/v1"), master_key);
        let derive = |info: &[u8]| -> Result<Zeroizing<[u8; 32]>> {
            let mut k = Zeroizing::new([0u8; 32]);
            hk.expand(info, k.as_mut())
                .map_err(|_| MediaError::Decrypt)?;
            Ok(k)
        };
        let store = BlobStore {
            dir: dir.to_path_buf(),
            enc_key: derive(b"encrypt")?,
            name_key: derive(b"file-name")?,
        };
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)?;
        store.check_key(&*derive(b"key-check")?)?;
        store.remove_stale_temp_files();
        Ok(store)
    }

    /// Stores `bytes` and returns their hash. Idempotent: storing the same bytes again does
    /// nothing and returns the same hash. A full disk is `MediaError::Io(StorageFull)`.
    pub fn put(&self, bytes: &[u8]) -> Result<BlobHash> {
        let hash = BlobHash::of(bytes);
        let path = self.path_of(&hash);
        if path.try_exists()? {
            return Ok(hash);
        }
        self.write_atomically(&path, |w| self.seal(w, &hash, bytes))?;
        Ok(hash)
    }

    /// Reads, decrypts and verifies a blob. [`MediaError::NotFound`] if absent,
    /// [`MediaError::Decrypt`] if tampered, truncated or under another key,
    /// [`MediaError::HashMismatch`] if it is not the blob asked for.
    pub fn get(&self, hash: &BlobHash) -> Result<Vec<u8>> {
        let mut r = self.reader(hash)?;
        let mut out = Vec::with_capacity(usize::try_from(r.len()).unwrap_or(0));
        while let Some(chunk) = r.next_chunk()? {
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// Whether a blob with this hash is stored (does not verify its content).
    pub fn contains(&self, hash: &BlobHash) -> Result<bool> {
        Ok(self.path_of(hash).try_exists()?)
    }

    /// Removes the blob's file. Returns whether it existed. The directory is fsynced so the
    /// removal survives a crash.
    pub fn delete(&self, hash: &BlobHash) -> Result<bool> {
        match fs::remove_file(self.path_of(hash)) {
            Ok(()) => {
                self.sync_dir()?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// When the blob's file was last written, if it is stored.
    pub fn modified(&self, hash: &BlobHash) -> Result<Option<std::time::SystemTime>> {
        match fs::metadata(self.path_of(hash)) {
            Ok(m) => Ok(Some(m.modified()?)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Hashes of all blobs in the store, sorted. Reads only each file's header. Files that do
    /// not authenticate under this store's key (foreign or damaged) are not listed.
    pub fn list(&self) -> Result<Vec<BlobHash>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            let mut header = [0u8; HEADER];
            let Ok(mut f) = File::open(entry.path()) else {
                continue;
            };
            if f.read_exact(&mut header).is_err() {
                continue;
            }
            if let Ok(hash) = self.open_hash(&header) {
                if self.file_name(&hash) == name {
                    out.push(hash);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Starts writing the blob announced as `expected`, piece by piece. Nothing is stored
    /// under its name until [`BlobWriter::finish`] has seen every byte hash to `expected`;
    /// the file then replaces any earlier copy (the same bytes, so a second upload costs
    /// the same time as a first and tells nobody that the blob was here).
    pub fn writer(&self, expected: BlobHash) -> Result<BlobWriter<'_>> {
        let mut suffix = [0u8; 12];
        random(&mut suffix)?;
        let tmp = self
            .dir
            .join(format!("{TEMP_PREFIX}{}", hex::encode(suffix)));
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let file = opts.open(&tmp)?;
        let mut writer = BlobWriter {
            store: self,
            expected,
            tmp,
            out: Some(BufWriter::with_capacity(CHUNK + TAG, file)),
            header: [0u8; HEADER],
            enc: None,
            pending: Vec::with_capacity(CHUNK),
            hasher: Sha256::new(),
            len: 0,
        };
        writer.header = self.header(&expected)?;
        let prefix = &writer.header[HEADER - STREAM_PREFIX..];
        writer.enc = Some(EncryptorBE32::from_aead(self.cipher(), prefix.into()));
        let header = writer.header;
        writer.output()?.write_all(&header)?;
        Ok(writer)
    }

    /// Opens a blob for reading a chunk at a time. [`MediaError::NotFound`] if absent,
    /// [`MediaError::Decrypt`] if its header does not open under this store's key,
    /// [`MediaError::HashMismatch`] if it is not the blob asked for.
    pub fn reader(&self, hash: &BlobHash) -> Result<BlobReader> {
        let file = match File::open(self.path_of(hash)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(MediaError::NotFound),
            other => other?,
        };
        let body_len = usize::try_from(file.metadata()?.len())
            .map_err(|_| MediaError::Decrypt)?
            .checked_sub(HEADER)
            .ok_or(MediaError::Decrypt)?;
        let chunks = body_len.div_ceil(CHUNK + TAG).max(1);
        let last_len = body_len - (chunks - 1) * (CHUNK + TAG);
        if last_len < TAG {
            return Err(MediaError::Decrypt);
        }
        let mut r = BufReader::with_capacity(CHUNK + TAG, file);
        let mut header = [0u8; HEADER];
        read_exact(&mut r, &mut header)?;
        if self.open_hash(&header)? != *hash {
            return Err(MediaError::HashMismatch);
        }
        let prefix = &header[HEADER - STREAM_PREFIX..];
        let dec = DecryptorBE32::from_aead(self.cipher(), prefix.into());
        Ok(BlobReader {
            r,
            header,
            dec: Some(dec),
            chunks_left: chunks,
            last_len,
            len: (body_len - chunks * TAG) as u64,
            hasher: Sha256::new(),
            hash: *hash,
        })
    }

    fn file_name(&self, hash: &BlobHash) -> String {
        let mut mac = hmac_with(&self.name_key);
        mac.update(hash.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn path_of(&self, hash: &BlobHash) -> PathBuf {
        self.dir.join(self.file_name(hash))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&*self.enc_key).into())
    }

    /// Writes header and encrypted chunks to `w`.
    fn seal<W: Write>(&self, w: &mut W, hash: &BlobHash, bytes: &[u8]) -> Result<()> {
        let header = self.header(hash)?;
        w.write_all(&header)?;

        let prefix = &header[HEADER - STREAM_PREFIX..];
        let mut enc = EncryptorBE32::from_aead(self.cipher(), prefix.into());
        let mut chunks = bytes.chunks(CHUNK).peekable();
        let aad = &header[..];
        loop {
            let chunk = chunks.next().unwrap_or(&[]);
            if chunks.peek().is_none() {
                let c = enc
                    .encrypt_last(Payload { msg: chunk, aad })
                    .map_err(|_| MediaError::Decrypt)?;
                w.write_all(&c)?;
                return Ok(());
            }
            let c = enc
                .encrypt_next(Payload { msg: chunk, aad })
                .map_err(|_| MediaError::Decrypt)?;
            w.write_all(&c)?;
        }
    }

    /// A fresh header naming `hash`: magic, version, suite, nonce, the sealed hash and
    /// the content's STREAM nonce prefix.
    fn header(&self, hash: &BlobHash) -> Result<[u8; HEADER]> {
        let mut header = [0u8; HEADER];
        header[..4].copy_from_slice(MAGIC);
        header[4] = VERSION;
        header[5] = SUITE;
        let (nonce, rest) = header[6..].split_at_mut(NONCE);
        random(nonce)?;
        let sealed = self
            .cipher()
            .encrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: hash.as_bytes(),
                    aad: &[MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION, SUITE],
                },
            )
            .map_err(|_| MediaError::Decrypt)?;
        rest[..SEALED_HASH].copy_from_slice(&sealed);
        random(&mut rest[SEALED_HASH..])?;
        Ok(header)
    }

    /// Checks magic and version, then opens the sealed hash.
    fn open_hash(&self, header: &[u8; HEADER]) -> Result<BlobHash> {
        if &header[..4] != MAGIC || header[4] != VERSION || header[5] != SUITE {
            return Err(MediaError::UnknownBlobFormat);
        }
        let nonce = &header[6..6 + NONCE];
        let sealed = &header[6 + NONCE..6 + NONCE + SEALED_HASH];
        let plain = self
            .cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &header[..6],
                },
            )
            .map_err(|_| MediaError::Decrypt)?;
        let bytes: [u8; 32] = plain.try_into().map_err(|_| MediaError::Decrypt)?;
        Ok(BlobHash::from_bytes(bytes))
    }

    /// Temp file, fsync, rename, fsync the directory. The temp file is removed on failure.
    fn write_atomically(
        &self,
        path: &Path,
        fill: impl FnOnce(&mut BufWriter<File>) -> Result<()>,
    ) -> Result<()> {
        let mut suffix = [0u8; 12];
        random(&mut suffix)?;
        let tmp = self
            .dir
            .join(format!("{TEMP_PREFIX}{}", hex::encode(suffix)));
        let result = (|| -> Result<()> {
            let mut opts = OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut w = BufWriter::with_capacity(CHUNK + TAG, opts.open(&tmp)?);
            fill(&mut w)?;
            let file = w
                .into_inner()
                .map_err(|e| MediaError::from(e.into_error()))?;
            file.sync_all()?;
            fs::rename(&tmp, path)?;
            self.sync_dir()
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn sync_dir(&self) -> Result<()> {
        #[cfg(unix)]
        File::open(&self.dir)?.sync_all()?;
        Ok(())
    }

    /// Creates the key-check marker on first open; afterwards compares against it, so a
    /// wrong master key is refused before anything is written.
    fn check_key(&self, check_key: &[u8; 32]) -> Result<()> {
        let mut mac = hmac_with(check_key);
        mac.update(b"insikt blob store key check");
        let path = self.dir.join(KEY_CHECK_FILE);
        match fs::read(&path) {
            Ok(data) => {
                if data.len() != 5 + 32 || &data[..4] != KEY_CHECK_MAGIC || data[4] != VERSION {
                    return Err(MediaError::UnknownBlobFormat);
                }
                mac.verify_slice(&data[5..])
                    .map_err(|_| MediaError::Decrypt)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let tag = mac.finalize().into_bytes();
                self.write_atomically(&path, |w| {
                    w.write_all(KEY_CHECK_MAGIC)?;
                    w.write_all(&[VERSION])?;
                    w.write_all(&tag)?;
                    Ok(())
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Best effort: leftovers of a killed writer are deleted once they are clearly stale.
    fn remove_stale_temp_files(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > STALE_TEMP);
            if stale && entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// A blob being stored piece by piece; see [`BlobStore::writer`]. Dropped unfinished, it
/// leaves nothing behind.
pub struct BlobWriter<'s> {
    store: &'s BlobStore,
    expected: BlobHash,
    tmp: PathBuf,
    out: Option<BufWriter<File>>,
    header: [u8; HEADER],
    enc: Option<EncryptorBE32<XChaCha20Poly1305>>,
    /// Plaintext not yet encrypted: at most one chunk, held back until more arrives
    /// (the last chunk is sealed differently).
    pending: Vec<u8>,
    hasher: Sha256,
    len: u64,
}

impl BlobWriter<'_> {
    fn output(&mut self) -> Result<&mut BufWriter<File>> {
        self.out
            .as_mut()
            .ok_or(MediaError::Io(io::ErrorKind::Other))
    }

    /// Adds the next bytes of the blob.
    pub fn write(&mut self, mut bytes: &[u8]) -> Result<()> {
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
        while !bytes.is_empty() {
            if self.pending.len() == CHUNK {
                // More follows, so the held chunk is not the last.
                let enc = self.enc.as_mut().ok_or(MediaError::Decrypt)?;
                let c = enc
                    .encrypt_next(Payload {
                        msg: &self.pending,
                        aad: &self.header,
                    })
                    .map_err(|_| MediaError::Decrypt)?;
                self.pending.clear();
                self.output()?.write_all(&c)?;
            }
            let take = (CHUNK - self.pending.len()).min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        Ok(())
    }

    /// How many bytes were written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Seals the last chunk and, when every byte hashed to the announced blob, stores it
    /// under its name ([`MediaError::HashMismatch`] otherwise, and nothing is stored).
    pub fn finish(mut self) -> Result<BlobHash> {
        let hash = BlobHash::from_bytes(std::mem::take(&mut self.hasher).finalize().into());
        if hash != self.expected {
            return Err(MediaError::HashMismatch);
        }
        let enc = self.enc.take().ok_or(MediaError::Decrypt)?;
        let c = enc
            .encrypt_last(Payload {
                msg: &self.pending,
                aad: &self.header,
            })
            .map_err(|_| MediaError::Decrypt)?;
        let mut out = self
            .out
            .take()
            .ok_or(MediaError::Io(io::ErrorKind::Other))?;
        out.write_all(&c)?;
        let file = out
            .into_inner()
            .map_err(|e| MediaError::from(e.into_error()))?;
        file.sync_all()?;
        fs::rename(&self.tmp, self.store.path_of(&hash))?;
        self.store.sync_dir()?;
        Ok(hash)
    }
}

impl Drop for BlobWriter<'_> {
    fn drop(&mut self) {
        // Unfinished, refused or renamed: in the last case there is nothing to remove.
        let _ = fs::remove_file(&self.tmp);
    }
}

/// A stored blob read a chunk at a time; see [`BlobStore::reader`].
pub struct BlobReader {
    r: BufReader<File>,
    header: [u8; HEADER],
    dec: Option<DecryptorBE32<XChaCha20Poly1305>>,
    chunks_left: usize,
    last_len: usize,
    len: u64,
    hasher: Sha256,
    hash: BlobHash,
}

impl BlobReader {
    /// The blob's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the blob is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The next chunk (at most 64 KiB), decrypted and authenticated, or `None` at the end.
    /// A tampered or truncated file is [`MediaError::Decrypt`]; content that does not
    /// hash to the blob's name, [`MediaError::HashMismatch`] with the last chunk.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        if self.chunks_left == 0 {
            return Ok(None);
        }
        self.chunks_left -= 1;
        let last = self.chunks_left == 0;
        let mut buf = vec![0u8; if last { self.last_len } else { CHUNK + TAG }];
        read_exact(&mut self.r, &mut buf)?;
        let payload = Payload {
            msg: &buf,
            aad: &self.header,
        };
        let plain = if last {
            let dec = self.dec.take().ok_or(MediaError::Decrypt)?;
            dec.decrypt_last(payload).map_err(|_| MediaError::Decrypt)?
        } else {
            let dec = self.dec.as_mut().ok_or(MediaError::Decrypt)?;
            dec.decrypt_next(payload).map_err(|_| MediaError::Decrypt)?
        };
        self.hasher.update(&plain);
        if last {
            let got = BlobHash::from_bytes(std::mem::take(&mut self.hasher).finalize().into());
            if got != self.hash {
                return Err(MediaError::HashMismatch);
            }
        }
        Ok(Some(plain))
    }
}

fn random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|_| MediaError::Io(io::ErrorKind::Other))
}

/// `read_exact` where a short file means a truncated ciphertext.
fn read_exact<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<()> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => MediaError::Decrypt,
        k => MediaError::Io(k),
    })
}

/// HMAC-SHA256 keyed with a 32-byte key. HMAC pads a key shorter than its 64-byte block
/// with zeros, so keying with the padded block is the same MAC — and cannot fail.
fn hmac_with(key: &[u8; 32]) -> Hmac<Sha256> {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, BlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = BlobStore::open(dir.path(), &[7u8; 32]).unwrap();
        (dir, s)
    }

    #[test]
    fn round_trips_every_chunk_boundary() {
        let (_d, s) = store();
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let h = s.put(&data).unwrap();
            assert_eq!(h, BlobHash::of(&data));
            assert_eq!(s.get(&h).unwrap(), data, "len {len}");
        }
    }

    #[test]
    fn streamed_writes_and_reads_match_whole_ones() {
        let (_d, s) = store();
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 253) as u8).collect();
            let hash = BlobHash::of(&data);
            let mut w = s.writer(hash).unwrap();
            // Pieces that do not fall on chunk boundaries.
            for piece in data.chunks(10_007) {
                w.write(piece).unwrap();
            }
            assert_eq!(w.len(), len as u64);
            assert_eq!(w.finish().unwrap(), hash);
            assert_eq!(s.get(&hash).unwrap(), data, "len {len}");
            let mut r = s.reader(&hash).unwrap();
            assert_eq!(r.len(), len as u64);
            let mut back = Vec::new();
            while let Some(c) = r.next_chunk().unwrap() {
                assert!(c.len() <= CHUNK);
                back.extend(c);
            }
            assert_eq!(back, data, "len {len}");
        }
    }

    #[test]
    fn a_streamed_write_that_is_not_its_blob_stores_nothing() {
        let (dir, s) = store();
        let claimed = BlobHash::of(b"the photo");
        let mut w = s.writer(claimed).unwrap();
        w.write(b"something else").unwrap();
        assert!(matches!(w.finish(), Err(MediaError::HashMismatch)));
        assert!(!s.contains(&claimed).unwrap());
        // Abandoned half-way: no temporary file is left either.
        let mut w = s.writer(claimed).unwrap();
        w.write(b"the ph").unwrap();
        drop(w);
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
            .collect();
        assert!(left.is_empty());
    }

    #[test]
    fn truncation_at_a_chunk_boundary_is_detected() {
        let (_d, s) = store();
        let data = vec![9u8; 2 * CHUNK + 10];
        let h = s.put(&data).unwrap();
        let path = s.path_of(&h);
        let full = fs::read(&path).unwrap();
        for cut in [
            HEADER + CHUNK + TAG,
            HEADER + 2 * (CHUNK + TAG),
            full.len() - 1,
            HEADER,
        ] {
            fs::write(&path, &full[..cut]).unwrap();
            assert!(
                matches!(s.get(&h), Err(MediaError::Decrypt)),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_full_disk_is_a_typed_error() {
        let Ok(mut full) = OpenOptions::new().write(true).open("/dev/full") else {
            return; // not a Linux-like system
        };
        let (_d, s) = store();
        let data = vec![1u8; 3 * CHUNK];
        let mut w = BufWriter::new(&mut full);
        let err = s
            .seal(&mut w, &BlobHash::of(&data), &data)
            .and_then(|()| w.flush().map_err(MediaError::from))
            .unwrap_err();
        assert!(
            matches!(err, MediaError::Io(io::ErrorKind::StorageFull)),
            "{err:?}"
        );
    }
}
