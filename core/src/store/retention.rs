//! Retention: a project-level period after which raw material — photos, recordings
//! and diary entries — is purged on every device that holds it, while insights and
//! the notes and quotes taken in the field remain.

use automerge::transaction::Transactable;

use super::docs::{map_at, DocKey};
use super::{index, Store};
use crate::domain::{Attachment, DiaryEntry, MemberRole};
use crate::error::{Error, Result};
use crate::ids::ProjectId;
use crate::time::Timestamp;

/// What one pass of retention purged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub attachments: usize,
    pub diary_entries: usize,
    pub blobs: usize,
}

const DAY_MS: i64 = 24 * 3600 * 1000;

impl Store {
    /// Sets the project's retention period (coordinators only); `None` keeps raw
    /// material until the project decides otherwise.
    pub fn set_retention(&self, project: &ProjectId, days: Option<u32>) -> Result<()> {
        if days == Some(0) {
            return Err(Error::InvalidInput(
                "a retention period is at least one day",
            ));
        }
        self.modify_project(
            project,
            &[MemberRole::Coordinator],
            "setting retention",
            |p| {
                p.retention_days = days;
                Ok(())
            },
        )
    }

    /// The project's retention period as a coordinator set it (at least a day).
    pub fn retention_period(&self, project: &ProjectId) -> Result<Option<u32>> {
        self.my_role(project)?;
        self.inspect(&DocKey::Project(project.clone()), |doc| {
            crate::policy::team::Team::read(doc)
                .retention(doc)
                .map_err(|why| Error::Document(why.into()))
        })
    }

    /// Purges the raw material older than the project's retention period: photos and
    /// recordings of sessions that started before it (their files destroyed) and
    /// diary entries written before it. Runs after every sync with the hub; apps also
    /// call it when they start.
    pub fn apply_retention(&self, project: &ProjectId, now: Timestamp) -> Result<RetentionReport> {
        let mut report = RetentionReport::default();
        // The period a coordinator set, at least a day: a value anyone else wrote
        // into the project purges nothing (see `policy::team`).
        let Some(days) = self.retention_period(project)? else {
            return Ok(report);
        };
        let cutoff = Timestamp(now.0 - i64::from(days) * DAY_MS);
        let old_sessions: std::collections::HashSet<String> = self
            .sessions(project)?
            .into_iter()
            .filter(|s| s.started_at < cutoff)
            .map(|s| s.id.to_string())
            .collect();
        // The index says which documents hold attachments and which inboxes hold old
        // entries, so only those are read.
        let (with_attachments, old_inboxes): (Vec<(String, String)>, Vec<String>) = self
            .read_query(|c| {
                let mut stmt = c.prepare(
                    "SELECT DISTINCT doc, session FROM attachments
                     WHERE project = ?1 AND session IS NOT NULL",
                )?;
                let docs = stmt
                    .query_map([project.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let mut stmt = c.prepare(
                    "SELECT DISTINCT doc FROM notes
                     WHERE project = ?1 AND kind = 'diary-entry' AND created_at < ?2",
                )?;
                let inboxes = stmt
                    .query_map(rusqlite::params![project.as_str(), cutoff.0], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok((docs, inboxes))
            })?;
        let mut hashes: Vec<String> = Vec::new();
        for (name, session) in with_attachments {
            if !old_sessions.contains(&session) {
                continue;
            }
            let key: DocKey = name.parse()?;
            let held: std::collections::BTreeMap<String, Attachment> =
                self.read_prop(&key, "attachments")?;
            if held.is_empty() {
                continue;
            }
            for a in held.values() {
                hashes.extend(a.hashes().into_iter().map(str::to_string));
            }
            report.attachments += held.len();
            self.write(
                &key,
                project,
                |doc| {
                    let attachments = map_at(doc, "attachments")?;
                    for id in held.keys() {
                        doc.delete(&attachments, id.as_str())?;
                    }
                    Ok(())
                },
                |tx, doc, _| index::reindex(tx, &key, doc, ""),
            )?;
        }
        for name in old_inboxes {
            let key: DocKey = name.parse()?;
            let entries: std::collections::BTreeMap<String, DiaryEntry> =
                self.read_prop(&key, "entries")?;
            let old: Vec<String> = entries
                .iter()
                .filter(|(_, e)| e.written_at < cutoff)
                .map(|(id, _)| id.clone())
                .collect();
            if old.is_empty() {
                continue;
            }
            for id in &old {
                if let Some(photo) = entries.get(id).and_then(|e| e.photo.as_ref()) {
                    hashes.extend(photo.hashes().into_iter().map(str::to_string));
                }
            }
            report.diary_entries += old.len();
            self.write(
                &key,
                project,
                |doc| {
                    let entries = map_at(doc, "entries")?;
                    for id in &old {
                        doc.delete(&entries, id.as_str())?;
                    }
                    Ok(())
                },
                |tx, doc, _| index::reindex(tx, &key, doc, ""),
            )?;
        }
        let before = self.blobs.list()?.len();
        let refs: Vec<&str> = hashes.iter().map(String::as_str).collect();
        self.destroy_unreferenced(&refs)?;
        report.blobs = before.saturating_sub(self.blobs.list()?.len());
        Ok(report)
    }
}
