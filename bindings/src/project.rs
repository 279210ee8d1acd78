//! Projects and their team.

use insikt_core::domain as core;
use insikt_core::ids::{MemberId, ProjectId};
use insikt_core::Timestamp;

use crate::call::call;
use crate::error::Result;
use crate::mirror::mirror_enum;
use crate::store::Store;

mirror_enum! {
    /// A language for labels, templates and reports.
    Lang = insikt_core::Lang {
        /// Svenska.
        Sv,
        /// English.
        En,
    }
}

mirror_enum! {
    /// A team member's role, which decides what their device may read and do.
    MemberRole = core::MemberRole {
        /// Sets up the project, manages members, consent and erasure.
        Coordinator,
        /// Runs sessions in the field and captures material.
        Researcher,
        /// Reviews material and builds insights in workshops.
        Reviewer,
        /// A youth participant with their own device: their own inbox only.
        Participant,
    }
}

/// A project in a list, with counts for its card.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ProjectSummary {
    pub id: ProjectId,
    pub name: String,
    pub lang: Lang,
    pub created_at: Timestamp,
    /// This device's role, when it is on the team.
    pub my_role: Option<MemberRole>,
    pub participants: u32,
    pub sessions: u32,
    pub notes: u32,
    pub insights: u32,
    pub ideas: u32,
}

impl From<insikt_core::ProjectSummary> for ProjectSummary {
    fn from(v: insikt_core::ProjectSummary) -> Self {
        let insikt_core::ProjectSummary {
            id,
            name,
            lang,
            created_at,
            my_role,
            participants,
            sessions,
            notes,
            insights,
            ideas,
        } = v;
        ProjectSummary {
            id,
            name,
            // Core keeps the project's language as its stored key.
            lang: lang.parse::<insikt_core::Lang>().unwrap_or_default().into(),
            created_at,
            my_role: my_role.map(Into::into),
            participants,
            sessions,
            notes,
            insights,
            ideas,
        }
    }
}

#[uniffi::export]
impl Store {
    /// Creates a project; this device's member becomes its coordinator under
    /// `my_display_name`.
    pub fn create_project(
        &self,
        name: String,
        lang: Lang,
        my_display_name: String,
    ) -> Result<ProjectId> {
        call(|| {
            Ok(self
                .core
                .create_project(&name, lang.into(), &my_display_name)?)
        })
    }

    /// The projects on this device.
    pub fn projects(&self) -> Result<Vec<ProjectSummary>> {
        call(|| Ok(self.core.projects()?.into_iter().map(Into::into).collect()))
    }

    /// Adds another device's member (its `member_id()`) to the team with a role.
    /// Coordinators only.
    pub fn add_member(
        &self,
        project: ProjectId,
        member: MemberId,
        display_name: String,
        role: MemberRole,
    ) -> Result<()> {
        call(|| {
            self.core
                .add_member_with_id(&project, member, &display_name, role.into())?;
            Ok(())
        })
    }

    /// This device's role in `project`; `NotAllowed` when it is not on the team.
    pub fn my_role(&self, project: ProjectId) -> Result<MemberRole> {
        call(|| Ok(self.core.my_role(&project)?.into()))
    }
}
