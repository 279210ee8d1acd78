//! Sessions of every field method: interviews, observations, diaries, user journeys,
//! empathy maps.

use insikt_core::domain as core;
use insikt_core::ids::{GuideId, MemberId, ParticipantId, ProjectId, SessionId};
use insikt_core::Timestamp;

use crate::call::call;
use crate::error::Result;
use crate::mirror::mirror_enum;
use crate::store::Store;

mirror_enum! {
    /// The field methods of the Investigate step.
    SessionKind = core::SessionKind {
        Interview,
        Observation,
        /// Self-documentation by participants over days or weeks.
        Diary,
        UserJourney,
        EmpathyMap,
    }
}

/// What to record when a session starts.
#[derive(Clone, Debug, uniffi::Record)]
pub struct NewSession {
    pub kind: SessionKind,
    pub title: String,
    /// Who takes part; each needs consent to notes before notes are about them.
    #[uniffi(default = [])]
    pub participants: Vec<ParticipantId>,
    /// A place label ("Fritidsgården"), never coordinates.
    #[uniffi(default = None)]
    pub place: Option<String>,
    #[uniffi(default = None)]
    pub guide: Option<GuideId>,
    /// When it started; now when not given.
    #[uniffi(default = None)]
    pub started_at: Option<Timestamp>,
}

impl From<NewSession> for insikt_core::NewSession {
    fn from(v: NewSession) -> Self {
        let NewSession {
            kind,
            title,
            participants,
            place,
            guide,
            started_at,
        } = v;
        insikt_core::NewSession {
            kind: kind.into(),
            title,
            participants,
            place,
            guide,
            started_at,
        }
    }
}

/// A session in a list.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
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

impl From<insikt_core::SessionView> for SessionView {
    fn from(v: insikt_core::SessionView) -> Self {
        let insikt_core::SessionView {
            id,
            project,
            kind,
            title,
            ran_by,
            started_at,
            ended_at,
            place,
            participants,
            notes,
        } = v;
        SessionView {
            id,
            project,
            kind: kind.into(),
            title,
            ran_by,
            started_at,
            ended_at,
            place,
            participants,
            notes,
        }
    }
}

#[uniffi::export]
impl Store {
    /// Starts a session of any field method.
    pub fn start_session(&self, project: ProjectId, session: NewSession) -> Result<SessionId> {
        call(|| Ok(self.core.start_session(&project, session.into())?))
    }

    /// Loads a session's documents ahead of capture: call it when the session opens
    /// on screen, so that the first note typed does not wait for a load.
    pub fn open_session(&self, session: SessionId) -> Result<()> {
        call(|| Ok(self.core.open_session(&session)?))
    }

    /// Ends a session.
    pub fn end_session(&self, session: SessionId) -> Result<()> {
        call(|| Ok(self.core.end_session(&session)?))
    }

    /// The sessions of a project, from the index (fast for hundreds).
    pub fn sessions(&self, project: ProjectId) -> Result<Vec<SessionView>> {
        call(|| {
            Ok(self
                .core
                .sessions(&project)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }
}
