//! Reading: lists and search served from the index, without loading documents.

use rusqlite::{params, Row};

use super::docs::DocKey;
use super::views::*;
use super::Store;
use crate::domain::{
    AgeBand, ConsentScope, ConsentState, EvidenceRef, MemberRole, NoteAnchor, NoteKind,
    ParticipantRole, SessionKind,
};
use crate::error::{Error, Result};
use crate::ids::{InsightId, NoteId, ParticipantCode, ParticipantId, ProjectId, SessionId};
use crate::time::Timestamp;

const READERS: &[MemberRole] = &[
    MemberRole::Coordinator,
    MemberRole::Researcher,
    MemberRole::Reviewer,
];

/// How many of the newest matching notes a search ranks by relevance.
pub const SEARCH_CANDIDATES: u32 = 400;

const NOTE_COLUMNS: &str = "n.id, n.session, n.kind, n.text, n.author, n.participant, n.tags,
     n.created_at, n.updated_at, n.question, n.quadrant, n.stage, n.emotion,
     n.attachment, n.start_ms, n.end_ms";

fn note_from_row(r: &Row<'_>) -> rusqlite::Result<NoteView> {
    let parse_kind = |s: String| NoteKind::parse(&s).unwrap_or(NoteKind::Plain);
    let tags: String = r.get(6)?;
    Ok(NoteView {
        id: NoteId::from(r.get::<_, String>(0)?),
        session: r.get::<_, Option<String>>(1)?.map(SessionId::from),
        kind: parse_kind(r.get(2)?),
        text: r.get(3)?,
        author: r.get::<_, String>(4)?.into(),
        about: r.get::<_, Option<String>>(5)?.map(ParticipantId::from),
        tags: tags.split_whitespace().map(str::to_string).collect(),
        created_at: Timestamp(r.get(7)?),
        updated_at: Timestamp(r.get(8)?),
        anchor: NoteAnchor {
            question: r.get::<_, Option<String>>(9)?.map(Into::into),
            quadrant: r
                .get::<_, Option<String>>(10)?
                .and_then(|s| crate::domain::EmpathyQuadrant::parse(&s)),
            stage: r
                .get::<_, Option<String>>(11)?
                .and_then(|s| crate::domain::JourneyStage::parse(&s)),
            emotion: r.get::<_, Option<i64>>(12)?.map(|e| e.clamp(-2, 2) as i8),
            attachment: r.get::<_, Option<String>>(13)?.map(Into::into),
            start_ms: r.get::<_, Option<i64>>(14)?.map(|t| t.max(0) as u64),
            end_ms: r.get::<_, Option<i64>>(15)?.map(|t| t.max(0) as u64),
        },
    })
}

impl Store {
    /// The projects on this device.
    pub fn projects(&self) -> Result<Vec<ProjectSummary>> {
        self.read_query(|c| {
            let mut stmt = c.prepare(
                "SELECT p.id, p.name, p.lang, p.created_at, p.my_role,
                    (SELECT count(*) FROM participants WHERE project = p.id),
                    (SELECT count(*) FROM sessions WHERE project = p.id),
                    (SELECT count(*) FROM notes WHERE project = p.id AND deleted = 0),
                    (SELECT count(*) FROM insights WHERE project = p.id),
                    (SELECT count(*) FROM ideas WHERE project = p.id)
                 FROM projects p ORDER BY p.created_at",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(ProjectSummary {
                    id: ProjectId::from(r.get::<_, String>(0)?),
                    name: r.get(1)?,
                    lang: r.get(2)?,
                    created_at: Timestamp(r.get(3)?),
                    my_role: r
                        .get::<_, Option<String>>(4)?
                        .and_then(|s| MemberRole::parse(&s)),
                    participants: r.get(5)?,
                    sessions: r.get(6)?,
                    notes: r.get(7)?,
                    insights: r.get(8)?,
                    ideas: r.get(9)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The participants of a project, with their consent.
    pub fn participants(&self, project: &ProjectId) -> Result<Vec<ParticipantView>> {
        self.require_role(project, READERS, "reading participants")?;
        self.read_query(|c| {
            let mut stmt = c.prepare(
                "SELECT id, code, role, age_band FROM participants WHERE project = ?1 ORDER BY code",
            )?;
            let rows = stmt.query_map([project.as_str()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
            })?;
            let mut consent = c.prepare_cached("SELECT scope, state FROM consents WHERE participant = ?1")?;
            let mut out = Vec::new();
            for row in rows {
                let (id, code, role, band) = row?;
                let states: Vec<(String, String)> = consent
                    .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                let consents = ConsentScope::ALL
                    .iter()
                    .map(|scope| {
                        let state = match states.iter().find(|(s, _)| s == scope.as_key()).map(|(_, st)| st.as_str()) {
                            Some("given") => ConsentState::Given,
                            Some("withdrawn") => ConsentState::Withdrawn,
                            _ => ConsentState::NotGiven,
                        };
                        ConsentStatus { scope: *scope, state }
                    })
                    .collect();
                out.push(ParticipantView {
                    id: ParticipantId::from(id),
                    code: ParticipantCode::from(code),
                    role: ParticipantRole::parse(&role).unwrap_or(ParticipantRole::Other),
                    age_band: AgeBand::parse(&band).unwrap_or(AgeBand::Unknown),
                    consents,
                });
            }
            Ok(out)
        })
    }

    /// The sessions of a project, newest first.
    pub fn sessions(&self, project: &ProjectId) -> Result<Vec<SessionView>> {
        self.require_role(project, READERS, "reading sessions")?;
        self.read_query(|c| {
            let mut stmt = c.prepare(
                "SELECT s.id, s.kind, s.title, s.ran_by, s.started_at, s.ended_at, s.place,
                    (SELECT group_concat(participant, ' ') FROM session_participants WHERE session = s.id),
                    (SELECT count(*) FROM notes WHERE session = s.id AND deleted = 0)
                 FROM sessions s WHERE s.project = ?1 ORDER BY s.started_at DESC",
            )?;
            let rows = stmt.query_map([project.as_str()], |r| {
                let participants: Option<String> = r.get(7)?;
                Ok(SessionView {
                    id: SessionId::from(r.get::<_, String>(0)?),
                    project: project.clone(),
                    kind: SessionKind::parse(&r.get::<_, String>(1)?).unwrap_or(SessionKind::Interview),
                    title: r.get(2)?,
                    ran_by: r.get::<_, String>(3)?.into(),
                    started_at: Timestamp(r.get(4)?),
                    ended_at: r.get::<_, Option<i64>>(5)?.map(Timestamp),
                    place: r.get(6)?,
                    participants: participants
                        .unwrap_or_default()
                        .split_whitespace()
                        .map(|p| ParticipantId::from(p.to_string()))
                        .collect(),
                    notes: r.get(8)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The notes of a session (diary entries filed under it included), oldest first.
    pub fn notes(&self, session: &SessionId) -> Result<Vec<NoteView>> {
        let project = self.session_project(session)?;
        self.require_role(&project, READERS, "reading notes")?;
        self.read_query(|c| {
            let sql = format!(
                "SELECT {NOTE_COLUMNS} FROM notes n WHERE n.session = ?1 AND n.deleted = 0 ORDER BY n.created_at, n.id"
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map([session.as_str()], note_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// One note.
    pub fn note(&self, note: &NoteId) -> Result<NoteView> {
        let found = self.read_query(|c| {
            let sql = format!(
                "SELECT {NOTE_COLUMNS}, n.project FROM notes n WHERE n.id = ?1 AND n.deleted = 0"
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let mut rows = stmt.query([note.as_str()])?;
            match rows.next()? {
                Some(r) => Ok(Some((
                    note_from_row(r)?,
                    ProjectId::from(r.get::<_, String>(16)?),
                ))),
                None => Ok(None),
            }
        })?;
        let (view, project) = found.ok_or_else(|| Error::not_found(NoteId::WHAT, note))?;
        self.require_role(&project, READERS, "reading notes")?;
        Ok(view)
    }

    /// Full-text search over a project's notes. Every word must match, as a word or
    /// the start of one; å, ä and ö are distinct letters, so "hål" does not find "hal".
    ///
    /// Reviewers (who see the material in workshops, not in the field) find notes
    /// about a participant only while that participant's consent to notes stands.
    pub fn search(&self, project: &ProjectId, query: &str, limit: u32) -> Result<Vec<SearchHit>> {
        let role = self.require_role(project, READERS, "searching")?;
        let Some(fts) = fts_query(query) else {
            return Ok(Vec::new());
        };
        let hits = self.search_all(project, &fts, limit)?;
        if role != crate::domain::MemberRole::Reviewer {
            return Ok(hits);
        }
        let mut kept = Vec::with_capacity(hits.len());
        for hit in hits {
            let covered = match &hit.note.about {
                None => true,
                Some(p) => self
                    .query(|c| {
                        super::field::require_consent(
                            c,
                            std::slice::from_ref(p),
                            crate::domain::ConsentScope::Notes,
                        )
                    })
                    .is_ok(),
            };
            if covered {
                kept.push(hit);
            }
        }
        Ok(kept)
    }

    fn search_all(&self, project: &ProjectId, fts: &str, limit: u32) -> Result<Vec<SearchHit>> {
        self.read_query(|c| {
            // Rank the newest matches only: ranking costs time for every candidate, and a
            // common word can match thousands of notes. The newest few hundred hold what
            // a person looks for in the field; older ones are reached with more words.
            // FTS5 walks its matches newest first cheaply, and ranks a rowid range cheaply.
            let oldest: Option<i64> = c
                .prepare_cached(&format!(
                    "SELECT min(id) FROM (
                         SELECT notes_fts.rowid AS id FROM notes_fts JOIN notes m ON m.rowid = notes_fts.rowid
                         WHERE notes_fts MATCH ?1 AND m.project = ?2 AND m.deleted = 0
                         ORDER BY notes_fts.rowid DESC LIMIT {SEARCH_CANDIDATES})"
                ))?
                .query_row(params![fts, project.as_str()], |r| r.get(0))?;
            let Some(oldest) = oldest else {
                return Ok(Vec::new());
            };
            let sql = format!(
                "SELECT {NOTE_COLUMNS}, snippet(notes_fts, 0, '[', ']', '…', 12)
                 FROM notes_fts JOIN notes n ON n.rowid = notes_fts.rowid
                 WHERE notes_fts MATCH ?1 AND notes_fts.rowid >= ?4 AND n.project = ?2 AND n.deleted = 0
                 ORDER BY rank LIMIT ?3"
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![fts, project.as_str(), limit, oldest], |r| {
                Ok(SearchHit {
                    note: note_from_row(r)?,
                    snippet: r.get(16)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The insights of a project.
    pub fn insights(&self, project: &ProjectId) -> Result<Vec<InsightView>> {
        let p = self.project(project)?;
        let mut out: Vec<InsightView> = p
            .insights
            .values()
            .map(|i| InsightView {
                id: i.id.clone(),
                statement: i.statement.as_str().into(),
                opportunity: i.opportunity.as_str().into(),
                questions: i
                    .questions
                    .values()
                    .map(|q| q.text.as_str().to_string())
                    .collect(),
                evidence: i.evidence.len() as u32,
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// The evidence behind an insight, each piece either present or erased.
    pub fn insight_evidence(
        &self,
        project: &ProjectId,
        insight: &InsightId,
    ) -> Result<Vec<EvidenceView>> {
        let p = self.project(project)?;
        let i = p
            .insights
            .get(insight.as_str())
            .ok_or_else(|| Error::not_found(InsightId::WHAT, insight))?;
        i.evidence
            .iter()
            .map(|e| self.resolve_evidence(e))
            .collect()
    }

    fn resolve_evidence(&self, e: &EvidenceRef) -> Result<EvidenceView> {
        match self.note(&e.note) {
            Ok(n) => Ok(EvidenceView::Present(Box::new(n))),
            Err(Error::NotFound { .. }) => {
                let key: Option<DocKey> = e.doc.parse().ok();
                let erased = match key {
                    Some(k) => self.read_query(|c| Ok(super::refuse_erased(c, &k).is_err()))?,
                    None => true,
                };
                if erased {
                    Ok(EvidenceView::Erased {
                        note: e.note.clone(),
                    })
                } else {
                    Ok(EvidenceView::Unavailable {
                        note: e.note.clone(),
                    })
                }
            }
            Err(other) => Err(other),
        }
    }

    /// Ideas ranked by dots.
    pub fn idea_ranking(&self, project: &ProjectId) -> Result<Vec<IdeaRank>> {
        self.require_role(project, READERS, "reading ideas")?;
        self.read_query(|c| {
            let mut stmt = c.prepare("SELECT id, title, dots FROM ideas WHERE project = ?1 ORDER BY dots DESC, created_at")?;
            let rows = stmt.query_map([project.as_str()], |r| {
                Ok(IdeaRank { id: r.get::<_, String>(0)?.into(), title: r.get(1)?, dots: r.get(2)? })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}

/// Turns what a person typed into an FTS5 query: each word quoted (so no FTS syntax
/// can be injected) and matched as a prefix; all words must match.
fn fts_query(input: &str) -> Option<String> {
    let words: Vec<String> = input
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{}\"*", w.to_lowercase()))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn queries_are_quoted_prefixes() {
        assert_eq!(fts_query("Skola hål").unwrap(), "\"skola\"* \"hål\"*");
        assert_eq!(fts_query("\" OR NEAR(").unwrap(), "\"or\"* \"near\"*");
        assert!(fts_query("  -- ").is_none());
    }
}
