//! Erasure: when consent is withdrawn (or a coordinator orders it), a participant's
//! material is destroyed on this device — whole documents, their index and search
//! rows, pending captures, photos and recordings — and tombstones make sure it never
//! comes back, whatever an old device sends later.

use rusqlite::{params, OptionalExtension};
use std::collections::{BTreeMap, BTreeSet};

use super::docs::DocKey;
use super::{index, settle_locked, State, Store};
use crate::domain::{Erasure, MemberRole, SessionDoc};
use crate::error::{Error, Result};
use crate::ids::{ParticipantId, SessionId};
use crate::time::Timestamp;

/// What an erasure destroyed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasureReport {
    /// Documents destroyed and tombstoned.
    pub documents: usize,
    /// Notes (including diary entries and transcript segments) removed from the index.
    pub notes: usize,
    /// Photo and recording files destroyed.
    pub blobs: usize,
}

impl Store {
    /// Erases everything about a participant on this device: their record and
    /// consent, their material in every session, their inbox, the sessions in which
    /// they were the only participant, and the photos and recordings in those. The
    /// documents are deleted, the database rewritten so no freed page keeps their
    /// bytes, and tombstones refuse them from then on. Insights that cited the erased
    /// notes keep their statement and show the evidence as erased.
    pub fn erase_participant(&self, participant: &ParticipantId) -> Result<ErasureReport> {
        let project = self
            .query(|c| {
                c.query_row(
                    "SELECT project FROM participants WHERE id = ?1",
                    [participant.as_str()],
                    |r| r.get::<_, String>(0),
                )
                .map_err(Error::from)
            })
            .map(crate::ids::ProjectId::from)
            .map_err(|_| Error::not_found(ParticipantId::WHAT, participant))?;
        self.require_role(
            &project,
            &[MemberRole::Coordinator],
            "erasing a participant",
        )?;
        let (doomed, shared_sessions) = self.erasure_plan(participant)?;
        let hashes = self.hashes_in(&doomed)?;
        let mut guard = self.lock();
        settle_locked(&mut guard);
        let report = destroy(
            &mut guard,
            self.me().as_str(),
            participant,
            &doomed,
            &shared_sessions,
        )?;
        drop(guard);
        let mut blobs = 0;
        for hash in hashes {
            if let Ok(h) = super::media::parse_hash(&hash) {
                blobs += usize::from(self.blobs.delete(&h)?);
            }
        }
        // Freed pages are zeroed (secure_delete); the WAL still holds old page images
        // until it is checkpointed and truncated, and VACUUM rewrites the whole file.
        self.query(|c| {
            Ok(c.execute_batch(
                "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
            )?)
        })?;
        Ok(ErasureReport { blobs, ..report })
    }

    /// The documents erased on this device, for other devices to honour.
    pub fn tombstones(&self) -> Result<Vec<DocKey>> {
        self.query(|c| {
            let mut stmt = c.prepare("SELECT doc FROM tombstones ORDER BY doc")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for name in rows {
                out.push(name?.parse()?);
            }
            Ok(out)
        })
    }

    /// Honours tombstones received from another device: every named document held
    /// here is destroyed with its index rows and files, and all of them are refused
    /// from now on — so a device that was away during an erasure purges what it
    /// holds and can never send it back. Returns how many documents were destroyed.
    pub fn honour_tombstones(&self, keys: &[DocKey]) -> Result<usize> {
        let hashes = self.hashes_in(keys)?;
        let mut guard = self.lock();
        settle_locked(&mut guard);
        let State {
            conn,
            cache,
            observers,
            ..
        } = &mut *guard;
        let tx = conn.transaction()?;
        let held = projects_of(&tx, keys)?;
        let (documents, _) = destroy_documents(&tx, keys)?;
        tx.commit()?;
        for key in keys {
            cache.evict(key);
        }
        for (key, project) in &held {
            observers.publish(project, key, true);
        }
        drop(guard);
        for hash in hashes {
            if let Ok(h) = super::media::parse_hash(&hash) {
                self.blobs.delete(&h)?;
            }
        }
        if documents > 0 {
            self.query(|c| {
                Ok(c.execute_batch(
                    "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
                )?)
            })?;
        }
        Ok(documents)
    }

    /// Honours the erasures recorded in a project document (they arrive with it from
    /// other devices): documents named there and still held here are destroyed, and
    /// all of them refused from now on. Returns how many were destroyed.
    pub(crate) fn honour_recorded_erasures(
        &self,
        project: &crate::ids::ProjectId,
    ) -> Result<usize> {
        // Only what a coordinator recorded: an erasure anyone else wrote into the
        // project destroys nothing here (see `policy::team`).
        let recorded: BTreeMap<String, Vec<String>> = self
            .inspect(&DocKey::Project(project.clone()), |doc| {
                Ok(crate::policy::team::Team::read(doc).erasures(doc))
            })?;
        let known: BTreeSet<DocKey> = self.tombstones()?.into_iter().collect();
        let mut fresh = Vec::new();
        for documents in recorded.values() {
            for name in documents {
                if let Ok(key) = name.parse::<DocKey>() {
                    if !known.contains(&key) && self.belongs_to(&key, project)? {
                        fresh.push(key);
                    }
                }
            }
        }
        if fresh.is_empty() {
            return Ok(0);
        }
        self.honour_tombstones(&fresh)
    }

    /// Whether a document named in a project's erasures is that project's: held under
    /// it, or (not here) of a session or participant of it. A project's erasures never
    /// reach another project's documents, nor a project.
    fn belongs_to(&self, key: &DocKey, project: &crate::ids::ProjectId) -> Result<bool> {
        if matches!(key, DocKey::Project(_)) {
            return Ok(false);
        }
        let name = key.to_string();
        let found: Option<String> = self.query(|c| {
            let held: Option<String> = c
                .query_row(
                    "SELECT project FROM documents WHERE doc = ?1",
                    [&name],
                    |r| r.get(0),
                )
                .optional()?;
            if held.is_some() {
                return Ok(held);
            }
            Ok(match key {
                DocKey::Session(s) | DocKey::Material(s, _) => c
                    .query_row(
                        "SELECT project FROM sessions WHERE id = ?1",
                        [s.as_str()],
                        |r| r.get(0),
                    )
                    .optional()?,
                DocKey::Participant(p) | DocKey::Inbox(p) => c
                    .query_row(
                        "SELECT project FROM participants WHERE id = ?1",
                        [p.as_str()],
                        |r| r.get(0),
                    )
                    .optional()?,
                DocKey::Project(_) => None,
            })
        })?;
        Ok(found.as_deref() == Some(project.as_str()))
    }

    /// The documents to destroy, and the sessions that stay (others took part) from
    /// which the participant is removed.
    fn erasure_plan(&self, participant: &ParticipantId) -> Result<(Vec<DocKey>, Vec<SessionId>)> {
        self.settle()?;
        let rows: Vec<(String, i64)> = self.query(|c| {
            let mut stmt = c.prepare(
                "SELECT sp.session, (SELECT count(*) FROM session_participants o WHERE o.session = sp.session)
                 FROM session_participants sp WHERE sp.participant = ?1",
            )?;
            let rows = stmt.query_map([participant.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        let mut doomed = vec![
            DocKey::Participant(participant.clone()),
            DocKey::Inbox(participant.clone()),
        ];
        let mut shared = Vec::new();
        for (session, members) in rows {
            let session = SessionId::from(session);
            doomed.push(DocKey::Material(session.clone(), participant.clone()));
            if members <= 1 {
                doomed.push(DocKey::Session(session));
            } else {
                shared.push(session);
            }
        }
        Ok((doomed, shared))
    }

    pub(crate) fn hashes_in(&self, docs: &[DocKey]) -> Result<BTreeSet<String>> {
        self.query(|c| {
            let mut stmt = c.prepare(
                "SELECT DISTINCT b.hash FROM blob_refs b JOIN attachments a ON a.id = b.attachment WHERE a.doc = ?1",
            )?;
            let mut out = BTreeSet::new();
            for key in docs {
                for h in stmt.query_map([key.to_string()], |r| r.get::<_, String>(0))? {
                    out.insert(h?);
                }
            }
            Ok(out)
        })
    }
}

fn destroy(
    state: &mut State,
    me_member: &str,
    participant: &ParticipantId,
    doomed: &[DocKey],
    shared: &[SessionId],
) -> Result<ErasureReport> {
    let me = String::new();
    let State { conn, cache, .. } = state;
    let project: String = conn.query_row(
        "SELECT coalesce((SELECT project FROM participants WHERE id = ?1), '')",
        [participant.as_str()],
        |r| r.get(0),
    )?;
    // Take the participant out of the sessions that stay, and out of their notes'
    // general lists, before the transaction that destroys the rest.
    for session in shared {
        let key = DocKey::Session(session.clone());
        let loaded = cache.entry(conn, &key)?;
        let mut s: SessionDoc = crate::domain::read::hydrate(&loaded.doc)?;
        s.participants.remove(participant.as_str());
        autosurgeon::reconcile(&mut loaded.doc, &s)?;
    }
    let tx = conn.transaction()?;
    let (documents, notes) = destroy_documents(&tx, doomed)?;
    // Notes about them, anywhere, that were captured but not applied yet.
    let pending: Vec<(i64, Vec<u8>)> = {
        let mut stmt = tx.prepare("SELECT seq, note FROM pending_notes")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (seq, json) in pending {
        let about_them = serde_json::from_slice::<crate::domain::Note>(&json)
            .map(|n| n.about.as_ref() == Some(participant))
            .unwrap_or(false);
        if about_them {
            tx.execute("DELETE FROM pending_notes WHERE seq = ?1", [seq])?;
        }
    }
    for session in shared {
        let key = DocKey::Session(session.clone());
        let project = crate::ids::ProjectId::from(tx.query_row(
            "SELECT project FROM sessions WHERE id = ?1",
            [session.as_str()],
            |r| r.get::<_, String>(0),
        )?);
        let loaded = cache.entry(&tx, &key)?;
        super::docs::persist(&tx, &key, &project, loaded)?;
        index::reindex(&tx, &key, &loaded.doc, &me)?;
    }
    // Record the erasure in the project, so that every device and the hub that
    // receives the project destroys and refuses the same documents.
    if !project.is_empty() {
        let pid = crate::ids::ProjectId::from(project.clone());
        let key = DocKey::Project(pid.clone());
        let loaded = cache.entry(&tx, &key)?;
        let mut erasures: BTreeMap<String, Erasure> =
            crate::domain::read::hydrate_prop(&loaded.doc, automerge::ROOT, "erasures")
                .unwrap_or_default();
        erasures.insert(
            participant.to_string(),
            Erasure {
                at: Timestamp::now(),
                by: crate::ids::MemberId::from(me_member.to_string()),
                documents: doomed.iter().map(|k| k.to_string()).collect(),
            },
        );
        autosurgeon::reconcile_prop(&mut loaded.doc, automerge::ROOT, "erasures", &erasures)?;
        super::docs::persist(&tx, &key, &pid, loaded)?;
    }
    super::audit(
        &tx,
        &project,
        me_member,
        "erase",
        participant,
        &format!("{documents} documents, {notes} notes"),
    )?;
    let outcome = tx.commit();
    for key in doomed {
        cache.evict(key);
    }
    if outcome.is_err() {
        for session in shared {
            cache.evict(&DocKey::Session(session.clone()));
        }
        if !project.is_empty() {
            cache.evict(&DocKey::Project(project.clone().into()));
        }
    }
    outcome?;
    if !project.is_empty() {
        let pid = crate::ids::ProjectId::from(project);
        for key in doomed {
            state.observers.publish(&pid, key, true);
        }
        for session in shared {
            state
                .observers
                .publish(&pid, &DocKey::Session(session.clone()), false);
        }
        state
            .observers
            .publish(&pid, &DocKey::Project(pid.clone()), false);
    }
    Ok(ErasureReport {
        documents,
        notes,
        blobs: 0,
    })
}

/// The project of each of `keys` held here, before they are destroyed.
fn projects_of(
    tx: &rusqlite::Transaction,
    keys: &[DocKey],
) -> Result<Vec<(DocKey, crate::ids::ProjectId)>> {
    let mut held = Vec::new();
    for key in keys {
        let project: Option<Option<String>> = tx
            .prepare_cached("SELECT project FROM documents WHERE doc = ?1")?
            .query_row([key.to_string()], |r| r.get(0))
            .optional()?;
        if let Some(Some(p)) = project {
            held.push((key.clone(), crate::ids::ProjectId::from(p)));
        }
    }
    Ok(held)
}

/// Deletes documents with their chunks and index rows, pending captures filed into
/// them, and tombstones them. Returns (documents destroyed, notes removed).
fn destroy_documents(tx: &rusqlite::Transaction, keys: &[DocKey]) -> Result<(usize, usize)> {
    let mut notes = 0;
    let mut documents = 0;
    for key in keys {
        let name = key.to_string();
        notes += tx.execute("DELETE FROM notes WHERE doc = ?1", [&name])?;
        index::remove_rows(tx, key)?;
        documents += tx.execute("DELETE FROM documents WHERE doc = ?1", [&name])?;
        tx.execute("DELETE FROM chunks WHERE doc = ?1", [&name])?;
        if let DocKey::Session(s) = key {
            tx.execute("DELETE FROM pending_notes WHERE session = ?1", [s.as_str()])?;
        }
        if let DocKey::Participant(p) = key {
            // The local-only name behind the code goes with them.
            tx.execute("DELETE FROM roster WHERE participant = ?1", [p.as_str()])?;
        }
        tx.execute(
            "INSERT OR REPLACE INTO tombstones (doc, erased_at) VALUES (?1, ?2)",
            params![name, Timestamp::now().0],
        )?;
    }
    Ok((documents, notes))
}
