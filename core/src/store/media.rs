//! Photos and recordings: ingested by `insikt-media` (no metadata survives), stored as
//! encrypted blobs, referenced from documents with a caption.
//!
//! Where an attachment lives follows the erasure rule: a photo in which exactly one
//! participant appears goes into that participant's material document for the
//! session; one with nobody or several goes into the session document. Consent is
//! checked for everyone who appears (photos) or speaks (recordings).

use insikt_media::{BlobHash, IngestLimits, PhotoRenditions, Redaction, Rendition};
use rusqlite::OptionalExtension;
use std::collections::BTreeMap;

use super::docs::{map_at, DocKey};
use super::field::{require_consent, session_row};
use super::views::NewNote;
use super::{index, Store};
use crate::domain::{
    Attachment, AttachmentKind, ConsentScope, MaterialDoc, MemberRole, NoteAnchor, NoteKind, Prose,
    StoredBlob, DOC_SCHEMA,
};
use crate::error::{Error, Result};
use crate::ids::{AttachmentId, IdeaId, NoteId, ParticipantId, ProjectId, SessionId};
use crate::time::Timestamp;

const FIELD: &[MemberRole] = &[MemberRole::Coordinator, MemberRole::Researcher];
const TEAM: &[MemberRole] = &[
    MemberRole::Coordinator,
    MemberRole::Researcher,
    MemberRole::Reviewer,
];

/// The largest recording accepted, in bytes (about three hours of AAC at 128 kbit/s).
pub const MAX_RECORDING_BYTES: usize = 200 * 1024 * 1024;

/// What to record with a photo.
#[derive(Clone, Debug, Default)]
pub struct NewPhoto {
    pub caption: String,
    /// The participants who appear in it; each needs consent to photos.
    pub appears: Vec<ParticipantId>,
    /// Regions to blur or pixelate before anything is stored (faces of children).
    pub redactions: Vec<Redaction>,
}

/// What to record with a recording.
#[derive(Clone, Debug, Default)]
pub struct NewRecording {
    pub caption: String,
    /// Who speaks in it; every participant of the session when not given.
    pub speakers: Option<Vec<ParticipantId>>,
}

fn stored(r: &Rendition) -> StoredBlob {
    StoredBlob {
        hash: r.hash.to_hex(),
        bytes: r.bytes.len() as u64,
        width: r.width,
        height: r.height,
    }
}

pub(crate) fn parse_hash(hex_text: &str) -> Result<BlobHash> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut bytes)
        .map_err(|_| Error::InvalidInput("not a blob hash"))?;
    Ok(BlobHash::from_bytes(bytes))
}

impl Store {
    /// Adds a photo to a session. The photo is decoded with limits, turned upright,
    /// redacted, and cut into a thumbnail, a preview and a kept original, none of
    /// which carries any metadata; all three are stored encrypted.
    pub fn add_photo(
        &self,
        session: &SessionId,
        bytes: &[u8],
        input: NewPhoto,
    ) -> Result<AttachmentId> {
        check_caption(&input.caption)?;
        let (project, members) = self.capture(|c| session_row(c, session))?;
        self.require_role(&project, FIELD, "adding photos")?;
        let appears = dedup(input.appears);
        if let Some(p) = appears.iter().find(|p| !members.contains(p)) {
            return Err(Error::not_found(ParticipantId::WHAT, p));
        }
        self.capture(|c| require_consent(c, &appears, ConsentScope::Photos))?;
        let renditions =
            insikt_media::ingest_photo(bytes, &input.redactions, &IngestLimits::default())?;
        let attachment = self.store_photo(
            &renditions,
            input.caption,
            appears,
            !input.redactions.is_empty(),
        )?;
        self.put_attachment(&project, session, attachment)
    }

    /// Ingests a photo and stores its blobs, for an attachment the caller places.
    pub(crate) fn ingest_photo_attachment(
        &self,
        bytes: &[u8],
        caption: &str,
        appears: Vec<ParticipantId>,
    ) -> Result<Attachment> {
        check_caption(caption)?;
        let renditions = insikt_media::ingest_photo(bytes, &[], &IngestLimits::default())?;
        self.store_photo(&renditions, caption.to_string(), appears, false)
    }

    fn store_photo(
        &self,
        r: &PhotoRenditions,
        caption: String,
        appears: Vec<ParticipantId>,
        redacted: bool,
    ) -> Result<Attachment> {
        // Blobs first: a crash before the document write leaves only unreferenced
        // encrypted files, which compaction removes.
        for rendition in r.iter() {
            self.blobs.put(&rendition.bytes)?;
        }
        Ok(Attachment {
            id: AttachmentId::new(),
            kind: AttachmentKind::Photo,
            caption: Prose::new(caption.trim()),
            appears,
            mime: r.original.mime.to_string(),
            thumbnail: Some(stored(&r.thumbnail)),
            preview: Some(stored(&r.preview)),
            original: stored(&r.original),
            redacted,
            author: self.me().clone(),
            created_at: Timestamp::now(),
        })
    }

    /// Adds a recording to a session, stored encrypted as the platform recorded it
    /// (m4a/AAC, Opus, WAV); location and time atoms are scrubbed from m4a files.
    pub fn add_recording(
        &self,
        session: &SessionId,
        bytes: &[u8],
        input: NewRecording,
    ) -> Result<AttachmentId> {
        check_caption(&input.caption)?;
        if bytes.len() > MAX_RECORDING_BYTES {
            return Err(Error::Media("recording exceeds the size limit".into()));
        }
        let (project, members) = self.capture(|c| session_row(c, session))?;
        self.require_role(&project, FIELD, "adding recordings")?;
        let speakers = dedup(input.speakers.unwrap_or_else(|| members.clone()));
        if let Some(p) = speakers.iter().find(|p| !members.contains(p)) {
            return Err(Error::not_found(ParticipantId::WHAT, p));
        }
        self.capture(|c| require_consent(c, &speakers, ConsentScope::Audio))?;
        let format = insikt_media::audio::sniff_audio(bytes)?;
        let mut clean = bytes.to_vec();
        if format == insikt_media::audio::AudioFormat::M4a {
            insikt_media::audio::scrub_m4a(&mut clean)?;
        }
        let hash = self.blobs.put(&clean)?;
        let attachment = Attachment {
            id: AttachmentId::new(),
            kind: AttachmentKind::Audio,
            caption: Prose::new(input.caption.trim()),
            appears: speakers,
            mime: format.mime().to_string(),
            thumbnail: None,
            preview: None,
            original: StoredBlob {
                hash: hash.to_hex(),
                bytes: clean.len() as u64,
                width: 0,
                height: 0,
            },
            redacted: false,
            author: self.me().clone(),
            created_at: Timestamp::now(),
        };
        self.put_attachment(&project, session, attachment)
    }

    /// Adds a segment of a recording's transcript. Segments are notes (kind
    /// `transcript`, about their speaker), so they are searched and cited like notes.
    pub fn add_transcript_segment(
        &self,
        session: &SessionId,
        recording: &AttachmentId,
        span_ms: (u64, u64),
        speaker: Option<ParticipantId>,
        text: &str,
    ) -> Result<NoteId> {
        let (start_ms, end_ms) = span_ms;
        if end_ms <= start_ms {
            return Err(Error::InvalidInput(
                "a transcript segment ends after it starts",
            ));
        }
        let (_, a) = self.attachment(recording)?;
        if a.kind != AttachmentKind::Audio {
            return Err(Error::InvalidInput("transcripts belong to recordings"));
        }
        let anchor = NoteAnchor {
            attachment: Some(recording.clone()),
            start_ms: Some(start_ms),
            end_ms: Some(end_ms),
            ..Default::default()
        };
        let note = NewNote {
            kind: NoteKind::Transcript,
            text: text.into(),
            about: speaker,
            anchor,
            tags: Vec::new(),
        };
        self.add_note(session, note)
    }

    fn put_attachment(
        &self,
        project: &ProjectId,
        session: &SessionId,
        a: Attachment,
    ) -> Result<AttachmentId> {
        let key = match a.appears.as_slice() {
            [only] => DocKey::Material(session.clone(), only.clone()),
            _ => DocKey::Session(session.clone()),
        };
        if let DocKey::Material(_, p) = &key {
            let root = MaterialDoc {
                schema: DOC_SCHEMA,
                project_id: project.clone(),
                session_id: session.clone(),
                participant_id: p.clone(),
                notes: BTreeMap::new(),
                attachments: BTreeMap::new(),
            };
            self.create_doc(&key, project, &root, |_, _| Ok(()))?;
        }
        let id = a.id.clone();
        self.write(
            &key,
            project,
            |doc| {
                let attachments = map_at(doc, "attachments")?;
                autosurgeon::reconcile_prop(doc, &attachments, a.id.as_str(), &a)?;
                Ok(())
            },
            |tx, _, _| {
                index::attachment(tx, &key, project, Some(session), &a)?;
                let action = match a.kind {
                    AttachmentKind::Photo => "photo",
                    AttachmentKind::Audio => "recording",
                };
                for p in &a.appears {
                    super::audit(tx, project.as_str(), a.author.as_str(), action, p, "")?;
                }
                Ok(())
            },
        )?;
        Ok(id)
    }

    /// An attachment and the document that holds it.
    pub fn attachment(&self, id: &AttachmentId) -> Result<(DocKey, Attachment)> {
        let doc: Option<String> = self.read_query(|c| {
            Ok(
                c.prepare_cached("SELECT doc FROM attachments WHERE id = ?1")?
                    .query_row([id.as_str()], |r| r.get(0))
                    .optional()?,
            )
        })?;
        let key: DocKey = doc
            .ok_or_else(|| Error::not_found(AttachmentId::WHAT, id))?
            .parse()?;
        // A participant's phone reads the photos of its own diary (to upload them);
        // everyone else reads by their role in the project.
        let own_inbox = match (&key, self.participant_mode()?) {
            (DocKey::Inbox(p), Some((me, _))) => p == &me,
            _ => false,
        };
        if !own_inbox {
            let project = self.project_of_doc(&key)?;
            self.require_role(&project, TEAM, "reading attachments")?;
        }
        let found = match &key {
            DocKey::Session(_) => self
                .read::<crate::domain::SessionDoc>(&key)?
                .attachments
                .remove(id.as_str()),
            DocKey::Material(..) => self
                .read::<MaterialDoc>(&key)?
                .attachments
                .remove(id.as_str()),
            DocKey::Inbox(_) => self
                .read::<crate::domain::InboxDoc>(&key)?
                .entries
                .into_values()
                .filter_map(|e| e.photo)
                .find(|p| &p.id == id),
            DocKey::Project(_) => self
                .read::<crate::domain::ProjectDoc>(&key)?
                .ideas
                .into_values()
                .filter_map(|i| i.sketch)
                .find(|s| &s.id == id),
            DocKey::Participant(_) => None,
        };
        let a = found.ok_or_else(|| Error::not_found(AttachmentId::WHAT, id))?;
        Ok((key, a))
    }

    fn project_of_doc(&self, key: &DocKey) -> Result<ProjectId> {
        match key {
            DocKey::Project(p) => Ok(p.clone()),
            DocKey::Session(s) | DocKey::Material(s, _) => self.session_project(s),
            DocKey::Participant(p) | DocKey::Inbox(p) => self.participant(p).map(|x| x.project_id),
        }
    }

    /// The attachments of a session, oldest first.
    pub fn attachments(&self, session: &SessionId) -> Result<Vec<Attachment>> {
        let ids: Vec<String> = self.read_query(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id FROM attachments WHERE session = ?1 ORDER BY created_at, id",
            )?;
            let rows = stmt.query_map([session.as_str()], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })?;
        ids.into_iter()
            .map(|id| self.attachment(&AttachmentId::from(id)).map(|(_, a)| a))
            .collect()
    }

    /// The decrypted bytes of a blob that an attachment on this device refers to.
    pub fn blob(&self, hash: &str) -> Result<Vec<u8>> {
        let attachment: Option<String> = self.read_query(|c| {
            Ok(
                c.prepare_cached("SELECT attachment FROM blob_refs WHERE hash = ?1 LIMIT 1")?
                    .query_row([hash], |r| r.get(0))
                    .optional()?,
            )
        })?;
        let attachment = attachment.ok_or_else(|| Error::not_found("blob", "with that hash"))?;
        // Reading the attachment checks that this device may see it.
        self.attachment(&AttachmentId::from(attachment))?;
        Ok(self.blobs.get(&parse_hash(hash)?)?)
    }

    /// Redacts a stored photo: the regions (in pixels of the kept original) are
    /// blurred or pixelated irreversibly, new renditions replace the old ones, and the
    /// old blobs are destroyed.
    pub fn redact_photo(&self, id: &AttachmentId, redactions: &[Redaction]) -> Result<()> {
        let (key, old) = self.attachment(id)?;
        if old.kind != AttachmentKind::Photo {
            return Err(Error::InvalidInput("only photos can be redacted"));
        }
        let project = self.project_of_doc(&key)?;
        self.require_role(&project, FIELD, "redacting photos")?;
        let original = self.blobs.get(&parse_hash(&old.original.hash)?)?;
        let renditions =
            insikt_media::redact_photo(&original, redactions, &IngestLimits::default())?;
        let mut new = self.store_photo(
            &renditions,
            old.caption.as_str().to_string(),
            old.appears.clone(),
            true,
        )?;
        new.id = old.id.clone();
        new.author = old.author.clone();
        new.created_at = old.created_at;
        let session = match &key {
            DocKey::Session(s) | DocKey::Material(s, _) => Some(s.clone()),
            _ => None,
        };
        match (&key, &session) {
            (DocKey::Project(p), _) => {
                self.modify_project(p, TEAM, "redacting photos", |doc| {
                    for idea in doc.ideas.values_mut() {
                        if idea.sketch.as_ref().is_some_and(|s| &s.id == id) {
                            idea.sketch = Some(new.clone());
                        }
                    }
                    Ok(())
                })?;
            }
            (_, Some(s)) => {
                self.write(
                    &key,
                    &project,
                    |doc| {
                        let attachments = map_at(doc, "attachments")?;
                        autosurgeon::reconcile_prop(doc, &attachments, id.as_str(), &new)?;
                        Ok(())
                    },
                    |tx, _, _| index::attachment(tx, &key, &project, Some(s), &new),
                )?;
            }
            _ => {
                return Err(Error::InvalidInput(
                    "that attachment cannot be redacted here",
                ))
            }
        }
        self.destroy_unreferenced(&old.hashes())
    }

    /// Deletes the blobs among `hashes` that no attachment refers to any longer.
    pub(crate) fn destroy_unreferenced(&self, hashes: &[&str]) -> Result<()> {
        for hash in hashes {
            let referenced = self.read_query(|c| {
                Ok(c.prepare_cached("SELECT 1 FROM blob_refs WHERE hash = ?1")?
                    .query_row([hash], |r| r.get::<_, i64>(0))
                    .optional()?
                    .is_some())
            })?;
            if !referenced {
                self.blobs.delete(&parse_hash(hash)?)?;
            }
        }
        Ok(())
    }

    /// Removes blob files no attachment refers to (left by a crash between storing a
    /// photo's blobs and its document write). Returns how many were removed.
    pub fn collect_blob_garbage(&self) -> Result<usize> {
        // A document set aside has no index rows: the photos it names are unknown
        // until it reads again, so nothing is collected meanwhile.
        if !self.set_aside_documents()?.is_empty() {
            return Ok(0);
        }
        let referenced: std::collections::HashSet<String> = self.read_query(|c| {
            let mut stmt = c.prepare("SELECT DISTINCT hash FROM blob_refs")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        let mut removed = 0;
        for hash in self.blobs.list()? {
            if !referenced.contains(&hash.to_hex()) && self.blobs.delete(&hash)? {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Attaches a photo of the sketch to an idea card.
    pub fn set_idea_sketch(
        &self,
        project: &ProjectId,
        idea: &IdeaId,
        bytes: &[u8],
        caption: &str,
    ) -> Result<AttachmentId> {
        check_caption(caption)?;
        self.require_role(project, TEAM, "adding sketches")?;
        let renditions = insikt_media::ingest_photo(bytes, &[], &IngestLimits::default())?;
        let sketch = self.store_photo(&renditions, caption.into(), Vec::new(), false)?;
        let id = sketch.id.clone();
        let old = self.modify_project(project, TEAM, "adding sketches", |p| {
            let card = p
                .ideas
                .get_mut(idea.as_str())
                .ok_or_else(|| Error::not_found(IdeaId::WHAT, idea))?;
            Ok(card.sketch.replace(sketch))
        })?;
        if let Some(old) = old {
            self.destroy_unreferenced(&old.hashes())?;
        }
        Ok(id)
    }
}

fn check_caption(caption: &str) -> Result<()> {
    if caption.chars().count() > 1000 {
        Err(Error::InvalidInput("a caption is at most 1000 characters"))
    } else {
        Ok(())
    }
}

fn dedup(mut ids: Vec<ParticipantId>) -> Vec<ParticipantId> {
    ids.sort();
    ids.dedup();
    ids
}
