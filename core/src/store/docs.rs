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

    /// Whether several devices may create this document on their own: its name comes
    /// from other ids (a session and a participant), not from a fresh id.
    pub fn is_shared_name(&self) -> bool {
        matches!(self, DocKey::Material(..) | DocKey::Inbox(_))
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

/// After this many incremental chunks a document is rewritten as one snapshot. Loading
/// a snapshot is several times faster than replaying the same changes chunk by chunk,
/// and rewriting a session-sized document costs well under a millisecond.
pub(crate) const COMPACT_AFTER_CHUNKS: i64 = 32;

/// How many documents stay loaded; the least recently used are dropped past it.
const CACHE_CAPACITY: usize = 256;

/// The loaded documents.
pub(crate) struct DocCache {
    actor: ActorId,
    docs: HashMap<DocKey, Loaded>,
    clock: u64,
}

/// A document in memory and where its next chunk goes.
pub(crate) struct Loaded {
    pub(crate) doc: AutoCommit,
    /// The sequence number of the next chunk; 0 when nothing is stored yet.
    next_seq: i64,
    used: u64,
}

impl DocCache {
    pub(crate) fn new(actor: ActorId) -> Self {
        Self {
            actor,
            docs: HashMap::new(),
            clock: 0,
        }
    }

    /// The loaded document, loading it from `conn` on first use.
    pub(crate) fn get(&mut self, conn: &Connection, key: &DocKey) -> Result<&mut AutoCommit> {
        Ok(&mut self.entry(conn, key)?.doc)
    }

    /// The loaded document with its storage state, loading it on first use.
    pub(crate) fn entry(&mut self, conn: &Connection, key: &DocKey) -> Result<&mut Loaded> {
        self.clock += 1;
        let clock = self.clock;
        if !self.docs.contains_key(key) {
            let (doc, next_seq) = load(conn, key, &self.actor)?;
            self.evict_if_full();
            self.docs.insert(
                key.clone(),
                Loaded {
                    doc,
                    next_seq,
                    used: clock,
                },
            );
        }
        let loaded = self
            .docs
            .get_mut(key)
            .ok_or_else(|| Error::not_found(key.kind(), key))?;
        loaded.used = clock;
        Ok(loaded)
    }

    /// Adds a document created in memory.
    pub(crate) fn insert_new(&mut self, key: DocKey) -> &mut Loaded {
        self.clock += 1;
        self.evict_if_full();
        let doc = AutoCommit::new().with_actor(self.actor.clone());
        let entry = self.docs.entry(key).or_insert(Loaded {
            doc,
            next_seq: 0,
            used: 0,
        });
        entry.used = self.clock;
        entry
    }

    /// Whether the document is loaded.
    pub(crate) fn contains(&self, key: &DocKey) -> bool {
        self.docs.contains_key(key)
    }

    /// Adds a new document holding `root`. A document with a shared name (see
    /// [`DocKey::is_shared_name`]) starts with a skeleton change that every device
    /// writes identically — same actor (derived from the name), same time (0), same
    /// content — so that two devices creating it apart produce one and the same first
    /// change, and their later additions merge into the same maps instead of into two
    /// competing roots of which automerge would keep only one.
    pub(crate) fn insert_with_root<T: autosurgeon::Reconcile>(
        &mut self,
        key: DocKey,
        root: &T,
    ) -> Result<&mut Loaded> {
        let shared = key.is_shared_name();
        let device = self.actor.clone();
        let loaded = self.insert_new(key.clone());
        if shared {
            loaded
                .doc
                .set_actor(ActorId::from(key.to_string().into_bytes()));
        }
        autosurgeon::reconcile(&mut loaded.doc, root)?;
        if shared {
            loaded
                .doc
                .commit_with(automerge::transaction::CommitOptions::default().with_time(0));
            loaded.doc.set_actor(device);
        }
        Ok(loaded)
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
        if let Some(oldest) = self
            .docs
            .iter()
            .min_by_key(|(_, loaded)| loaded.used)
            .map(|(k, _)| k.clone())
        {
            self.docs.remove(&oldest);
        }
    }
}

/// Which document this is, read from its content: every document's root names it
/// (a project or a participant by `id`; a session by `id` with its `kind`; material
/// by `session_id` and `participant_id`; an inbox by `participant_id`).
pub(crate) fn identify(doc: &AutoCommit) -> Result<DocKey> {
    // A string or a text object (what a stock JS client writes): the same name.
    let text = |field: &str| -> Result<Option<String>> {
        match crate::domain::read::text_at(doc, &ROOT, field)? {
            Some(t) => Ok(Some(t)),
            None if doc.get(ROOT, field)?.is_some() => {
                Err(Error::Document(format!("{field} is not text")))
            }
            None => Ok(None),
        }
    };
    let has = |field: &str| -> Result<bool> { Ok(doc.get(ROOT, field)?.is_some()) };
    let unknown = || Error::Document("not an Insikt document".into());
    let key = match (text("id")?, text("session_id")?, text("participant_id")?) {
        (None, Some(s), Some(p)) => DocKey::Material(s.parse()?, p.parse()?),
        (None, None, Some(p)) => DocKey::Inbox(p.parse()?),
        (Some(id), None, None) if has("code")? => DocKey::Participant(id.parse()?),
        (Some(id), None, None) if has("kind")? && has("project_id")? => {
            DocKey::Session(id.parse()?)
        }
        (Some(id), None, None) if has("canvas")? => DocKey::Project(id.parse()?),
        _ => return Err(unknown()),
    };
    Ok(key)
}

/// Whether the document exists in the store.
pub(crate) fn exists(conn: &Connection, key: &DocKey) -> Result<bool> {
    let found: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM documents WHERE doc = ?1")?
        .query_row([key.to_string()], |r| r.get(0))
        .optional()?;
    Ok(found.is_some())
}

fn load(conn: &Connection, key: &DocKey, actor: &ActorId) -> Result<(AutoCommit, i64)> {
    let name = key.to_string();
    let mut stmt =
        conn.prepare_cached("SELECT seq, data FROM chunks WHERE doc = ?1 ORDER BY seq")?;
    let mut rows = stmt.query([&name])?;
    let mut bytes = Vec::new();
    let mut next_seq = None;
    while let Some(row) = rows.next()? {
        next_seq = Some(row.get::<_, i64>(0)? + 1);
        bytes.extend_from_slice(row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?);
    }
    let Some(next_seq) = next_seq else {
        return Err(Error::not_found(key.kind(), key));
    };
    let mut doc = AutoCommit::load(&bytes)?.with_actor(actor.clone());
    // Everything loaded is already persisted: start the incremental cursor here.
    let _ = doc.save_incremental();
    Ok((doc, next_seq))
}

/// Appends the document's unsaved changes as one chunk, compacting when the chunk
/// count grows past the limit. Returns whether anything was written.
///
/// The `documents` row is written when the document is first stored and refreshed at
/// each compaction, not on every write: every statement on the capture path counts.
/// On failure the caller drops the cached entry, so `next_seq` never runs ahead.
pub(crate) fn persist(
    tx: &Transaction,
    key: &DocKey,
    project: &ProjectId,
    loaded: &mut Loaded,
) -> Result<bool> {
    let bytes = loaded.doc.save_incremental();
    if bytes.is_empty() {
        return Ok(false);
    }
    let name = key.to_string();
    tx.prepare_cached("INSERT INTO chunks (doc, seq, data) VALUES (?1, ?2, ?3)")?
        .execute(params![name, loaded.next_seq, bytes])?;
    if loaded.next_seq == 0 {
        let generation = super::generation::generation_of(&loaded.doc)?;
        tx.prepare_cached(
            "INSERT INTO documents (doc, kind, project, chunks, bytes, updated_at, generation) VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6)",
        )?
        .execute(params![name, key.kind(), project.as_str(), bytes.len() as i64, Timestamp::now().0, generation])?;
    }
    loaded.next_seq += 1;
    if loaded.next_seq >= COMPACT_AFTER_CHUNKS {
        compact(tx, key, loaded)?;
    }
    Ok(true)
}

/// Rewrites a document as a single snapshot.
pub(crate) fn compact(tx: &Transaction, key: &DocKey, loaded: &mut Loaded) -> Result<()> {
    let name = key.to_string();
    // Uncompressed: the file is encrypted already, and a forensic scan after an
    // erasure must be able to read every byte it finds.
    let snapshot = loaded.doc.save_nocompress();
    tx.prepare_cached("DELETE FROM chunks WHERE doc = ?1")?
        .execute([&name])?;
    tx.prepare_cached("INSERT INTO chunks (doc, seq, data) VALUES (?1, 0, ?2)")?
        .execute(params![name, snapshot])?;
    tx.prepare_cached(
        "UPDATE documents SET chunks = 1, bytes = ?2, updated_at = ?3 WHERE doc = ?1",
    )?
    .execute(params![name, snapshot.len() as i64, Timestamp::now().0])?;
    loaded.next_seq = 1;
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

/// What the hub needs to know of a document: its name, its project and the blobs it
/// references (by hash), read from its content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentInfo {
    pub key: DocKey,
    /// Its generation (see `store::generation`): which wire id it lives under.
    pub generation: u32,
    pub project: ProjectId,
    /// Every blob (photo rendition, recording) the document references, as
    /// `(hash, rendition)` with rendition `thumbnail`, `preview` or `original`.
    pub blobs: Vec<(String, &'static str)>,
}

/// Reads a document's name, project and blob references from its content.
pub fn describe(doc: &AutoCommit) -> Result<DocumentInfo> {
    use crate::domain::Attachment;
    let key = identify(doc)?;
    let project = super::project_of(&key, doc)?;
    // Only the parts that hold attachments are read: this runs on every change the
    // hub receives.
    let attachments: Vec<Attachment> = match &key {
        DocKey::Project(_) => {
            let ideas: std::collections::BTreeMap<String, crate::domain::Idea> =
                crate::domain::read::hydrate_prop(doc, ROOT, "ideas")?;
            ideas.into_values().filter_map(|i| i.sketch).collect()
        }
        DocKey::Participant(_) => Vec::new(),
        DocKey::Session(_) | DocKey::Material(..) => {
            let found: std::collections::BTreeMap<String, Attachment> =
                crate::domain::read::hydrate_prop(doc, ROOT, "attachments")?;
            found.into_values().collect()
        }
        DocKey::Inbox(_) => {
            let entries: std::collections::BTreeMap<String, crate::domain::DiaryEntry> =
                crate::domain::read::hydrate_prop(doc, ROOT, "entries")?;
            entries.into_values().filter_map(|e| e.photo).collect()
        }
    };
    let mut blobs = Vec::new();
    for a in attachments {
        if let Some(t) = a.thumbnail {
            blobs.push((t.hash, "thumbnail"));
        }
        if let Some(p) = a.preview {
            blobs.push((p.hash, "preview"));
        }
        blobs.push((a.original.hash, "original"));
    }
    Ok(DocumentInfo {
        generation: super::generation::generation_of(doc)?,
        key,
        project,
        blobs,
    })
}
