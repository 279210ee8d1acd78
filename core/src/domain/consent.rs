//! Consent is data: per participant and per purpose, given by whom, when, under which
//! version of the information, and withdrawable.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::i18n::labelled_enum;
use crate::ids::{ConsentId, MemberId};
use crate::time::Timestamp;

labelled_enum! {
    /// What a consent covers.
    ConsentScope {
        /// Notes from what the participant said or did.
        Notes = "notes", "Anteckningar", "Notes";
        /// Quotes shown in reports and presentations.
        QuotesInReports = "quotes", "Citat i rapporter", "Quotes in reports";
        /// Photos in which the participant appears or that they made.
        Photos = "photos", "Foton", "Photos";
        /// Audio recordings.
        Audio = "audio", "Ljudinspelning", "Audio";
    }
}

labelled_enum! {
    /// Who gave (or withdrew) consent.
    GivenBy {
        /// The participant themself.
        Participant = "participant", "Deltagaren själv", "The participant";
        /// A guardian (vårdnadshavare), for a child.
        Guardian = "guardian", "Vårdnadshavare", "A guardian";
    }
}

/// One consent record: a grant for one scope, possibly withdrawn later. Records are
/// never edited away; a withdrawal is written into the record so the history of what
/// was allowed when stays visible.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct ConsentRecord {
    pub id: ConsentId,
    pub scope: ConsentScope,
    pub given_by: GivenBy,
    pub given_at: Timestamp,
    /// Which version of the information the participant was given, e.g. "2026-09".
    pub information_version: String,
    /// The team member who recorded it.
    pub recorded_by: MemberId,
    pub withdrawn_at: Option<Timestamp>,
    pub withdrawn_by: Option<GivenBy>,
}

/// Whether a scope is covered right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsentState {
    /// Never asked, or nothing recorded.
    NotGiven,
    /// Given and not withdrawn.
    Given,
    /// Given once, withdrawn since.
    Withdrawn,
}

impl ConsentRecord {
    /// Whether this record covers its scope now.
    pub fn is_active(&self) -> bool {
        self.withdrawn_at.is_none()
    }
}

/// The state of one scope given all records. A scope is covered when any grant for it
/// is active: withdrawing withdraws every grant for that scope, so a later grant is a
/// fresh, explicit decision.
pub fn state_of(records: &[&ConsentRecord], scope: ConsentScope) -> ConsentState {
    let mut seen = false;
    for r in records.iter().filter(|r| r.scope == scope) {
        if r.is_active() {
            return ConsentState::Given;
        }
        seen = true;
    }
    if seen {
        ConsentState::Withdrawn
    } else {
        ConsentState::NotGiven
    }
}
