//! Participants, known by pseudonymous codes, and their consent per scope.

use insikt_core::domain as core;
use insikt_core::ids::{ConsentId, ParticipantId, ProjectId};

use crate::call::call;
use crate::error::Result;
use crate::mirror::mirror_enum;
use crate::store::Store;

mirror_enum! {
    /// A participant's relation to the service.
    ParticipantRole = core::ParticipantRole { Child, YoungPerson, Guardian, Staff, Other }
}

mirror_enum! {
    /// An age band, coarse enough not to identify anyone.
    AgeBand = core::AgeBand {
        Under6, From6To9, From10To12, From13To15, From16To17, From18To24, Adult, Unknown
    }
}

mirror_enum! {
    /// What a consent covers.
    ConsentScope = core::ConsentScope {
        /// Notes from what the participant said or did.
        Notes,
        /// Quotes shown in reports and presentations.
        QuotesInReports,
        /// Photos in which the participant appears or that they made.
        Photos,
        /// Audio recordings.
        Audio,
    }
}

mirror_enum! {
    /// Who gave (or withdrew) consent.
    GivenBy = core::GivenBy {
        /// The participant themself (a child's own assent counts).
        Participant,
        /// A guardian (vårdnadshavare).
        Guardian,
    }
}

mirror_enum! {
    /// Whether a scope is covered right now.
    ConsentState = core::ConsentState { NotGiven, Given, Withdrawn }
}

impl ConsentScope {
    /// The scope named by core's stable key, as core's errors carry it.
    pub(crate) fn from_key(key: &str) -> Option<ConsentScope> {
        core::ConsentScope::parse(key).map(Into::into)
    }
}

/// The consent state of one scope.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ConsentStatus {
    pub scope: ConsentScope,
    pub state: ConsentState,
}

/// A participant in a list: a code, a role, an age band, consent per scope.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ParticipantView {
    pub id: ParticipantId,
    /// The pseudonymous code, such as `P-07`.
    pub code: String,
    pub role: ParticipantRole,
    pub age_band: AgeBand,
    pub consents: Vec<ConsentStatus>,
}

impl From<insikt_core::ParticipantView> for ParticipantView {
    fn from(v: insikt_core::ParticipantView) -> Self {
        let insikt_core::ParticipantView {
            id,
            code,
            role,
            age_band,
            consents,
        } = v;
        ParticipantView {
            id,
            code: code.as_str().to_string(),
            role: role.into(),
            age_band: age_band.into(),
            consents: consents
                .into_iter()
                .map(|c| ConsentStatus {
                    scope: c.scope.into(),
                    state: c.state.into(),
                })
                .collect(),
        }
    }
}

#[uniffi::export]
impl Store {
    /// Adds a participant by pseudonymous code (letters, digits and dashes with at
    /// least one digit, such as `P-07`; never a name). Codes are unique in a project.
    pub fn add_participant(
        &self,
        project: ProjectId,
        code: String,
        role: ParticipantRole,
        age_band: AgeBand,
    ) -> Result<ParticipantId> {
        call(|| {
            Ok(self
                .core
                .add_participant(&project, &code, role.into(), age_band.into())?)
        })
    }

    /// The participants of a project with their consent.
    pub fn participants(&self, project: ProjectId) -> Result<Vec<ParticipantView>> {
        call(|| {
            Ok(self
                .core
                .participants(&project)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Records consent for one scope, given by the participant or a guardian under
    /// the named version of the information they were given (such as "2026-10").
    pub fn record_consent(
        &self,
        participant: ParticipantId,
        scope: ConsentScope,
        given_by: GivenBy,
        information_version: String,
    ) -> Result<ConsentId> {
        call(|| {
            Ok(self.core.record_consent(
                &participant,
                scope.into(),
                given_by.into(),
                &information_version,
            )?)
        })
    }

    /// Withdraws consent for `scope`, or for every scope when it is `null`/`nil`.
    /// Erasing what was captured under it is a separate step.
    pub fn withdraw_consent(
        &self,
        participant: ParticipantId,
        scope: Option<ConsentScope>,
        by: GivenBy,
    ) -> Result<()> {
        call(|| {
            Ok(self
                .core
                .withdraw_consent(&participant, scope.map(Into::into), by.into())?)
        })
    }
}
