//! Every accepted document still reads as its type.
//!
//! [`check_whole`] reads a whole document into its Rust type with the tolerant
//! reader every replica uses (`domain::read`). [`check_touched`] reads only what a
//! change set touched — the root fields, or the entries of the root maps — so that
//! the hub's check of one note in a session of 10,000 costs one note. Besides the
//! types, the values the policy bounds: a retention period is at least a day.

use autosurgeon::hydrate::MaybeMissing;
use autosurgeon::{Hydrate, ReadDoc};
use std::collections::{BTreeMap, BTreeSet};

use super::{DocKind, Segment, Touch};
use crate::domain::read::{self, Lenient};
use crate::domain::*;
use crate::ids::*;
use crate::time::Timestamp;

/// Why a document does not read as its type: the field, never a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable(pub String);

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the document does not read as its type ({})", self.0)
    }
}

type Checked = Result<(), Unreadable>;

/// Reads the whole document as its kind's type.
pub fn check_whole<D: ReadDoc>(kind: DocKind, doc: &D) -> Checked {
    let whole = |r: Result<(), autosurgeon::HydrateError>| r.map_err(|_| Unreadable("root".into()));
    match kind {
        DocKind::Project => {
            let p: ProjectDoc = read::hydrate(doc).map_err(|_| Unreadable("root".into()))?;
            retention_at_least_a_day(p.retention_days)
        }
        DocKind::Participant => whole(read::hydrate::<_, Participant>(doc).map(drop)),
        DocKind::Session => whole(read::hydrate::<_, SessionDoc>(doc).map(drop)),
        DocKind::Material => whole(read::hydrate::<_, MaterialDoc>(doc).map(drop)),
        DocKind::Inbox => whole(read::hydrate::<_, InboxDoc>(doc).map(drop)),
    }
}

/// Reads what `touches` reached: each touched root field, or each touched entry of
/// a root map (a deleted entry needs no reading).
pub fn check_touched<D: ReadDoc>(kind: DocKind, doc: &D, touches: &[Touch]) -> Checked {
    let mut seen: BTreeSet<(&str, Option<&str>)> = BTreeSet::new();
    for t in touches {
        let Some(field) = t.path.first().and_then(Segment::key) else {
            continue;
        };
        let entry = match t.path.get(1) {
            Some(Segment::Key(k)) if t.path.len() > 1 => Some(k.as_str()),
            _ => None,
        };
        if seen.insert((field, entry)) {
            check_field(kind, doc, field, entry)?;
        }
    }
    Ok(())
}

/// Reads one root field of a document of `kind` (only the entry `entry` of it when
/// it is a map of entries). Fields the type does not know are ignored by every
/// reader, so they need no reading.
pub fn check_field<D: ReadDoc>(
    kind: DocKind,
    doc: &D,
    field: &str,
    entry: Option<&str>,
) -> Checked {
    let f = Field { doc, field, entry };
    match (kind, field) {
        (_, "schema") => f.value::<u64>(),
        (DocKind::Project, "id") => f.value::<ProjectId>(),
        (DocKind::Project, "name" | "lang") => f.value::<String>(),
        (DocKind::Project, "created_at") => f.value::<Timestamp>(),
        (DocKind::Project, "canvas") => f.value::<ChallengeCanvas>(),
        (DocKind::Project, "steps") => f.entries::<StepState>(),
        (DocKind::Project, "members") => f.entries::<Member>(),
        (DocKind::Project, "stakeholders") => f.entries::<Stakeholder>(),
        (DocKind::Project, "guides") => f.entries::<Guide>(),
        (DocKind::Project, "insights") => f.entries::<Insight>(),
        (DocKind::Project, "areas") => f.entries::<DevelopmentArea>(),
        (DocKind::Project, "ideas") => f.entries::<Idea>(),
        (DocKind::Project, "tests") => f.entries::<PrototypeTest>(),
        (DocKind::Project, "decisions") => f.entries::<Decision>(),
        (DocKind::Project, "personas") => f.entries::<Persona>(),
        (DocKind::Project, "sample_plan") => f.value::<Option<SamplePlan>>(),
        (DocKind::Project, "dots_per_member") => f.value::<u8>(),
        (DocKind::Project, "erasures") => f.optional_entries::<Erasure>(),
        (DocKind::Project, "retention_days") => {
            let days: MaybeMissing<Option<u32>> = f.read()?;
            retention_at_least_a_day(days.unwrap_or_else(|| None))
        }
        (DocKind::Participant, "id") => f.value::<ParticipantId>(),
        (DocKind::Participant, "project_id") => f.value::<ProjectId>(),
        (DocKind::Participant, "code") => f.value::<ParticipantCode>(),
        (DocKind::Participant, "role") => f.value::<ParticipantRole>(),
        (DocKind::Participant, "age_band") => f.value::<AgeBand>(),
        (DocKind::Participant, "created_at") => f.value::<Timestamp>(),
        (DocKind::Participant, "created_by") => f.value::<MemberId>(),
        (DocKind::Participant, "consents") => f.entries::<ConsentRecord>(),
        (DocKind::Session, "id") => f.value::<SessionId>(),
        (DocKind::Session | DocKind::Material | DocKind::Inbox, "project_id") => {
            f.value::<ProjectId>()
        }
        (DocKind::Session, "kind") => f.value::<SessionKind>(),
        (DocKind::Session, "title") => f.value::<String>(),
        (DocKind::Session, "participants") => f.entries::<bool>(),
        (DocKind::Session, "ran_by") => f.value::<MemberId>(),
        (DocKind::Session, "started_at") => f.value::<Timestamp>(),
        (DocKind::Session, "ended_at") => f.value::<Option<Timestamp>>(),
        (DocKind::Session, "place") => f.value::<Option<String>>(),
        (DocKind::Session, "guide") => f.value::<Option<GuideId>>(),
        (DocKind::Session | DocKind::Material, "notes") => f.entries::<Note>(),
        (DocKind::Session | DocKind::Material, "attachments") => f.optional_entries::<Attachment>(),
        (DocKind::Material, "session_id") => f.value::<SessionId>(),
        (DocKind::Material | DocKind::Inbox, "participant_id") => f.value::<ParticipantId>(),
        (DocKind::Inbox, "entries") => f.entries::<DiaryEntry>(),
        (DocKind::Inbox, "messages") => f.entries::<TeamMessage>(),
        _ => Ok(()),
    }
}

fn retention_at_least_a_day(days: Option<u32>) -> Checked {
    match days {
        Some(0) => Err(Unreadable("retention_days below a day".into())),
        _ => Ok(()),
    }
}

struct Field<'a, D> {
    doc: &'a D,
    field: &'a str,
    entry: Option<&'a str>,
}

impl<D: ReadDoc> Field<'_, D> {
    fn fail(&self) -> Unreadable {
        Unreadable(self.field.to_string())
    }

    fn read<T: Hydrate>(&self) -> Result<T, Unreadable> {
        read::hydrate_prop(self.doc, automerge::ROOT, self.field).map_err(|_| self.fail())
    }

    /// A required value of type `T`.
    fn value<T: Hydrate>(&self) -> Checked {
        self.read::<T>().map(drop)
    }

    /// A required map of `T`s; only the touched entry when there is one.
    fn entries<T: Hydrate>(&self) -> Checked {
        self.map_of::<T>(false)
    }

    /// A map of `T`s that may be absent (older documents).
    fn optional_entries<T: Hydrate>(&self) -> Checked {
        self.map_of::<T>(true)
    }

    fn map_of<T: Hydrate>(&self, optional: bool) -> Checked {
        let Some(key) = self.entry else {
            return if optional {
                self.read::<MaybeMissing<BTreeMap<String, T>>>().map(drop)
            } else {
                self.read::<BTreeMap<String, T>>().map(drop)
            };
        };
        let lenient = Lenient(self.doc);
        match ReadDoc::get(&lenient, &automerge::ROOT, self.field) {
            Ok(Some((automerge::Value::Object(automerge::ObjType::Map), map))) => {
                match ReadDoc::get(&lenient, &map, key) {
                    // Deleted: nothing to read.
                    Ok(None) => Ok(()),
                    Ok(Some(_)) => read::hydrate_prop::<_, T, _, _>(self.doc, &map, key)
                        .map(drop)
                        .map_err(|_| self.fail()),
                    Err(_) => Err(self.fail()),
                }
            }
            Ok(None) if optional => Ok(()),
            _ => Err(self.fail()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ScalarValue, ROOT};

    fn project() -> AutoCommit {
        let mut doc = AutoCommit::new();
        let p = ProjectDoc::new(ProjectId::new(), "P".into(), crate::Lang::Sv, Timestamp(1));
        autosurgeon::reconcile(&mut doc, &p).unwrap();
        doc
    }

    fn touch(p: &str) -> Touch {
        Touch {
            actor: automerge::ActorId::random(),
            path: p.split('/').map(|k| Segment::Key(k.into())).collect(),
        }
    }

    #[test]
    fn a_touched_field_is_read_as_its_type_and_the_whole_agrees() {
        // Each root field of a project, broken in turn: the field check and the
        // whole-document check agree, so the hub's cheap check is the readers' one.
        let fields: Vec<String> = automerge::ReadDoc::keys(&project(), ROOT).collect();
        assert!(fields.len() > 15);
        for field in fields {
            for bad in [ScalarValue::Int(-3), ScalarValue::Str("x".into())] {
                let mut doc = project();
                doc.put(ROOT, field.as_str(), bad.clone()).unwrap();
                let whole = check_whole(DocKind::Project, &doc).is_ok();
                let touched = check_touched(DocKind::Project, &doc, &[touch(&field)]).is_ok();
                assert_eq!(whole, touched, "{field} = {bad:?}");
            }
        }
        let doc = project();
        assert!(check_whole(DocKind::Project, &doc).is_ok());
    }

    #[test]
    fn an_entry_is_read_alone_and_retention_is_at_least_a_day() {
        let mut doc = project();
        let members = automerge::ReadDoc::get(&doc, ROOT, "members")
            .unwrap()
            .unwrap()
            .1;
        let m = doc.put_object(&members, "m1", ObjType::Map).unwrap();
        doc.put(&m, "role", "boss").unwrap();
        assert!(check_touched(DocKind::Project, &doc, &[touch("members/m1/role")]).is_err());
        assert!(check_touched(DocKind::Project, &doc, &[touch("members/m2")]).is_ok());
        let mut doc = project();
        doc.put(ROOT, "retention_days", 0_u64).unwrap();
        assert!(check_touched(DocKind::Project, &doc, &[touch("retention_days")]).is_err());
        assert!(check_whole(DocKind::Project, &doc).is_err());
        doc.put(ROOT, "retention_days", 1_i64).unwrap();
        assert!(check_whole(DocKind::Project, &doc).is_ok());
        doc.put(ROOT, "retention_days", "30").unwrap();
        assert!(check_whole(DocKind::Project, &doc).is_err());
    }
}
