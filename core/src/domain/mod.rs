//! The domain of the method: the six steps of Innovationsguiden and the method cards
//! teams use beside them. These types are also the shapes stored in the automerge
//! documents (see `docs/documents.md`), so every field here is synced data.

mod consent;
mod guide;
mod inbox;
mod insight;
mod media;
mod participant;
mod project;
mod prose;
pub mod read;
mod session;

pub use consent::{ConsentRecord, ConsentScope, ConsentState, GivenBy};
pub use guide::{Guide, GuidePhase, GuideQuestion};
pub use inbox::{DiaryEntry, InboxDoc, TeamMessage};
pub use insight::{
    DevelopmentArea, EvidenceRef, Feedback, Hmw, Idea, Insight, PrototypeKind, PrototypeTest,
};
pub use media::{Attachment, AttachmentKind, StoredBlob};
pub use participant::{AgeBand, Participant, ParticipantRole};
pub use project::{
    ChallengeCanvas, Decision, Erasure, Member, MemberRole, Persona, ProjectDoc, SamplePlan,
    Stakeholder, Step, StepState, StepStatus,
};
pub use prose::Prose;
pub use session::{
    EmpathyQuadrant, JourneyStage, MaterialDoc, Note, NoteAnchor, NoteKind, SessionDoc, SessionKind,
};

/// The version of the document schema written by this build. Readers accept documents
/// without the newer optional fields; see `docs/documents.md` for the rules.
pub const DOC_SCHEMA: u64 = 1;
