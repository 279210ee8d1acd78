//! The hub's documents and who may see them: the sync engine's document source on
//! the hub. Every document is named by its content; its project and subject are
//! recorded when it first arrives and decide, with the device's role and
//! organisation, what each device may do with it.

use automerge::sync::{self, SyncDoc};
use automerge::AutoCommit;
use insikt_core::sync::{Access, ConnId, DocumentId, Documents, Received};
use insikt_core::{DocKey, Error as CoreError};
use insikt_media::{BlobHash, BlobStore};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::{HashMap, HashSet};

use crate::auth::{Device, Role};
use crate::db::now;
use crate::error::{HubError, Result};

mod checks;
mod held;
mod team;

/// What the hub records of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocMeta {
    pub name: String,
    pub kind: &'static str,
    pub project: String,
    pub subject: Option<String>,
}

impl DocMeta {
    fn of(key: &DocKey, project: &str) -> DocMeta {
        DocMeta {
            name: key.to_string(),
            kind: key.kind(),
            project: project.to_string(),
            subject: key.subject().map(|p| p.to_string()),
        }
    }
}

/// A project as the hub knows it.
#[derive(Clone, Debug)]
struct ProjectAccess {
    org: String,
    cross_org: bool,
    orgs: HashSet<String>,
}

/// How many documents stay loaded.
const CACHE_CAPACITY: usize = 4096;
/// The documents on the hub, with the devices on each connection.
pub struct HubDocuments {
    db: Connection,
    blobs: BlobStore,
    cache: HashMap<DocumentId, AutoCommit>,
    meta: HashMap<DocumentId, DocMeta>,
    tombstones: HashSet<DocumentId>,
    /// Changes that arrived before those they depend on, with the connection that
    /// brought them (see `held.rs`): never stored, never in a document.
    held: held::Held,
    projects: HashMap<String, ProjectAccess>,
    conns: HashMap<ConnId, Device>,
    /// Documents erased by the last message or replaced by a new generation (both
    /// the old and the new id), or changed by the hub itself (a device joining a
    /// team), for the engine to stop, start or go on sharing.
    erased_now: Vec<DocumentId>,
    /// How many incremental chunks each loaded document has stored after its snapshot.
    chunks: HashMap<DocumentId, u32>,
    /// Each project's team as its document reads (see `team.rs`), until it changes.
    teams: HashMap<String, insikt_core::policy::team::Team>,
    /// Documents refused to a connection (a change the policy forbids): not talked
    /// about again on it, so a device holding a refused change does not offer it
    /// over and over.
    refused: HashSet<(ConnId, DocumentId)>,
}

/// After this many increments a document is rewritten as one snapshot.
const COMPACT_AFTER: u32 = 64;

/// What a coach or a participant's phone may do with a document of `kind` about
/// `subject`, in a project its organisation takes part in (team devices: see
/// `HubDocuments::team_access`, which needs the project's team).
fn outside_team(device: &Device, kind: &str, subject: Option<&str>) -> Access {
    match device.role {
        Role::Coach => match kind {
            "project" => Access::Read,
            _ => Access::None,
        },
        Role::Participant => match (kind, subject, device.participant.as_deref()) {
            ("inbox", Some(s), Some(p)) if s == p => Access::ReadWrite,
            _ => Access::None,
        },
        Role::Coordinator | Role::Researcher | Role::Reviewer => Access::None,
    }
}

impl HubDocuments {
    pub fn new(db: Connection, blobs: BlobStore) -> Result<Self> {
        let mut tombstones = HashSet::new();
        {
            let mut stmt = db.prepare("SELECT doc_id FROM tombstones")?;
            for id in stmt.query_map([], |r| r.get::<_, String>(0))? {
                if let Ok(id) = id?.parse() {
                    tombstones.insert(id);
                }
            }
        }
        Ok(Self {
            db,
            blobs,
            cache: HashMap::new(),
            meta: HashMap::new(),
            tombstones,
            held: held::Held::default(),
            projects: HashMap::new(),
            conns: HashMap::new(),
            erased_now: Vec::new(),
            chunks: HashMap::new(),
            teams: HashMap::new(),
            refused: HashSet::new(),
        })
    }

    /// Binds a connection to the device that authenticated it; a device invited into
    /// a project joins its team now (see `team.rs`).
    pub fn attach(&mut self, conn: ConnId, device: Device) {
        self.welcome(&device);
        self.conns.insert(conn, device);
    }

    /// Drops what is in memory of a document: it reloads as stored.
    fn forget(&mut self, doc: &DocumentId) {
        self.cache.remove(doc);
        self.chunks.remove(doc);
    }

    /// Forgets a connection, with the changes it brought that still wait for others.
    pub fn detach(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
        self.held.drop_conn(conn);
        self.refused.retain(|(c, _)| *c != conn);
    }

    /// How many bytes of changes waiting for their dependencies are held, over every
    /// connection (see `held.rs`).
    pub fn waiting_bytes(&self) -> usize {
        self.held.bytes()
    }

    /// How many documents are loaded in memory.
    pub fn loaded(&self) -> usize {
        self.cache.len()
    }

    /// The connections of a device.
    pub fn connections_of(&self, device: &str) -> Vec<ConnId> {
        self.conns
            .iter()
            .filter(|(_, d)| d.id == device)
            .map(|(c, _)| *c)
            .collect()
    }

    /// Marks a device revoked on every open connection: from now on it may do nothing.
    pub fn revoke(&mut self, device: &str) -> Vec<ConnId> {
        let conns = self.connections_of(device);
        for c in &conns {
            if let Some(d) = self.conns.get_mut(c) {
                d.revoked = true;
            }
        }
        conns
    }

    /// Documents erased by the last message.
    pub fn take_erased(&mut self) -> Vec<DocumentId> {
        std::mem::take(&mut self.erased_now)
    }

    pub fn db(&self) -> &Connection {
        &self.db
    }

    /// The wire id the hub holds `key` under: its live generation's, or (when the
    /// hub does not hold it) the first generation's.
    pub fn current_id(&self, key: &DocKey) -> DocumentId {
        let found: Option<String> = self
            .db
            .prepare_cached("SELECT doc_id FROM documents WHERE name = ?1")
            .and_then(|mut s| s.query_row([key.to_string()], |r| r.get(0)).optional())
            .ok()
            .flatten();
        found
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| DocumentId::of(key))
    }

    /// A document as the hub holds it (automerge bytes), if it holds it.
    pub fn document_bytes(&mut self, doc: &DocumentId) -> Option<Vec<u8>> {
        self.meta(doc)?;
        self.load(doc).ok().map(|d| d.save())
    }

    /// The recorded facts of a document, loading them on first use.
    pub fn meta(&mut self, doc: &DocumentId) -> Option<DocMeta> {
        if let Some(m) = self.meta.get(doc) {
            return Some(m.clone());
        }
        let row: Option<(String, String, String, Option<String>)> = self
            .db
            .query_row(
                "SELECT name, kind, project, subject FROM documents WHERE doc_id = ?1",
                [doc.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .ok()
            .flatten();
        let (name, _, project, subject) = row?;
        let key: DocKey = name.parse().ok()?;
        let meta = DocMeta {
            kind: key.kind(),
            name,
            project,
            subject,
        };
        self.meta.insert(*doc, meta.clone());
        Some(meta)
    }

    fn project(&mut self, id: &str) -> Option<ProjectAccess> {
        if let Some(p) = self.projects.get(id) {
            return Some(p.clone());
        }
        let (org, cross_org): (String, bool) = self
            .db
            .query_row(
                "SELECT org, cross_org FROM projects WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .ok()
            .flatten()?;
        let mut orgs = HashSet::new();
        if let Ok(mut stmt) = self
            .db
            .prepare("SELECT org FROM project_orgs WHERE project = ?1")
        {
            if let Ok(rows) = stmt.query_map([id], |r| r.get::<_, String>(0)) {
                orgs.extend(rows.flatten());
            }
        }
        let p = ProjectAccess {
            org,
            cross_org,
            orgs,
        };
        self.projects.insert(id.to_string(), p.clone());
        Some(p)
    }

    /// Forgets what is cached about projects (after one is shared across
    /// organisations).
    pub fn forget_projects(&mut self) {
        self.projects.clear();
    }

    fn project_open_to(&mut self, project: &str, device: &Device) -> bool {
        match self.project(project) {
            Some(p) => p.org == device.org || (p.cross_org && p.orgs.contains(&device.org)),
            None => false,
        }
    }

    /// What the device on `conn` may do with a recorded document: nothing outside
    /// the projects open to its organisation; inside, a team device what its role on
    /// the project's team allows (need to know), a coach the project, a young
    /// person's phone their own inbox.
    fn access_recorded(&mut self, device: &Device, meta: &DocMeta) -> Access {
        if !self.project_open_to(&meta.project, device) {
            return Access::None;
        }
        match device.role {
            Role::Coordinator | Role::Researcher | Role::Reviewer => self.team_access(device, meta),
            Role::Coach | Role::Participant => {
                outside_team(device, meta.kind, meta.subject.as_deref())
            }
        }
    }

    /// Whether a device may read the blob `hash`: a document it may read references
    /// it, in a project that holds the blob (one of its devices uploaded it). A
    /// reference from a project that never received the bytes grants nothing.
    pub fn may_read_blob(&mut self, device: &Device, hash: &str) -> Result<bool> {
        let docs: Vec<String> = {
            let mut stmt = self.db.prepare_cached(
                "SELECT DISTINCT b.doc_id FROM doc_blobs b
                 JOIN documents d ON d.doc_id = b.doc_id
                 JOIN blob_records r ON r.project = d.project AND r.hash = b.hash
                 WHERE b.hash = ?1",
            )?;
            let rows = stmt.query_map([hash], |r| r.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for id in docs {
            let Ok(id) = id.parse::<DocumentId>() else {
                continue;
            };
            if let Some(meta) = self.meta(&id) {
                if self.access_recorded(device, &meta) != Access::None {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Whether some document references the blob `hash`.
    pub fn blob_referenced(&self, hash: &str) -> Result<bool> {
        Ok(self
            .db
            .prepare_cached("SELECT 1 FROM doc_blobs WHERE hash = ?1 LIMIT 1")?
            .exists([hash])?)
    }

    /// Whether a document of `project` refers to the blob `hash`.
    pub fn blob_referenced_in(&self, project: &str, hash: &str) -> Result<bool> {
        crate::db::blob_used_in(&self.db, project, hash)
    }

    /// Whether some project holds the blob `hash` (its file must stay).
    pub fn blob_recorded(&self, hash: &str) -> Result<bool> {
        Ok(self
            .db
            .prepare_cached("SELECT 1 FROM blob_records WHERE hash = ?1 LIMIT 1")?
            .exists([hash])?)
    }

    /// Whether `device` may upload blobs for `project`: it may write a document of
    /// the project (a participant's phone: its own inbox there).
    pub fn may_upload_to(&mut self, device: &Device, project: &str) -> bool {
        if device.revoked || self.project(project).is_none() {
            return false;
        }
        let meta = match device.role {
            Role::Participant => {
                let Some(p) = device.participant.as_deref().and_then(|p| p.parse().ok()) else {
                    return false;
                };
                let inbox = self.current_id(&DocKey::Inbox(p));
                match self.meta(&inbox) {
                    Some(m) if m.project == project => m,
                    _ => return false,
                }
            }
            _ => DocMeta {
                name: String::new(),
                kind: "session",
                project: project.to_string(),
                subject: None,
            },
        };
        self.access_recorded(device, &meta) == Access::ReadWrite
    }

    /// The projects `device` may upload blobs for.
    pub fn upload_projects(&mut self, device: &Device) -> Result<Vec<String>> {
        let candidates: Vec<String> = {
            let mut stmt = self.db.prepare_cached(
                "SELECT p.id FROM projects p WHERE p.org = ?1 OR (p.cross_org = 1 AND EXISTS
                    (SELECT 1 FROM project_orgs o WHERE o.project = p.id AND o.org = ?1))
                 ORDER BY p.id",
            )?;
            let rows = stmt.query_map([&device.org], |r| r.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        Ok(candidates
            .into_iter()
            .filter(|p| self.may_upload_to(device, p))
            .collect())
    }

    /// Which device uploaded the blob `hash` for `project`, when the project holds
    /// it (`Some(None)`: held since before uploads were recorded by device).
    pub fn blob_record(&self, project: &str, hash: &str) -> Result<Option<Option<String>>> {
        Ok(self
            .db
            .prepare_cached("SELECT device FROM blob_records WHERE project = ?1 AND hash = ?2")?
            .query_row([project, hash], |r| r.get::<_, Option<String>>(0))
            .optional()?)
    }

    /// Ends the records of blobs no document of their project references, uploaded
    /// before `before` (milliseconds): a device's finished uploads that nothing came
    /// to use. Returns how many.
    pub fn expire_unreferenced_blobs(&self, before: i64) -> Result<usize> {
        Ok(self.db.execute(
            "DELETE FROM blob_records WHERE created_at <= ?1 AND NOT EXISTS
                (SELECT 1 FROM doc_blobs b JOIN documents d ON d.doc_id = b.doc_id
                 WHERE b.hash = blob_records.hash AND d.project = blob_records.project)",
            [before],
        )?)
    }

    /// Rewrites the database's log, so pages freed by rebuilds leave it too.
    pub fn checkpoint(&self) -> Result<()> {
        self.db.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    }

    fn destroy_blobs(&self, hashes: Vec<String>) -> Result<()> {
        for hash in hashes {
            if let Ok(h) = hash.parse::<BlobHash>() {
                self.blobs.delete(&h)?;
            }
        }
        Ok(())
    }

    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    fn load(&mut self, doc: &DocumentId) -> Result<&mut AutoCommit> {
        if !self.cache.contains_key(doc) {
            let data: Vec<u8> = self
                .db
                .query_row(
                    "SELECT data FROM documents WHERE doc_id = ?1",
                    [doc.to_string()],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or(HubError::NotFound("document"))?;
            let mut loaded = AutoCommit::load(&data).map_err(CoreError::from)?;
            let mut chunks = 0;
            {
                let mut stmt = self.db.prepare_cached(
                    "SELECT data FROM doc_changes WHERE doc_id = ?1 ORDER BY seq",
                )?;
                let mut rows = stmt.query([doc.to_string()])?;
                while let Some(row) = rows.next()? {
                    let bytes = row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
                    loaded.load_incremental(bytes).map_err(CoreError::from)?;
                    chunks += 1;
                }
            }
            // Everything loaded is stored: the next increment starts here.
            let _ = loaded.save_incremental();
            self.chunks.insert(*doc, chunks);
            if self.cache.len() >= CACHE_CAPACITY {
                // Drop an arbitrary document: everything is persisted.
                if let Some(k) = self.cache.keys().next().copied() {
                    self.cache.remove(&k);
                }
            }
            self.cache.insert(*doc, loaded);
        }
        self.cache
            .get_mut(doc)
            .ok_or(HubError::NotFound("document"))
    }

    /// Writes a document's new changes (appended; rewritten as one snapshot now and
    /// then), its record and its blob references.
    fn store(
        &mut self,
        id: &DocumentId,
        doc: &mut AutoCommit,
        meta: &DocMeta,
        new: bool,
    ) -> Result<()> {
        let info = insikt_core::store::describe_document(doc)?;
        let chunks = self.chunks.get(id).copied().unwrap_or(0);
        let snapshot = new || chunks >= COMPACT_AFTER;
        let tx = self.db.unchecked_transaction()?;
        if snapshot {
            // Uncompressed, as on devices: the database is encrypted, and a scan after
            // an erasure must be able to read every byte it finds. Changes that wait
            // for dependencies which never came are not written: the snapshot holds
            // only what the hub could apply.
            let data = doc.save_with_options(automerge::SaveOptions {
                deflate: false,
                retain_orphans: false,
            });
            tx.execute(
                "INSERT INTO documents (doc_id, name, kind, project, subject, data, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (doc_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
                params![id.to_string(), meta.name, meta.kind, meta.project, meta.subject, data, crate::db::now()],
            )?;
            tx.execute(
                "DELETE FROM doc_changes WHERE doc_id = ?1",
                [id.to_string()],
            )?;
        } else {
            let increment = doc.save_incremental();
            tx.prepare_cached("INSERT INTO doc_changes (doc_id, seq, data) VALUES (?1, ?2, ?3)")?
                .execute(params![id.to_string(), chunks, increment])?;
            tx.prepare_cached("UPDATE documents SET updated_at = ?2 WHERE doc_id = ?1")?
                .execute(params![id.to_string(), now()])?;
        }
        let before: Vec<String> = {
            let mut stmt = tx.prepare_cached("SELECT hash FROM doc_blobs WHERE doc_id = ?1")?;
            let rows = stmt.query_map([id.to_string()], |r| r.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        tx.prepare_cached("DELETE FROM doc_blobs WHERE doc_id = ?1")?
            .execute([id.to_string()])?;
        for (hash, rendition) in &info.blobs {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO doc_blobs (doc_id, hash, rendition) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![id.to_string(), hash, rendition])?;
        }
        // Blobs this document no longer references, and no other document of its
        // project does, leave the project; a blob no project holds is destroyed (a
        // redaction replaced it, retention purged it).
        let orphans = release_blobs(&tx, &meta.project, &before, false)?;
        tx.commit()?;
        self.destroy_blobs(orphans)?;
        if snapshot {
            let _ = doc.save_incremental();
            self.chunks.insert(*id, 0);
        } else {
            self.chunks.insert(*id, chunks + 1);
        }
        Ok(())
    }

    /// Destroys the documents named in a project's erasures, with the blobs only
    /// they referenced, and refuses them from now on.
    fn honour_erasures(&mut self, project: &str, project_doc: &AutoCommit) -> Result<()> {
        // As every replica reads them: those a coordinator recorded.
        let erasures = insikt_core::policy::team::Team::read(project_doc).erasures(project_doc);
        for documents in erasures.values() {
            for name in documents {
                let Ok(key) = name.parse::<DocKey>() else {
                    continue;
                };
                let id = self.current_id(&key);
                if self.tombstones.contains(&id) || !self.belongs_to(&key, project) {
                    continue;
                }
                // Every blob the document referenced leaves the project, whatever
                // else refers to it: a reference grants nothing without the project's
                // record, and a blob no project holds any longer is destroyed.
                let referenced: Vec<String> = {
                    let mut stmt = self
                        .db
                        .prepare("SELECT hash FROM doc_blobs WHERE doc_id = ?1")?;
                    let rows = stmt.query_map([id.to_string()], |r| r.get::<_, String>(0))?;
                    rows.collect::<rusqlite::Result<_>>()?
                };
                let tx = self.db.unchecked_transaction()?;
                tx.execute("DELETE FROM documents WHERE doc_id = ?1", [id.to_string()])?;
                tx.execute(
                    "DELETE FROM doc_changes WHERE doc_id = ?1",
                    [id.to_string()],
                )?;
                tx.execute("DELETE FROM doc_blobs WHERE doc_id = ?1", [id.to_string()])?;
                tx.execute(
                    "INSERT OR REPLACE INTO tombstones (doc_id, name, erased_at) VALUES (?1, ?2, ?3)",
                    params![id.to_string(), name, now()],
                )?;
                crate::db::audit(&tx, None, None, "erase", key.kind())?;
                if let DocKey::Participant(p) | DocKey::Inbox(p) = &key {
                    // The participant's own phones may do nothing more, and learn why
                    // when they next connect.
                    // Only in the organisations the project belongs to.
                    let orgs = "SELECT org FROM projects WHERE id = ?3
                                UNION SELECT org FROM project_orgs WHERE project = ?3";
                    tx.execute(
                        &format!(
                            "INSERT OR IGNORE INTO erased_participants (participant, org, erased_at)
                             SELECT ?1, org, ?2 FROM ({orgs})"
                        ),
                        params![p.as_str(), now(), project],
                    )?;
                    tx.execute(
                        &format!(
                            "UPDATE devices SET revoked_at = ?2 WHERE participant = ?1
                             AND revoked_at IS NULL AND org IN ({orgs})"
                        ),
                        params![p.as_str(), now(), project],
                    )?;
                }
                let hashes = release_blobs(&tx, project, &referenced, true)?;
                tx.commit()?;
                self.destroy_blobs(hashes)?;
                self.held.drop_doc(&id);
                self.cache.remove(&id);
                self.chunks.remove(&id);
                self.meta.remove(&id);
                self.tombstones.insert(id);
                self.erased_now.push(id);
            }
        }
        if !self.erased_now.is_empty() {
            // Freed pages are zeroed (secure_delete); rewrite the log too.
            self.db.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        }
        Ok(())
    }

    /// Whether a document named in a project's erasures is that project's: recorded
    /// under it, or (not here yet) of a session or participant recorded under it. A
    /// project's erasures never reach another project's documents, nor a project.
    fn belongs_to(&mut self, key: &DocKey, project: &str) -> bool {
        let parent = match key {
            DocKey::Project(_) => return false,
            DocKey::Session(s) | DocKey::Material(s, _) => DocKey::Session(s.clone()),
            DocKey::Participant(p) | DocKey::Inbox(p) => DocKey::Participant(p.clone()),
        };
        let recorded = |me: &mut Self, k: &DocKey| {
            let id = me.current_id(k);
            me.meta(&id).map(|m| m.project)
        };
        match recorded(self, key).or_else(|| recorded(self, &parent)) {
            Some(p) => p == project,
            None => false,
        }
    }

    /// Applies a sync message to a recorded document. What its new changes touch is
    /// judged (see `checks.rs`); a message that breaks the policy, or leaves the
    /// document unreadable, is dropped whole and the document refused to this peer,
    /// whose connection goes on. Changes that depend on others not here yet are held
    /// with this connection (see `held.rs`), never given to the document, so they are
    /// judged as this peer's when its later message completes them.
    fn receive_recorded(
        &mut self,
        conn: ConnId,
        device: &Device,
        doc: &DocumentId,
        meta: &DocMeta,
        state: &mut sync::State,
        mut message: sync::Message,
    ) -> Result<Received> {
        let refused = Received {
            changed: false,
            refused: true,
        };
        // The team this message is judged by is the one before it: read (and kept)
        // now, so that a change to the team is never judged by the team it makes.
        let _ = self.team(&meta.project);
        self.load(doc)?;
        let loaded = self
            .cache
            .get_mut(doc)
            .ok_or(HubError::NotFound("document"))?;
        let before = loaded.get_heads();
        let chunks: Vec<Vec<u8>> = message.changes.iter().map(<[u8]>::to_vec).collect();
        let has = |h: &automerge::ChangeHash| loaded.get_change_meta_by_hash(h).is_some();
        match self.held.sort(conn, *doc, chunks, has) {
            Ok(ready) => message.changes = ready.into(),
            Err(held::OverShare) => return Ok(refused),
        }
        let loaded = self.load(doc)?;
        loaded
            .sync()
            .receive_sync_message(state, message)
            .map_err(CoreError::from)?;
        // Nothing should wait inside the document now; if something does (a chunk
        // holding several changes), it goes rather than wait to be judged as another's.
        let waiting = !loaded.get_missing_deps(&[]).is_empty();
        if loaded.get_heads() == before {
            if waiting {
                self.forget(doc);
            }
            return Ok(Received::default());
        }
        if insikt_core::store::generation::touches_lineage(loaded, &before)? {
            // Only the hub writes a document's generation: drop what was applied (the
            // document reloads as stored) and refuse this document to the sender; the
            // rest of its connection goes on.
            self.forget(doc);
            return Ok(refused);
        }
        if let Err(why) = self.judge(device, doc, meta, &before) {
            self.forget(doc);
            eprintln!("insikt-hub: refused a {} change: {why}", meta.kind);
            return Ok(refused);
        }
        // Taken out of the cache while it is stored, not swapped for an empty one: a
        // read of it meanwhile (the project's team, say) loads what is stored.
        self.load(doc)?;
        let mut doc_now = self
            .cache
            .remove(doc)
            .ok_or(HubError::NotFound("document"))?;
        let outcome = self.store(doc, &mut doc_now, meta, false).and_then(|()| {
            if meta.kind == "project" {
                self.teams.remove(&meta.project);
                self.honour_erasures(&meta.project, &doc_now)?;
            }
            Ok(())
        });
        match outcome {
            Err(HubError::Core(CoreError::Document(_))) => {
                // The document no longer says what it is (nothing was stored).
                self.forget(doc);
                Ok(refused)
            }
            Ok(()) => {
                self.cache.insert(*doc, doc_now);
                if waiting {
                    // What waits for missing changes goes; what was applied is stored.
                    self.forget(doc);
                }
                Ok(Received {
                    changed: true,
                    refused: false,
                })
            }
            Err(e) => {
                // What was applied but not stored is dropped: the document reloads from
                // the database, and the peer (whose connection closes) sends it again.
                self.forget(doc);
                Err(e)
            }
        }
    }

    /// Applies a sync message to a document not recorded yet; once it names itself,
    /// checks the name against its id and the device's rights, and records it.
    fn receive_new(
        &mut self,
        conn: ConnId,
        device: &Device,
        doc: &DocumentId,
        state: &mut sync::State,
        message: sync::Message,
    ) -> Result<Received> {
        // The document is built from this one message and kept only if it names
        // itself at once (devices send a new document whole): nothing provisional
        // stays between messages, on any connection. Changes that depend on others
        // not sent are held with the connection, as for a recorded document.
        let chunks: Vec<Vec<u8>> = message.changes.iter().map(<[u8]>::to_vec).collect();
        let mut message = message;
        match self.held.sort(conn, *doc, chunks, |_| false) {
            Ok(ready) => message.changes = ready.into(),
            Err(held::OverShare) => {
                return Ok(Received {
                    changed: false,
                    refused: true,
                })
            }
        }
        let mut new_doc = AutoCommit::new();
        new_doc
            .sync()
            .receive_sync_message(state, message)
            .map_err(CoreError::from)?;
        if new_doc.get_heads().is_empty() {
            // Nothing arrived (a request, a first hello, or only changes waiting for
            // others): keep nothing for it.
            return Ok(Received::default());
        }
        let info = insikt_core::store::describe_document(&new_doc)?;
        if &DocumentId::of_generation(&info.key, info.generation) != doc {
            return Err(HubError::Invalid(
                "a document arrived under an id that is not its name",
            ));
        }
        let project = info.project.to_string();
        let meta = DocMeta::of(&info.key, &project);
        let refused = Received {
            changed: false,
            refused: true,
        };
        let plain = insikt_core::store::generation::is_plain_first_generation(&new_doc);
        if info.generation > 0 || !plain.unwrap_or(false) {
            // Only the hub starts a generation (one it does not hold was destroyed),
            // and a first generation says nothing of generations.
            return Ok(refused);
        }
        // Judged before anything is recorded of it (a new project claims its id for
        // the device's organisation below).
        if let Err(why) = self.judge_new(device, &mut new_doc, &meta) {
            eprintln!("insikt-hub: refused a new {} document: {why}", meta.kind);
            return Ok(refused);
        }
        match self.project(&project) {
            Some(_) => {
                if self.access_recorded(device, &meta) != Access::ReadWrite {
                    return Ok(refused);
                }
            }
            None => {
                // A project new to the hub: only a coordinator brings one, into
                // their own organisation; anything else waits for its project.
                if meta.kind != "project" || device.role != Role::Coordinator {
                    return Ok(refused);
                }
                self.db.execute(
                    "INSERT INTO projects (id, org, cross_org) VALUES (?1, ?2, 0)",
                    params![project, device.org],
                )?;
                crate::db::audit(&self.db, Some(&device.org), Some(&device.id), "project", "")?;
                self.projects.remove(&project);
            }
        }
        self.store(doc, &mut new_doc, &meta, true)?;
        if meta.kind == "project" {
            self.teams.remove(&meta.project);
            self.honour_erasures(&meta.project, &new_doc)?;
        }
        self.meta.insert(*doc, meta);
        self.cache.insert(*doc, new_doc);
        Ok(Received {
            changed: true,
            refused: false,
        })
    }
}

/// Ends `project`'s records of `hashes` — every one (`all`: an erasure), or those no
/// document of the project references any longer — and returns those no project
/// holds any more: their files are to be destroyed.
fn release_blobs(
    tx: &Connection,
    project: &str,
    hashes: &[String],
    all: bool,
) -> Result<Vec<String>> {
    let mut gone = Vec::new();
    for hash in hashes {
        if !all && crate::db::blob_used_in(tx, project, hash)? {
            continue;
        }
        tx.prepare_cached("DELETE FROM blob_records WHERE project = ?1 AND hash = ?2")?
            .execute(params![project, hash])?;
        let held = tx
            .prepare_cached("SELECT 1 FROM blob_records WHERE hash = ?1 LIMIT 1")?
            .exists([hash])?;
        if !held {
            gone.push(hash.clone());
        }
    }
    Ok(gone)
}

impl Documents for HubDocuments {
    fn offer(&mut self, conn: ConnId) -> Vec<DocumentId> {
        let Some(device) = self.conns.get(&conn).cloned() else {
            return Vec::new();
        };
        if device.revoked {
            return Vec::new();
        }
        if device.role == Role::Participant {
            let Some(p) = device.participant.as_deref().and_then(|p| p.parse().ok()) else {
                return Vec::new();
            };
            let id = self.current_id(&DocKey::Inbox(p));
            return match self.meta(&id) {
                Some(m) if self.access_recorded(&device, &m) != Access::None => vec![id],
                _ => Vec::new(),
            };
        }
        // Every document of the projects open to the device's organisation that its
        // role may read, projects first.
        let rows: Vec<(String, String, String, Option<String>)> = {
            let Ok(mut stmt) = self.db.prepare(
                "SELECT d.doc_id, d.name, d.project, d.subject FROM documents d JOIN projects p ON p.id = d.project
                 WHERE p.org = ?1 OR (p.cross_org = 1 AND EXISTS
                    (SELECT 1 FROM project_orgs o WHERE o.project = p.id AND o.org = ?1))
                 ORDER BY d.kind != 'project', d.name",
            ) else {
                return Vec::new();
            };
            let Ok(rows) = stmt.query_map([&device.org], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            }) else {
                return Vec::new();
            };
            rows.flatten().collect()
        };
        let mut out = Vec::new();
        for (id, name, project, subject) in rows {
            let (Ok(id), Ok(key)) = (id.parse::<DocumentId>(), name.parse::<DocKey>()) else {
                continue;
            };
            let meta = DocMeta {
                name,
                kind: key.kind(),
                project,
                subject,
            };
            if self.access_recorded(&device, &meta) != Access::None {
                out.push(id);
            }
        }
        out
    }

    fn access(&mut self, conn: ConnId, doc: &DocumentId) -> Access {
        let Some(device) = self.conns.get(&conn).cloned() else {
            return Access::None;
        };
        if device.revoked || self.tombstones.contains(doc) || self.refused.contains(&(conn, *doc)) {
            return Access::None;
        }
        match self.meta(doc) {
            Some(meta) => self.access_recorded(&device, &meta),
            None => match device.role {
                Role::Coordinator | Role::Researcher => Access::ReadWrite,
                Role::Participant => {
                    let own = device
                        .participant
                        .as_deref()
                        .and_then(|p| p.parse().ok())
                        .map(|p| self.current_id(&DocKey::Inbox(p)));
                    if own.as_ref() == Some(doc) {
                        Access::ReadWrite
                    } else {
                        Access::None
                    }
                }
                Role::Reviewer | Role::Coach => Access::None,
            },
        }
    }

    fn has(&mut self, doc: &DocumentId) -> bool {
        !self.tombstones.contains(doc) && self.meta(doc).is_some()
    }

    fn generate(
        &mut self,
        _conn: ConnId,
        doc: &DocumentId,
        state: &mut sync::State,
    ) -> insikt_core::Result<Option<sync::Message>> {
        if self.has(doc) {
            let loaded = self.load(doc).map_err(to_core)?;
            return Ok(loaded.sync().generate_sync_message(state));
        }
        Ok(AutoCommit::new().sync().generate_sync_message(state))
    }

    fn receive(
        &mut self,
        conn: ConnId,
        doc: &DocumentId,
        state: &mut sync::State,
        message: sync::Message,
    ) -> insikt_core::Result<Received> {
        let Some(device) = self.conns.get(&conn).cloned() else {
            return Err(CoreError::Unauthorized(
                "no device on this connection".into(),
            ));
        };
        if device.revoked {
            return Err(CoreError::Unauthorized("the device was revoked".into()));
        }
        let outcome = match self.meta(doc) {
            Some(meta) => self.receive_recorded(conn, &device, doc, &meta, state, message),
            None => self.receive_new(conn, &device, doc, state, message),
        };
        if matches!(outcome, Ok(Received { refused: true, .. })) {
            self.refused.insert((conn, *doc));
        }
        outcome.map_err(to_core)
    }
}

fn to_core(e: HubError) -> CoreError {
    match e {
        HubError::Core(c) => c,
        HubError::Forbidden(what) => CoreError::NotAllowed(what),
        HubError::Invalid(what) | HubError::TooLarge(what) => CoreError::InvalidInput(what),
        HubError::Unauthorized => CoreError::Unauthorized("unknown device".into()),
        other => CoreError::Storage(other.to_string()),
    }
}

/// What one retention sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Documents read (the others had not changed and held nothing old enough).
    pub examined: usize,
    /// Documents rebuilt as their next generation.
    pub rebuilt: usize,
    /// Documents that could not be looked at (the error is logged by kind; the
    /// next sweep tries again).
    pub failed: usize,
    /// Blob files no document referenced any longer, removed.
    pub blobs_removed: usize,
}

/// A document for retention to look at.
#[derive(Clone, Debug)]
pub struct SweepCandidate {
    pub id: DocumentId,
    pub key: DocKey,
    /// Raw material from before this time is purged; `None` without a retention
    /// period.
    pub cutoff: Option<i64>,
}

const DAY_MS: i64 = 24 * 3600 * 1000;
/// A note the team deleted leaves its session's history a day later (one rebuild for
/// a day's deletions, not one per typo).
const DELETED_NOTE_GRACE_MS: i64 = DAY_MS;

impl HubDocuments {
    /// The documents retention should look at now: inboxes, sessions and material
    /// that changed since they were last looked at, or hold material older than
    /// their project's retention period (`now` decides what is old).
    pub fn retention_candidates(&mut self, now: i64) -> Result<Vec<SweepCandidate>> {
        let projects: Vec<(String, String)> = {
            let mut stmt = self
                .db
                .prepare("SELECT doc_id, project FROM documents WHERE kind = 'project'")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut cutoffs: HashMap<String, i64> = HashMap::new();
        for (id, project) in projects {
            let Ok(id) = id.parse::<DocumentId>() else {
                continue;
            };
            // A period set or changed since the last sweep: every document of the
            // project is looked at again.
            let seen: Option<Option<u32>> = self
                .db
                .query_row(
                    "SELECT retention_days FROM projects WHERE id = ?1",
                    [&project],
                    |r| r.get(0),
                )
                .optional()?;
            let doc = self.load(&id)?;
            // The period a coordinator set, at least a day. One that does not read as a
            // number of days is not "no period": the last one seen stays in force.
            let days = match insikt_core::policy::team::Team::read(&*doc).retention(&*doc) {
                Ok(days) => days,
                Err(why) => {
                    eprintln!("insikt-hub: a project's {why}; the last period seen stays");
                    seen.flatten()
                }
            };
            if seen.is_some_and(|seen| seen != days) {
                let tx = self.db.unchecked_transaction()?;
                tx.execute(
                    "UPDATE documents SET swept_at = NULL WHERE project = ?1",
                    [&project],
                )?;
                tx.execute(
                    "UPDATE projects SET retention_days = ?2 WHERE id = ?1",
                    params![project, days],
                )?;
                tx.commit()?;
            }
            if let Some(days) = days {
                cutoffs.insert(project, now.saturating_sub(i64::from(days) * DAY_MS));
            }
        }
        type Row = (String, String, String, i64, Option<i64>, Option<i64>);
        let rows: Vec<Row> = {
            let mut stmt = self.db.prepare(
                "SELECT doc_id, name, project, updated_at, swept_at, due_at FROM documents
                 WHERE kind IN ('inbox', 'session', 'material') ORDER BY name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut out = Vec::new();
        for (id, name, project, updated_at, swept_at, due_at) in rows {
            let cutoff = cutoffs.get(&project).copied();
            let unchanged = swept_at.is_some_and(|s| updated_at <= s);
            let due = due_at.is_some_and(|d| d <= now);
            if unchanged && !due {
                continue;
            }
            if let (Ok(id), Ok(key)) = (id.parse::<DocumentId>(), name.parse::<DocKey>()) {
                out.push(SweepCandidate { id, key, cutoff });
            }
        }
        Ok(out)
    }

    /// Looks at one document for retention: rebuilds it as its next generation when
    /// it holds material past its project's period, or deleted diary entries or
    /// attachments in its history (see `insikt_core::store::generation`); the old
    /// generation is destroyed and refused from then on. Returns whether it was
    /// rebuilt.
    pub fn sweep_one(&mut self, c: &SweepCandidate, now: i64) -> Result<bool> {
        use insikt_core::store::generation::needs_new_generation;
        if self.meta(&c.id).is_none() {
            // Erased or rebuilt since the candidates were listed.
            return Ok(false);
        }
        let (plan, due) = self.retention_plan(&c.id, &c.key, c.cutoff, now)?;
        let doc = self.load(&c.id)?;
        if needs_new_generation(doc, &plan).map_err(HubError::from)? {
            // Freed pages are zeroed (secure_delete); the sweep rewrites the log once
            // it is done.
            self.next_generation(&c.id, &plan, now)?;
            return Ok(true);
        }
        self.db.execute(
            "UPDATE documents SET swept_at = ?2, due_at = ?3 WHERE doc_id = ?1",
            params![c.id.to_string(), crate::db::now(), due],
        )?;
        Ok(false)
    }

    /// What retention purges from a document now, and when it will next have
    /// something to purge: its oldest diary entry or (for a session with photos or
    /// recordings) its session's start passing the retention period, or a note the
    /// team deleted becoming a day old.
    fn retention_plan(
        &mut self,
        id: &DocumentId,
        key: &DocKey,
        cutoff: Option<i64>,
        now: i64,
    ) -> Result<(insikt_core::store::generation::RollPlan, Option<i64>)> {
        use automerge::{ObjType, ReadDoc, Value, ROOT};
        use insikt_core::store::generation::RollPlan;
        let int = |doc: &AutoCommit, obj: &automerge::ObjId, prop: &str| -> Option<i64> {
            match doc.get(obj, prop).ok().flatten() {
                Some((Value::Scalar(s), _)) => s.as_i64(),
                _ => None,
            }
        };
        // The earliest value of `field` among the items of the root map `map`.
        let earliest = |doc: &AutoCommit, map: &str, field: &str| -> Option<i64> {
            let mut out: Option<i64> = None;
            if let Ok(Some((Value::Object(ObjType::Map), items))) = doc.get(ROOT, map) {
                for k in doc.keys(&items) {
                    if let Ok(Some((Value::Object(ObjType::Map), item))) = doc.get(&items, &k) {
                        if let Some(t) = int(doc, &item, field) {
                            out = Some(out.map_or(t, |o| o.min(t)));
                        }
                    }
                }
            }
            out
        };
        let period = cutoff.map(|c| now.saturating_sub(c));
        let mut plan = RollPlan {
            notes_deleted_before: Some(insikt_core::Timestamp(
                now.saturating_sub(DELETED_NOTE_GRACE_MS),
            )),
            ..RollPlan::default()
        };
        let mut due: Vec<i64> = Vec::new();
        match key {
            DocKey::Inbox(_) => {
                let doc = self.load(id)?;
                if let (Some(oldest), Some(period)) =
                    (earliest(doc, "entries", "written_at"), period)
                {
                    due.push(oldest.saturating_add(period));
                }
                plan.entries_before = cutoff.map(insikt_core::Timestamp);
            }
            DocKey::Session(s) | DocKey::Material(s, _) => {
                let (has_attachments, deleted) = {
                    let doc = self.load(id)?;
                    let has = matches!(
                        doc.get(ROOT, "attachments"),
                        Ok(Some((Value::Object(ObjType::Map), a))) if doc.length(&a) > 0
                    );
                    (has, earliest(doc, "notes", "deleted_at"))
                };
                if let Some(t) = deleted {
                    due.push(t.saturating_add(DELETED_NOTE_GRACE_MS));
                }
                let session = self.current_id(&DocKey::Session(s.clone()));
                let started = match self.meta(&session) {
                    Some(_) => {
                        let doc = self.load(&session)?;
                        int(doc, &ROOT, "started_at")
                    }
                    None => None,
                };
                plan.attachments = matches!((cutoff, started), (Some(c), Some(t)) if t < c);
                if let (true, Some(t), Some(period)) = (has_attachments, started, period) {
                    due.push(t.saturating_add(period));
                }
            }
            DocKey::Project(_) | DocKey::Participant(_) => {}
        }
        Ok((plan, due.into_iter().min()))
    }

    /// Replaces a document by its next generation: the new one is stored and
    /// announced, the old one — with its history — deleted and refused from now on,
    /// and blobs only it referenced destroyed.
    fn next_generation(
        &mut self,
        old_id: &DocumentId,
        plan: &insikt_core::store::generation::RollPlan,
        now: i64,
    ) -> Result<DocumentId> {
        use insikt_core::store::generation::{generation_of, next_generation};
        let meta = self.meta(old_id).ok_or(HubError::NotFound("document"))?;
        let old = self.load(old_id)?;
        let old_generation = generation_of(old).map_err(HubError::from)?;
        let mut new = next_generation(old, plan, insikt_core::Timestamp(now))?;
        let info = insikt_core::store::describe_document(&new)?;
        let new_id = DocumentId::of_generation(&info.key, info.generation);
        let data = new.save_nocompress();
        let _ = new.save_incremental();
        let old_hashes: Vec<String> = {
            let mut stmt = self
                .db
                .prepare_cached("SELECT hash FROM doc_blobs WHERE doc_id = ?1")?;
            let rows = stmt.query_map([old_id.to_string()], |r| r.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let tx = self.db.unchecked_transaction()?;
        for table in ["documents", "doc_changes", "doc_blobs"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE doc_id = ?1"),
                [old_id.to_string()],
            )?;
        }
        tx.execute(
            "INSERT INTO documents (doc_id, name, kind, project, subject, data, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                new_id.to_string(),
                meta.name,
                meta.kind,
                meta.project,
                meta.subject,
                data,
                crate::db::now()
            ],
        )?;
        for (hash, rendition) in &info.blobs {
            tx.execute(
                "INSERT OR IGNORE INTO doc_blobs (doc_id, hash, rendition) VALUES (?1, ?2, ?3)",
                params![new_id.to_string(), hash, rendition],
            )?;
        }
        tx.execute(
            "INSERT OR REPLACE INTO tombstones (doc_id, name, erased_at) VALUES (?1, ?2, ?3)",
            params![
                old_id.to_string(),
                format!("{}~{old_generation}", meta.name),
                crate::db::now()
            ],
        )?;
        crate::db::audit(&tx, None, None, "new-generation", meta.kind)?;
        let orphans = release_blobs(&tx, &meta.project, &old_hashes, false)?;
        tx.commit()?;
        self.destroy_blobs(orphans)?;
        self.held.drop_doc(old_id);
        self.forget(old_id);
        self.meta.remove(old_id);
        self.tombstones.insert(*old_id);
        self.meta.insert(new_id, meta);
        self.cache.insert(new_id, new);
        self.chunks.insert(new_id, 0);
        self.erased_now.push(*old_id);
        self.erased_now.push(new_id);
        Ok(new_id)
    }
}
