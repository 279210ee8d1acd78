//! The query index: SQLite tables derived from the documents. Documents are the
//! truth; every row here can be rebuilt from them, and is, whenever a merge brings
//! changes the index has not seen.

use automerge::AutoCommit;
use rusqlite::{params, Transaction};

use super::docs::DocKey;
use crate::domain::{
    InboxDoc, MaterialDoc, MemberRole, Note, NoteKind, Participant, ProjectDoc, SessionDoc,
};
use crate::error::Result;
use crate::ids::{ParticipantId, ProjectId, SessionId};

/// Rebuilds every index row that comes from the document `key`.
pub(crate) fn reindex(
    tx: &Transaction,
    key: &DocKey,
    doc: &AutoCommit,
    my_member: &str,
) -> Result<()> {
    remove_rows(tx, key)?;
    match key {
        DocKey::Project(id) => {
            let p: ProjectDoc = crate::domain::read::hydrate(doc)?;
            if &p.id != id {
                return Err(crate::Error::Document(
                    "document does not match its name".into(),
                ));
            }
            // My role as a coordinator (or the hub) set it: a role someone else
            // wrote into the team is not believed (see `policy::team`).
            let my_role = crate::policy::team::Team::read(doc).role_of(my_member);
            project(tx, &p, my_role)
        }
        DocKey::Participant(id) => {
            let p: Participant = crate::domain::read::hydrate(doc)?;
            if &p.id != id {
                return Err(crate::Error::Document(
                    "document does not match its name".into(),
                ));
            }
            participant(tx, &p)
        }
        DocKey::Session(_) => session(
            tx,
            key,
            &crate::domain::read::hydrate::<_, SessionDoc>(doc)?,
        ),
        DocKey::Material(..) => material(
            tx,
            key,
            &crate::domain::read::hydrate::<_, MaterialDoc>(doc)?,
        ),
        DocKey::Inbox(_) => inbox(tx, key, &crate::domain::read::hydrate::<_, InboxDoc>(doc)?),
    }
}

/// Removes every index row that came from the document `key`.
pub(crate) fn remove_rows(tx: &Transaction, key: &DocKey) -> Result<()> {
    tx.execute("DELETE FROM notes WHERE doc = ?1", [key.to_string()])?;
    remove_attachments(tx, key)?;
    match key {
        DocKey::Project(p) => {
            tx.execute("DELETE FROM projects WHERE id = ?1", [p.as_str()])?;
            tx.execute(
                "DELETE FROM evidence WHERE insight IN (SELECT id FROM insights WHERE project = ?1)",
                [p.as_str()],
            )?;
            tx.execute("DELETE FROM insights WHERE project = ?1", [p.as_str()])?;
            tx.execute("DELETE FROM ideas WHERE project = ?1", [p.as_str()])?;
        }
        DocKey::Participant(p) => {
            tx.execute("DELETE FROM participants WHERE id = ?1", [p.as_str()])?;
            tx.execute("DELETE FROM consents WHERE participant = ?1", [p.as_str()])?;
        }
        DocKey::Session(s) => {
            tx.execute("DELETE FROM sessions WHERE id = ?1", [s.as_str()])?;
            tx.execute(
                "DELETE FROM session_participants WHERE session = ?1",
                [s.as_str()],
            )?;
        }
        DocKey::Material(..) | DocKey::Inbox(_) => {}
    }
    Ok(())
}

fn project(tx: &Transaction, p: &ProjectDoc, my_role: Option<MemberRole>) -> Result<()> {
    let my_role = my_role.map(MemberRole::as_key);
    tx.execute(
        "INSERT INTO projects (id, name, lang, created_at, my_role) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![p.id.as_str(), p.name, p.lang, p.created_at.0, my_role],
    )?;
    for i in p.insights.values() {
        tx.execute(
            "INSERT INTO insights (id, project, statement, opportunity, hmw_count, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                i.id.as_str(),
                p.id.as_str(),
                i.statement.as_str(),
                i.opportunity.as_str(),
                i.questions.len() as i64,
                i.created_at.0
            ],
        )?;
        for e in &i.evidence {
            tx.execute(
                "INSERT OR IGNORE INTO evidence (insight, note) VALUES (?1, ?2)",
                params![i.id.as_str(), e.note.as_str()],
            )?;
        }
    }
    for i in p.ideas.values() {
        if let Some(sketch) = &i.sketch {
            attachment(tx, &DocKey::Project(p.id.clone()), &p.id, None, sketch)?;
        }
        tx.execute(
            "INSERT INTO ideas (id, project, title, dots, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                i.id.as_str(),
                p.id.as_str(),
                i.title,
                i.dot_count() as i64,
                i.created_at.0
            ],
        )?;
    }
    Ok(())
}

pub(crate) fn participant(tx: &Transaction, p: &Participant) -> Result<()> {
    tx.execute("DELETE FROM participants WHERE id = ?1", [p.id.as_str()])?;
    tx.execute("DELETE FROM participants WHERE id = ?1", [p.id.as_str()])?;
    tx.execute(
        "DELETE FROM consents WHERE participant = ?1",
        [p.id.as_str()],
    )?;
    tx.execute(
        "INSERT INTO participants (id, project, code, role, age_band, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            p.id.as_str(),
            p.project_id.as_str(),
            p.code.as_str(),
            p.role.as_key(),
            p.age_band.as_key(),
            p.created_at.0
        ],
    )?;
    for scope in crate::domain::ConsentScope::ALL {
        let state = match p.consent_state(*scope) {
            crate::domain::ConsentState::Given => "given",
            crate::domain::ConsentState::Withdrawn => "withdrawn",
            crate::domain::ConsentState::NotGiven => continue,
        };
        tx.execute(
            "INSERT INTO consents (participant, scope, state) VALUES (?1, ?2, ?3)",
            params![p.id.as_str(), scope.as_key(), state],
        )?;
    }
    Ok(())
}

pub(crate) fn session(tx: &Transaction, key: &DocKey, s: &SessionDoc) -> Result<()> {
    if key != &DocKey::Session(s.id.clone()) {
        return Err(crate::Error::Document(
            "document does not match its name".into(),
        ));
    }
    remove_attachments(tx, key)?;
    tx.execute("DELETE FROM sessions WHERE id = ?1", [s.id.as_str()])?;
    tx.execute(
        "DELETE FROM session_participants WHERE session = ?1",
        [s.id.as_str()],
    )?;
    tx.execute(
        "INSERT INTO sessions (id, project, kind, title, ran_by, started_at, ended_at, place, guide)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            s.id.as_str(),
            s.project_id.as_str(),
            s.kind.as_key(),
            s.title,
            s.ran_by.as_str(),
            s.started_at.0,
            s.ended_at.map(|t| t.0),
            s.place,
            s.guide.as_ref().map(|g| g.as_str().to_string())
        ],
    )?;
    for p in s.participant_ids() {
        tx.execute(
            "INSERT OR IGNORE INTO session_participants (session, participant) VALUES (?1, ?2)",
            params![s.id.as_str(), p.as_str()],
        )?;
    }
    for n in s.notes.values() {
        upsert_note(tx, key, &s.project_id, Some(&s.id), n)?;
    }
    for a in s.attachments.values() {
        attachment(tx, key, &s.project_id, Some(&s.id), a)?;
    }
    Ok(())
}

fn material(tx: &Transaction, key: &DocKey, m: &MaterialDoc) -> Result<()> {
    // A document's content must match its name: a peer must not be able to file one
    // participant's material under another's document, where erasure would miss it.
    let DocKey::Material(session, participant) = key else {
        return Err(crate::Error::Document("not a material document".into()));
    };
    if &m.session_id != session || &m.participant_id != participant {
        return Err(crate::Error::Document(
            "document does not match its name".into(),
        ));
    }
    for n in m.notes.values() {
        // Indexed as the document's participant, whatever the note claims.
        let mut n = n.clone();
        n.about = Some(participant.clone());
        upsert_note(tx, key, &m.project_id, Some(&m.session_id), &n)?;
    }
    for a in m.attachments.values() {
        attachment(tx, key, &m.project_id, Some(&m.session_id), a)?;
    }
    Ok(())
}

/// Removes the attachment rows (and their blob references) of a document.
pub(crate) fn remove_attachments(tx: &Transaction, key: &DocKey) -> Result<()> {
    tx.execute(
        "DELETE FROM blob_refs WHERE attachment IN (SELECT id FROM attachments WHERE doc = ?1)",
        [key.to_string()],
    )?;
    tx.execute("DELETE FROM attachments WHERE doc = ?1", [key.to_string()])?;
    Ok(())
}

/// Writes (or rewrites) one attachment's rows.
pub(crate) fn attachment(
    tx: &Transaction,
    key: &DocKey,
    project: &ProjectId,
    session: Option<&SessionId>,
    a: &crate::domain::Attachment,
) -> Result<()> {
    tx.execute(
        "DELETE FROM blob_refs WHERE attachment = ?1",
        [a.id.as_str()],
    )?;
    tx.execute(
        "INSERT INTO attachments (id, doc, project, session, kind, caption, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET doc = ?2, session = ?4, caption = ?6",
        params![
            a.id.as_str(),
            key.to_string(),
            project.as_str(),
            session.map(|s| s.as_str()),
            a.kind.as_key(),
            a.caption.as_str(),
            a.created_at.0
        ],
    )?;
    for hash in a.hashes() {
        tx.execute(
            "INSERT OR IGNORE INTO blob_refs (hash, attachment) VALUES (?1, ?2)",
            params![hash, a.id.as_str()],
        )?;
    }
    Ok(())
}

fn inbox(tx: &Transaction, key: &DocKey, inbox: &InboxDoc) -> Result<()> {
    if key != &DocKey::Inbox(inbox.participant_id.clone()) {
        return Err(crate::Error::Document(
            "document does not match its name".into(),
        ));
    }
    for e in inbox.entries.values() {
        let note = diary_entry_as_note(inbox, e);
        upsert_note(tx, key, &inbox.project_id, e.session.as_ref(), &note)?;
        if let Some(photo) = &e.photo {
            attachment(tx, key, &inbox.project_id, e.session.as_ref(), photo)?;
        }
    }
    Ok(())
}

/// A diary entry seen as a note, so it is searchable and citable like any other.
pub(crate) fn diary_entry_as_note(inbox: &InboxDoc, e: &crate::domain::DiaryEntry) -> Note {
    let text = if e.heading.is_empty() {
        e.text.as_str().to_string()
    } else {
        format!("{}\n{}", e.heading, e.text.as_str())
    };
    Note {
        id: crate::ids::NoteId::from(e.id.as_str().to_string()),
        kind: NoteKind::DiaryEntry,
        text: text.into(),
        author: crate::ids::MemberId::from(String::new()),
        // An anonymous entry is indexed without its writer, so lists and search never
        // show who wrote it; the inbox document itself still names its owner.
        about: (!e.anonymous).then(|| inbox.participant_id.clone()),
        anchor: Default::default(),
        tags: e
            .rating
            .map(|r| vec![format!("rating-{r}")])
            .unwrap_or_default(),
        created_at: e.written_at,
        updated_at: e.written_at,
        deleted_at: None,
    }
}

/// Writes (or rewrites) one note's index row.
pub(crate) fn upsert_note(
    tx: &Transaction,
    key: &DocKey,
    project: &ProjectId,
    session: Option<&SessionId>,
    n: &Note,
) -> Result<()> {
    let deleted = n.deleted_at.is_some();
    let text = if deleted { "" } else { n.text.as_str() };
    let tags = n.tags.join(" ");
    let participant: Option<&ParticipantId> = n.about.as_ref();
    tx.prepare_cached(
        "INSERT INTO notes (id, doc, project, session, participant, kind, text, tags, author,
                            created_at, updated_at, deleted, question, quadrant, stage, emotion,
                            attachment, start_ms, end_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
         ON CONFLICT (id) DO UPDATE SET
            doc = ?2, session = ?4, participant = ?5, kind = ?6, text = ?7, tags = ?8,
            updated_at = ?11, deleted = ?12, question = ?13, quadrant = ?14, stage = ?15, emotion = ?16,
            attachment = ?17, start_ms = ?18, end_ms = ?19",
    )?
    .execute(params![
        n.id.as_str(),
        key.to_string(),
        project.as_str(),
        session.map(|s| s.as_str()),
        participant.map(|p| p.as_str()),
        n.kind.as_key(),
        text,
        tags,
        n.author.as_str(),
        n.created_at.0,
        n.updated_at.0,
        deleted,
        n.anchor.question.as_ref().map(|q| q.as_str()),
        n.anchor.quadrant.map(|q| q.as_key()),
        n.anchor.stage.map(|s| s.as_key()),
        n.anchor.emotion.map(i64::from),
        n.anchor.attachment.as_ref().map(|r| r.as_str()),
        n.anchor.start_ms.map(|t| t as i64),
        n.anchor.end_ms.map(|t| t as i64),
    ])?;
    Ok(())
}
