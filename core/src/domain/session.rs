//! Sessions of every field method, and the notes captured in them.
//!
//! A session's own document holds its description and the notes that are about no
//! single participant. Notes about a participant live in a separate *material*
//! document per (session, participant), so that erasing one person destroys whole
//! documents and never has to cut their words out of a shared history.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::prose::Prose;
use crate::i18n::labelled_enum;
use crate::ids::{
    AttachmentId, GuideId, MemberId, NoteId, ParticipantId, ProjectId, QuestionId, SessionId,
};
use crate::time::Timestamp;

labelled_enum! {
    /// The field methods of the Investigate step.
    SessionKind {
        Interview = "interview", "Intervju", "Interview";
        Observation = "observation", "Observation", "Observation";
        /// Self-documentation by participants over days or weeks.
        Diary = "diary", "Dagbok", "Diary";
        UserJourney = "journey", "Användarresa", "User journey";
        EmpathyMap = "empathy-map", "Empatikarta", "Empathy map";
    }
}

labelled_enum! {
    /// What a note is.
    NoteKind {
        Plain = "note", "Anteckning", "Note";
        Quote = "quote", "Citat", "Quote";
        Observation = "observation", "Observation", "Observation";
        Pain = "pain", "Smärtpunkt", "Pain point";
        Gain = "gain", "Glädjeämne", "High point";
        Feeling = "feeling", "Känsla", "Feeling";
        /// An entry a participant submitted to their diary.
        DiaryEntry = "diary-entry", "Dagboksinlägg", "Diary entry";
        /// A segment of a recording's transcript.
        Transcript = "transcript", "Transkription", "Transcript";
    }
}

labelled_enum! {
    /// The quadrants of an empathy map.
    EmpathyQuadrant {
        Says = "says", "Säger", "Says";
        Thinks = "thinks", "Tänker", "Thinks";
        Does = "does", "Gör", "Does";
        Feels = "feels", "Känner", "Feels";
    }
}

labelled_enum! {
    /// The stages of a user journey.
    JourneyStage {
        Before = "before", "Före", "Before";
        During = "during", "Under", "During";
        After = "after", "Efter", "After";
    }
}

/// Where in the method a note belongs, when it belongs somewhere.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct NoteAnchor {
    /// The guide question it answers.
    #[autosurgeon(missing = "Default::default")]
    pub question: Option<QuestionId>,
    /// The empathy-map quadrant.
    #[autosurgeon(missing = "Default::default")]
    pub quadrant: Option<EmpathyQuadrant>,
    /// The journey stage.
    #[autosurgeon(missing = "Default::default")]
    pub stage: Option<JourneyStage>,
    /// The emotional curve of a journey, from -2 (very low) to +2 (very high).
    #[autosurgeon(missing = "Default::default", hydrate = "super::read::small_signed")]
    pub emotion: Option<i8>,
    /// The photo or recording the note is about; for a transcript segment, its
    /// recording, with the time span in milliseconds.
    #[autosurgeon(missing = "Default::default")]
    pub attachment: Option<AttachmentId>,
    #[autosurgeon(missing = "Default::default")]
    pub start_ms: Option<u64>,
    #[autosurgeon(missing = "Default::default")]
    pub end_ms: Option<u64>,
}

/// A note. Fields that are empty may be absent from the document: capture writes
/// only what a note has, because every field written costs time on the capture path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Note {
    pub id: NoteId,
    pub kind: NoteKind,
    pub text: Prose,
    pub author: MemberId,
    /// The participant the note is about, if one.
    #[autosurgeon(missing = "Default::default")]
    pub about: Option<ParticipantId>,
    #[autosurgeon(missing = "Default::default")]
    pub anchor: NoteAnchor,
    #[autosurgeon(missing = "Default::default")]
    pub tags: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Set when the note was deleted; its text is emptied at the same time.
    #[autosurgeon(missing = "Default::default")]
    pub deleted_at: Option<Timestamp>,
}

impl Note {
    /// Writes a new note into the map `notes` with plain automerge operations: the
    /// capture path, about twice as fast as reconciling the struct. Only fields that
    /// have a value are written; `Hydrate` reads absent ones as empty.
    pub fn write_new(
        &self,
        doc: &mut automerge::AutoCommit,
        notes: &automerge::ObjId,
    ) -> Result<(), automerge::AutomergeError> {
        use automerge::{transaction::Transactable, ObjType};
        let m = doc.put_object(notes, self.id.as_str(), ObjType::Map)?;
        doc.put(&m, "id", self.id.as_str())?;
        doc.put(&m, "kind", self.kind.as_key())?;
        doc.put(&m, "author", self.author.as_str())?;
        doc.put(&m, "created_at", self.created_at.0)?;
        doc.put(&m, "updated_at", self.updated_at.0)?;
        let text = doc.put_object(&m, "text", ObjType::Text)?;
        doc.splice_text(&text, 0, 0, self.text.as_str())?;
        if let Some(p) = &self.about {
            doc.put(&m, "about", p.as_str())?;
        }
        let a = &self.anchor;
        if a != &NoteAnchor::default() {
            let anchor = doc.put_object(&m, "anchor", ObjType::Map)?;
            if let Some(q) = &a.question {
                doc.put(&anchor, "question", q.as_str())?;
            }
            if let Some(q) = a.quadrant {
                doc.put(&anchor, "quadrant", q.as_key())?;
            }
            if let Some(s) = a.stage {
                doc.put(&anchor, "stage", s.as_key())?;
            }
            if let Some(e) = a.emotion {
                doc.put(&anchor, "emotion", i64::from(e))?;
            }
            if let Some(r) = &a.attachment {
                doc.put(&anchor, "attachment", r.as_str())?;
            }
            if let Some(t) = a.start_ms {
                doc.put(&anchor, "start_ms", t)?;
            }
            if let Some(t) = a.end_ms {
                doc.put(&anchor, "end_ms", t)?;
            }
        }
        if !self.tags.is_empty() {
            let tags = doc.put_object(&m, "tags", ObjType::List)?;
            for (i, t) in self.tags.iter().enumerate() {
                doc.insert(&tags, i, t.as_str())?;
            }
        }
        Ok(())
    }
}

/// A session's document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct SessionDoc {
    pub schema: u64,
    pub id: SessionId,
    pub project_id: ProjectId,
    pub kind: SessionKind,
    pub title: String,
    /// Participant id → true; a map so that concurrent additions merge as a set.
    pub participants: BTreeMap<String, bool>,
    pub ran_by: MemberId,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    /// A place label such as "Fritidsgården". Never coordinates.
    pub place: Option<String>,
    pub guide: Option<GuideId>,
    /// Notes about no single participant.
    pub notes: BTreeMap<String, Note>,
    /// Photos and recordings in which no single participant appears.
    #[autosurgeon(missing = "Default::default")]
    pub attachments: BTreeMap<String, super::Attachment>,
}

impl SessionDoc {
    /// The participants of the session.
    pub fn participant_ids(&self) -> Vec<ParticipantId> {
        self.participants
            .iter()
            .filter(|(_, in_it)| **in_it)
            .map(|(id, _)| ParticipantId::from(id.clone()))
            .collect()
    }
}

/// The notes about one participant in one session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct MaterialDoc {
    pub schema: u64,
    pub project_id: ProjectId,
    pub session_id: SessionId,
    pub participant_id: ParticipantId,
    pub notes: BTreeMap<String, Note>,
    /// Photos and recordings in which this participant (alone) appears.
    #[autosurgeon(missing = "Default::default")]
    pub attachments: BTreeMap<String, super::Attachment>,
}
