//! Frame and Realise: the project, its team, its canvas and steps.

use super::docs::DocKey;
use super::{index, Store};
use crate::domain::{
    ChallengeCanvas, Decision, Guide, GuidePhase, GuideQuestion, Member, MemberRole, Persona,
    ProjectDoc, Prose, SamplePlan, Stakeholder, Step, StepState, StepStatus,
};
use crate::error::{Error, Result};
use crate::i18n::Lang;
use crate::ids::{
    DecisionId, GuideId, IdeaId, MemberId, PersonaId, ProjectId, QuestionId, StakeholderId,
};
use crate::time::Timestamp;
use std::collections::BTreeMap;

const TEAM: &[MemberRole] = &[
    MemberRole::Coordinator,
    MemberRole::Researcher,
    MemberRole::Reviewer,
];
const COORDINATOR: &[MemberRole] = &[MemberRole::Coordinator];

fn check_text(s: &str, max: usize, rule: &'static str) -> Result<()> {
    if s.trim().is_empty() || s.chars().count() > max {
        Err(Error::InvalidInput(rule))
    } else {
        Ok(())
    }
}

impl Store {
    /// Creates a project; this device's member becomes its coordinator.
    pub fn create_project(
        &self,
        name: &str,
        lang: Lang,
        my_display_name: &str,
    ) -> Result<ProjectId> {
        check_text(name, 200, "a project name is 1-200 characters")?;
        check_text(my_display_name, 100, "a display name is 1-100 characters")?;
        let id = ProjectId::new();
        let now = Timestamp::now();
        let mut doc = ProjectDoc::new(id.clone(), name.trim().to_string(), lang, now);
        let me = Member {
            id: self.me().clone(),
            display_name: my_display_name.trim().to_string(),
            role: MemberRole::Coordinator,
            joined_at: now,
            revoked_at: None,
            actors: BTreeMap::from([(self.actor_hex().to_string(), true)]),
        };
        doc.members.insert(me.id.to_string(), me);
        let key = DocKey::Project(id.clone());
        let my = self.me().as_str().to_string();
        self.create_doc(&key, &id, &doc, |tx, d| index::reindex(tx, &key, d, &my))?;
        Ok(id)
    }

    /// The whole project document.
    ///
    /// The team, the retention period and the erasures are shown as this device acts
    /// on them: what a coordinator (or the hub) wrote (see `policy::team`); a role,
    /// revocation, period or erasure anyone else wrote into the document is not.
    pub fn project(&self, project: &ProjectId) -> Result<ProjectDoc> {
        self.my_role(project)?;
        self.inspect(&DocKey::Project(project.clone()), |doc| {
            let mut p: ProjectDoc = crate::domain::read::hydrate(doc)?;
            let team = crate::policy::team::Team::read(doc);
            p.members.retain(|id, m| match team.members.get(id) {
                Some(t) => match t.role {
                    Some(role) => {
                        m.role = role;
                        if t.active {
                            m.revoked_at = None;
                        } else if m.revoked_at.is_none() {
                            m.revoked_at = Some(m.joined_at);
                        }
                        true
                    }
                    None => false,
                },
                None => false,
            });
            p.retention_days = team.retention(doc).unwrap_or(None);
            let erasures = team.erasures(doc);
            p.erasures.retain(|key, _| erasures.contains_key(key));
            Ok(p)
        })
    }

    /// Changes the project document through `f`, as one change.
    pub(crate) fn modify_project<R>(
        &self,
        project: &ProjectId,
        allowed: &[MemberRole],
        what: &'static str,
        f: impl FnOnce(&mut ProjectDoc) -> Result<R>,
    ) -> Result<R> {
        self.require_role(project, allowed, what)?;
        let key = DocKey::Project(project.clone());
        let my = self.me().as_str().to_string();
        self.write(
            &key,
            project,
            |doc| {
                let mut p: ProjectDoc = crate::domain::read::hydrate(doc)?;
                let r = f(&mut p)?;
                autosurgeon::reconcile(doc, &p)?;
                Ok(r)
            },
            |tx, doc, _| index::reindex(tx, &key, doc, &my),
        )
    }

    /// Fills in the *Ringa in* challenge canvas; `None` leaves a field as it is.
    pub fn set_canvas(
        &self,
        project: &ProjectId,
        purpose: Option<&str>,
        for_whom: Option<&str>,
        doing_what: Option<&str>,
        how: Option<&str>,
    ) -> Result<()> {
        self.modify_project(project, TEAM, "editing the canvas", |p| {
            let c: &mut ChallengeCanvas = &mut p.canvas;
            for (field, value) in [
                (&mut c.purpose, purpose),
                (&mut c.for_whom, for_whom),
                (&mut c.doing_what, doing_what),
                (&mut c.how, how),
            ] {
                if let Some(v) = value {
                    field.update(v);
                }
            }
            Ok(())
        })
    }

    /// Sets how far a step has come.
    pub fn set_step_status(
        &self,
        project: &ProjectId,
        step: Step,
        status: StepStatus,
    ) -> Result<()> {
        self.modify_project(project, TEAM, "changing a step", |p| {
            let state = StepState {
                status,
                updated_at: Timestamp::now(),
            };
            p.steps.insert(step.as_key().to_string(), state);
            Ok(())
        })
    }

    /// Adds a stakeholder to the stakeholder map; `ring` 1 is the core.
    pub fn add_stakeholder(
        &self,
        project: &ProjectId,
        name: &str,
        ring: u8,
        note: &str,
    ) -> Result<StakeholderId> {
        check_text(name, 200, "a stakeholder name is 1-200 characters")?;
        if !(1..=3).contains(&ring) {
            return Err(Error::InvalidInput("a stakeholder ring is 1, 2 or 3"));
        }
        self.modify_project(project, TEAM, "editing the stakeholder map", |p| {
            let id = StakeholderId::new();
            let s = Stakeholder {
                id: id.clone(),
                name: name.trim().into(),
                ring,
                note: note.into(),
            };
            p.stakeholders.insert(id.to_string(), s);
            Ok(id)
        })
    }

    /// Adds a member to the team (the coordinator enrols devices later).
    pub fn add_member(
        &self,
        project: &ProjectId,
        display_name: &str,
        role: MemberRole,
    ) -> Result<MemberId> {
        self.add_member_with_id(project, MemberId::new(), display_name, role)
    }

    /// Adds a member with a known id (a device that already has its own identity).
    pub fn add_member_with_id(
        &self,
        project: &ProjectId,
        id: MemberId,
        display_name: &str,
        role: MemberRole,
    ) -> Result<MemberId> {
        check_text(display_name, 100, "a display name is 1-100 characters")?;
        self.modify_project(project, COORDINATOR, "adding members", |p| {
            let m = Member {
                id: id.clone(),
                display_name: display_name.trim().into(),
                role,
                joined_at: Timestamp::now(),
                revoked_at: None,
                actors: BTreeMap::new(),
            };
            p.members.insert(id.to_string(), m);
            Ok(id)
        })
    }

    /// Revokes a member: their device is refused from now on.
    pub fn revoke_member(&self, project: &ProjectId, member: &MemberId) -> Result<()> {
        self.modify_project(project, COORDINATOR, "revoking members", |p| {
            let m = p
                .members
                .get_mut(member.as_str())
                .ok_or_else(|| Error::not_found(MemberId::WHAT, member))?;
            m.revoked_at.get_or_insert(Timestamp::now());
            Ok(())
        })
    }

    /// Adds an interview guide from (phase, question) pairs.
    pub fn add_guide(
        &self,
        project: &ProjectId,
        title: &str,
        questions: &[(GuidePhase, String)],
    ) -> Result<GuideId> {
        check_text(title, 200, "a guide title is 1-200 characters")?;
        for (_, q) in questions {
            check_text(q, 1000, "a question is 1-1000 characters")?;
        }
        self.modify_project(project, TEAM, "editing guides", |p| {
            let guide = Guide {
                id: GuideId::new(),
                title: title.trim().into(),
                created_at: Timestamp::now(),
                questions: questions
                    .iter()
                    .enumerate()
                    .map(|(i, (phase, text))| GuideQuestion {
                        id: QuestionId::new(),
                        phase: *phase,
                        text: text.trim().into(),
                        order: i as u32,
                    })
                    .collect(),
            };
            let id = guide.id.clone();
            p.guides.insert(id.to_string(), guide);
            Ok(id)
        })
    }

    /// Adds the built-in interview guide in the project's language.
    pub fn add_template_guide(&self, project: &ProjectId) -> Result<GuideId> {
        self.modify_project(project, TEAM, "editing guides", |p| {
            let guide = Guide::template(p.language(), Timestamp::now());
            let id = guide.id.clone();
            p.guides.insert(id.to_string(), guide);
            Ok(id)
        })
    }

    /// Sets the sample plan.
    pub fn set_sample_plan(
        &self,
        project: &ProjectId,
        target_min: u32,
        target_max: u32,
        spread: &str,
    ) -> Result<()> {
        if target_min == 0 || target_min > target_max {
            return Err(Error::InvalidInput(
                "the sample target is a range like 15-30",
            ));
        }
        self.modify_project(project, TEAM, "editing the sample plan", |p| {
            let plan = SamplePlan {
                target_min,
                target_max,
                spread: Prose::new(spread),
                saturation_reached: false,
            };
            p.sample_plan = Some(plan);
            Ok(())
        })
    }

    /// Adds a persona card.
    pub fn add_persona(&self, project: &ProjectId, persona: Persona) -> Result<PersonaId> {
        check_text(&persona.name, 100, "a persona name is 1-100 characters")?;
        self.modify_project(project, TEAM, "editing personas", |p| {
            let id = PersonaId::new();
            p.personas.insert(
                id.to_string(),
                Persona {
                    id: id.clone(),
                    ..persona
                },
            );
            Ok(id)
        })
    }

    /// Records a decision in the Realise step.
    pub fn add_decision(
        &self,
        project: &ProjectId,
        idea: Option<&IdeaId>,
        text: &str,
        decided_by: &str,
        follow_up: &str,
    ) -> Result<DecisionId> {
        check_text(text, 5000, "a decision is 1-5000 characters")?;
        self.modify_project(project, TEAM, "recording decisions", |p| {
            if let Some(i) = idea {
                if !p.ideas.contains_key(i.as_str()) {
                    return Err(Error::not_found(IdeaId::WHAT, i));
                }
            }
            let d = Decision {
                id: DecisionId::new(),
                idea_id: idea.cloned(),
                text: Prose::new(text),
                decided_by: decided_by.into(),
                follow_up: Prose::new(follow_up),
                decided_at: Timestamp::now(),
            };
            let id = d.id.clone();
            p.decisions.insert(id.to_string(), d);
            Ok(id)
        })
    }
}
