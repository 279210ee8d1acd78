//! Investigate: participants and their consent, sessions, notes, diaries.

use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeMap;

use super::docs::{map_at, DocKey};
use super::views::{AuditEntry, AuditRow, NewDiaryEntry, NewNote, NewSession};
use super::{index, refuse_erased, Store};
use crate::domain::{
    AgeBand, ConsentRecord, ConsentScope, DiaryEntry, GivenBy, InboxDoc, MemberRole, Note,
    Participant, ParticipantRole, Prose, SessionDoc, TeamMessage, DOC_SCHEMA,
};
use crate::error::{Error, Result};
use crate::ids::{
    ConsentId, EntryId, MessageId, NoteId, ParticipantCode, ParticipantId, ProjectId, SessionId,
};
use crate::time::Timestamp;

const FIELD: &[MemberRole] = &[MemberRole::Coordinator, MemberRole::Researcher];

/// The longest note accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 20_000;
const MAX_TAGS: usize = 20;

impl Store {
    /// Adds a participant by pseudonymous code. Codes are unique within a project.
    pub fn add_participant(
        &self,
        project: &ProjectId,
        code: &str,
        role: ParticipantRole,
        age_band: AgeBand,
    ) -> Result<ParticipantId> {
        self.require_role(project, FIELD, "adding participants")?;
        let code = ParticipantCode::parse(code)?;
        let taken = self.query(|c| {
            Ok(
                c.prepare_cached("SELECT 1 FROM participants WHERE project = ?1 AND code = ?2")?
                    .query_row(params![project.as_str(), code.as_str()], |r| {
                        r.get::<_, i64>(0)
                    })
                    .optional()?
                    .is_some(),
            )
        })?;
        if taken {
            return Err(Error::InvalidInput(
                "that participant code is already used in this project",
            ));
        }
        let p = Participant {
            schema: DOC_SCHEMA,
            id: ParticipantId::new(),
            project_id: project.clone(),
            code,
            role,
            age_band,
            created_at: Timestamp::now(),
            created_by: self.me().clone(),
            consents: BTreeMap::new(),
        };
        let key = DocKey::Participant(p.id.clone());
        self.create_doc(&key, project, &p, |tx, _| index::participant(tx, &p))?;
        Ok(p.id)
    }

    /// A participant's record and consent.
    pub fn participant(&self, id: &ParticipantId) -> Result<Participant> {
        let project = self.participant_project(id)?;
        self.require_role(
            &project,
            &[
                MemberRole::Coordinator,
                MemberRole::Researcher,
                MemberRole::Reviewer,
            ],
            "reading participants",
        )?;
        self.read(&DocKey::Participant(id.clone()))
    }

    fn participant_project(&self, id: &ParticipantId) -> Result<ProjectId> {
        self.query(|c| {
            refuse_erased(c, &DocKey::Participant(id.clone()))?;
            c.prepare_cached("SELECT project FROM participants WHERE id = ?1")?
                .query_row([id.as_str()], |r| r.get::<_, String>(0))
                .optional()?
                .map(ProjectId::from)
                .ok_or_else(|| Error::not_found(ParticipantId::WHAT, id))
        })
    }

    fn modify_participant<R>(
        &self,
        id: &ParticipantId,
        action: &'static str,
        detail: String,
        f: impl FnOnce(&mut Participant) -> Result<R>,
    ) -> Result<R> {
        let project = self.participant_project(id)?;
        self.require_role(&project, FIELD, "recording consent")?;
        let key = DocKey::Participant(id.clone());
        let me = self.me().as_str().to_string();
        self.write(
            &key,
            &project,
            |doc| {
                let mut p: Participant = crate::domain::read::hydrate(doc)?;
                let r = f(&mut p)?;
                autosurgeon::reconcile(doc, &p)?;
                Ok(r)
            },
            |tx, doc, _| {
                index::participant(tx, &crate::domain::read::hydrate(doc)?)?;
                super::audit(tx, project.as_str(), &me, action, id, &detail)
            },
        )
    }

    /// The audit log of a project, newest first: who did what to which participant's
    /// data (consent given and withdrawn, erasure), never the content. Coordinators only.
    pub fn audit_log(&self, project: &ProjectId) -> Result<Vec<AuditEntry>> {
        self.require_role(project, &[MemberRole::Coordinator], "reading the audit log")?;
        self.query(|c| {
            let mut stmt = c.prepare(
                "SELECT at, member, action, participant, detail FROM audit WHERE project = ?1 ORDER BY seq DESC",
            )?;
            let rows = stmt.query_map([project.as_str()], |r| {
                Ok(AuditEntry {
                    at: Timestamp(r.get(0)?),
                    member: r.get::<_, String>(1)?.into(),
                    action: r.get(2)?,
                    participant: r.get::<_, String>(3)?.into(),
                    detail: r.get(4)?,
                    device: None,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Rows of this device's audit log not yet handed to the hub, oldest first, as
    /// `(seq, at, project, member, action, participant, detail)`.
    pub(crate) fn audit_unsent(&self, limit: usize) -> Result<Vec<AuditRow>> {
        self.query(|c| {
            let sent: i64 = c
                .query_row("SELECT value FROM meta WHERE key = 'audit_sent'", [], |r| {
                    r.get::<_, String>(0)
                })
                .optional()?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut stmt = c.prepare(
                "SELECT seq, at, project, member, action, participant, detail FROM audit
                 WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = stmt.query_map(rusqlite::params![sent, limit as i64], |r| {
                Ok(AuditRow {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    project: r.get(2)?,
                    member: r.get(3)?,
                    action: r.get(4)?,
                    participant: r.get(5)?,
                    detail: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Deletes this device's audit log (a participant's phone whose participant was
    /// erased: every row is about them).
    pub(crate) fn forget_audit(&self) -> Result<()> {
        self.query(|c| {
            c.execute_batch("DELETE FROM audit; DELETE FROM meta WHERE key = 'audit_sent';")?;
            Ok(())
        })
    }

    /// Notes that the hub holds this device's audit log up to `seq`.
    pub(crate) fn audit_sent_up_to(&self, seq: i64) -> Result<()> {
        self.query(|c| {
            c.execute(
                "INSERT INTO meta (key, value) VALUES ('audit_sent', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [seq.to_string()],
            )?;
            Ok(())
        })
    }

    /// Records consent for one scope, given by the participant or a guardian under
    /// the named version of the information they were given.
    pub fn record_consent(
        &self,
        participant: &ParticipantId,
        scope: ConsentScope,
        given_by: GivenBy,
        information_version: &str,
    ) -> Result<ConsentId> {
        if information_version.trim().is_empty() || information_version.len() > 50 {
            return Err(Error::InvalidInput(
                "name the version of the information given (1-50 characters)",
            ));
        }
        let me = self.me().clone();
        let detail = format!(
            "{} by {}, information {}",
            scope.as_key(),
            given_by.as_key(),
            information_version.trim()
        );
        self.modify_participant(participant, "consent given", detail, |p| {
            let record = ConsentRecord {
                id: ConsentId::new(),
                scope,
                given_by,
                given_at: Timestamp::now(),
                information_version: information_version.trim().into(),
                recorded_by: me,
                withdrawn_at: None,
                withdrawn_by: None,
            };
            let id = record.id.clone();
            p.consents.insert(id.to_string(), record);
            Ok(id)
        })
    }

    /// Withdraws consent for `scope`, or for every scope when `None`. Erasing what was
    /// captured under it is a separate, explicit step.
    pub fn withdraw_consent(
        &self,
        participant: &ParticipantId,
        scope: Option<ConsentScope>,
        by: GivenBy,
    ) -> Result<()> {
        let detail = format!(
            "{} by {}",
            scope.map(|s| s.as_key()).unwrap_or("all scopes"),
            by.as_key()
        );
        self.modify_participant(participant, "consent withdrawn", detail, |p| {
            let now = Timestamp::now();
            for r in p.consents.values_mut() {
                if r.is_active() && scope.is_none_or(|s| s == r.scope) {
                    r.withdrawn_at = Some(now);
                    r.withdrawn_by = Some(by);
                }
            }
            Ok(())
        })
    }

    /// Starts a session of any field method.
    pub fn start_session(&self, project: &ProjectId, input: NewSession) -> Result<SessionId> {
        self.require_role(project, FIELD, "running sessions")?;
        if input.title.trim().is_empty() || input.title.chars().count() > 200 {
            return Err(Error::InvalidInput("a session title is 1-200 characters"));
        }
        if let Some(place) = &input.place {
            check_place(place)?;
        }
        for p in &input.participants {
            if self.participant_project(p)? != *project {
                return Err(Error::not_found(ParticipantId::WHAT, p));
            }
        }
        let s = SessionDoc {
            schema: DOC_SCHEMA,
            id: SessionId::new(),
            project_id: project.clone(),
            kind: input.kind,
            title: input.title.trim().into(),
            participants: input
                .participants
                .iter()
                .map(|p| (p.to_string(), true))
                .collect(),
            ran_by: self.me().clone(),
            started_at: input.started_at.unwrap_or_else(Timestamp::now),
            ended_at: None,
            place: input.place.map(|p| p.trim().to_string()),
            guide: input.guide,
            notes: BTreeMap::new(),
            attachments: BTreeMap::new(),
        };
        let key = DocKey::Session(s.id.clone());
        self.create_doc(&key, project, &s, |tx, _| index::session(tx, &key, &s))?;
        Ok(s.id)
    }

    /// Loads a session's documents into memory ahead of capture. Apps call this when
    /// a session is opened on screen, so that the first note typed does not wait for
    /// a document to load (which costs milliseconds, not microseconds).
    pub fn open_session(&self, session: &SessionId) -> Result<()> {
        let project = self.session_project(session)?;
        self.require_role(&project, FIELD, "capturing notes")?;
        let mut keys = vec![DocKey::Session(session.clone())];
        keys.extend(self.query(|c| {
            let mut stmt =
                c.prepare_cached("SELECT doc FROM documents WHERE doc >= ?1 AND doc < ?2")?;
            let prefix = format!("material:{session}:");
            let end = format!("material:{session};");
            let names = stmt.query_map([prefix, end], |r| r.get::<_, String>(0))?;
            names.map(|n| n?.parse()).collect::<Result<Vec<DocKey>>>()
        })?);
        for key in keys {
            self.preload(&key)?;
        }
        Ok(())
    }

    /// Ends a session.
    pub fn end_session(&self, session: &SessionId) -> Result<()> {
        self.modify_session(session, |s| {
            s.ended_at.get_or_insert(Timestamp::now());
            Ok(())
        })
    }

    /// Adds a participant to a running session.
    pub fn add_session_participant(
        &self,
        session: &SessionId,
        participant: &ParticipantId,
    ) -> Result<()> {
        let project = self.session_project(session)?;
        if self.participant_project(participant)? != project {
            return Err(Error::not_found(ParticipantId::WHAT, participant));
        }
        self.modify_session(session, |s| {
            s.participants.insert(participant.to_string(), true);
            Ok(())
        })
    }

    fn modify_session<R>(
        &self,
        session: &SessionId,
        f: impl FnOnce(&mut SessionDoc) -> Result<R>,
    ) -> Result<R> {
        let project = self.session_project(session)?;
        self.require_role(&project, FIELD, "changing sessions")?;
        let key = DocKey::Session(session.clone());
        self.write(
            &key,
            &project,
            |doc| {
                let mut s: SessionDoc = crate::domain::read::hydrate(doc)?;
                let r = f(&mut s)?;
                autosurgeon::reconcile(doc, &s)?;
                Ok(r)
            },
            |tx, doc, _| index::session(tx, &key, &crate::domain::read::hydrate(doc)?),
        )
    }

    /// The project a session belongs to.
    pub fn project_of_session(&self, session: &SessionId) -> Result<ProjectId> {
        self.session_project(session)
    }

    pub(crate) fn session_project(&self, session: &SessionId) -> Result<ProjectId> {
        self.query(|c| session_row(c, session).map(|(p, _)| p))
    }

    /// Captures a note. Refused unless every participant the note concerns has
    /// consented to notes; acknowledged only once stored durably.
    pub fn add_note(&self, session: &SessionId, input: NewNote) -> Result<NoteId> {
        check_note_text(&input.text)?;
        let tags = clean_tags(&input.tags)?;
        let me = self.me().clone();
        // Role, consent and the journal insert in one immediate transaction, so that a
        // withdrawal or a revocation committed meanwhile cannot slip between check and
        // write.
        self.capture_note(|c| {
            let (project, members) = session_row(c, session)?;
            if !FIELD.contains(&super::my_role(c, &project)?) {
                return Err(Error::NotAllowed("capturing notes"));
            }
            let about = match (&input.about, members.as_slice()) {
                (Some(p), _) if !members.contains(p) => {
                    return Err(Error::not_found(ParticipantId::WHAT, p))
                }
                (Some(p), _) => Some(p.clone()),
                (None, [only]) => Some(only.clone()),
                (None, _) => None,
            };
            let concerned: Vec<ParticipantId> = match &about {
                Some(p) => vec![p.clone()],
                None => members,
            };
            require_consent(c, &concerned, ConsentScope::Notes)?;
            for p in &concerned {
                super::audit(
                    c,
                    project.as_str(),
                    me.as_str(),
                    "note",
                    p,
                    input.kind.as_key(),
                )?;
            }
            let now = Timestamp::now();
            let note = Note {
                id: NoteId::new(),
                kind: input.kind,
                text: Prose::new(input.text.trim_end()),
                author: me,
                about,
                anchor: input.anchor,
                tags,
                created_at: now,
                updated_at: now,
                deleted_at: None,
            };
            let id = note.id.clone();
            super::journal::enqueue(
                c,
                &super::journal::Pending {
                    session: session.clone(),
                    project,
                    note,
                },
            )?;
            Ok(id)
        })
    }

    /// Changes a note's text; concurrent edits from other devices merge.
    pub fn edit_note(&self, note: &NoteId, text: &str) -> Result<()> {
        check_note_text(text)?;
        self.change_note(note, |n| {
            n.text.update(text.trim_end());
            Ok(())
        })
    }

    /// Replaces a note's tags.
    pub fn tag_note(&self, note: &NoteId, tags: &[String]) -> Result<()> {
        let tags = clean_tags(tags)?;
        self.change_note(note, |n| {
            n.tags = tags;
            Ok(())
        })
    }

    /// Deletes a note: it disappears from lists, search and exports, and its text is
    /// cleared. Its earlier text stays in the document's history until the whole
    /// document is erased with the participant's material (see `docs/documents.md`).
    pub fn delete_note(&self, note: &NoteId) -> Result<()> {
        self.change_note(note, |n| {
            n.text.update("");
            n.deleted_at = Some(Timestamp::now());
            Ok(())
        })
    }

    fn change_note(&self, note: &NoteId, f: impl FnOnce(&mut Note) -> Result<()>) -> Result<()> {
        let (key, project, session) = self.read_query(|c| note_location(c, note))?;
        self.require_role(&project, FIELD, "editing notes")?;
        if matches!(key, DocKey::Inbox(_)) {
            return Err(Error::NotAllowed(
                "diary entries belong to the participant who wrote them",
            ));
        }
        let session = session.ok_or(Error::Storage("note without session".into()))?;
        self.write(
            &key,
            &project,
            |doc| {
                let notes = map_at(doc, "notes")?;
                let mut n: Note = crate::domain::read::hydrate_prop(doc, &notes, note.as_str())?;
                if n.deleted_at.is_some() {
                    return Err(Error::not_found(NoteId::WHAT, note));
                }
                f(&mut n)?;
                n.updated_at = Timestamp::now();
                autosurgeon::reconcile_prop(doc, &notes, note.as_str(), &n)?;
                Ok(n)
            },
            |tx, _, n| index::upsert_note(tx, &key, &project, Some(&session), n),
        )?;
        Ok(())
    }

    /// Submits a diary entry to a participant's inbox (on the participant's own device,
    /// or on a shared one). Refused without consent to notes.
    pub fn submit_diary_entry(
        &self,
        participant: &ParticipantId,
        input: NewDiaryEntry,
    ) -> Result<EntryId> {
        check_note_text(&input.text)?;
        if input.rating.is_some_and(|r| !(1..=5).contains(&r)) {
            return Err(Error::InvalidInput("a rating is 1 to 5"));
        }
        let project = self.participant_project(participant)?;
        self.query(|c| require_consent(c, std::slice::from_ref(participant), ConsentScope::Notes))?;
        if input.photo.is_some() {
            self.query(|c| {
                require_consent(c, std::slice::from_ref(participant), ConsentScope::Photos)
            })?;
        }
        self.file_diary_entry(&project, participant, input)
    }

    /// Writes a checked diary entry into the participant's inbox.
    pub(crate) fn file_diary_entry(
        &self,
        project: &ProjectId,
        participant: &ParticipantId,
        input: NewDiaryEntry,
    ) -> Result<EntryId> {
        check_note_text(&input.text)?;
        if input.rating.is_some_and(|r| !(1..=5).contains(&r)) {
            return Err(Error::InvalidInput("a rating is 1 to 5"));
        }
        let photo = match &input.photo {
            Some((bytes, caption)) => {
                Some(self.ingest_photo_attachment(bytes, caption, vec![participant.clone()])?)
            }
            None => None,
        };
        let project = project.clone();
        let entry = DiaryEntry {
            id: EntryId::new(),
            session: input.session,
            heading: input.heading.trim().into(),
            text: Prose::new(input.text.trim_end()),
            rating: input.rating,
            anonymous: input.anonymous,
            written_at: Timestamp::now(),
            photo,
        };
        let key = self.ensure_inbox(&project, participant)?;
        let me = self.me().as_str().to_string();
        self.write(
            &key,
            &project,
            |doc| {
                let entries = map_at(doc, "entries")?;
                autosurgeon::reconcile_prop(doc, &entries, entry.id.as_str(), &entry)?;
                Ok(())
            },
            |tx, doc, _| {
                index::reindex(tx, &key, doc, "")?;
                let detail = if entry.photo.is_some() {
                    "with a photo"
                } else {
                    ""
                };
                // An anonymous entry stays anonymous in the audit log too: it names
                // no participant.
                let whose = if entry.anonymous {
                    ParticipantId::from(String::new())
                } else {
                    participant.clone()
                };
                super::audit(tx, project.as_str(), &me, "diary-entry", &whose, detail)
            },
        )?;
        Ok(entry.id)
    }

    /// Sends a message to a participant about what happened with their input.
    pub fn send_message(&self, participant: &ParticipantId, text: &str) -> Result<MessageId> {
        check_note_text(text)?;
        let project = self.participant_project(participant)?;
        self.require_role(&project, FIELD, "writing to participants")?;
        let key = self.ensure_inbox(&project, participant)?;
        let msg = TeamMessage {
            id: MessageId::new(),
            text: Prose::new(text.trim_end()),
            from: self.me().clone(),
            sent_at: Timestamp::now(),
            read_at: None,
        };
        self.write(
            &key,
            &project,
            |doc| {
                let messages = map_at(doc, "messages")?;
                autosurgeon::reconcile_prop(doc, &messages, msg.id.as_str(), &msg)?;
                Ok(())
            },
            |tx, _, _| {
                super::audit(
                    tx,
                    project.as_str(),
                    msg.from.as_str(),
                    "message",
                    participant,
                    "",
                )
            },
        )?;
        Ok(msg.id)
    }

    /// A participant's inbox: their diary entries and the team's messages.
    pub fn inbox(&self, participant: &ParticipantId) -> Result<InboxDoc> {
        let project = self.participant_project(participant)?;
        self.require_role(&project, crate::domain::MemberRole::ALL, "reading an inbox")?;
        let key = DocKey::Inbox(participant.clone());
        if !self.query(|c| super::docs::exists(c, &key))? {
            // Nothing written yet; reading must not create the document.
            return Ok(empty_inbox(&project, participant));
        }
        self.read(&key)
    }

    pub(crate) fn ensure_inbox(
        &self,
        project: &ProjectId,
        participant: &ParticipantId,
    ) -> Result<DocKey> {
        let key = DocKey::Inbox(participant.clone());
        let inbox = empty_inbox(project, participant);
        self.create_doc(&key, project, &inbox, |_, _| Ok(()))?;
        Ok(key)
    }
}

pub(crate) fn empty_inbox(project: &ProjectId, participant: &ParticipantId) -> InboxDoc {
    InboxDoc {
        schema: DOC_SCHEMA,
        project_id: project.clone(),
        participant_id: participant.clone(),
        entries: BTreeMap::new(),
        messages: BTreeMap::new(),
    }
}

fn check_note_text(text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::InvalidInput("a note needs some text"));
    }
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(Error::InvalidInput("a note is at most 20000 characters"));
    }
    Ok(())
}

fn check_place(place: &str) -> Result<()> {
    // A place is a label ("Fritidsgården"), not a position: refuse anything that
    // looks like coordinates.
    let digits = place.chars().filter(|c| c.is_ascii_digit()).count();
    let looks_like_coordinates = digits >= 6 && place.contains(['.', ',']);
    if place.trim().is_empty() || place.chars().count() > 100 || looks_like_coordinates {
        Err(Error::InvalidInput(
            "a place is a short label such as 'Fritidsgården', never coordinates",
        ))
    } else {
        Ok(())
    }
}

fn clean_tags(tags: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim().trim_start_matches('#').to_lowercase();
        if t.is_empty() {
            continue;
        }
        if t.chars().count() > 40 || t.chars().any(char::is_whitespace) {
            return Err(Error::InvalidInput(
                "a tag is one word of at most 40 characters",
            ));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(Error::InvalidInput("at most 20 tags on a note"));
    }
    Ok(out)
}

/// The project and participants of a session, from the index.
pub(crate) fn session_row(
    c: &Connection,
    session: &SessionId,
) -> Result<(ProjectId, Vec<ParticipantId>)> {
    refuse_erased(c, &DocKey::Session(session.clone()))?;
    let project: String = c
        .prepare_cached("SELECT project FROM sessions WHERE id = ?1")?
        .query_row([session.as_str()], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::not_found(SessionId::WHAT, session))?;
    let mut stmt = c.prepare_cached(
        "SELECT participant FROM session_participants WHERE session = ?1 ORDER BY participant",
    )?;
    let members = stmt
        .query_map([session.as_str()], |r| r.get::<_, String>(0))?
        .map(|r| r.map(ParticipantId::from))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((ProjectId::from(project), members))
}

/// Where a note lives.
pub(crate) fn note_location(
    c: &Connection,
    note: &NoteId,
) -> Result<(DocKey, ProjectId, Option<SessionId>)> {
    let row: Option<(String, String, Option<String>)> = c
        .prepare_cached("SELECT doc, project, session FROM notes WHERE id = ?1 AND deleted = 0")?
        .query_row([note.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let (doc, project, session) = row.ok_or_else(|| Error::not_found(NoteId::WHAT, note))?;
    Ok((
        doc.parse()?,
        ProjectId::from(project),
        session.map(SessionId::from),
    ))
}

/// Fails unless every participant has consented to `scope`.
pub(crate) fn require_consent(
    c: &Connection,
    participants: &[ParticipantId],
    scope: ConsentScope,
) -> Result<()> {
    for p in participants {
        refuse_erased(c, &DocKey::Participant(p.clone()))?;
        let state: Option<String> = c
            .prepare_cached("SELECT state FROM consents WHERE participant = ?1 AND scope = ?2")?
            .query_row(params![p.as_str(), scope.as_key()], |r| r.get(0))
            .optional()?;
        if state.as_deref() != Some("given") {
            return Err(Error::ConsentMissing {
                participant: p.to_string(),
                scope: scope.as_key(),
            });
        }
    }
    Ok(())
}
