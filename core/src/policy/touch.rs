//! What changes touch: the path of every operation of the changes applied to a
//! document since given heads, with each change's author.
//!
//! Read from the operations themselves rather than from a diff of the state: an
//! operation that loses a conflict today changes nothing visible, but would surface
//! the day the winning value is removed, so it is judged when it arrives.

use automerge::legacy::{Key, ObjectId};
use automerge::{ActorId, AutoCommit, ChangeHash, ReadDoc};
use std::collections::{BTreeSet, HashMap};

use crate::error::{Error, Result};

/// One step of a path inside a document.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// A map key.
    Key(String),
    /// An element of a list or a text (its position does not matter to the policy).
    Elem,
}

impl Segment {
    /// The map key, if this is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            Segment::Key(k) => Some(k),
            Segment::Elem => None,
        }
    }
}

/// A path one change touched, and who made the change.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Touch {
    pub actor: ActorId,
    pub path: Vec<Segment>,
}

impl std::fmt::Display for Touch {
    /// The path only (keys are ids and field names, never content).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<&str> = self.path.iter().map(|s| s.key().unwrap_or("#")).collect();
        f.write_str(&parts.join("/"))
    }
}

/// Every path the changes applied to `doc` since `before` touch, once per author.
pub fn touched(doc: &mut AutoCommit, before: &[ChangeHash]) -> Result<Vec<Touch>> {
    let changes = doc.get_changes(before);
    // Decoding is automerge's own; a change it cannot expand is an error, never a
    // crash of the caller.
    let expanded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        changes.iter().map(|c| c.decode()).collect::<Vec<_>>()
    }))
    .map_err(|_| Error::Document("a change in the document could not be read".into()))?;
    let mut objects: HashMap<String, Vec<Segment>> = HashMap::new();
    let mut out = BTreeSet::new();
    for change in &expanded {
        for op in &change.operations {
            let mut path = match &op.obj {
                ObjectId::Root => Vec::new(),
                ObjectId::Id(id) => {
                    let id = id.to_string();
                    match objects.get(&id) {
                        Some(p) => p.clone(),
                        None => {
                            let p = path_of(doc, &id)?;
                            objects.insert(id, p.clone());
                            p
                        }
                    }
                }
            };
            path.push(match &op.key {
                Key::Map(k) => Segment::Key(k.to_string()),
                Key::Seq(_) => Segment::Elem,
            });
            out.insert(Touch {
                actor: change.actor_id.clone(),
                path,
            });
        }
    }
    Ok(out.into_iter().collect())
}

/// Where the object `id` ("counter@actor") sits, from the root.
fn path_of(doc: &AutoCommit, id: &str) -> Result<Vec<Segment>> {
    let unreadable = || Error::Document("a change names an object that does not exist".into());
    let obj = doc.import_obj(id).map_err(|_| unreadable())?;
    let parents = doc.parents(&obj).map_err(|_| unreadable())?;
    let mut path: Vec<Segment> = parents
        .map(|p| match p.prop {
            automerge::Prop::Map(k) => Segment::Key(k),
            automerge::Prop::Seq(_) => Segment::Elem,
        })
        .collect();
    path.reverse();
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ROOT};

    fn paths(doc: &mut AutoCommit, before: &[ChangeHash]) -> Vec<String> {
        touched(doc, before)
            .unwrap()
            .iter()
            .map(|t| t.to_string())
            .collect()
    }

    #[test]
    fn every_operation_is_seen_with_its_path_and_author() {
        let mut doc = AutoCommit::new();
        let members = doc.put_object(ROOT, "members", ObjType::Map).unwrap();
        let m = doc.put_object(&members, "m1", ObjType::Map).unwrap();
        doc.put(&m, "role", "coordinator").unwrap();
        doc.commit();
        let before = doc.get_heads();
        let mut other = doc.fork().with_actor(ActorId::from(b"reviewer".to_vec()));
        other.put(&m, "role", "reviewer").unwrap();
        let notes = other.put_object(ROOT, "notes", ObjType::Map).unwrap();
        let n = other.put_object(&notes, "n1", ObjType::Map).unwrap();
        let t = other.put_object(&n, "text", ObjType::Text).unwrap();
        other.splice_text(&t, 0, 0, "hej").unwrap();
        other.commit();
        doc.merge(&mut other).unwrap();
        let touches = touched(&mut doc, &before).unwrap();
        assert!(touches
            .iter()
            .all(|t| t.actor == ActorId::from(b"reviewer".to_vec())));
        assert_eq!(
            paths(&mut doc, &before),
            vec![
                "members/m1/role",
                "notes",
                "notes/n1",
                "notes/n1/text",
                "notes/n1/text/#"
            ]
        );
    }

    #[test]
    fn a_value_that_loses_a_conflict_is_still_seen() {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(vec![0xff]));
        doc.put(ROOT, "retention_days", 30_u64).unwrap();
        doc.commit();
        let base = doc.get_heads();
        // A concurrent write by an actor that sorts lower loses the conflict: the
        // state shows 30, the history holds the 0.
        let mut low = AutoCommit::load(&doc.save())
            .unwrap()
            .with_actor(ActorId::from(vec![0x00]));
        let mut high = doc.fork().with_actor(ActorId::from(vec![0xfe]));
        high.put(ROOT, "retention_days", 31_u64).unwrap();
        low.put(ROOT, "retention_days", 0_u64).unwrap();
        doc.merge(&mut high).unwrap();
        let before = doc.get_heads();
        doc.merge(&mut low).unwrap();
        assert_eq!(
            doc.get(ROOT, "retention_days")
                .unwrap()
                .unwrap()
                .0
                .as_scalar()
                .and_then(|s| s.as_u64()),
            Some(31)
        );
        assert_eq!(paths(&mut doc, &before), vec!["retention_days"]);
        assert!(!base.is_empty());
    }
}
