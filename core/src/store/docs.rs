//! Documents in the store: naming, lazy loading, incremental persistence, compaction.

use automerge::{transaction::Transactable, ActorId, AutoCommit, ObjType, ReadDoc, ROOT};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::ids::{ParticipantId, ProjectId, SessionId};
use crate::time::Timestamp;

/// The name of a document. The boundaries follow erasure and access: everything about
/// one participant sits in documents that name that participant, so erasing them
/// destroys whole documents; a participant's device holds only their `Inbox`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocKey {
    /// The project: challenge, team, steps, insights, ideas, tests, decisions.
    Project(ProjectId),
    /// A participant's record and consent.
    Participant(ParticipantId),
    /// A session's description and its notes about no single participant.
    Session(SessionId),
    /// The notes about one participant in one session.
    Material(SessionId, ParticipantId),
    /// A youth participant's inbox: their diary entries and the team's messages.
    Inbox(ParticipantId),
}

impl DocKey {
    /// The document's kind, as stored in the `documents` table.
    pub fn kind(&self) -> &'static str {
        match self {
            DocKey::Project(_) => "project",
            DocKey::Participant(_) => "participant",
            DocKey::Session(_) => "session",
            DocKey::Material(..) => "material",
            DocKey::Inbox(_) => "inbox",
        }
    }

    /// The participant whose material this document is, if any.
    pub fn subject(&self) -> Option<&ParticipantId> {
        match self {
            DocKey::Participant(p) | DocKey::Material(_, p) | DocKey::Inbox(p) => Some(p),
            DocKey::Project(_) | DocKey::Session(_) => None,
        }
    }
}

impl fmt::Display for DocKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocKey::Project(p) => write!(f, "project:{p}"),
            DocKey::Participant(p) => write!(f, "participant:{p}"),
            DocKey::Session(s) => write!(f, "session:{s}"),
            DocKey::Material(s, p) => write!(f, "material:{s}:{p}"),
            DocKey::Inbox(p) => write!(f, "inbox:{p}"),
        }
    }
}

impl FromStr for DocKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::InvalidInput("not a document name");
        let mut parts = s.split(':');
        let kind = parts.next().ok_or_else(bad)?;
        let a = parts.next().ok_or_else(bad)?;
        let b = parts.next();
        if parts.next().is_some() {
            return Err(bad());
        }
        let key = match (kind, b) {
            ("project", None) => DocKey::Project(a.parse()?),
            ("participant", None) => DocKey::Participant(a.parse()?),
            ("session", None) => DocKey::Session(a.parse()?),
            ("material", Some(b)) => DocKey::Material(a.parse()?, b.parse()?),
            ("inbox", None) => DocKey::Inbox(a.parse()?),
            _ => return Err(bad()),
        };
        Ok(key)
    }
}

/// After this many incremental chunks a document is rewritten as one snapshot.
pub(crate) const COMPACT_AFTER_CHUNKS: i64 = 256;

/// How many documents stay loaded; the least recently used are dropped past it.
const CACHE_CAPACITY: usize = 128;

/// The loaded documents.
pub(crate) struct DocCache {
    actor: ActorId,
    docs: HashMap<DocKey, (AutoCommit, u64)>,
    clock: u64,
}

impl DocCache {
    pub(crate) fn new(actor: ActorId) -> Self {
        Self { actor, docs: HashMap::new(), clock: 0 }
    }

    /// The loaded document, loading it from `conn` on first use.
    pub(crate) fn get(&mut self, conn: &Connection, key: &DocKey) -> Result<&mut AutoCommit> {
        self.clock += 1;
        let clock = self.clock;
        if !self.docs.contains_key(key) {
            let doc = load(conn, key, &self.actor)?;
            self.evict_if_full();
            self.docs.insert(key.clone(), (doc, clock));
        }
        let (doc, used) = self.docs.get_mut(key).expect("inserted above");
        *used = clock;
        Ok(doc)
    }

    /// Adds a document created in memory.
    pub(crate) fn insert_new(&mut self, key: DocKey) -> &mut AutoCommit {
        self.clock += 1;
        self.evict_if_full();
        let doc = AutoCommit::new().with_actor(self.actor.clone());
        let entry = self.docs.entry(key).or_insert((doc, 0));
        entry.1 = self.clock;
        &mut entry.0
    }

    /// Forgets a document, dropping any change not persisted.
    pub(crate) fn evict(&mut self, key: &DocKey) {
        self.docs.remove(key);
    }

    /// Forgets every document.
    pub(crate) fn clear(&mut self) {
        self.docs.clear();
    }

    fn evict_if_full(&mut self) {
        if self.docs.len() < CACHE_CAPACITY {
            return;
        }
        if let Some(oldest) = self.docs.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| k.clone()) {
            self.docs.remove(&oldest);
        }
    }
}

/// Whether the document exists in the store.
pub(crate) fn exists(conn: &Connection, key: &DocKey) -> Result<bool> {
    let found: Option<i64> = conn
        .query_row("SELECT 1 FROM documents WHERE doc = ?1", [key.to_string()], |r| r.get(0))
        .optional()?;
    Ok(found.is_some())
}

fn load(conn: &Connection, key: &DocKey, actor: &ActorId) -> Result<AutoCommit> {
    let name = key.to_string();
    let mut stmt = conn.prepare_cached("SELECT data FROM chunks WHERE doc = ?1 ORDER BY seq")?;
    let mut rows = stmt.query([&name])?;
    let mut bytes = Vec::new();
    let mut any = false;
    while let Some(row) = rows.next()? {
        let chunk: Vec<u8> = row.get(0)?;
        bytes.extend_from_slice(&chunk);
        any = true;
    }
    if !any {
        return Err(Error::not_found(key.kind(), key));
    }
    let mut doc = AutoCommit::load(&bytes)?.with_actor(actor.clone());
    // Everything loaded is already persisted: start the incremental cursor here.
    let _ = doc.save_incremental();
    Ok(doc)
}

/// Appends the document's unsaved changes as one chunk, compacting when the chunk
/// count grows past the limit. Returns whether anything was written.
pub(crate) fn persist(tx: &Transaction, key: &DocKey, project: &ProjectId, doc: &mut AutoCommit) -> Result<bool> {
    let bytes = doc.save_incremental();
    if bytes.is_empty() {
        return Ok(false);
    }
    let name = key.to_string();
    let now = Timestamp::now().0;
    let next: i64 = tx
        .prepare_cached("SELECT coalesce(max(seq) + 1, 0) FROM chunks WHERE doc = ?1")?
        .query_row([&name], |r| r.get(0))?;
    tx.prepare_cached("INSERT INTO chunks (doc, seq, data) VALUES (?1, ?2, ?3)")?
        .execute(params![name, next, bytes])?;
    tx.prepare_cached(
        "INSERT INTO documents (doc, kind, project, chunks, bytes, updated_at) VALUES (?1, ?2, ?3, 1, ?4, ?5)
         ON CONFLICT (doc) DO UPDATE SET chunks = chunks + 1, bytes = bytes + ?4, updated_at = ?5",
    )?
    .execute(params![name, key.kind(), project.as_str(), bytes.len() as i64, now])?;
    if next + 1 >= COMPACT_AFTER_CHUNKS {
        compact(tx, key, doc)?;
    }
    Ok(true)
}

/// Rewrites a document as a single snapshot.
pub(crate) fn compact(tx: &Transaction, key: &DocKey, doc: &mut AutoCommit) -> Result<()> {
    let name = key.to_string();
    let snapshot = doc.save();
    tx.prepare_cached("DELETE FROM chunks WHERE doc = ?1")?.execute([&name])?;
    tx.prepare_cached("INSERT INTO chunks (doc, seq, data) VALUES (?1, 0, ?2)")?
        .execute(params![name, snapshot])?;
    tx.prepare_cached("UPDATE documents SET chunks = 1, bytes = ?2 WHERE doc = ?1")?
        .execute(params![name, snapshot.len() as i64])?;
    Ok(())
}

/// The object id of the map at `ROOT.prop`, creating it when missing (a document
/// written by an older build may lack a newer map).
pub(crate) fn map_at(doc: &mut AutoCommit, prop: &str) -> Result<automerge::ObjId> {
    match doc.get(ROOT, prop)? {
        Some((automerge::Value::Object(ObjType::Map), id)) => Ok(id),
        _ => Ok(doc.put_object(ROOT, prop, ObjType::Map)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_keys_round_trip() {
        let keys = [
            DocKey::Project(ProjectId::new()),
            DocKey::Participant(ParticipantId::new()),
            DocKey::Session(SessionId::new()),
            DocKey::Material(SessionId::new(), ParticipantId::new()),
            DocKey::Inbox(ParticipantId::new()),
        ];
        for k in keys {
            assert_eq!(k.to_string().parse::<DocKey>().unwrap(), k);
        }
        assert!("material:x".parse::<DocKey>().is_err());
        assert!("nonsense".parse::<DocKey>().is_err());
    }
}
