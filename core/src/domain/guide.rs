//! Interview guides: open questions grouped by phase.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::i18n::{labelled_enum, Lang};
use crate::ids::{GuideId, QuestionId};
use crate::time::Timestamp;

labelled_enum! {
    /// When a question is used.
    GuidePhase {
        Before = "before", "Före", "Before";
        InField = "in-field", "I fält", "In the field";
        After = "after", "Efter", "Afterwards";
    }
}

/// One open question.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct GuideQuestion {
    pub id: QuestionId,
    pub phase: GuidePhase,
    pub text: String,
    /// Position within the phase.
    pub order: u32,
}

/// An interview guide.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Guide {
    pub id: GuideId,
    pub title: String,
    pub created_at: Timestamp,
    pub questions: Vec<GuideQuestion>,
}

impl Guide {
    /// The built-in starting guide, in the project's language.
    pub fn template(lang: Lang, now: Timestamp) -> Guide {
        let rows: &[(GuidePhase, &str, &str)] = &[
            (
                GuidePhase::Before,
                "Berätta om en vanlig dag för dig.",
                "Tell me about an ordinary day for you.",
            ),
            (
                GuidePhase::Before,
                "Hur kom du i kontakt med socialtjänsten första gången?",
                "How did you first come into contact with social services?",
            ),
            (
                GuidePhase::InField,
                "Berätta om senaste gången du träffade din handläggare. Vad hände?",
                "Tell me about the last time you met your social worker. What happened?",
            ),
            (
                GuidePhase::InField,
                "Vad var svårt? Vad var bra?",
                "What was hard? What was good?",
            ),
            (
                GuidePhase::InField,
                "Vem pratar du med när något känns jobbigt?",
                "Who do you talk to when something feels hard?",
            ),
            (
                GuidePhase::InField,
                "Om du fick bestämma, vad skulle vara annorlunda?",
                "If you were in charge, what would be different?",
            ),
            (
                GuidePhase::After,
                "Är det något mer du vill berätta?",
                "Is there anything else you would like to tell me?",
            ),
            (
                GuidePhase::After,
                "Hur vill du få veta vad som händer med det du berättat?",
                "How would you like to hear what happens with what you told us?",
            ),
        ];
        let questions = rows
            .iter()
            .enumerate()
            .map(|(i, (phase, sv, en))| GuideQuestion {
                id: QuestionId::new(),
                phase: *phase,
                text: match lang {
                    Lang::Sv => (*sv).to_string(),
                    Lang::En => (*en).to_string(),
                },
                order: i as u32,
            })
            .collect();
        Guide {
            id: GuideId::new(),
            title: match lang {
                Lang::Sv => "Intervjuguide".into(),
                Lang::En => "Interview guide".into(),
            },
            created_at: now,
            questions,
        }
    }
}
