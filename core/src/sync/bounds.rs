//! Bounds on a peer's automerge sync message, checked on its bytes before automerge
//! decodes it.
//!
//! automerge reads a sync message's lists one element at a time from whatever count
//! the sender wrote, and keeps the peer's heads, needs and bloom filters in the sync
//! state until the next message. An element can cost it far more than its bytes (an
//! empty `have` is two bytes on the wire and some sixty in memory, an empty change
//! one byte and a vector), and a bloom filter's parameters are used unchecked (zero
//! bits per entry divides by zero; billions of probes allocate gigabytes). So every
//! count is checked here against [`SyncBounds`], on the raw bytes and without
//! allocating, and what the message will leave in the sync state is measured so that
//! the engine can hold each peer to a budget.

/// Caps on one sync message. automerge itself sends one `have`, its heads (one per
/// device that wrote concurrently) and needs only for changes it is missing.
#[derive(Clone, Debug)]
pub struct SyncBounds {
    /// Hashes in `heads`.
    pub max_heads: usize,
    /// Hashes in `need`.
    pub max_need: usize,
    /// Entries in `have`.
    pub max_have: usize,
    /// Hashes in one `have`'s `last_sync`.
    pub max_last_sync: usize,
    /// Bytes of one `have`'s bloom filter (1 MiB summarises some 800,000 changes).
    pub max_bloom_bytes: usize,
    /// Changes in the message.
    pub max_changes: usize,
}

impl Default for SyncBounds {
    fn default() -> Self {
        Self {
            max_heads: 1024,
            max_need: 16_384,
            max_have: 4,
            max_last_sync: 1024,
            max_bloom_bytes: 1 << 20,
            max_changes: 100_000,
        }
    }
}

/// What a sync message holds, counted from its bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncShape {
    /// How many change chunks it carries.
    pub changes: usize,
    /// Their bytes.
    pub change_bytes: usize,
    /// About how many bytes of the message the receiver's sync state keeps until the
    /// next one: heads, needs, `last_sync` hashes and bloom filters.
    pub retained: usize,
}

/// Why a sync message is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SyncShapeError {
    #[error("not an automerge sync message")]
    Malformed,
    #[error("the sync message's {0} list is too long")]
    TooMany(&'static str),
    #[error("the sync message's bloom filter is malformed")]
    Bloom,
}

const MESSAGE_V1: u8 = 0x42;
const MESSAGE_V2: u8 = 0x43;
const HASH: usize = 32;
/// The largest bloom filter parameters accepted: automerge writes 10 bits per entry
/// and 7 probes.
const MAX_BLOOM_BITS_PER_ENTRY: u32 = 64;
const MAX_BLOOM_PROBES: u32 = 64;

/// Checks a sync message's counts against `bounds` and measures it.
pub fn inspect(data: &[u8], bounds: &SyncBounds) -> Result<SyncShape, SyncShapeError> {
    let mut r = Reader { data, pos: 0 };
    if !matches!(r.byte()?, MESSAGE_V1 | MESSAGE_V2) {
        return Err(SyncShapeError::Malformed);
    }
    let mut shape = SyncShape::default();
    let heads = r.hashes("heads", bounds.max_heads)?;
    let need = r.hashes("need", bounds.max_need)?;
    shape.retained = (heads + need) * HASH;
    let haves = r.count("have", bounds.max_have)?;
    for _ in 0..haves {
        let last_sync = r.hashes("last_sync", bounds.max_last_sync)?;
        let bloom = r.bytes(bounds.max_bloom_bytes, "bloom")?;
        check_bloom(bloom)?;
        shape.retained += last_sync * HASH + bloom.len();
    }
    let changes = r.count("changes", bounds.max_changes)?;
    for _ in 0..changes {
        shape.change_bytes += r.bytes(usize::MAX, "changes")?.len();
    }
    shape.changes = changes;
    // The flags that may follow are a length-prefixed byte string automerge reads
    // in place; anything after them it ignores.
    Ok(shape)
}

/// A bloom filter automerge can use: empty, or with sane parameters and as many
/// bits as they call for.
fn check_bloom(bytes: &[u8]) -> Result<(), SyncShapeError> {
    if bytes.is_empty() {
        return Ok(());
    }
    let mut r = Reader {
        data: bytes,
        pos: 0,
    };
    let entries = r.u32().map_err(|_| SyncShapeError::Bloom)?;
    let bits_per_entry = r.u32().map_err(|_| SyncShapeError::Bloom)?;
    let probes = r.u32().map_err(|_| SyncShapeError::Bloom)?;
    if entries == 0 {
        // automerge treats it as empty and never probes it.
        return Ok(());
    }
    if !(1..=MAX_BLOOM_BITS_PER_ENTRY).contains(&bits_per_entry)
        || !(1..=MAX_BLOOM_PROBES).contains(&probes)
    {
        return Err(SyncShapeError::Bloom);
    }
    let bits = (u64::from(entries) * u64::from(bits_per_entry)).div_ceil(8);
    if bits > (bytes.len() - r.pos) as u64 {
        return Err(SyncShapeError::Bloom);
    }
    Ok(())
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, SyncShapeError> {
        let b = *self.data.get(self.pos).ok_or(SyncShapeError::Malformed)?;
        self.pos += 1;
        Ok(b)
    }

    /// Unsigned LEB128, read as automerge reads it.
    fn u64(&mut self) -> Result<u64, SyncShapeError> {
        let (mut value, mut shift) = (0u64, 0u32);
        loop {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                if (shift > 64 && byte > 1) || (shift > 7 && byte == 0) {
                    return Err(SyncShapeError::Malformed);
                }
                return Ok(value);
            }
            if shift > 64 {
                return Err(SyncShapeError::Malformed);
            }
        }
    }

    fn u32(&mut self) -> Result<u32, SyncShapeError> {
        u32::try_from(self.u64()?).map_err(|_| SyncShapeError::Malformed)
    }

    fn count(&mut self, what: &'static str, max: usize) -> Result<usize, SyncShapeError> {
        let n = self.u64()?;
        if n > max as u64 {
            return Err(SyncShapeError::TooMany(what));
        }
        Ok(n as usize)
    }

    /// A count of hashes and the hashes themselves; returns the count.
    fn hashes(&mut self, what: &'static str, max: usize) -> Result<usize, SyncShapeError> {
        let n = self.count(what, max)?;
        self.skip(n * HASH)?;
        Ok(n)
    }

    /// A length-prefixed byte string of at most `max` bytes.
    fn bytes(&mut self, max: usize, what: &'static str) -> Result<&'a [u8], SyncShapeError> {
        let n = self.u64()?;
        if n > max as u64 {
            return Err(SyncShapeError::TooMany(what));
        }
        let start = self.pos;
        self.skip(n as usize)?;
        Ok(&self.data[start..self.pos])
    }

    fn skip(&mut self, n: usize) -> Result<(), SyncShapeError> {
        let end = self.pos.checked_add(n).ok_or(SyncShapeError::Malformed)?;
        if end > self.data.len() {
            return Err(SyncShapeError::Malformed);
        }
        self.pos = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::sync::{self, SyncDoc};
    use automerge::transaction::Transactable;

    fn leb(buf: &mut Vec<u8>, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                buf.push(b);
                return;
            }
            buf.push(b | 0x80);
        }
    }

    #[test]
    fn real_messages_pass_and_are_measured() {
        let mut a = automerge::AutoCommit::new();
        for i in 0..50 {
            a.put(automerge::ROOT, format!("k{i}"), i).unwrap();
            a.commit();
        }
        let mut b = automerge::AutoCommit::new();
        let (mut sa, mut sb) = (sync::State::new(), sync::State::new());
        let mut rounds = 0;
        loop {
            rounds += 1;
            let ma = a.sync().generate_sync_message(&mut sa);
            let mb = b.sync().generate_sync_message(&mut sb);
            if ma.is_none() && mb.is_none() {
                break;
            }
            if let Some(m) = ma {
                let bytes = m.encode();
                inspect(&bytes, &SyncBounds::default()).unwrap();
                b.sync()
                    .receive_sync_message(&mut sb, sync::Message::decode(&bytes).unwrap())
                    .unwrap();
            }
            if let Some(m) = mb {
                let bytes = m.encode();
                inspect(&bytes, &SyncBounds::default()).unwrap();
                a.sync()
                    .receive_sync_message(&mut sa, sync::Message::decode(&bytes).unwrap())
                    .unwrap();
            }
            assert!(rounds < 10);
        }
        assert_eq!(a.get_heads(), b.get_heads());
    }

    #[test]
    fn floods_of_empty_elements_are_refused_before_decoding() {
        // Millions of empty `have`s (two bytes each): 16 MiB on the wire.
        let mut m = vec![MESSAGE_V1, 0, 0];
        leb(&mut m, 8 << 20);
        m.resize(m.len() + (16 << 20), 0);
        assert_eq!(
            inspect(&m, &SyncBounds::default()),
            Err(SyncShapeError::TooMany("have"))
        );
        // Millions of empty changes.
        let mut m = vec![MESSAGE_V1, 0, 0, 0];
        leb(&mut m, 16 << 20);
        m.resize(m.len() + (16 << 20), 0);
        assert_eq!(
            inspect(&m, &SyncBounds::default()),
            Err(SyncShapeError::TooMany("changes"))
        );
        // A count larger than what follows.
        let mut m = vec![MESSAGE_V1];
        leb(&mut m, 1000);
        assert_eq!(
            inspect(&m, &SyncBounds::default()),
            Err(SyncShapeError::Malformed)
        );
    }

    #[test]
    fn bloom_filters_that_would_crash_automerge_are_refused() {
        let with_bloom = |entries: u64, bits: u64, probes: u64, len: usize| {
            let mut bloom = Vec::new();
            leb(&mut bloom, entries);
            leb(&mut bloom, bits);
            leb(&mut bloom, probes);
            bloom.resize(bloom.len() + len, 0xff);
            let mut m = vec![MESSAGE_V1, 0, 0, 1, 0];
            leb(&mut m, bloom.len() as u64);
            m.extend(bloom);
            m.push(0);
            m
        };
        let b = SyncBounds::default();
        // Zero bits per entry (a division by zero in automerge), billions of probes
        // (a 16 GB allocation), fewer bits than the parameters call for.
        assert_eq!(
            inspect(&with_bloom(1, 0, 7, 0), &b),
            Err(SyncShapeError::Bloom)
        );
        assert_eq!(
            inspect(&with_bloom(1, 10, u32::MAX as u64, 2), &b),
            Err(SyncShapeError::Bloom)
        );
        assert_eq!(
            inspect(&with_bloom(100, 10, 7, 10), &b),
            Err(SyncShapeError::Bloom)
        );
        // automerge's own parameters.
        let ok = inspect(&with_bloom(100, 10, 7, 125), &b).unwrap();
        assert!(ok.retained >= 125);
        // The check is the one automerge needed: the refused filter really panics it.
        let crash = with_bloom(1, 0, 7, 0);
        let outcome = std::panic::catch_unwind(|| {
            let mut doc = automerge::AutoCommit::new();
            doc.put(automerge::ROOT, "k", 1).unwrap();
            doc.commit();
            let mut state = sync::State::new();
            let m = sync::Message::decode(&crash).unwrap();
            doc.sync().receive_sync_message(&mut state, m).unwrap();
            doc.sync().generate_sync_message(&mut state);
        });
        assert!(outcome.is_err(), "automerge accepted the filter unharmed");
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 64) as usize;
            let mut bytes = vec![MESSAGE_V1];
            let mut y = x;
            for _ in 0..len {
                y = y.wrapping_mul(6364136223846793005).wrapping_add(1);
                bytes.push((y >> 56) as u8);
            }
            let _ = inspect(&bytes, &SyncBounds::default());
        }
    }
}
