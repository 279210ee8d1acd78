//! Focus, Generate ideas, Test ideas: what the team builds from the material.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::prose::Prose;
use crate::i18n::labelled_enum;
use crate::ids::{AreaId, HmwId, IdeaId, InsightId, MemberId, NoteId, SessionId, TestId};
use crate::time::Timestamp;

/// A reference to a note that backs an insight. It names the note; it never copies
/// its text, so erasing the note's document erases the evidence everywhere.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct EvidenceRef {
    pub note: NoteId,
    pub session: SessionId,
    /// The document that holds the note.
    pub doc: String,
}

/// A "How might we …?" question.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Hmw {
    pub id: HmwId,
    pub text: Prose,
    pub created_by: MemberId,
    pub created_at: Timestamp,
}

/// An insight: a stated problem, need or connection, backed by evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Insight {
    pub id: InsightId,
    pub statement: Prose,
    pub evidence: Vec<EvidenceRef>,
    /// The opportunity (möjlighet) the insight opens.
    pub opportunity: Prose,
    pub questions: BTreeMap<String, Hmw>,
    pub area: Option<AreaId>,
    pub created_by: MemberId,
    pub created_at: Timestamp,
}

/// A development area (utvecklingsområde) grouping insights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct DevelopmentArea {
    pub id: AreaId,
    pub title: String,
    pub created_at: Timestamp,
}

/// An idea card.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Idea {
    pub id: IdeaId,
    pub title: String,
    pub description: Prose,
    /// Who the idea affects.
    pub affects: String,
    /// The question the idea answers.
    pub hmw: Option<HmwId>,
    /// The brainwriting round it came from, if any.
    pub round: Option<u32>,
    /// Member id → dots placed on this idea.
    pub votes: BTreeMap<String, u8>,
    /// Criterion → score 1–5, for prioritising.
    pub scores: BTreeMap<String, u8>,
    /// A photo of the sketch on the card.
    #[autosurgeon(missing = "Default::default")]
    pub sketch: Option<super::Attachment>,
    pub created_by: MemberId,
    pub created_at: Timestamp,
}

impl Idea {
    /// All dots on the idea.
    pub fn dot_count(&self) -> u32 {
        self.votes.values().map(|v| u32::from(*v)).sum()
    }
}

labelled_enum! {
    /// What a prototype is made of.
    PrototypeKind {
        Paper = "paper", "Pappersprototyp", "Paper prototype";
        Storyboard = "storyboard", "Storyboard", "Storyboard";
        RolePlay = "role-play", "Rollspel", "Role play";
        Model = "model", "Modell", "Model";
    }
}

/// Feedback from one test with one person.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Feedback {
    /// Who gave it, as a role ("young person", "staff"); never a name.
    pub from_role: String,
    pub text: Prose,
    pub at: Timestamp,
}

/// A prototype test: one question, tested with users and staff.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct PrototypeTest {
    pub id: TestId,
    pub idea: IdeaId,
    pub kind: PrototypeKind,
    pub question: String,
    pub feedback: Vec<Feedback>,
    pub learned: Prose,
    pub created_at: Timestamp,
}
