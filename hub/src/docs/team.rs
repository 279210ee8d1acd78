//! Need to know: a project's material goes only to the devices of its team.
//!
//! A device is on a project's team when the member id its store writes under is an
//! active member in the project document, as `policy::team` reads it (a role only a
//! coordinator or the hub set). It gets there by enrolling with an invite for the
//! project (the hub writes it into the team when it first connects) or by a
//! coordinator adding its member. The project document itself stays readable to every
//! team device of the organisations the project is open to, as to coaches: it holds
//! no raw material, and a device that is not on the team yet sees which projects
//! exist. Participants, sessions, material and inboxes, and the blobs they reference,
//! go to the team only.

use automerge::transaction::Transactable;
use automerge::AutoCommit;
use insikt_core::domain::{Member, MemberRole};
use insikt_core::policy::team::{hub_actor, Team};
use insikt_core::sync::{Access, DocumentId};
use insikt_core::{DocKey, Timestamp};
use rusqlite::params;
use std::collections::BTreeMap;

use super::{DocMeta, HubDocuments};
use crate::auth::{Device, Role};
use crate::error::{HubError, Result};

/// The narrower of a device's enrolled role and its role on a project's team.
fn narrower(device: Role, member: MemberRole) -> Option<MemberRole> {
    let rank = |r: MemberRole| match r {
        MemberRole::Coordinator => Some(3),
        MemberRole::Researcher => Some(2),
        MemberRole::Reviewer => Some(1),
        MemberRole::Participant => None,
    };
    let enrolled = match device {
        Role::Coordinator => MemberRole::Coordinator,
        Role::Researcher => MemberRole::Researcher,
        Role::Reviewer => MemberRole::Reviewer,
        Role::Participant | Role::Coach => return None,
    };
    match (rank(enrolled)?, rank(member)?) {
        (a, b) if a <= b => Some(enrolled),
        _ => Some(member),
    }
}

impl HubDocuments {
    /// The team of a project as the hub holds its document (read once per change).
    pub(crate) fn team(&mut self, project: &str) -> Option<&Team> {
        if !self.teams.contains_key(project) {
            let key = DocKey::Project(project.parse().ok()?);
            let id = self.current_id(&key);
            self.meta(&id)?;
            let doc = self.load(&id).ok()?;
            let team = Team::read(&*doc);
            self.teams.insert(project.to_string(), team);
        }
        self.teams.get(project)
    }

    /// The device's role on a project's team, when it is on it: its member's role,
    /// never more than the role it enrolled with.
    pub(crate) fn team_role(&mut self, device: &Device, project: &str) -> Option<MemberRole> {
        let member = device.member.clone()?;
        let role = self.team(project)?.role_of(&member)?;
        narrower(device.role, role)
    }

    /// What a team device (coordinator, researcher, reviewer) may do with a recorded
    /// document of a project open to its organisation.
    pub(crate) fn team_access(&mut self, device: &Device, meta: &DocMeta) -> Access {
        match (self.team_role(device, &meta.project), meta.kind) {
            (Some(_), "project") => Access::ReadWrite,
            (Some(MemberRole::Coordinator | MemberRole::Researcher), _) => Access::ReadWrite,
            (Some(_), _) => Access::Read,
            // Not on the team: the project's existence and progress, nothing more.
            (None, "project") => Access::Read,
            (None, _) => Access::None,
        }
    }

    /// Whether `device` may read the document `doc`: the check the blob handlers
    /// use for the documents that reference a blob.
    pub fn may_read(&mut self, device: &Device, doc: &DocumentId) -> bool {
        if device.revoked || self.tombstones.contains(doc) {
            return false;
        }
        match self.meta(doc) {
            Some(meta) => self.access_recorded(device, &meta) != Access::None,
            None => false,
        }
    }

    /// The projects whose team `device` is on.
    pub fn memberships(&mut self, device: &Device) -> Result<Vec<String>> {
        if device.revoked || matches!(device.role, Role::Participant | Role::Coach) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for project in self.projects_open_to(&device.org)? {
            if self.team_role(device, &project).is_some() {
                out.push(project);
            }
        }
        Ok(out)
    }

    fn projects_open_to(&self, org: &str) -> Result<Vec<String>> {
        let mut stmt = self.db.prepare(
            "SELECT p.id FROM projects p WHERE p.org = ?1 OR (p.cross_org = 1 AND EXISTS
                (SELECT 1 FROM project_orgs o WHERE o.project = p.id AND o.org = ?1))
             ORDER BY p.id",
        )?;
        let rows = stmt.query_map([org], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A device connecting: the hub writes it into the team of the project it was
    /// invited to (once), and registers its actor with its member on every team the
    /// member is on, so every replica can tell its changes. Failures are logged; the
    /// connection goes on.
    pub(crate) fn welcome(&mut self, device: &Device) {
        if let Err(e) = self.try_welcome(device) {
            eprintln!("insikt-hub: could not write a device into its team: {e}");
        }
    }

    fn try_welcome(&mut self, device: &Device) -> Result<()> {
        let (Some(member), false) = (device.member.clone(), device.revoked) else {
            return Ok(());
        };
        if matches!(device.role, Role::Participant | Role::Coach) {
            return Ok(());
        }
        let pending: Vec<(String, String)> = {
            let mut stmt = self
                .db
                .prepare("SELECT project, role FROM pending_members WHERE device = ?1")?;
            let rows = stmt.query_map([&device.id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for (project, role) in pending {
            let role = MemberRole::parse(&role).ok_or(HubError::Invalid("role"))?;
            if self.project_open_to(&project, device) && self.team(&project).is_some() {
                let known = self
                    .team(&project)
                    .is_some_and(|t| t.members.contains_key(&member));
                if !known {
                    let entry = Member {
                        id: member.clone().into(),
                        display_name: device.label.clone(),
                        role,
                        joined_at: Timestamp::now(),
                        revoked_at: None,
                        actors: device
                            .actor
                            .iter()
                            .map(|a| (a.clone(), true))
                            .collect::<BTreeMap<_, _>>(),
                    };
                    self.write_project(&project, |doc| {
                        let members = members_map(doc)?;
                        autosurgeon::reconcile_prop(doc, &members, member.as_str(), &entry)
                            .map_err(insikt_core::Error::from)?;
                        Ok(())
                    })?;
                    crate::db::audit(&self.db, Some(&device.org), Some(&device.id), "join", "")?;
                }
            }
            self.db.execute(
                "DELETE FROM pending_members WHERE device = ?1 AND project = ?2",
                params![device.id, project],
            )?;
        }
        let Some(actor) = device.actor.clone() else {
            return Ok(());
        };
        for project in self.projects_open_to(&device.org)? {
            let needs = self
                .team(&project)
                .is_some_and(|t| t.role_of(&member).is_some() && !t.has_actor(&member, &actor));
            if needs {
                self.write_project(&project, |doc| {
                    let members = members_map(doc)?;
                    let Some((automerge::Value::Object(automerge::ObjType::Map), entry)) =
                        automerge::ReadDoc::get(doc, &members, member.as_str())?
                    else {
                        return Ok(());
                    };
                    let actors = match automerge::ReadDoc::get(doc, &entry, "actors")? {
                        Some((automerge::Value::Object(automerge::ObjType::Map), a)) => a,
                        _ => doc.put_object(&entry, "actors", automerge::ObjType::Map)?,
                    };
                    doc.put(&actors, actor.as_str(), true)?;
                    Ok(())
                })?;
            }
        }
        Ok(())
    }

    /// Changes a project document as the hub (its own actor), stores the change and
    /// has it sent to the devices connected.
    fn write_project(
        &mut self,
        project: &str,
        f: impl FnOnce(&mut AutoCommit) -> insikt_core::Result<()>,
    ) -> Result<()> {
        let key = DocKey::Project(project.parse().map_err(HubError::from)?);
        let id = self.current_id(&key);
        let meta = self.meta(&id).ok_or(HubError::NotFound("project"))?;
        let doc = self.load(&id)?;
        let mine = doc.get_actor().clone();
        doc.set_actor(hub_actor());
        let outcome = f(doc);
        doc.commit();
        doc.set_actor(mine);
        if let Err(e) = outcome {
            self.forget(&id);
            return Err(e.into());
        }
        let mut now = std::mem::take(self.load(&id)?);
        match self.store(&id, &mut now, &meta, false) {
            Ok(()) => {
                self.cache.insert(id, now);
                self.teams.remove(project);
                self.erased_now.push(id);
                Ok(())
            }
            Err(e) => {
                self.forget(&id);
                Err(e)
            }
        }
    }
}

/// The project's `members` map.
fn members_map(doc: &mut AutoCommit) -> insikt_core::Result<automerge::ObjId> {
    match automerge::ReadDoc::get(doc, automerge::ROOT, "members")? {
        Some((automerge::Value::Object(automerge::ObjType::Map), id)) => Ok(id),
        _ => Err(insikt_core::Error::Document("members".into())),
    }
}
