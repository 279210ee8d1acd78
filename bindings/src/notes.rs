//! Notes captured in sessions, with their anchors in the method, and search.

use insikt_core::domain as core;
use insikt_core::ids::{
    AttachmentId, MemberId, NoteId, ParticipantId, ProjectId, QuestionId, SessionId,
};
use insikt_core::Timestamp;

use crate::call::call;
use crate::error::Result;
use crate::mirror::mirror_enum;
use crate::store::Store;

mirror_enum! {
    /// What a note is.
    NoteKind = core::NoteKind {
        Plain,
        Quote,
        Observation,
        /// A pain point.
        Pain,
        /// A high point.
        Gain,
        Feeling,
        /// An entry a participant submitted to their diary.
        DiaryEntry,
        /// A segment of a recording's transcript.
        Transcript,
    }
}

mirror_enum! {
    /// The quadrants of an empathy map.
    EmpathyQuadrant = core::EmpathyQuadrant { Says, Thinks, Does, Feels }
}

mirror_enum! {
    /// The stages of a user journey.
    JourneyStage = core::JourneyStage { Before, During, After }
}

/// Where in the method a note belongs, when it belongs somewhere.
#[derive(Clone, Debug, Default, PartialEq, uniffi::Record)]
pub struct NoteAnchor {
    /// The guide question it answers.
    #[uniffi(default = None)]
    pub question: Option<QuestionId>,
    /// The empathy-map quadrant.
    #[uniffi(default = None)]
    pub quadrant: Option<EmpathyQuadrant>,
    /// The journey stage.
    #[uniffi(default = None)]
    pub stage: Option<JourneyStage>,
    /// The emotional curve of a journey, from -2 (very low) to +2 (very high).
    #[uniffi(default = None)]
    pub emotion: Option<i8>,
    /// The photo or recording the note is about.
    #[uniffi(default = None)]
    pub attachment: Option<AttachmentId>,
    /// For a transcript segment: its span in the recording, in milliseconds.
    #[uniffi(default = None)]
    pub start_ms: Option<u64>,
    #[uniffi(default = None)]
    pub end_ms: Option<u64>,
}

impl From<NoteAnchor> for core::NoteAnchor {
    fn from(v: NoteAnchor) -> Self {
        let NoteAnchor {
            question,
            quadrant,
            stage,
            emotion,
            attachment,
            start_ms,
            end_ms,
        } = v;
        core::NoteAnchor {
            question,
            quadrant: quadrant.map(Into::into),
            stage: stage.map(Into::into),
            emotion,
            attachment,
            start_ms,
            end_ms,
        }
    }
}

impl From<core::NoteAnchor> for NoteAnchor {
    fn from(v: core::NoteAnchor) -> Self {
        let core::NoteAnchor {
            question,
            quadrant,
            stage,
            emotion,
            attachment,
            start_ms,
            end_ms,
        } = v;
        NoteAnchor {
            question,
            quadrant: quadrant.map(Into::into),
            stage: stage.map(Into::into),
            emotion,
            attachment,
            start_ms,
            end_ms,
        }
    }
}

/// What to record for a note.
#[derive(Clone, Debug, uniffi::Record)]
pub struct NewNote {
    pub kind: NoteKind,
    pub text: String,
    /// The participant it is about. In a session with one participant, notes are
    /// about them unless said otherwise.
    #[uniffi(default = None)]
    pub about: Option<ParticipantId>,
    #[uniffi(default = None)]
    pub anchor: Option<NoteAnchor>,
    #[uniffi(default = [])]
    pub tags: Vec<String>,
}

impl From<NewNote> for insikt_core::NewNote {
    fn from(v: NewNote) -> Self {
        let NewNote {
            kind,
            text,
            about,
            anchor,
            tags,
        } = v;
        insikt_core::NewNote {
            kind: kind.into(),
            text,
            about,
            anchor: anchor.map(Into::into).unwrap_or_default(),
            tags,
        }
    }
}

/// A note as read back.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct NoteView {
    pub id: NoteId,
    pub session: Option<SessionId>,
    pub kind: NoteKind,
    pub text: String,
    pub author: MemberId,
    pub about: Option<ParticipantId>,
    pub tags: Vec<String>,
    pub anchor: NoteAnchor,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<insikt_core::NoteView> for NoteView {
    fn from(v: insikt_core::NoteView) -> Self {
        let insikt_core::NoteView {
            id,
            session,
            kind,
            text,
            author,
            about,
            tags,
            anchor,
            created_at,
            updated_at,
        } = v;
        NoteView {
            id,
            session,
            kind: kind.into(),
            text,
            author,
            about,
            tags,
            anchor: anchor.into(),
            created_at,
            updated_at,
        }
    }
}

/// A search result.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SearchHit {
    pub note: NoteView,
    /// The matching passage with the match in [brackets].
    pub snippet: String,
}

#[uniffi::export]
impl Store {
    /// Captures a note; saved durably when this returns (well under a frame). Refused
    /// unless every participant the note concerns consented to notes.
    pub fn add_note(&self, session: SessionId, note: NewNote) -> Result<NoteId> {
        call(|| Ok(self.core.add_note(&session, note.into())?))
    }

    /// Changes a note's text; concurrent edits from other devices merge.
    pub fn edit_note(&self, note: NoteId, text: String) -> Result<()> {
        call(|| Ok(self.core.edit_note(&note, &text)?))
    }

    /// Replaces a note's tags.
    pub fn tag_note(&self, note: NoteId, tags: Vec<String>) -> Result<()> {
        call(|| Ok(self.core.tag_note(&note, &tags)?))
    }

    /// Deletes a note: gone from lists, search and exports.
    pub fn delete_note(&self, note: NoteId) -> Result<()> {
        call(|| Ok(self.core.delete_note(&note)?))
    }

    /// The notes of a session, oldest first.
    pub fn notes(&self, session: SessionId) -> Result<Vec<NoteView>> {
        call(|| {
            Ok(self
                .core
                .notes(&session)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// One note.
    pub fn note(&self, note: NoteId) -> Result<NoteView> {
        call(|| Ok(self.core.note(&note)?.into()))
    }

    /// Full-text search over a project's notes, best matches first.
    pub fn search(&self, project: ProjectId, query: String, limit: u32) -> Result<Vec<SearchHit>> {
        call(|| {
            Ok(self
                .core
                .search(&project, &query, limit)?
                .into_iter()
                .map(|insikt_core::SearchHit { note, snippet }| SearchHit {
                    note: note.into(),
                    snippet,
                })
                .collect())
        })
    }
}
