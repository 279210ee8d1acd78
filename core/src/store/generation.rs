//! Document generations: how deleted material leaves a document's history.
//!
//! Deleting an entry from an automerge document removes it from the current state,
//! but its text stays in the history every replica keeps. When retention purges raw
//! material (diary entries, photos and recordings with their captions), the hub
//! therefore rebuilds the document as its next *generation*: a new document, with a
//! new wire id, holding only the current state and none of the history. The old
//! generation is destroyed on the hub and refused from then on; every device that
//! receives the new generation moves what it wrote offline into it, drops the old one
//! with its history, and refuses the old one afterwards.
//!
//! A generation document says what it is in three root fields the hub writes and no
//! device may change: `generation` (its number), `retired` (every `map/key` deleted
//! in the generations before it, so a device does not bring a deleted entry back) and
//! `purged_before` (diary entries written before it are not brought over).

use automerge::{
    transaction::{CommitOptions, Transactable},
    ActorId, AutoCommit, ObjType, ReadDoc, ROOT,
};
use std::collections::{BTreeSet, HashMap};

use super::docs::{identify, map_at, DocKey};
use crate::error::{Error, Result};
use crate::time::Timestamp;

/// The root field holding a document's generation number.
pub const GENERATION: &str = "generation";
/// The root field listing the `map/key` entries deleted in earlier generations.
pub const RETIRED: &str = "retired";
/// The root field holding the time before which diary entries were purged.
pub const PURGED_BEFORE: &str = "purged_before";

const LINEAGE: [&str; 3] = [GENERATION, RETIRED, PURGED_BEFORE];

/// Why a change to a document's generation fields is refused.
pub const LINEAGE_REFUSED: &str = "only the hub starts a generation";

/// Whether the document is a first generation that says nothing of generations —
/// what every document a device creates is (only the hub writes those fields).
pub fn is_plain_first_generation(doc: &AutoCommit) -> Result<bool> {
    Ok(generation_of(doc)? == 0 && purged_before(doc)?.is_none() && retired_of(doc)?.is_empty())
}

/// The kinds of document that hold raw material and so have generations.
pub fn has_generations(key: &DocKey) -> bool {
    matches!(
        key,
        DocKey::Inbox(_) | DocKey::Session(_) | DocKey::Material(..)
    )
}

/// Whether the changes applied to `doc` since `before` touch its generation fields:
/// the root fields only the hub writes, or the list of retired entries.
pub fn touches_lineage(doc: &mut AutoCommit, before: &[automerge::ChangeHash]) -> Result<bool> {
    use automerge::legacy::{Key, ObjectId};
    let list = doc.get(ROOT, RETIRED)?.map(|(_, id)| id.to_string());
    let expanded = expand(doc, before)?;
    for change in &expanded {
        for op in &change.operations {
            let touches = match (&op.obj, &op.key) {
                (ObjectId::Root, Key::Map(k)) => LINEAGE.contains(&k.as_str()),
                (ObjectId::Id(id), _) => list.as_deref() == Some(id.to_string().as_str()),
                _ => false,
            };
            if touches {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// A document's generation: 0 for a document never rebuilt.
pub fn generation_of(doc: &AutoCommit) -> Result<u32> {
    match doc.get(ROOT, GENERATION)? {
        None => Ok(0),
        Some((automerge::Value::Scalar(s), _)) => s
            .as_u64()
            .and_then(|g| u32::try_from(g).ok())
            .ok_or_else(|| Error::Document("generation is not a number".into())),
        Some(_) => Err(Error::Document("generation is not a number".into())),
    }
}

/// The `map/key` entries the generations before this one deleted.
pub fn retired_of(doc: &AutoCommit) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    if let Some((automerge::Value::Object(ObjType::List), list)) = doc.get(ROOT, RETIRED)? {
        for i in 0..doc.length(&list) {
            if let Some((automerge::Value::Scalar(s), _)) = doc.get(&list, i)? {
                if let automerge::ScalarValue::Str(t) = s.as_ref() {
                    out.insert(t.to_string());
                }
            }
        }
    }
    Ok(out)
}

/// The time before which this generation's diary entries were purged, if any.
pub fn purged_before(doc: &AutoCommit) -> Result<Option<Timestamp>> {
    Ok(match doc.get(ROOT, PURGED_BEFORE)? {
        Some((automerge::Value::Scalar(s), _)) => s.as_i64().map(Timestamp),
        _ => None,
    })
}

/// What a new generation leaves out of the current state, besides the history.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RollPlan {
    /// Diary entries written before this time are purged.
    pub entries_before: Option<Timestamp>,
    /// Every attachment (photos, recordings) is purged: the session is older than the
    /// project's retention period.
    pub attachments: bool,
    /// Notes the team deleted before this time are dropped (their earlier text is in
    /// the history); `None` keeps deleted notes.
    pub notes_deleted_before: Option<Timestamp>,
}

/// The document's changes since `since`, with their operations spelled out.
/// Decoding is automerge's own; a change it cannot expand is an error, never a crash
/// of the caller.
fn expand(
    doc: &mut AutoCommit,
    since: &[automerge::ChangeHash],
) -> Result<Vec<automerge::ExpandedChange>> {
    let changes = doc.get_changes(since);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        changes.iter().map(|c| c.decode()).collect::<Vec<_>>()
    }))
    .map_err(|_| Error::Document("a change in the document could not be read".into()))
}

/// Every `map/key` of one of the document's root maps that a change deleted (its
/// history, not its current state). Keys that only lost a conflict — two devices
/// creating the same root map — were never deleted and are not counted.
fn deleted_keys(doc: &mut AutoCommit) -> Result<BTreeSet<String>> {
    use automerge::legacy::{Key, ObjectId, OpId, OpType};
    let expanded = expand(doc, &[])?;
    let mut maps: HashMap<OpId, String> = HashMap::new();
    for change in &expanded {
        for (i, op) in change.operations.iter().enumerate() {
            if let (ObjectId::Root, Key::Map(name), OpType::Make(ObjType::Map)) =
                (&op.obj, &op.key, &op.action)
            {
                let id = OpId(
                    change.start_op.get().saturating_add(i as u64),
                    change.actor_id.clone(),
                );
                maps.insert(id, name.to_string());
            }
        }
    }
    let mut out = BTreeSet::new();
    for change in &expanded {
        for op in &change.operations {
            if let (ObjectId::Id(obj), Key::Map(key), OpType::Delete) =
                (&op.obj, &op.key, &op.action)
            {
                if let Some(name) = maps.get(obj) {
                    out.insert(format!("{name}/{key}"));
                }
            }
        }
    }
    Ok(out)
}

/// Every `map/key` in the document's root maps now.
fn keys_now(doc: &AutoCommit) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for name in doc.keys(ROOT) {
        if let Some((automerge::Value::Object(ObjType::Map), map)) = doc.get(ROOT, &name)? {
            for key in doc.keys(&map) {
                out.insert(format!("{name}/{key}"));
            }
        }
    }
    Ok(out)
}

/// The entries deleted from the document's root maps whose text its history still
/// holds, besides those an earlier generation already retired.
pub fn deleted_in_history(doc: &mut AutoCommit) -> Result<BTreeSet<String>> {
    let deleted = deleted_keys(doc)?;
    let now = keys_now(doc)?;
    let retired = retired_of(doc)?;
    Ok(deleted
        .into_iter()
        .filter(|k| !now.contains(k) && !retired.contains(k))
        .collect())
}

/// What retention under `plan` would still remove from the document's current state.
pub fn purgeable_now(doc: &AutoCommit, plan: &RollPlan) -> Result<usize> {
    let mut count = 0;
    if let Some(cutoff) = plan.entries_before {
        if let Some((automerge::Value::Object(ObjType::Map), entries)) = doc.get(ROOT, "entries")? {
            for key in doc.keys(&entries) {
                if let Some((automerge::Value::Object(ObjType::Map), entry)) =
                    doc.get(&entries, &key)?
                {
                    // Only an entry dated before the cutoff: one without a date is
                    // kept by the rebuild too, so it must not ask for one.
                    if written_at(doc, &entry)?.is_some_and(|t| t < cutoff.0) {
                        count += 1;
                    }
                }
            }
        }
    }
    if plan.attachments {
        if let Some((automerge::Value::Object(ObjType::Map), attachments)) =
            doc.get(ROOT, "attachments")?
        {
            count += doc.length(&attachments);
        }
    }
    // Notes deleted by the team: their text is cleared, but the history holds it.
    if let Some(before) = plan.notes_deleted_before {
        if let Some((automerge::Value::Object(ObjType::Map), notes)) = doc.get(ROOT, "notes")? {
            for key in doc.keys(&notes) {
                if let Some((automerge::Value::Object(ObjType::Map), note)) =
                    doc.get(&notes, &key)?
                {
                    let deleted = match doc.get(&note, "deleted_at")? {
                        Some((automerge::Value::Scalar(s), _)) => s.as_i64(),
                        _ => None,
                    };
                    if deleted.is_some_and(|t| t < before.0) {
                        count += 1;
                    }
                }
            }
        }
    }
    Ok(count)
}

fn written_at(doc: &AutoCommit, entry: &automerge::ObjId) -> Result<Option<i64>> {
    Ok(match doc.get(entry, "written_at")? {
        Some((automerge::Value::Scalar(s), _)) => s.as_i64(),
        _ => None,
    })
}

/// Whether the document should be rebuilt: retention would remove something from its
/// current state, it holds notes the team deleted (their earlier text is in the
/// history), or its history holds diary entries or attachments deleted since its
/// generation began.
pub fn needs_new_generation(doc: &mut AutoCommit, plan: &RollPlan) -> Result<bool> {
    if purgeable_now(doc, plan)? > 0 {
        return Ok(true);
    }
    Ok(deleted_in_history(doc)?
        .iter()
        .any(|k| k.starts_with("entries/") || k.starts_with("attachments/")))
}

fn as_map(value: automerge::hydrate::Value) -> Result<automerge::hydrate::Map> {
    match value {
        automerge::hydrate::Value::Map(m) => Ok(m),
        _ => Err(Error::Document("the document's root is not a map".into())),
    }
}

fn field_i64(item: &automerge::hydrate::Value, field: &str) -> Option<i64> {
    match item {
        automerge::hydrate::Value::Map(m) => match m.get(field) {
            Some(automerge::hydrate::Value::Scalar(s)) => s.as_i64(),
            _ => None,
        },
        _ => None,
    }
}

/// Builds the next generation of `old`: its current state without what `plan`
/// purges and without deleted notes, with none of its history, written by an actor derived from its name and
/// number (so the same input always gives the same document).
pub fn next_generation(
    old: &mut AutoCommit,
    plan: &RollPlan,
    now: Timestamp,
) -> Result<AutoCommit> {
    let key = identify(old)?;
    if !has_generations(&key) {
        return Err(Error::InvalidInput(
            "this kind of document has no generations",
        ));
    }
    let generation = generation_of(old)? + 1;
    let mut retired = retired_of(old)?;
    retired.extend(deleted_in_history(old)?);
    let mut root = as_map(old.hydrate(ROOT, None)?)?;
    for field in LINEAGE {
        root.remove(field);
    }
    if let Some(cutoff) = plan.entries_before {
        if let Some(automerge::hydrate::Value::Map(entries)) = root.get_mut("entries") {
            let old_ones: Vec<String> = entries
                .iter()
                .filter(|(_, e)| field_i64(&e.value, "written_at").is_some_and(|t| t < cutoff.0))
                .map(|(k, _)| k.clone())
                .collect();
            for k in old_ones {
                entries.remove(&k);
                retired.insert(format!("entries/{k}"));
            }
        }
    }
    if let (Some(automerge::hydrate::Value::Map(notes)), Some(before)) =
        (root.get_mut("notes"), plan.notes_deleted_before)
    {
        let deleted: Vec<String> = notes
            .iter()
            .filter(|(_, n)| field_i64(&n.value, "deleted_at").is_some_and(|t| t < before.0))
            .map(|(k, _)| k.clone())
            .collect();
        for k in deleted {
            notes.remove(&k);
            retired.insert(format!("notes/{k}"));
        }
    }
    if plan.attachments {
        if let Some(automerge::hydrate::Value::Map(attachments)) = root.get_mut("attachments") {
            for k in attachments.keys() {
                retired.insert(format!("attachments/{k}"));
            }
            attachments.clear();
        }
    }
    let purged = match (purged_before(old)?, plan.entries_before) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let mut new =
        AutoCommit::new().with_actor(ActorId::from(format!("{key}~{generation}").into_bytes()));
    // In a fixed order, so the same input always gives the same change.
    let mut fields: Vec<(&String, &automerge::hydrate::MapValue)> = root.iter().collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    for (name, value) in fields {
        put_value(&mut new, &ROOT, name, &value.value)?;
    }
    new.put(ROOT, GENERATION, u64::from(generation))?;
    if let Some(t) = purged {
        new.put(ROOT, PURGED_BEFORE, t.0)?;
    }
    let list = new.put_object(ROOT, RETIRED, ObjType::List)?;
    for (i, k) in retired.iter().enumerate() {
        new.insert(&list, i, k.as_str())?;
    }
    new.commit_with(CommitOptions::default().with_time(now.0 / 1000));
    Ok(new)
}

/// Moves into `new` (a later generation of `old`) what `old` holds that `new` lacks:
/// entries written on this device and not yet seen by whoever built `new`, newer
/// edits of notes, photos redacted, a message marked read, a session ended — and the
/// deletions `old` saw (a participant taken off a session, an entry removed). Entries
/// `new` retired or purged are not brought back. Returns how many entries and fields
/// were moved.
pub fn carry_forward(old: &mut AutoCommit, new: &mut AutoCommit) -> Result<usize> {
    use automerge::hydrate::Value;
    let retired = retired_of(new)?;
    let cutoff = purged_before(new)?;
    let old_root = as_map(old.hydrate(ROOT, None)?)?;
    let mut moved = 0;
    // What this device saw deleted goes in the new generation too.
    for gone in deleted_keys(old)?.difference(&keys_now(old)?) {
        let Some((name, key)) = gone.split_once('/') else {
            continue;
        };
        if let Some((automerge::Value::Object(ObjType::Map), map)) = new.get(ROOT, name)? {
            if new.get(&map, key)?.is_some() {
                new.delete(&map, key)?;
                moved += 1;
            }
        }
    }
    for (name, value) in old_root.iter() {
        if LINEAGE.contains(&name.as_str()) {
            continue;
        }
        match &value.value {
            Value::Map(items) => {
                let target = map_at(new, name)?;
                for (key, item) in items.iter() {
                    let item = &item.value;
                    if retired.contains(&format!("{name}/{key}")) {
                        continue;
                    }
                    if name == "entries"
                        && cutoff
                            .is_some_and(|c| field_i64(item, "written_at").is_some_and(|t| t < c.0))
                    {
                        continue;
                    }
                    let there = new
                        .get(&target, key.as_str())?
                        .map(|(_, id)| new.hydrate(&id, None).ok());
                    match there {
                        None => {
                            put_value(new, &target, key, item)?;
                            moved += 1;
                        }
                        Some(Some(current)) => {
                            let newer = match (
                                field_i64(item, "updated_at"),
                                field_i64(&current, "updated_at"),
                            ) {
                                (Some(a), Some(b)) => a > b,
                                _ => false,
                            };
                            // Redaction only goes one way: a photo redacted here stays
                            // redacted.
                            let redacted = field_bool(item, "redacted") == Some(true)
                                && field_bool(&current, "redacted") == Some(false);
                            let newer = newer || redacted;
                            if newer {
                                put_value(new, &target, key, item)?;
                                moved += 1;
                            } else if let (Value::Map(was), Some((_, id))) =
                                (item, new.get(&target, key.as_str())?)
                            {
                                // A message read offline stays read.
                                if let Some(Value::Scalar(read)) = was.get("read_at") {
                                    if !read.is_null() && field_i64(&current, "read_at").is_none() {
                                        new.put(&id, "read_at", read.clone())?;
                                        moved += 1;
                                    }
                                }
                            }
                        }
                        Some(None) => {}
                    }
                }
            }
            Value::Scalar(s) if !s.is_null() => {
                let missing = match new.get(ROOT, name.as_str())? {
                    None => true,
                    Some((automerge::Value::Scalar(t), _)) => t.is_null(),
                    Some(_) => false,
                };
                if missing {
                    new.put(ROOT, name.as_str(), s.clone())?;
                    moved += 1;
                }
            }
            _ => {}
        }
    }
    Ok(moved)
}

fn field_bool(item: &automerge::hydrate::Value, field: &str) -> Option<bool> {
    match item {
        automerge::hydrate::Value::Map(m) => match m.get(field) {
            Some(automerge::hydrate::Value::Scalar(automerge::ScalarValue::Boolean(b))) => Some(*b),
            _ => None,
        },
        _ => None,
    }
}

fn put_value(
    doc: &mut AutoCommit,
    obj: &automerge::ObjId,
    key: &str,
    value: &automerge::hydrate::Value,
) -> Result<()> {
    match value {
        automerge::hydrate::Value::Scalar(s) => {
            doc.put(obj, key, s.clone())?;
        }
        other => {
            doc.batch_create_object(obj, key, other, false)?;
        }
    }
    Ok(())
}

impl super::Store {
    /// Every document held here with its generation.
    pub fn document_generations(&self) -> Result<Vec<(DocKey, u32)>> {
        self.read_query(|c| {
            let mut stmt = c.prepare("SELECT doc, generation FROM documents ORDER BY doc")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (name, generation) = row?;
                out.push((name.parse()?, generation));
            }
            Ok(out)
        })
    }

    /// The generation of a document held here, or `None` when it is not held.
    pub fn document_generation(&self, key: &DocKey) -> Result<Option<u32>> {
        use rusqlite::OptionalExtension;
        self.read_query(|c| {
            Ok(
                c.prepare_cached("SELECT generation FROM documents WHERE doc = ?1")?
                    .query_row([key.to_string()], |r| r.get(0))
                    .optional()?,
            )
        })
    }

    /// Replaces the document `key` held here by a later generation of it (`bytes`,
    /// as received): what this device wrote that the new generation lacks is moved
    /// into it, then the old generation — with its whole history — is deleted, the
    /// index rebuilt, photos and recordings no longer referenced destroyed, and the
    /// database's log rewritten so the old bytes are gone. Returns how many entries
    /// and fields were moved over.
    pub fn adopt_generation(&self, key: &DocKey, bytes: &[u8]) -> Result<usize> {
        self.settle()?;
        let mut new = AutoCommit::load(bytes)?;
        if &identify(&new)? != key {
            return Err(Error::Document("document does not match its name".into()));
        }
        let generation = generation_of(&new)?;
        let me = self.me().as_str().to_string();
        let mut guard = self.lock();
        let super::State {
            conn,
            cache,
            observers,
            ..
        } = &mut *guard;
        super::refuse_erased(conn, key)?;
        let held: Option<u32> = {
            use rusqlite::OptionalExtension;
            conn.prepare_cached("SELECT generation FROM documents WHERE doc = ?1")?
                .query_row([key.to_string()], |r| r.get(0))
                .optional()?
        };
        let Some(held) = held else {
            return Err(Error::not_found(key.kind(), key));
        };
        if generation <= held {
            return Err(Error::Document(
                "an older generation of a document was offered".into(),
            ));
        }
        let outcome = (|| -> Result<(usize, Vec<String>)> {
            let loaded = cache.entry(conn, key)?;
            let old_blobs = super::docs::describe(&loaded.doc)?.blobs;
            new.set_actor(loaded.doc.get_actor().clone());
            if super::project_of(key, &new)? != super::project_of(key, &loaded.doc)? {
                return Err(Error::Document(
                    "a later generation names another project".into(),
                ));
            }
            let moved = carry_forward(&mut loaded.doc, &mut new)?;
            let tx = conn.transaction()?;
            tx.prepare_cached("DELETE FROM chunks WHERE doc = ?1")?
                .execute([key.to_string()])?;
            tx.prepare_cached("UPDATE documents SET generation = ?2 WHERE doc = ?1")?
                .execute(rusqlite::params![key.to_string(), generation])?;
            loaded.doc = new;
            super::docs::compact(&tx, key, loaded)?;
            let _ = loaded.doc.save_incremental();
            super::index::reindex(&tx, key, &loaded.doc, &me)?;
            tx.commit()?;
            observers.publish(&super::project_of(key, &loaded.doc)?, key, false);
            let kept: BTreeSet<String> = super::docs::describe(&loaded.doc)?
                .blobs
                .into_iter()
                .map(|(h, _)| h)
                .collect();
            let dropped: Vec<String> = old_blobs
                .into_iter()
                .map(|(h, _)| h)
                .filter(|h| !kept.contains(h))
                .collect();
            Ok((moved, dropped))
        })();
        if outcome.is_err() {
            cache.evict(key);
        }
        let (moved, dropped) = outcome?;
        drop(guard);
        // The new generation is stored: what follows is clean-up, which a later sync
        // finishes (see `collect_blob_garbage`) if it fails here.
        let dropped: Vec<&str> = dropped.iter().map(String::as_str).collect();
        let _ = self.destroy_unreferenced(&dropped);
        // Freed pages are zeroed (secure_delete); the log still holds the old page
        // images until it is checkpointed and truncated.
        let _ = self.query(|c| Ok(c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?));
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contains(hay: &[u8], needle: &str) -> bool {
        hay.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    fn entry(doc: &mut AutoCommit, id: &str, text: &str, written_at: i64) {
        let entries = map_at(doc, "entries").unwrap();
        let e = doc.put_object(&entries, id, ObjType::Map).unwrap();
        doc.put(&e, "text", text).unwrap();
        doc.put(&e, "written_at", written_at).unwrap();
    }

    const PROJECT: &str = "01900000-0000-7000-8000-000000000001";
    const PARTICIPANT: &str = "01900000-0000-7000-8000-000000000007";

    /// An inbox as devices write it: named by its participant, in a project.
    fn inbox() -> AutoCommit {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "schema", 1_u64).unwrap();
        doc.put(ROOT, "project_id", PROJECT).unwrap();
        doc.put(ROOT, "participant_id", PARTICIPANT).unwrap();
        doc.put_object(ROOT, "entries", ObjType::Map).unwrap();
        let messages = doc.put_object(ROOT, "messages", ObjType::Map).unwrap();
        let m = doc.put_object(&messages, "m1", ObjType::Map).unwrap();
        doc.put(&m, "text", "thank you").unwrap();
        doc.put(&m, "read_at", automerge::ScalarValue::Null)
            .unwrap();
        entry(&mut doc, "e0", "the oldest words", 500);
        entry(&mut doc, "e1", "first secret", 1_000);
        entry(&mut doc, "e2", "kept words", 5_000);
        doc.commit();
        doc
    }

    fn delete_entry(doc: &mut AutoCommit, id: &str) {
        let entries = map_at(doc, "entries").unwrap();
        doc.delete(&entries, id).unwrap();
        doc.commit();
    }

    #[test]
    fn a_new_generation_keeps_the_state_and_drops_the_history() {
        let mut doc = inbox();
        delete_entry(&mut doc, "e1");
        assert!(contains(&doc.save_nocompress(), "first secret"));
        let plan = RollPlan::default();
        assert!(needs_new_generation(&mut doc, &plan).unwrap());
        let mut next = next_generation(&mut doc, &plan, Timestamp(9_000)).unwrap();
        assert_eq!(generation_of(&next).unwrap(), 1);
        assert_eq!(identify(&next).unwrap(), identify(&doc).unwrap());
        assert!(!contains(&next.save_nocompress(), "first secret"));
        assert!(contains(&next.save_nocompress(), "kept words"));
        assert!(retired_of(&next).unwrap().contains("entries/e1"));
        // Nothing left to purge: the new generation needs no other.
        assert!(!needs_new_generation(&mut next, &plan).unwrap());
        // The same input gives the same document, wherever it is built.
        let mut again = next_generation(&mut doc, &plan, Timestamp(9_000)).unwrap();
        assert_eq!(again.get_heads(), next.get_heads());
    }

    #[test]
    fn retention_purges_entries_older_than_the_cutoff() {
        let mut doc = inbox();
        let plan = RollPlan {
            entries_before: Some(Timestamp(3_000)),
            attachments: false,
            notes_deleted_before: None,
        };
        assert_eq!(purgeable_now(&doc, &plan).unwrap(), 2);
        assert!(needs_new_generation(&mut doc, &plan).unwrap());
        let mut next = next_generation(&mut doc, &plan, Timestamp(9_000)).unwrap();
        let bytes = next.save_nocompress();
        assert!(!contains(&bytes, "first secret") && !contains(&bytes, "the oldest words"));
        assert!(contains(&bytes, "kept words"));
        assert_eq!(purged_before(&next).unwrap(), Some(Timestamp(3_000)));
        // An entry without a usable date is neither purged nor a reason to rebuild
        // again and again.
        let entries = map_at(&mut next, "entries").unwrap();
        let e = next.put_object(&entries, "undated", ObjType::Map).unwrap();
        next.put(&e, "written_at", "yesterday").unwrap();
        next.commit();
        assert_eq!(purgeable_now(&next, &plan).unwrap(), 0);
        assert!(!needs_new_generation(&mut next, &plan).unwrap());
        // Nothing to do for a document with nothing old and nothing deleted.
        let mut fresh = inbox();
        assert!(!needs_new_generation(&mut fresh, &RollPlan::default()).unwrap());
    }

    #[test]
    fn carrying_forward_moves_offline_writes_but_never_what_was_deleted_or_purged() {
        let mut hub = inbox();
        // A phone synced, then went offline: it never saw the deletion of e1.
        let mut phone = hub.fork().with_actor(ActorId::from(b"phone".to_vec()));
        delete_entry(&mut hub, "e1");
        let plan = RollPlan {
            entries_before: Some(Timestamp(800)),
            attachments: false,
            notes_deleted_before: None,
        };
        let mut next = next_generation(&mut hub, &plan, Timestamp(9_000)).unwrap();
        // Offline, the phone wrote a new entry and read the team's message.
        entry(&mut phone, "e3", "written on the bus", 6_000);
        let messages = map_at(&mut phone, "messages").unwrap();
        let (_, m) = phone.get(&messages, "m1").unwrap().unwrap();
        phone.put(&m, "read_at", 7_000_i64).unwrap();
        phone.commit();
        next.set_actor(ActorId::from(b"phone".to_vec()));
        let moved = carry_forward(&mut phone, &mut next).unwrap();
        assert_eq!(moved, 2);
        let bytes = next.save_nocompress();
        assert!(contains(&bytes, "written on the bus"));
        assert!(
            !contains(&bytes, "first secret"),
            "a deleted entry came back"
        );
        assert!(
            !contains(&bytes, "the oldest words"),
            "a purged entry came back"
        );
        let messages = map_at(&mut next, "messages").unwrap();
        let (_, m) = next.get(&messages, "m1").unwrap().unwrap();
        let read = next.get(&m, "read_at").unwrap().unwrap().0;
        assert_eq!(read.as_i64(), Some(7_000));
        // Carrying twice moves nothing more.
        assert_eq!(carry_forward(&mut phone, &mut next).unwrap(), 0);
    }

    #[test]
    fn only_documents_with_raw_material_have_generations() {
        let mut project = AutoCommit::new();
        project.put(ROOT, "id", PROJECT).unwrap();
        project.put_object(ROOT, "canvas", ObjType::Map).unwrap();
        project.commit();
        assert!(next_generation(&mut project, &RollPlan::default(), Timestamp(1)).is_err());
        let key = DocKey::Inbox(PARTICIPANT.parse().unwrap());
        use crate::sync::DocumentId;
        assert_eq!(DocumentId::of_generation(&key, 0), DocumentId::of(&key));
        assert_ne!(DocumentId::of_generation(&key, 1), DocumentId::of(&key));
        assert_ne!(
            DocumentId::of_generation(&key, 1),
            DocumentId::of_generation(&key, 2)
        );
    }

    const SESSION: &str = "01900000-0000-7000-8000-000000000005";

    /// A session as devices write it, with two participants and one photo.
    fn session() -> AutoCommit {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "schema", 1_u64).unwrap();
        doc.put(ROOT, "id", SESSION).unwrap();
        doc.put(ROOT, "kind", "interview").unwrap();
        doc.put(ROOT, "project_id", PROJECT).unwrap();
        let people = doc.put_object(ROOT, "participants", ObjType::Map).unwrap();
        doc.put(&people, "p1", true).unwrap();
        doc.put(&people, "p2", true).unwrap();
        doc.put_object(ROOT, "notes", ObjType::Map).unwrap();
        let attachments = doc.put_object(ROOT, "attachments", ObjType::Map).unwrap();
        let a = doc.put_object(&attachments, "a1", ObjType::Map).unwrap();
        doc.put(&a, "redacted", false).unwrap();
        doc.put(&a, "hash", "UNREDACTED").unwrap();
        let b = doc.put_object(&attachments, "a2", ObjType::Map).unwrap();
        doc.put(&b, "hash", "CAPTION-TO-PURGE").unwrap();
        doc.commit();
        doc
    }

    #[test]
    fn carrying_forward_keeps_a_redaction_and_a_removal_made_offline() {
        let mut hub = session();
        let mut tablet = hub.fork().with_actor(ActorId::from(b"tablet".to_vec()));
        // The hub has something to purge: an attachment deleted elsewhere.
        let attachments = map_at(&mut hub, "attachments").unwrap();
        hub.delete(&attachments, "a2").unwrap();
        hub.commit();
        let mut next = next_generation(&mut hub, &RollPlan::default(), Timestamp(9)).unwrap();
        // Offline, the tablet redacted the photo and took p2 off the session.
        let attachments = map_at(&mut tablet, "attachments").unwrap();
        let (_, a) = tablet.get(&attachments, "a1").unwrap().unwrap();
        tablet.put(&a, "redacted", true).unwrap();
        tablet.put(&a, "hash", "REDACTED").unwrap();
        let people = map_at(&mut tablet, "participants").unwrap();
        tablet.delete(&people, "p2").unwrap();
        tablet.commit();
        next.set_actor(ActorId::from(b"tablet".to_vec()));
        carry_forward(&mut tablet, &mut next).unwrap();
        let attachments = map_at(&mut next, "attachments").unwrap();
        let (_, a) = next.get(&attachments, "a1").unwrap().unwrap();
        let hash = next.get(&a, "hash").unwrap().unwrap().0;
        assert_eq!(hash.as_str(), Some("REDACTED"), "the redaction was undone");
        let people = map_at(&mut next, "participants").unwrap();
        assert!(next.get(&people, "p2").unwrap().is_none(), "p2 came back");
        assert!(next.get(&people, "p1").unwrap().is_some());
        assert!(
            next.get(&attachments, "a2").unwrap().is_none(),
            "a2 came back"
        );
    }

    #[test]
    fn a_root_map_created_on_two_devices_is_not_a_deletion() {
        let mut a = AutoCommit::new().with_actor(ActorId::from(b"a".to_vec()));
        a.put(ROOT, "participant_id", PARTICIPANT).unwrap();
        a.put(ROOT, "project_id", PROJECT).unwrap();
        a.commit();
        let mut b = a.fork().with_actor(ActorId::from(b"b".to_vec()));
        for (doc, key) in [(&mut a, "x1"), (&mut b, "x2")] {
            let entries = doc.put_object(ROOT, "entries", ObjType::Map).unwrap();
            let e = doc.put_object(&entries, key, ObjType::Map).unwrap();
            doc.put(&e, "written_at", 5_000_i64).unwrap();
            doc.commit();
        }
        a.merge(&mut b).unwrap();
        assert!(deleted_in_history(&mut a).unwrap().is_empty());
        assert!(!needs_new_generation(&mut a, &RollPlan::default()).unwrap());
    }

    #[test]
    fn a_deleted_notes_words_leave_the_history_with_the_next_generation() {
        let mut doc = session();
        let notes = map_at(&mut doc, "notes").unwrap();
        let n = doc.put_object(&notes, "n1", ObjType::Map).unwrap();
        let text = doc.put_object(&n, "text", ObjType::Text).unwrap();
        doc.splice_text(&text, 0, 0, "Wrong child: Kalle Svensson")
            .unwrap();
        doc.put(&n, "deleted_at", automerge::ScalarValue::Null)
            .unwrap();
        let kept = doc.put_object(&notes, "n2", ObjType::Map).unwrap();
        doc.put(&kept, "text", "kept note").unwrap();
        doc.commit();
        assert!(!needs_new_generation(&mut doc, &RollPlan::default()).unwrap());
        // The team deletes the note: text cleared, marked deleted.
        let len = doc.length(&text);
        doc.splice_text(&text, 0, len as isize, "").unwrap();
        doc.put(&n, "deleted_at", 7_000_i64).unwrap();
        doc.commit();
        assert!(contains(&doc.save_nocompress(), "Kalle Svensson"));
        // Deleted less than the grace period ago: not yet.
        let soon = RollPlan {
            notes_deleted_before: Some(Timestamp(7_000)),
            ..RollPlan::default()
        };
        assert!(!needs_new_generation(&mut doc, &soon).unwrap());
        let plan = RollPlan {
            notes_deleted_before: Some(Timestamp(8_000)),
            ..RollPlan::default()
        };
        assert!(needs_new_generation(&mut doc, &plan).unwrap());
        let mut next = next_generation(&mut doc, &plan, Timestamp(9)).unwrap();
        let bytes = next.save_nocompress();
        assert!(!contains(&bytes, "Kalle Svensson"));
        assert!(contains(&bytes, "kept note"));
        assert!(retired_of(&next).unwrap().contains("notes/n1"));
        assert!(!needs_new_generation(&mut next, &plan).unwrap());
    }
}
