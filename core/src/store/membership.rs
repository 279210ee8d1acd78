//! What a device holds, and may hold: documents set aside because they do not read
//! as their type, and a project's material purged when this device is no longer on
//! the project's team.

use rusqlite::{params, Transaction};

use super::docs::DocKey;
use super::{index, settle_locked, State, Store};
use crate::error::{Error, Result};
use crate::ids::ProjectId;
use crate::time::Timestamp;

/// A document kept here but set aside: it does not read as its type (a peer wrote
/// something the app cannot read). It is out of lists and search until a later change
/// makes it readable again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetAside {
    pub doc: DocKey,
    /// Which rule it broke (a field or a shape, never content).
    pub reason: String,
    pub since: Timestamp,
}

/// Rebuilds a document's index rows. A document that does not read as its type is
/// kept as it is (a later change may mend it) but set aside: no index rows, recorded
/// in `set_aside`, and reported — instead of failing the merge and, with it, the
/// whole sync. Returns whether the document is readable.
pub(crate) fn index_or_set_aside(
    tx: &Transaction,
    key: &DocKey,
    doc: &automerge::AutoCommit,
    me: &str,
) -> Result<bool> {
    tx.execute_batch("SAVEPOINT reindex")?;
    match index::reindex(tx, key, doc, me) {
        Ok(()) => {
            tx.execute_batch("RELEASE reindex")?;
            tx.prepare_cached("DELETE FROM set_aside WHERE doc = ?1")?
                .execute([key.to_string()])?;
            Ok(true)
        }
        Err(Error::Document(reason)) => {
            tx.execute_batch("ROLLBACK TO reindex; RELEASE reindex")?;
            index::remove_rows(tx, key)?;
            tx.prepare_cached(
                "INSERT INTO set_aside (doc, reason, since) VALUES (?1, ?2, ?3)
                 ON CONFLICT (doc) DO UPDATE SET reason = excluded.reason",
            )?
            .execute(params![key.to_string(), reason, Timestamp::now().0])?;
            Ok(false)
        }
        Err(e) => {
            tx.execute_batch("ROLLBACK TO reindex; RELEASE reindex")?;
            Err(e)
        }
    }
}

impl Store {
    /// The documents set aside here because they do not read as their type.
    pub fn set_aside_documents(&self) -> Result<Vec<SetAside>> {
        self.query(|c| {
            let mut stmt = c.prepare("SELECT doc, reason, since FROM set_aside ORDER BY doc")?;
            let rows =
                stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (doc, reason, since) = row?;
                out.push(SetAside {
                    doc: doc.parse()?,
                    reason,
                    since: Timestamp(since),
                });
            }
            Ok(out)
        })
    }

    /// Whether a document is set aside here.
    pub fn is_set_aside(&self, key: &DocKey) -> Result<bool> {
        self.query(|c| {
            Ok(c.prepare_cached("SELECT 1 FROM set_aside WHERE doc = ?1")?
                .exists([key.to_string()])?)
        })
    }

    /// The projects this store holds documents of.
    pub(crate) fn projects_held(&self) -> Result<Vec<ProjectId>> {
        self.query(|c| {
            let mut stmt = c.prepare(
                "SELECT DISTINCT project FROM documents WHERE project IS NOT NULL ORDER BY project",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows
                .collect::<rusqlite::Result<Vec<_>>>()?
                .into_iter()
                .map(ProjectId::from)
                .collect())
        })
    }

    /// The documents of a project other than the project itself.
    fn material_of(&self, project: &ProjectId) -> Result<Vec<DocKey>> {
        self.query(|c| {
            let mut stmt =
                c.prepare("SELECT doc FROM documents WHERE project = ?1 AND kind != 'project'")?;
            let names = stmt.query_map([project.as_str()], |r| r.get::<_, String>(0))?;
            let mut keys = Vec::new();
            for name in names {
                keys.push(name?.parse()?);
            }
            Ok(keys)
        })
    }

    /// Whether this device is an active member of `project`, as its team reads (see
    /// `policy::team`); `false` when the project is not held here.
    pub fn is_member(&self, project: &ProjectId) -> Result<bool> {
        match self.my_role(project) {
            Ok(_) => Ok(true),
            Err(Error::NotAllowed(_) | Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Destroys the project's material held here — participants, sessions, material,
    /// inboxes, with their index rows and the photos and recordings only they
    /// referenced — keeping the project document. For a device that left the project's
    /// team: unlike an erasure nothing is tombstoned, so the material comes back if the
    /// device joins the team again. Returns how many documents went.
    pub fn purge_project_material(&self, project: &ProjectId) -> Result<usize> {
        self.settle()?;
        let keys = self.material_of(project)?;
        if keys.is_empty() {
            return Ok(0);
        }
        let hashes = self.hashes_in(&keys)?;
        let mut guard = self.lock();
        settle_locked(&mut guard);
        let State { conn, cache, .. } = &mut *guard;
        let tx = conn.transaction()?;
        for key in &keys {
            let name = key.to_string();
            tx.execute("DELETE FROM notes WHERE doc = ?1", [&name])?;
            index::remove_rows(&tx, key)?;
            tx.execute("DELETE FROM documents WHERE doc = ?1", [&name])?;
            tx.execute("DELETE FROM chunks WHERE doc = ?1", [&name])?;
            tx.execute("DELETE FROM set_aside WHERE doc = ?1", [&name])?;
            if let DocKey::Participant(p) = key {
                tx.execute("DELETE FROM roster WHERE participant = ?1", [p.as_str()])?;
            }
        }
        tx.execute(
            "DELETE FROM pending_notes WHERE project = ?1",
            [project.as_str()],
        )?;
        let committed = tx.commit();
        for key in &keys {
            cache.evict(key);
        }
        committed?;
        drop(guard);
        let hashes: Vec<&str> = hashes.iter().map(String::as_str).collect();
        self.destroy_unreferenced(&hashes)?;
        // Freed pages are zeroed (secure_delete); the log and the file are rewritten
        // so no old page image keeps the material.
        self.query(|c| {
            Ok(c.execute_batch(
                "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
            )?)
        })?;
        Ok(keys.len())
    }
}
