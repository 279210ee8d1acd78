//! The automerge-repo wire protocol (version "1"): CBOR maps in binary frames.
//!
//! Decoding is strict about what it needs and lenient about what it does not: unknown
//! keys and message types are skipped (newer peers add them), while a missing or
//! mistyped field, trailing bytes, or a document id that is not a bs58check UUID make
//! the whole message invalid.
//!
//! Every list and string a peer sends is bounded before anything is allocated for it:
//! at most [`MAX_VERSIONS`] protocol versions, ids and names of at most
//! [`MAX_ID_BYTES`], values skipped (unknown keys, metadata) at most [`MAX_NESTING`]
//! deep without a heap stack. A frame full of empty strings or nested arrays costs its
//! reader a few bytes of memory, not fifty times the frame.

use minicbor::data::Type;
use minicbor::{Decoder, Encoder};
use std::fmt;
use std::str::FromStr;

use crate::store::DocKey;

/// The only protocol version automerge-repo speaks so far.
pub const PROTOCOL_VERSION: &str = "1";

/// How many protocol versions a `join` may offer (automerge-repo offers one).
pub const MAX_VERSIONS: usize = 16;
/// The longest id, message type, version or storage id accepted (automerge-repo's
/// peer and storage ids are UUID-sized). A peer's id is copied into every message
/// sent to it, so a long one would multiply.
pub const MAX_ID_BYTES: usize = 256;
/// The longest error text accepted.
pub const MAX_ERROR_BYTES: usize = 4096;
/// How deep a value the reader does not use (an unknown key's, metadata's) may nest.
pub const MAX_NESTING: usize = 16;

/// Why a frame is not a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("the message is not valid CBOR")]
    Cbor,
    #[error("the message is not a map")]
    NotAMap,
    #[error("the message lacks the field {0}")]
    Missing(&'static str),
    #[error("the message's field {0} has the wrong type")]
    WrongType(&'static str),
    #[error("the message has bytes after its end")]
    Trailing,
    #[error("not a document id")]
    DocumentId,
    #[error("the message is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the message's field {0} holds too many items")]
    TooMany(&'static str),
    #[error("the message's field {0} is too long")]
    TooLong(&'static str),
    #[error("the message nests too deeply")]
    TooDeep,
}

impl From<minicbor::decode::Error> for WireError {
    fn from(_: minicbor::decode::Error) -> Self {
        WireError::Cbor
    }
}

/// An automerge-repo document id: 16 bytes, written as bs58check.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId([u8; 16]);

/// The namespace of the name-based UUIDs that name Insikt's documents on the wire.
const DOCUMENT_NAMESPACE: uuid::Uuid = uuid::Uuid::from_bytes([
    0x6e, 0x1b, 0x5f, 0x0a, 0x3c, 0x2d, 0x4e, 0x8b, 0x9a, 0x41, 0x7d, 0x52, 0xc3, 0x10, 0xe8, 0x77,
]);

impl DocumentId {
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The wire id of one of Insikt's documents: a name-based (version 5) UUID of its
    /// name, so every device and the hub derive the same id, and a document's content
    /// (which names it) can be checked against the id it arrived under.
    pub fn of(key: &DocKey) -> Self {
        Self::of_generation(key, 0)
    }

    /// The wire id of a generation of a document (see `store::generation`): the first
    /// generation keeps the plain name's id; a later one is a new document on the wire,
    /// so that the old one, with the history it carried, can be refused everywhere.
    pub fn of_generation(key: &DocKey, generation: u32) -> Self {
        let name = match generation {
            0 => key.to_string(),
            g => format!("{key}~{g}"),
        };
        Self(*uuid::Uuid::new_v5(&DOCUMENT_NAMESPACE, name.as_bytes()).as_bytes())
    }

    /// Parses a bs58check id, or a legacy hyphenated UUID as automerge-repo accepts.
    pub fn parse(text: &str) -> Result<Self, WireError> {
        if let Ok(bytes) = bs58::decode(text).with_check(None).into_vec() {
            return <[u8; 16]>::try_from(bytes.as_slice())
                .map(Self)
                .map_err(|_| WireError::DocumentId);
        }
        uuid::Uuid::parse_str(text)
            .map(|u| Self(*u.as_bytes()))
            .map_err(|_| WireError::DocumentId)
    }

    /// The `automerge:` URL of this document, as automerge-repo clients take it.
    pub fn url(&self) -> String {
        format!("automerge:{self}")
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).with_check().into_string())
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

impl FromStr for DocumentId {
    type Err = WireError;
    fn from_str(s: &str) -> Result<Self, WireError> {
        Self::parse(s)
    }
}

/// What a peer says about itself in `join` and `peer`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerMetadata {
    pub storage_id: Option<String>,
    pub is_ephemeral: bool,
}

/// One protocol message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// The dialling side introduces itself.
    Join {
        sender: String,
        versions: Vec<String>,
        metadata: Option<PeerMetadata>,
    },
    /// The answering side accepts the join.
    Peer {
        sender: String,
        target: String,
        version: String,
        metadata: Option<PeerMetadata>,
    },
    /// The sender is going away.
    Leave { sender: String },
    /// Asks for a document the sender does not have, carrying a sync message.
    Request {
        sender: String,
        target: String,
        doc: DocumentId,
        data: Vec<u8>,
    },
    /// An automerge sync message for a document.
    Sync {
        sender: String,
        target: String,
        doc: DocumentId,
        data: Vec<u8>,
    },
    /// The sender does not have the document, or will not share it.
    DocUnavailable {
        sender: String,
        target: String,
        doc: DocumentId,
    },
    /// The sender refuses the connection and closes it.
    Error { message: String },
    /// A message type this side does not act on (ephemeral messages, remote heads
    /// gossip, types from newer versions).
    Other { kind: String },
}

impl Message {
    /// The message's type as written on the wire.
    pub fn kind(&self) -> &str {
        match self {
            Message::Join { .. } => "join",
            Message::Peer { .. } => "peer",
            Message::Leave { .. } => "leave",
            Message::Request { .. } => "request",
            Message::Sync { .. } => "sync",
            Message::DocUnavailable { .. } => "doc-unavailable",
            Message::Error { .. } => "error",
            Message::Other { kind } => kind,
        }
    }

    /// Encodes the message as one CBOR map.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new(Vec::new());
        // Writing into a Vec cannot fail.
        let _ = self.encode_into(&mut e);
        e.into_writer()
    }

    fn encode_into(
        &self,
        e: &mut Encoder<Vec<u8>>,
    ) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
        match self {
            Message::Join {
                sender,
                versions,
                metadata,
            } => {
                e.map(3 + u64::from(metadata.is_some()))?;
                e.str("type")?.str("join")?;
                e.str("senderId")?.str(sender)?;
                e.str("supportedProtocolVersions")?
                    .array(versions.len() as u64)?;
                for v in versions {
                    e.str(v)?;
                }
                if let Some(m) = metadata {
                    e.str("peerMetadata")?;
                    encode_metadata(e, m)?;
                }
            }
            Message::Peer {
                sender,
                target,
                version,
                metadata,
            } => {
                e.map(4 + u64::from(metadata.is_some()))?;
                e.str("type")?.str("peer")?;
                e.str("senderId")?.str(sender)?;
                e.str("targetId")?.str(target)?;
                e.str("selectedProtocolVersion")?.str(version)?;
                if let Some(m) = metadata {
                    e.str("peerMetadata")?;
                    encode_metadata(e, m)?;
                }
            }
            Message::Leave { sender } => {
                e.map(2)?;
                e.str("type")?.str("leave")?;
                e.str("senderId")?.str(sender)?;
            }
            Message::Request {
                sender,
                target,
                doc,
                data,
            }
            | Message::Sync {
                sender,
                target,
                doc,
                data,
            } => {
                e.map(5)?;
                e.str("type")?.str(self.kind())?;
                e.str("senderId")?.str(sender)?;
                e.str("targetId")?.str(target)?;
                e.str("documentId")?.str(&doc.to_string())?;
                e.str("data")?.bytes(data)?;
            }
            Message::DocUnavailable {
                sender,
                target,
                doc,
            } => {
                e.map(4)?;
                e.str("type")?.str("doc-unavailable")?;
                e.str("senderId")?.str(sender)?;
                e.str("targetId")?.str(target)?;
                e.str("documentId")?.str(&doc.to_string())?;
            }
            Message::Error { message } => {
                e.map(2)?;
                e.str("type")?.str("error")?;
                e.str("message")?.str(message)?;
            }
            Message::Other { kind } => {
                e.map(1)?;
                e.str("type")?.str(kind)?;
            }
        }
        Ok(())
    }

    /// Decodes one message, refusing frames longer than `limit` bytes.
    pub fn decode(bytes: &[u8], limit: usize) -> Result<Message, WireError> {
        if bytes.len() > limit {
            return Err(WireError::TooLarge(limit));
        }
        let mut d = Decoder::new(bytes);
        let fields = Fields::read(&mut d)?;
        if d.position() != bytes.len() {
            return Err(WireError::Trailing);
        }
        fields.into_message()
    }
}

fn encode_metadata(
    e: &mut Encoder<Vec<u8>>,
    m: &PeerMetadata,
) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
    e.map(1 + u64::from(m.storage_id.is_some()))?;
    if let Some(id) = &m.storage_id {
        e.str("storageId")?.str(id)?;
    }
    e.str("isEphemeral")?.bool(m.is_ephemeral)?;
    Ok(())
}

/// The fields of a message as read, before they are checked against its type.
#[derive(Default)]
struct Fields {
    kind: Option<String>,
    sender: Option<String>,
    target: Option<String>,
    doc: Option<DocumentId>,
    data: Option<Vec<u8>>,
    versions: Option<Vec<String>>,
    version: Option<String>,
    message: Option<String>,
    metadata: Option<PeerMetadata>,
}

impl Fields {
    fn read(d: &mut Decoder<'_>) -> Result<Fields, WireError> {
        let mut f = Fields::default();
        let len = match d.datatype()? {
            Type::Map | Type::MapIndef => d.map()?,
            _ => return Err(WireError::NotAMap),
        };
        let mut remaining = len;
        loop {
            match remaining {
                Some(0) => break,
                Some(n) => remaining = Some(n - 1),
                None => {
                    if d.datatype()? == Type::Break {
                        d.skip()?;
                        break;
                    }
                }
            }
            let key = match d.datatype()? {
                Type::String => d.str()?,
                _ => {
                    skip_value(d)?;
                    skip_value(d)?;
                    continue;
                }
            };
            match key {
                "type" => f.kind = Some(text(d, "type")?),
                "senderId" => f.sender = Some(text(d, "senderId")?),
                "targetId" => f.target = Some(text(d, "targetId")?),
                "documentId" => {
                    f.doc = Some(match d.datatype()? {
                        Type::String => DocumentId::parse(d.str()?)?,
                        Type::Bytes => {
                            let b = d.bytes()?;
                            DocumentId(b.try_into().map_err(|_| WireError::DocumentId)?)
                        }
                        _ => return Err(WireError::WrongType("documentId")),
                    })
                }
                "data" => {
                    f.data = Some(match d.datatype()? {
                        Type::Bytes => d.bytes()?.to_vec(),
                        Type::BytesIndef => {
                            let mut out = Vec::new();
                            for chunk in d.bytes_iter()? {
                                out.extend_from_slice(chunk?);
                            }
                            out
                        }
                        // cbor-x tags typed arrays; accept a tagged byte string too.
                        Type::Tag => {
                            d.tag()?;
                            d.bytes()
                                .map_err(|_| WireError::WrongType("data"))?
                                .to_vec()
                        }
                        _ => return Err(WireError::WrongType("data")),
                    })
                }
                "supportedProtocolVersions" => f.versions = Some(read_versions(d)?),
                "selectedProtocolVersion" => f.version = Some(text(d, "selectedProtocolVersion")?),
                "message" => f.message = Some(long_text(d, "message", MAX_ERROR_BYTES)?),
                "peerMetadata" => f.metadata = read_metadata(d)?,
                _ => skip_value(d)?,
            }
        }
        Ok(f)
    }

    fn into_message(self) -> Result<Message, WireError> {
        let kind = self.kind.ok_or(WireError::Missing("type"))?;
        let sender = || self.sender.clone().ok_or(WireError::Missing("senderId"));
        let target = || self.target.clone().ok_or(WireError::Missing("targetId"));
        let doc = || self.doc.ok_or(WireError::Missing("documentId"));
        Ok(match kind.as_str() {
            "join" => Message::Join {
                sender: sender()?,
                versions: self
                    .versions
                    .clone()
                    .ok_or(WireError::Missing("supportedProtocolVersions"))?,
                metadata: self.metadata.clone(),
            },
            "peer" => Message::Peer {
                sender: sender()?,
                target: target()?,
                version: self
                    .version
                    .clone()
                    .ok_or(WireError::Missing("selectedProtocolVersion"))?,
                metadata: self.metadata.clone(),
            },
            "leave" => Message::Leave { sender: sender()? },
            "request" | "sync" => {
                let (sender, target, doc) = (sender()?, target()?, doc()?);
                let data = self.data.clone().ok_or(WireError::Missing("data"))?;
                if kind == "request" {
                    Message::Request {
                        sender,
                        target,
                        doc,
                        data,
                    }
                } else {
                    Message::Sync {
                        sender,
                        target,
                        doc,
                        data,
                    }
                }
            }
            "doc-unavailable" => Message::DocUnavailable {
                sender: sender()?,
                target: target()?,
                doc: doc()?,
            },
            "error" => Message::Error {
                message: self.message.clone().unwrap_or_default(),
            },
            _ => Message::Other { kind },
        })
    }
}

/// A short text field: an id, a type, a version.
fn text(d: &mut Decoder<'_>, field: &'static str) -> Result<String, WireError> {
    long_text(d, field, MAX_ID_BYTES)
}

fn long_text(d: &mut Decoder<'_>, field: &'static str, max: usize) -> Result<String, WireError> {
    match d.datatype()? {
        Type::String => {
            let s = d.str()?;
            if s.len() > max {
                return Err(WireError::TooLong(field));
            }
            Ok(s.to_owned())
        }
        _ => Err(WireError::WrongType(field)),
    }
}

/// `supportedProtocolVersions`: refused as soon as it holds more than
/// [`MAX_VERSIONS`], before more is read or kept.
fn read_versions(d: &mut Decoder<'_>) -> Result<Vec<String>, WireError> {
    const FIELD: &str = "supportedProtocolVersions";
    let declared = match d.datatype()? {
        Type::Array | Type::ArrayIndef => d.array()?,
        _ => return Err(WireError::WrongType(FIELD)),
    };
    if declared.is_some_and(|n| n > MAX_VERSIONS as u64) {
        return Err(WireError::TooMany(FIELD));
    }
    let mut versions = Vec::new();
    loop {
        match declared {
            Some(n) if versions.len() as u64 == n => break,
            None if d.datatype()? == Type::Break => {
                d.skip()?;
                break;
            }
            _ => {}
        }
        if versions.len() == MAX_VERSIONS {
            return Err(WireError::TooMany(FIELD));
        }
        versions.push(text(d, FIELD)?);
    }
    Ok(versions)
}

/// Skips one value of any shape without allocating: the levels still open are
/// counted in a fixed array, and a value nesting deeper than [`MAX_NESTING`] is
/// refused (minicbor's own `skip` keeps a heap stack that grows with the frame).
fn skip_value(d: &mut Decoder<'_>) -> Result<(), WireError> {
    // Items still to come at each open level; `None` for one of indefinite length.
    let mut open: [Option<u64>; MAX_NESTING] = [None; MAX_NESTING];
    let mut depth = 0usize;
    loop {
        let opened = match d.datatype()? {
            // A tag belongs to the item after it.
            Type::Tag => {
                d.tag()?;
                continue;
            }
            Type::Array | Type::ArrayIndef => d.array()?,
            Type::Map | Type::MapIndef => d.map()?.map(|n| n.saturating_mul(2)),
            Type::Break => {
                if depth == 0 || open[depth - 1].is_some() {
                    return Err(WireError::Cbor);
                }
                d.set_position(d.position() + 1);
                depth -= 1;
                // The indefinite container is complete: one item of its parent.
                Some(0)
            }
            // Scalars, strings and byte strings (minicbor reads the chunks of
            // indefinite ones in place).
            _ => {
                d.skip()?;
                Some(0)
            }
        };
        if opened != Some(0) {
            if depth == MAX_NESTING {
                return Err(WireError::TooDeep);
            }
            open[depth] = opened;
            depth += 1;
            continue;
        }
        // One item is complete: count it off, closing the levels it completes.
        loop {
            if depth == 0 {
                return Ok(());
            }
            match &mut open[depth - 1] {
                Some(n) => {
                    *n -= 1;
                    if *n > 0 {
                        break;
                    }
                    depth -= 1;
                }
                None => break,
            }
        }
    }
}

fn read_metadata(d: &mut Decoder<'_>) -> Result<Option<PeerMetadata>, WireError> {
    let n = match d.datatype()? {
        Type::Map => d.map()?.unwrap_or(0),
        _ => {
            skip_value(d)?;
            return Ok(None);
        }
    };
    let mut m = PeerMetadata::default();
    for _ in 0..n {
        let key = match d.datatype()? {
            Type::String => d.str()?,
            _ => {
                skip_value(d)?;
                skip_value(d)?;
                continue;
            }
        };
        match (key, d.datatype()?) {
            ("storageId", Type::String) => m.storage_id = Some(text(d, "storageId")?),
            ("isEphemeral", Type::Bool) => m.is_ephemeral = d.bool()?,
            _ => skip_value(d)?,
        }
    }
    Ok(Some(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all_kinds() -> Vec<Message> {
        let doc = DocumentId::from_bytes([7; 16]);
        vec![
            Message::Join {
                sender: "a".into(),
                versions: vec!["1".into()],
                metadata: Some(PeerMetadata {
                    storage_id: Some("s".into()),
                    is_ephemeral: false,
                }),
            },
            Message::Peer {
                sender: "b".into(),
                target: "a".into(),
                version: "1".into(),
                metadata: None,
            },
            Message::Leave { sender: "a".into() },
            Message::Request {
                sender: "a".into(),
                target: "b".into(),
                doc,
                data: vec![1, 2, 3],
            },
            Message::Sync {
                sender: "a".into(),
                target: "b".into(),
                doc,
                data: vec![],
            },
            Message::DocUnavailable {
                sender: "b".into(),
                target: "a".into(),
                doc,
            },
            Message::Error {
                message: "no".into(),
            },
        ]
    }

    #[test]
    fn every_message_round_trips() {
        for m in all_kinds() {
            assert_eq!(Message::decode(&m.encode(), 1 << 20).unwrap(), m);
        }
    }

    #[test]
    fn document_ids_are_bs58check_and_name_based() {
        let key: DocKey = "project:0190f5a2-4c1e-7b3a-8e21-6a9d2c1b0f00"
            .parse()
            .unwrap();
        let id = DocumentId::of(&key);
        assert_eq!(id, DocumentId::of(&key));
        assert_eq!(id.to_string().parse::<DocumentId>().unwrap(), id);
        // A version-5, RFC 4122 UUID, as automerge-repo's id check requires.
        let u = uuid::Uuid::from_bytes(*id.as_bytes());
        assert_eq!(u.get_version_num(), 5);
        assert!(id.url().starts_with("automerge:"));
        // One flipped character fails the checksum.
        let mut s = id.to_string().into_bytes();
        s[3] = if s[3] == b'a' { b'b' } else { b'a' };
        assert!(DocumentId::parse(std::str::from_utf8(&s).unwrap()).is_err());
    }

    #[test]
    fn unknown_fields_and_types_are_skipped_but_gaps_are_refused() {
        let mut e = Encoder::new(Vec::new());
        e.map(3).unwrap();
        e.str("type").unwrap().str("remote-heads-changed").unwrap();
        e.str("senderId").unwrap().str("x").unwrap();
        e.str("newHeads").unwrap().map(1).unwrap();
        e.str("k")
            .unwrap()
            .array(2)
            .unwrap()
            .u8(1)
            .unwrap()
            .u8(2)
            .unwrap();
        let m = Message::decode(&e.into_writer(), 1 << 20).unwrap();
        assert_eq!(m.kind(), "remote-heads-changed");

        let mut e = Encoder::new(Vec::new());
        e.map(2).unwrap();
        e.str("type").unwrap().str("sync").unwrap();
        e.str("senderId").unwrap().str("x").unwrap();
        assert_eq!(
            Message::decode(&e.into_writer(), 1 << 20),
            Err(WireError::Missing("targetId"))
        );
    }

    #[test]
    fn oversized_truncated_and_trailing_frames_are_refused() {
        let m = Message::Sync {
            sender: "a".into(),
            target: "b".into(),
            doc: DocumentId::from_bytes([1; 16]),
            data: vec![0; 100],
        }
        .encode();
        assert_eq!(Message::decode(&m, 50), Err(WireError::TooLarge(50)));
        assert!(Message::decode(&m[..m.len() - 1], 1 << 20).is_err());
        let mut longer = m.clone();
        longer.push(0);
        assert_eq!(Message::decode(&longer, 1 << 20), Err(WireError::Trailing));
        assert_eq!(Message::decode(&[0x01], 1 << 20), Err(WireError::NotAMap));
    }

    /// A `join` of `n` empty protocol versions, as one frame.
    fn join_with_versions(n: u64) -> Vec<u8> {
        let mut e = Encoder::new(Vec::new());
        e.map(3).unwrap();
        e.str("type").unwrap().str("join").unwrap();
        e.str("senderId").unwrap().str("attacker").unwrap();
        e.str("supportedProtocolVersions")
            .unwrap()
            .array(n)
            .unwrap();
        for _ in 0..n {
            e.str("").unwrap();
        }
        e.into_writer()
    }

    #[test]
    fn a_join_full_of_empty_versions_is_refused_before_it_is_read() {
        // 16 MiB of one-byte empty strings: refused at the declared length, without
        // reading one of them.
        let frame = join_with_versions((16 << 20) - 64);
        let started = std::time::Instant::now();
        assert_eq!(
            Message::decode(&frame, 16 << 20),
            Err(WireError::TooMany("supportedProtocolVersions"))
        );
        assert!(started.elapsed() < std::time::Duration::from_millis(50));
        // Also when the array does not say its length.
        let mut e = Encoder::new(Vec::new());
        e.map(3).unwrap();
        e.str("type").unwrap().str("join").unwrap();
        e.str("senderId").unwrap().str("attacker").unwrap();
        e.str("supportedProtocolVersions")
            .unwrap()
            .begin_array()
            .unwrap();
        for _ in 0..100_000 {
            e.str("").unwrap();
        }
        e.end().unwrap();
        assert_eq!(
            Message::decode(&e.into_writer(), 16 << 20),
            Err(WireError::TooMany("supportedProtocolVersions"))
        );
        // A few versions are fine.
        let ok = join_with_versions(3);
        assert!(
            matches!(Message::decode(&ok, 1 << 20), Ok(Message::Join { versions, .. }) if versions.len() == 3)
        );
    }

    #[test]
    fn long_ids_and_deep_unknown_values_are_refused() {
        let long = "x".repeat(MAX_ID_BYTES + 1);
        let m = Message::Leave { sender: long }.encode();
        assert_eq!(
            Message::decode(&m, 1 << 20),
            Err(WireError::TooLong("senderId"))
        );
        // An unknown key whose value nests deeper than allowed: refused, definite or not.
        for indefinite in [false, true] {
            let mut e = Encoder::new(Vec::new());
            e.map(2).unwrap();
            e.str("type").unwrap().str("ephemeral").unwrap();
            e.str("whatever").unwrap();
            for _ in 0..100_000 {
                if indefinite {
                    e.begin_array().unwrap();
                } else {
                    e.array(1).unwrap();
                }
            }
            assert_eq!(
                Message::decode(&e.into_writer(), 1 << 20),
                Err(WireError::TooDeep),
                "indefinite: {indefinite}"
            );
        }
        // Values of ordinary depth are skipped, whatever their shape.
        let mut e = Encoder::new(Vec::new());
        e.map(3).unwrap();
        e.str("type").unwrap().str("remote-heads-changed").unwrap();
        e.str("senderId").unwrap().str("x").unwrap();
        e.str("newHeads").unwrap().begin_map().unwrap();
        e.str("storage").unwrap().map(2).unwrap();
        e.str("heads").unwrap().begin_array().unwrap();
        e.str("h1")
            .unwrap()
            .tag(minicbor::data::Tag::new(64))
            .unwrap()
            .bytes(&[1, 2])
            .unwrap();
        e.end().unwrap();
        e.str("timestamp").unwrap().u64(7).unwrap();
        e.end().unwrap();
        assert_eq!(
            Message::decode(&e.into_writer(), 1 << 20).unwrap().kind(),
            "remote-heads-changed"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Message::decode(&bytes, 1 << 20);
        }

        #[test]
        fn cut_and_flipped_messages_never_panic(idx in 0usize..7, cut in 0usize..200, flip in 0usize..200, bit in 0u8..8) {
            let mut bytes = all_kinds()[idx].encode();
            if !bytes.is_empty() {
                let i = flip % bytes.len();
                bytes[i] ^= 1 << bit;
            }
            bytes.truncate(cut);
            let _ = Message::decode(&bytes, 1 << 20);
        }
    }
}
