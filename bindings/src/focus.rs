//! Focus and ideas: insights backed by evidence, "How might we…?" questions, idea
//! cards and dot voting.

use insikt_core::ids::{HmwId, IdeaId, InsightId, NoteId, ProjectId};

use crate::call::call;
use crate::error::Result;
use crate::notes::NoteView;
use crate::store::Store;

/// An insight with its questions, for lists.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct InsightView {
    pub id: InsightId,
    pub statement: String,
    pub opportunity: String,
    /// Its "How might we…?" questions.
    pub questions: Vec<String>,
    /// How many notes back it.
    pub evidence: u32,
}

impl From<insikt_core::InsightView> for InsightView {
    fn from(v: insikt_core::InsightView) -> Self {
        let insikt_core::InsightView {
            id,
            statement,
            opportunity,
            questions,
            evidence,
        } = v;
        InsightView {
            id,
            statement,
            opportunity,
            questions,
            evidence,
        }
    }
}

/// A piece of evidence behind an insight. Insights refer to notes; they never copy
/// them, so erased material leaves the insight without it.
// Not boxed: uniffi carries no `Box`, and the value only lives until it is lowered.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum Evidence {
    /// The note is here.
    Present { note: NoteView },
    /// The note's material was erased (consent withdrawn).
    Erased { note: NoteId },
    /// The note was deleted by its author, or has not reached this device yet.
    Unavailable { note: NoteId },
}

impl From<insikt_core::EvidenceView> for Evidence {
    fn from(v: insikt_core::EvidenceView) -> Self {
        match v {
            insikt_core::EvidenceView::Present(note) => Evidence::Present {
                note: (*note).into(),
            },
            insikt_core::EvidenceView::Erased { note } => Evidence::Erased { note },
            insikt_core::EvidenceView::Unavailable { note } => Evidence::Unavailable { note },
        }
    }
}

/// What to record for an idea card.
#[derive(Clone, Debug, uniffi::Record)]
pub struct NewIdea {
    pub title: String,
    #[uniffi(default = "")]
    pub description: String,
    /// Who the idea affects.
    #[uniffi(default = "")]
    pub affects: String,
    /// The question it answers.
    #[uniffi(default = None)]
    pub hmw: Option<HmwId>,
    /// The brainwriting round it came from.
    #[uniffi(default = None)]
    pub round: Option<u32>,
}

impl From<NewIdea> for insikt_core::NewIdea {
    fn from(v: NewIdea) -> Self {
        let NewIdea {
            title,
            description,
            affects,
            hmw,
            round,
        } = v;
        insikt_core::NewIdea {
            title,
            description,
            affects,
            hmw,
            round,
        }
    }
}

/// An idea with its dots, for ranking.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct IdeaRank {
    pub id: IdeaId,
    pub title: String,
    pub dots: u32,
}

#[uniffi::export]
impl Store {
    /// States an insight backed by notes (referred to, never copied).
    pub fn add_insight(
        &self,
        project: ProjectId,
        statement: String,
        evidence: Vec<NoteId>,
        opportunity: String,
    ) -> Result<InsightId> {
        call(|| {
            Ok(self
                .core
                .add_insight(&project, &statement, &evidence, &opportunity)?)
        })
    }

    /// Adds a "How might we…?" question to an insight.
    pub fn add_hmw(&self, project: ProjectId, insight: InsightId, text: String) -> Result<HmwId> {
        call(|| Ok(self.core.add_hmw(&project, &insight, &text)?))
    }

    /// The insights of a project.
    pub fn insights(&self, project: ProjectId) -> Result<Vec<InsightView>> {
        call(|| {
            Ok(self
                .core
                .insights(&project)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// The evidence behind an insight, each piece present, erased or unavailable.
    pub fn insight_evidence(
        &self,
        project: ProjectId,
        insight: InsightId,
    ) -> Result<Vec<Evidence>> {
        call(|| {
            Ok(self
                .core
                .insight_evidence(&project, &insight)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Adds an idea card.
    pub fn add_idea(&self, project: ProjectId, idea: NewIdea) -> Result<IdeaId> {
        call(|| Ok(self.core.add_idea(&project, idea.into())?))
    }

    /// Places `dots` of my dots on an idea, replacing what I placed on it before
    /// (0 takes them back). Each member has three to five dots in all.
    pub fn vote(&self, project: ProjectId, idea: IdeaId, dots: u8) -> Result<()> {
        call(|| Ok(self.core.vote(&project, &idea, dots)?))
    }

    /// Ideas ranked by dots.
    pub fn idea_ranking(&self, project: ProjectId) -> Result<Vec<IdeaRank>> {
        call(|| {
            Ok(self
                .core
                .idea_ranking(&project)?
                .into_iter()
                .map(|insikt_core::IdeaRank { id, title, dots }| IdeaRank { id, title, dots })
                .collect())
        })
    }
}
