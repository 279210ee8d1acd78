//! The project's team as every replica should believe it: a role, a revocation, a
//! retention period or an erasure counts only when someone allowed to write it did.
//!
//! Each automerge operation names its author's actor. A project document records,
//! for each member, the actors of that member's devices (`members/<id>/actors`):
//! the creator's at creation, a device invited into the project by the hub when it
//! joins, and the hub's for the devices it knows. The trusted actors are the
//! project's creator (the author of the project's `id`), the hub, and the actors of
//! the active coordinators — each link written by an actor already trusted. A value
//! written by anyone else is not believed: the reader steps back through the
//! document's history to the last value a trusted actor wrote.
//!
//! Through the hub this agrees with what the hub enforces on each connection. Over
//! a direct link between devices it stops a peer that writes as itself; automerge
//! changes are not signed, so a peer that forges another's actor id is not stopped
//! here (see `docs/sync.md`).

use automerge::{ActorId, ChangeHash, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::domain::MemberRole;

/// The actor the hub writes under (its member entries and device registrations).
pub fn hub_actor() -> ActorId {
    ActorId::from(b"insikt-hub".to_vec())
}

/// How far back the reader looks for a value a trusted actor wrote.
const MAX_STEPS_BACK: usize = 32;

/// One member as the trusted reading sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamMember {
    /// Their role, as a coordinator (or the hub) last set it; `None` when no trusted
    /// actor ever gave them one.
    pub role: Option<MemberRole>,
    /// Not revoked by a trusted actor.
    pub active: bool,
    /// The actors of their devices, as trusted actors registered them (hex).
    pub actors: BTreeSet<String>,
}

/// The team of a project document.
#[derive(Clone, Debug, Default)]
pub struct Team {
    pub members: BTreeMap<String, TeamMember>,
    trusted: HashSet<ActorId>,
    actor_members: BTreeMap<String, String>,
}

impl Team {
    /// Reads the team from a project document.
    pub fn read<D: ReadDoc + Heads>(doc: &D) -> Team {
        let mut trusted: HashSet<ActorId> = HashSet::from([hub_actor()]);
        if let Ok(Some((_, id))) = doc.get(ROOT, "id") {
            if let Some(a) = author(&id) {
                trusted.insert(a);
            }
        }
        let entries: Vec<(String, ObjId)> = match doc.get(ROOT, "members") {
            Ok(Some((Value::Object(ObjType::Map), map))) => doc
                .keys(&map)
                .filter_map(|k| match doc.get(&map, &k) {
                    Ok(Some((Value::Object(ObjType::Map), e))) => Some((k, e)),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        // Coordinators vouch for the actors registered to them; grow the trusted set
        // until it stops growing (a coordinator's entry may be written by another
        // coordinator's device).
        loop {
            let before = trusted.len();
            for (_, entry) in &entries {
                let member = read_member(doc, entry, &trusted);
                if member.active && member.role == Some(MemberRole::Coordinator) {
                    for a in &member.actors {
                        if let Ok(bytes) = hex::decode(a) {
                            trusted.insert(ActorId::from(bytes));
                        }
                    }
                }
            }
            if trusted.len() == before {
                break;
            }
        }
        let mut members = BTreeMap::new();
        let mut actor_members = BTreeMap::new();
        for (id, entry) in &entries {
            let member = read_member(doc, entry, &trusted);
            for a in &member.actors {
                actor_members.insert(a.clone(), id.clone());
            }
            members.insert(id.clone(), member);
        }
        Team {
            members,
            trusted,
            actor_members,
        }
    }

    /// The role of an active member, as trusted actors set it.
    pub fn role_of(&self, member: &str) -> Option<MemberRole> {
        self.members
            .get(member)
            .filter(|m| m.active)
            .and_then(|m| m.role)
    }

    /// Whether a change by `actor` is believed for what only coordinators write.
    pub fn trusts(&self, actor: &ActorId) -> bool {
        self.trusted.contains(actor)
    }

    /// The member whose device writes as `actor`, if one registered it.
    pub fn member_of_actor(&self, actor: &ActorId) -> Option<&str> {
        self.actor_members
            .get(&actor.to_hex_string())
            .map(String::as_str)
    }

    /// Whether `actor` is registered to `member`.
    pub fn has_actor(&self, member: &str, actor: &str) -> bool {
        self.members
            .get(member)
            .is_some_and(|m| m.actors.contains(actor))
    }

    /// The project's retention period as a coordinator set it, at least a day. A
    /// value of the wrong type is an error, not "no period".
    pub fn retention<D: ReadDoc + Heads>(&self, doc: &D) -> Result<Option<u32>, &'static str> {
        let Some(value) = trusted_scalar(doc, &ROOT, "retention_days", &self.trusted) else {
            return Ok(None);
        };
        let days = match value {
            ScalarValue::Null => return Ok(None),
            ScalarValue::Uint(u) => u32::try_from(u).ok(),
            ScalarValue::Int(i) => u32::try_from(i).ok(),
            ScalarValue::F64(f) if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) => {
                Some(f as u32)
            }
            _ => None,
        };
        match days {
            // Below a day is never a period: nothing is purged for it.
            Some(0) => Ok(None),
            Some(d) => Ok(Some(d)),
            None => Err("retention_days is not a number of days"),
        }
    }

    /// The erasures a coordinator recorded: by key, the documents each names (those
    /// added to an entry by anyone else are left out).
    pub fn erasures<D: ReadDoc + Heads>(&self, doc: &D) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        let Ok(Some((Value::Object(ObjType::Map), map))) = doc.get(ROOT, "erasures") else {
            return out;
        };
        for key in doc.keys(&map).collect::<Vec<_>>() {
            let Ok(Some((Value::Object(ObjType::Map), entry))) = doc.get(&map, &key) else {
                continue;
            };
            if !author(&entry).is_some_and(|a| self.trusts(&a)) {
                continue;
            }
            let Ok(Some((Value::Object(ObjType::List), list))) = doc.get(&entry, "documents")
            else {
                continue;
            };
            let mut names = Vec::new();
            for i in 0..doc.length(&list) {
                if let Ok(Some((v, id))) = doc.get(&list, i) {
                    if !author(&id).is_some_and(|a| self.trusts(&a)) {
                        continue;
                    }
                    if let Some(name) = as_text(doc, &v, &id) {
                        names.push(name);
                    }
                }
            }
            out.insert(key, names);
        }
        out
    }
}

/// One member entry, believing only what `trusted` actors wrote.
fn read_member<D: ReadDoc + Heads>(
    doc: &D,
    entry: &ObjId,
    trusted: &HashSet<ActorId>,
) -> TeamMember {
    let role = trusted_value(doc, entry, "role", trusted)
        .and_then(|(v, id)| as_text(doc, &v, &id))
        .and_then(|r| MemberRole::parse(&r));
    let active = match trusted_scalar(doc, entry, "revoked_at", trusted) {
        None | Some(ScalarValue::Null) => true,
        Some(_) => false,
    };
    let mut actors = BTreeSet::new();
    if let Ok(Some((Value::Object(ObjType::Map), map))) = doc.get(entry, "actors") {
        for a in doc.keys(&map).collect::<Vec<_>>() {
            let registered = doc
                .get(&map, &a)
                .ok()
                .flatten()
                .and_then(|(_, id)| author(&id))
                .is_some_and(|w| trusted.contains(&w));
            if registered {
                actors.insert(a);
            }
        }
    }
    TeamMember {
        role,
        active,
        actors,
    }
}

/// The actor that wrote the operation `id`.
fn author(id: &ObjId) -> Option<ActorId> {
    match id {
        ObjId::Id(_, actor, _) => Some(actor.clone()),
        ObjId::Root => None,
    }
}

fn as_text<D: ReadDoc>(doc: &D, v: &Value<'_>, id: &ObjId) -> Option<String> {
    match v {
        Value::Scalar(s) => s.as_str().map(str::to_string),
        Value::Object(ObjType::Text) => doc.text(id).ok(),
        Value::Object(_) => None,
    }
}

fn trusted_scalar<D: ReadDoc + Heads>(
    doc: &D,
    obj: &ObjId,
    prop: &str,
    trusted: &HashSet<ActorId>,
) -> Option<ScalarValue> {
    match trusted_value(doc, obj, prop, trusted)? {
        (Value::Scalar(s), _) => Some(s.into_owned()),
        _ => Some(ScalarValue::Str("not a scalar".into())),
    }
}

/// The value at `obj.prop` that a trusted actor wrote last: the current one, or —
/// when an untrusted actor wrote that — the one before that change, and so on.
fn trusted_value<'d, D: ReadDoc + Heads>(
    doc: &'d D,
    obj: &ObjId,
    prop: &str,
    trusted: &HashSet<ActorId>,
) -> Option<(Value<'d>, ObjId)> {
    let mut at: Option<Vec<ChangeHash>> = None;
    for _ in 0..MAX_STEPS_BACK {
        let got = match &at {
            None => doc.get(obj, prop).ok()?,
            Some(heads) => doc.get_at(obj, prop, heads).ok()?,
        };
        let (value, id) = got?;
        let ObjId::Id(counter, actor, _) = &id else {
            return None;
        };
        if trusted.contains(actor) {
            return Some((value, id));
        }
        at = Some(change_of(doc, actor, *counter)?.deps().to_vec());
    }
    None
}

/// The change holding the operation `counter@actor`, found by walking back from the
/// document's heads (a rare path: only for values an untrusted actor wrote).
fn change_of<D: ReadDoc + Heads>(
    doc: &D,
    actor: &ActorId,
    counter: u64,
) -> Option<automerge::Change> {
    let mut queue: Vec<ChangeHash> = doc.heads();
    let mut seen: HashSet<ChangeHash> = HashSet::new();
    while let Some(h) = queue.pop() {
        if !seen.insert(h) {
            continue;
        }
        let change = doc.get_change_by_hash(&h)?;
        if change.actor_id() == actor
            && change.start_op().get() <= counter
            && counter <= change.max_op()
        {
            return Some(change);
        }
        queue.extend_from_slice(change.deps());
    }
    None
}

/// Reading a document's heads, which `automerge::ReadDoc` does not offer.
pub trait Heads {
    fn heads(&self) -> Vec<ChangeHash>;
}

impl Heads for automerge::AutoCommit {
    fn heads(&self) -> Vec<ChangeHash> {
        automerge::transaction::Transactable::base_heads(self)
    }
}

impl Heads for automerge::Automerge {
    fn heads(&self) -> Vec<ChangeHash> {
        self.get_heads()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Member, ProjectDoc};
    use crate::ids::{MemberId, ProjectId};
    use crate::time::Timestamp;
    use automerge::transaction::Transactable;
    use automerge::AutoCommit;

    fn actor(name: &str) -> ActorId {
        ActorId::from(name.as_bytes().to_vec())
    }

    fn member(id: &str, role: MemberRole, actors: &[&ActorId]) -> Member {
        Member {
            id: MemberId::from(id.to_string()),
            display_name: id.into(),
            role,
            joined_at: Timestamp(1),
            revoked_at: None,
            actors: actors.iter().map(|a| (a.to_hex_string(), true)).collect(),
        }
    }

    /// Sara creates a project with herself as coordinator and Rita as reviewer;
    /// Rita's tablet is registered.
    fn project() -> AutoCommit {
        let mut doc = AutoCommit::new().with_actor(actor("sara"));
        let mut p = ProjectDoc::new(ProjectId::new(), "P".into(), crate::Lang::Sv, Timestamp(1));
        p.members.insert(
            "sara".into(),
            member("sara", MemberRole::Coordinator, &[&actor("sara")]),
        );
        p.members.insert(
            "rita".into(),
            member("rita", MemberRole::Reviewer, &[&actor("rita")]),
        );
        autosurgeon::reconcile(&mut doc, &p).unwrap();
        doc.commit();
        doc
    }

    fn as_(doc: &mut AutoCommit, who: &str, f: impl FnOnce(&mut AutoCommit)) {
        let mut fork = doc.fork().with_actor(actor(who));
        f(&mut fork);
        fork.commit();
        doc.merge(&mut fork).unwrap();
    }

    fn entry(doc: &AutoCommit, member: &str) -> ObjId {
        let members = doc.get(ROOT, "members").unwrap().unwrap().1;
        doc.get(&members, member).unwrap().unwrap().1
    }

    #[test]
    fn a_reviewer_demoting_the_coordinator_is_not_believed() {
        let mut doc = project();
        let sara = entry(&doc, "sara");
        as_(&mut doc, "rita", |d| {
            d.put(&sara, "role", "reviewer").unwrap()
        });
        let rita = entry(&doc, "rita");
        as_(&mut doc, "rita", |d| {
            d.put(&rita, "role", "coordinator").unwrap()
        });
        as_(&mut doc, "rita", |d| {
            d.put(&sara, "revoked_at", 5_i64).unwrap()
        });
        // What the plain reader sees…
        let plain: ProjectDoc = crate::domain::read::hydrate(&doc).unwrap();
        assert_eq!(plain.members["sara"].role, MemberRole::Reviewer);
        // …and what every replica believes.
        let team = Team::read(&doc);
        assert_eq!(team.role_of("sara"), Some(MemberRole::Coordinator));
        assert_eq!(team.role_of("rita"), Some(MemberRole::Reviewer));
        assert!(!team.trusts(&actor("rita")));
        assert!(team.trusts(&actor("sara")));
    }

    #[test]
    fn a_coordinators_changes_count_and_a_revocation_ends_membership() {
        let mut doc = project();
        let rita = entry(&doc, "rita");
        as_(&mut doc, "sara", |d| {
            d.put(&rita, "role", "researcher").unwrap()
        });
        assert_eq!(
            Team::read(&doc).role_of("rita"),
            Some(MemberRole::Researcher)
        );
        as_(&mut doc, "sara", |d| {
            d.put(&rita, "revoked_at", 9_i64).unwrap()
        });
        assert_eq!(Team::read(&doc).role_of("rita"), None);
        // A member someone untrusted invented is nobody.
        let members = doc.get(ROOT, "members").unwrap().unwrap().1;
        as_(&mut doc, "rita", |d| {
            let m = d.put_object(&members, "mallory", ObjType::Map).unwrap();
            d.put(&m, "role", "coordinator").unwrap();
        });
        assert_eq!(Team::read(&doc).role_of("mallory"), None);
    }

    #[test]
    fn retention_counts_when_a_coordinator_set_it_and_is_at_least_a_day() {
        let mut doc = project();
        let team = |d: &AutoCommit| Team::read(d).retention(d);
        as_(&mut doc, "sara", |d| {
            d.put(ROOT, "retention_days", 30_u64).unwrap()
        });
        assert_eq!(team(&doc), Ok(Some(30)));
        as_(&mut doc, "rita", |d| {
            d.put(ROOT, "retention_days", 1_u64).unwrap()
        });
        assert_eq!(
            team(&doc),
            Ok(Some(30)),
            "the reviewer's value is not believed"
        );
        as_(&mut doc, "sara", |d| {
            d.put(ROOT, "retention_days", 0_i64).unwrap()
        });
        assert_eq!(team(&doc), Ok(None), "below a day is no period");
        as_(&mut doc, "sara", |d| {
            d.put(ROOT, "retention_days", "7").unwrap()
        });
        assert!(team(&doc).is_err(), "a wrongly typed value is not 'none'");
        // A second coordinator counts once the hub registered their device.
        let members = doc.get(ROOT, "members").unwrap().unwrap().1;
        as_(&mut doc, "sara", |d| {
            let m = d.put_object(&members, "omar", ObjType::Map).unwrap();
            d.put(&m, "role", "coordinator").unwrap();
        });
        as_(&mut doc, "omar", |d| {
            d.put(ROOT, "retention_days", 14_u64).unwrap()
        });
        assert!(
            team(&doc).is_err(),
            "not yet registered: the last trusted value"
        );
        let omar = entry(&doc, "omar");
        let hub = String::from_utf8(hub_actor().to_bytes().to_vec()).unwrap();
        as_(&mut doc, &hub, |d| {
            let a = d.put_object(&omar, "actors", ObjType::Map).unwrap();
            d.put(&a, actor("omar").to_hex_string(), true).unwrap();
        });
        assert_eq!(team(&doc), Ok(Some(14)));
    }

    #[test]
    fn only_a_coordinators_erasures_count() {
        let mut doc = project();
        let erasures = doc.put_object(ROOT, "erasures", ObjType::Map).unwrap();
        doc.commit();
        let add = |d: &mut AutoCommit, key: &str, name: &str| {
            let e = d.put_object(&erasures, key, ObjType::Map).unwrap();
            let l = d.put_object(&e, "documents", ObjType::List).unwrap();
            d.insert(&l, 0, name).unwrap();
        };
        as_(&mut doc, "sara", |d| add(d, "p1", "participant:1"));
        as_(&mut doc, "rita", |d| add(d, "p2", "participant:2"));
        let p1 = doc.get(&erasures, "p1").unwrap().unwrap().1;
        let list = doc.get(&p1, "documents").unwrap().unwrap().1;
        as_(&mut doc, "rita", |d| {
            d.insert(&list, 1, "session:3").unwrap()
        });
        let seen = Team::read(&doc).erasures(&doc);
        assert_eq!(seen.len(), 1);
        assert_eq!(seen["p1"], vec!["participant:1".to_string()]);
    }
}
