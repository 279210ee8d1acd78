//! Owned shapes for reading and writing through the API (and the bindings).

use serde::Serialize;

use crate::domain::{
    AgeBand, ConsentScope, ConsentState, MemberRole, NoteAnchor, NoteKind, ParticipantRole,
    SessionKind,
};
use crate::ids::{
    GuideId, HmwId, IdeaId, InsightId, MemberId, NoteId, ParticipantCode, ParticipantId, ProjectId,
    SessionId,
};
use crate::time::Timestamp;

/// A project in a list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProjectSummary {
    pub id: ProjectId,
    pub name: String,
    pub lang: String,
    pub created_at: Timestamp,
    pub my_role: Option<MemberRole>,
    pub participants: u32,
    pub sessions: u32,
    pub notes: u32,
    pub insights: u32,
    pub ideas: u32,
}

/// The consent state of one scope.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConsentStatus {
    pub scope: ConsentScope,
    pub state: ConsentState,
}

/// A participant in a list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParticipantView {
    pub id: ParticipantId,
    pub code: ParticipantCode,
    pub role: ParticipantRole,
    pub age_band: AgeBand,
    pub consents: Vec<ConsentStatus>,
}

/// What to record when a session starts.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub kind: SessionKind,
    pub title: String,
    pub participants: Vec<ParticipantId>,
    /// A place label, never coordinates.
    pub place: Option<String>,
    pub guide: Option<GuideId>,
    /// When it started; now when not given.
    pub started_at: Option<Timestamp>,
}

/// A session in a list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SessionView {
    pub id: SessionId,
    pub project: ProjectId,
    pub kind: SessionKind,
    pub title: String,
    pub ran_by: MemberId,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub place: Option<String>,
    pub participants: Vec<ParticipantId>,
    pub notes: u32,
}

/// What to record for a note.
#[derive(Clone, Debug)]
pub struct NewNote {
    pub kind: NoteKind,
    pub text: String,
    /// The participant it is about. In a session with one participant, notes are
    /// about them unless said otherwise.
    pub about: Option<ParticipantId>,
    pub anchor: NoteAnchor,
    pub tags: Vec<String>,
}

impl NewNote {
    /// A note of `kind` with `text` and nothing else.
    pub fn new(kind: NoteKind, text: impl Into<String>) -> Self {
        Self {
            kind,
            text: text.into(),
            about: None,
            anchor: NoteAnchor::default(),
            tags: Vec::new(),
        }
    }
}

/// A note as read from the index.
#[derive(Clone, Debug, PartialEq, Serialize)]
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

/// A search result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SearchHit {
    pub note: NoteView,
    /// The matching passage with the match in [brackets].
    pub snippet: String,
}

/// A piece of evidence behind an insight.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum EvidenceView {
    /// The note is here.
    Present(Box<NoteView>),
    /// The note's material was erased (consent withdrawn); the insight stays, its
    /// evidence does not.
    Erased { note: NoteId },
    /// The note was deleted by its author, or has not reached this device yet.
    Unavailable { note: NoteId },
}

/// What to record for an idea card.
#[derive(Clone, Debug, Default)]
pub struct NewIdea {
    pub title: String,
    pub description: String,
    pub affects: String,
    pub hmw: Option<HmwId>,
    pub round: Option<u32>,
}

/// An idea with its votes, for ranking.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IdeaRank {
    pub id: IdeaId,
    pub title: String,
    pub dots: u32,
}

/// What to record for a diary entry.
#[derive(Clone, Debug, Default)]
pub struct NewDiaryEntry {
    pub session: Option<SessionId>,
    pub heading: String,
    pub text: String,
    /// 1 to 5.
    pub rating: Option<u8>,
    pub anonymous: bool,
    /// A photo (JPEG, PNG or WebP bytes) and its caption.
    pub photo: Option<(Vec<u8>, String)>,
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub member: crate::ids::MemberId,
    pub action: String,
    pub participant: ParticipantId,
    pub detail: String,
    /// The hub's id of the device that recorded it, in the log the hub gathers from
    /// every device; `None` in this device's own log.
    pub device: Option<String>,
}

/// One row of a device's audit log on its way to the hub.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub(crate) struct AuditRow {
    pub seq: i64,
    pub at: i64,
    pub project: String,
    pub member: String,
    pub action: String,
    pub participant: String,
    pub detail: String,
}

/// An insight with its questions, for lists.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InsightView {
    pub id: InsightId,
    pub statement: String,
    pub opportunity: String,
    pub questions: Vec<String>,
    pub evidence: u32,
}
