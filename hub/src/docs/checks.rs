//! The write policy on the hub: every sync message a device sends is applied, then
//! judged by what its new changes touch (`insikt_core::policy`) and whether the
//! document still reads as its type; a change that fails is dropped with the whole
//! message, and that document is refused to that device — the rest of its
//! connection goes on.

use insikt_core::policy::team::hub_actor;
use insikt_core::policy::{self, schema, DocKind, Refusal, Touch, Who, Writer};
use insikt_core::sync::DocumentId;

use super::{DocMeta, HubDocuments};
use crate::auth::{Device, Role};

impl HubDocuments {
    /// The writer a device is for a document of `meta`'s project.
    pub(crate) fn writer(&mut self, device: &Device, meta: &DocMeta) -> Writer {
        match device.role {
            Role::Participant => Writer::Participant,
            Role::Coach => Writer::Coach,
            _ => match self.team_role(device, &meta.project) {
                Some(role) => Writer::from(role),
                // Not on the team: reads the project at most, writes nothing.
                None => Writer::Coach,
            },
        }
    }

    /// Whether the changes applied to `doc` since `before` by `device` may stay.
    pub(crate) fn judge(
        &mut self,
        device: &Device,
        doc: &DocumentId,
        meta: &DocMeta,
        before: &[automerge::ChangeHash],
    ) -> Result<(), Refusal> {
        let key: insikt_core::DocKey = meta.name.parse().map_err(|_| Refusal("not a document"))?;
        let kind = DocKind::of(&key);
        let writer = self.writer(device, meta);
        let member = device.member.clone();
        let who = Who {
            writer,
            member: member.as_deref(),
        };
        let touches = {
            let loaded = self
                .load(doc)
                .map_err(|_| Refusal("the document could not be read"))?;
            policy::touched(loaded, before).map_err(|_| Refusal("a change could not be read"))?
        };
        forged_hub(&touches)?;
        policy::check(kind, &who, &touches)?;
        self.check_authors(kind, &meta.project, &who, &touches)?;
        let loaded = self
            .load(doc)
            .map_err(|_| Refusal("the document could not be read"))?;
        schema::check_touched(kind, &*loaded, &touches)
            .map_err(|_| Refusal("the document would no longer read as its type"))
    }

    /// A change written by a registered device of another member is judged by that
    /// member's role too: a coordinator's device passing on what a reviewer wrote
    /// does not make it a coordinator's change. And what only a coordinator writes
    /// must come from a device every replica can tell is a coordinator's (see
    /// `policy::team`): the hub takes no team change, retention or erasure that the
    /// devices would then not believe.
    fn check_authors(
        &mut self,
        kind: DocKind,
        project: &str,
        who: &Who<'_>,
        touches: &[Touch],
    ) -> Result<(), Refusal> {
        let Some(team) = self.team(project) else {
            return Ok(());
        };
        for t in touches {
            if coordinators_only(kind, &t.path) && !team.trusts(&t.actor) {
                return Err(Refusal(
                    "a coordinator's change must come from a coordinator's registered device",
                ));
            }
            let Some(author) = team.member_of_actor(&t.actor) else {
                continue;
            };
            if who.member == Some(author) {
                continue;
            }
            let writer = team.role_of(author).map_or(Writer::Coach, Writer::from);
            let by = Who {
                writer,
                member: Some(author),
            };
            policy::may_write(kind, &by, &t.path)?;
        }
        Ok(())
    }

    /// Whether a document new to the hub may be kept: its kind created by this
    /// writer, read as its type, and (for a young person's phone creating their own
    /// inbox) nothing in it but what the phone may write.
    pub(crate) fn judge_new(
        &mut self,
        device: &Device,
        doc: &mut automerge::AutoCommit,
        meta: &DocMeta,
    ) -> Result<(), Refusal> {
        let key: insikt_core::DocKey = meta.name.parse().map_err(|_| Refusal("not a document"))?;
        let kind = DocKind::of(&key);
        let writer = match kind {
            // A project new to the hub has no team here yet: its creator brings it, a
            // coordinator's device whose member is the new team's coordinator.
            DocKind::Project => {
                let team = insikt_core::policy::team::Team::read(&*doc);
                let mine = device.member.as_deref().and_then(|m| team.role_of(m));
                match (device.role, mine) {
                    (Role::Coordinator, Some(insikt_core::domain::MemberRole::Coordinator)) => {
                        Writer::Coordinator
                    }
                    _ => Writer::Coach,
                }
            }
            _ => self.writer(device, meta),
        };
        let creates = match kind {
            DocKind::Project => matches!(writer, Writer::Coordinator),
            DocKind::Participant | DocKind::Session | DocKind::Material => {
                matches!(writer, Writer::Coordinator | Writer::Researcher)
            }
            DocKind::Inbox => matches!(
                writer,
                Writer::Coordinator | Writer::Researcher | Writer::Participant
            ),
        };
        if !creates {
            return Err(Refusal("this role does not create this kind of document"));
        }
        let touches =
            policy::touched(doc, &[]).map_err(|_| Refusal("a change could not be read"))?;
        forged_hub(&touches)?;
        if kind == DocKind::Project {
            // The new team, as every replica will read it.
            let team = insikt_core::policy::team::Team::read(&*doc);
            if touches
                .iter()
                .any(|t| coordinators_only(kind, &t.path) && !team.trusts(&t.actor))
            {
                return Err(Refusal(
                    "a coordinator's change must come from a coordinator's registered device",
                ));
            }
        }
        if writer == Writer::Participant {
            // The skeleton every device writes alike (see `DocCache::insert_with_root`)
            // is the inbox's creation; anything else must be the phone's to write.
            let skeleton = automerge::ActorId::from(meta.name.clone().into_bytes());
            let member = device.member.clone();
            let who = Who {
                writer,
                member: member.as_deref(),
            };
            for t in touches.iter().filter(|t| t.actor != skeleton) {
                policy::may_write(kind, &who, &t.path)?;
            }
        }
        schema::check_whole(kind, &*doc)
            .map_err(|_| Refusal("the document does not read as its type"))
    }
}

/// Whether only coordinators (and the hub) may write `path`.
fn coordinators_only(kind: DocKind, path: &[insikt_core::policy::Segment]) -> bool {
    let as_ = |writer| Who {
        writer,
        member: None,
    };
    policy::may_write(kind, &as_(Writer::Researcher), path).is_err()
        && policy::may_write(kind, &as_(Writer::Coordinator), path).is_ok()
}

/// Only the hub writes as the hub.
fn forged_hub(touches: &[Touch]) -> Result<(), Refusal> {
    let hub = hub_actor();
    if touches.iter().any(|t| t.actor == hub) {
        return Err(Refusal("only the hub writes as the hub"));
    }
    Ok(())
}
