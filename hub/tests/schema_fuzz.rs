//! The hub never accepts a document its devices cannot read (issue 15, finding 2).
//!
//! Random, well-formed automerge changes — every value type automerge has (string,
//! signed and unsigned integer, float, boolean, bytes, null, counter, timestamp, text,
//! list, map) at random paths, existing fields and new ones — are sent into each kind
//! of document through the hub's own receive path, by a coordinator's device and by a
//! young person's phone. Every document the hub accepts is then merged into a device's
//! store, which reads it with the devices' own code (indexing reads each document
//! whole, into its type): it must read, never be set aside. A change the hub refuses
//! leaves its copy as it was. Both outcomes must occur often, or the test proves
//! nothing.

use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, ROOT};
use insikt_core::domain::{
    AgeBand, ConsentScope, GivenBy, MemberRole, NoteKind, ParticipantRole, SessionKind,
};
use insikt_core::ids::ParticipantId;
use insikt_core::sync::{ConnId, DocumentId, Documents};
use insikt_core::{DocKey, Lang, NewNote, NewSession, Store, StoreKey};
use insikt_hub::docs::HubDocuments;
use insikt_hub::{Device, Role};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::cell::RefCell;

/// One value of every type automerge stores.
#[derive(Clone, Debug)]
enum Value {
    Str(String),
    Int(i64),
    Uint(u64),
    F64(f64),
    Bool(bool),
    Bytes(Vec<u8>),
    Null,
    Counter(i64),
    Timestamp(i64),
    Text(String),
    List(Vec<i64>),
    Map(Vec<(String, i64)>),
}

fn value() -> impl Strategy<Value = Value> {
    let word = "[a-z0-9åäö-]{0,12}";
    prop_oneof![
        word.prop_map(Value::Str),
        prop_oneof![Just(0_i64), Just(1), Just(-1), Just(5), any::<i64>()].prop_map(Value::Int),
        prop_oneof![Just(0_u64), Just(1), Just(3), any::<u64>()].prop_map(Value::Uint),
        prop_oneof![Just(1.0_f64), Just(2.5), Just(-3.0), any::<f64>()].prop_map(Value::F64),
        any::<bool>().prop_map(Value::Bool),
        proptest::collection::vec(any::<u8>(), 0..4).prop_map(Value::Bytes),
        Just(Value::Null),
        (-3_i64..3).prop_map(Value::Counter),
        prop_oneof![Just(1_700_000_000_000_i64), any::<i64>()].prop_map(Value::Timestamp),
        word.prop_map(Value::Text),
        proptest::collection::vec(-2_i64..6, 0..3).prop_map(Value::List),
        proptest::collection::vec(("[a-z_]{1,8}", -2_i64..6), 0..3).prop_map(Value::Map),
    ]
}

/// Where to write: an object of the document (by index among its maps and lists) and
/// a key (by index among its keys, or a field name every kind knows).
#[derive(Clone, Debug)]
struct Op {
    object: usize,
    key: usize,
    existing: bool,
    value: Value,
}

fn op() -> impl Strategy<Value = Op> {
    (any::<usize>(), any::<usize>(), any::<bool>(), value()).prop_map(
        |(object, key, existing, value)| Op {
            object,
            key,
            existing,
            value,
        },
    )
}

/// Field names of every document kind, and a few nobody knows.
const FIELDS: &[&str] = &[
    "schema",
    "id",
    "project_id",
    "session_id",
    "participant_id",
    "name",
    "lang",
    "created_at",
    "canvas",
    "steps",
    "members",
    "role",
    "revoked_at",
    "insights",
    "ideas",
    "votes",
    "erasures",
    "retention_days",
    "dots_per_member",
    "code",
    "age_band",
    "consents",
    "kind",
    "title",
    "participants",
    "notes",
    "text",
    "attachments",
    "entries",
    "messages",
    "rating",
    "heading",
    "written_at",
    "read_at",
    "emotion",
    "anchor",
    "tags",
    "x",
    "extra",
];

/// Every map and list of the document (to a small depth).
fn objects(doc: &AutoCommit) -> Vec<(ObjId, ObjType)> {
    let mut out = vec![(ROOT, ObjType::Map)];
    let mut i = 0;
    while i < out.len() && out.len() < 200 {
        let (obj, typ) = out[i].clone();
        let children: Vec<(ObjId, ObjType)> = match typ {
            ObjType::Map | ObjType::Table => doc
                .keys(&obj)
                .filter_map(|k| match doc.get(&obj, &k).ok().flatten() {
                    Some((automerge::Value::Object(t @ (ObjType::Map | ObjType::List)), id)) => {
                        Some((id, t))
                    }
                    _ => None,
                })
                .collect(),
            ObjType::List => (0..doc.length(&obj))
                .filter_map(|n| match doc.get(&obj, n).ok().flatten() {
                    Some((automerge::Value::Object(t @ (ObjType::Map | ObjType::List)), id)) => {
                        Some((id, t))
                    }
                    _ => None,
                })
                .collect(),
            ObjType::Text => Vec::new(),
        };
        out.extend(children);
        i += 1;
    }
    out
}

fn scalar(v: &Value) -> Option<ScalarValue> {
    Some(match v {
        Value::Str(s) => ScalarValue::Str(s.as_str().into()),
        Value::Int(i) => ScalarValue::Int(*i),
        Value::Uint(u) => ScalarValue::Uint(*u),
        Value::F64(f) => ScalarValue::F64(*f),
        Value::Bool(b) => ScalarValue::Boolean(*b),
        Value::Bytes(b) => ScalarValue::Bytes(b.clone()),
        Value::Null => ScalarValue::Null,
        Value::Counter(c) => ScalarValue::counter(*c),
        Value::Timestamp(t) => ScalarValue::Timestamp(*t),
        Value::Text(_) | Value::List(_) | Value::Map(_) => return None,
    })
}

/// Writes `op` into `doc`.
fn apply(doc: &mut AutoCommit, op: &Op) {
    let all = objects(doc);
    let (obj, typ) = all[op.object % all.len()].clone();
    if typ == ObjType::List {
        let at = op.key % (doc.length(&obj) + 1);
        match scalar(&op.value) {
            Some(v) => doc.insert(&obj, at, v).unwrap(),
            None => {
                let made = doc.insert_object(&obj, at, object_type(&op.value)).unwrap();
                fill(doc, &made, &op.value);
            }
        }
        return;
    }
    let keys: Vec<String> = doc.keys(&obj).collect();
    let key = if op.existing && !keys.is_empty() {
        keys[op.key % keys.len()].clone()
    } else {
        FIELDS[op.key % FIELDS.len()].to_string()
    };
    match scalar(&op.value) {
        Some(v) => doc.put(&obj, key.as_str(), v).unwrap(),
        None => {
            let made = doc
                .put_object(&obj, key.as_str(), object_type(&op.value))
                .unwrap();
            fill(doc, &made, &op.value);
        }
    }
}

fn object_type(v: &Value) -> ObjType {
    match v {
        Value::Text(_) => ObjType::Text,
        Value::List(_) => ObjType::List,
        _ => ObjType::Map,
    }
}

fn fill(doc: &mut AutoCommit, obj: &ObjId, v: &Value) {
    match v {
        Value::Text(s) => doc.splice_text(obj, 0, 0, s).unwrap(),
        Value::List(items) => {
            for (n, i) in items.iter().enumerate() {
                doc.insert(obj, n, *i).unwrap();
            }
        }
        Value::Map(entries) => {
            for (k, i) in entries {
                doc.put(obj, k.as_str(), *i).unwrap();
            }
        }
        _ => {}
    }
}

/// A device's sync with the hub about one document, through the hub's receive path;
/// whether the hub refused it.
fn exchange(hub: &mut HubDocuments, conn: ConnId, id: &DocumentId, doc: &mut AutoCommit) -> bool {
    let (mut mine, mut theirs) = (sync::State::new(), sync::State::new());
    for _ in 0..20 {
        let mut quiet = true;
        if let Some(m) = doc.sync().generate_sync_message(&mut mine) {
            quiet = false;
            match hub.receive(conn, id, &mut theirs, m) {
                Ok(r) if r.refused => return true,
                Ok(_) => {}
                Err(e) => panic!("the hub failed instead of refusing: {e}"),
            }
        }
        if let Some(m) = hub.generate(conn, id, &mut theirs).unwrap() {
            quiet = false;
            doc.sync().receive_sync_message(&mut mine, m).unwrap();
        }
        if quiet {
            break;
        }
    }
    false
}

struct World {
    hub: HubDocuments,
    /// Sara's store's actor: what a coordinator's own device writes as (trusted for
    /// the team, retention and erasures).
    sara_actor: automerge::ActorId,
    device: Store,
    sara: Device,
    phone: Device,
    docs: Vec<(DocKey, bool)>,
    next_conn: ConnId,
    accepted: usize,
    refused: usize,
    /// How often a case took the coordinator off her team (or her device's actor
    /// from her) and the world restarted.
    restarts: usize,
    _dir: tempfile::TempDir,
}

/// A hub holding a project of every kind of document, written by Sara's store; a
/// second store that reads what the hub accepts.
fn new_world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let key = [9_u8; 32];
    std::fs::create_dir_all(dir.path().join("hub")).unwrap();
    let db = insikt_hub::db::open(&dir.path().join("hub"), &key).unwrap();
    let org = insikt_hub::auth::add_org(&db, "Region Fuzz").unwrap();
    let blobs = insikt_media::BlobStore::open(&dir.path().join("hub/blobs"), &key).unwrap();
    let mut hub = HubDocuments::new(db, blobs).unwrap();
    let store = Store::open(&dir.path().join("sara"), &StoreKey::generate()).unwrap();
    let project = store.create_project("Fuzz", Lang::Sv, "Sara").unwrap();
    let p: ParticipantId = store
        .add_participant(
            &project,
            "P-01",
            ParticipantRole::Child,
            AgeBand::From10To12,
        )
        .unwrap();
    store
        .record_consent(&p, ConsentScope::Notes, GivenBy::Guardian, "v1")
        .unwrap();
    let session = store
        .start_session(
            &project,
            NewSession {
                kind: SessionKind::Interview,
                title: "Samtal".into(),
                participants: vec![p.clone()],
                place: None,
                guide: None,
                started_at: None,
            },
        )
        .unwrap();
    store
        .add_note(&session, NewNote::new(NoteKind::Quote, "Det var bra"))
        .unwrap();
    store.send_message(&p, "Tack").unwrap();
    store.add_template_guide(&project).unwrap();
    let device = |id: &str, role: Role, participant: Option<&str>| Device {
        id: id.into(),
        org: org.clone(),
        role,
        participant: participant.map(str::to_string),
        label: id.into(),
        revoked: false,
        member: Some(if participant.is_some() {
            "phone".into()
        } else {
            store.me().to_string()
        }),
        actor: None,
    };
    let sara = device("sara", Role::Coordinator, None);
    let phone = device("phone", Role::Participant, Some(p.as_str()));
    let docs = vec![
        (DocKey::Project(project.clone()), false),
        (DocKey::Participant(p.clone()), false),
        (DocKey::Session(session.clone()), false),
        (DocKey::Material(session.clone(), p.clone()), false),
        (DocKey::Inbox(p.clone()), false),
        (DocKey::Inbox(p.clone()), true),
    ];
    hub.attach(1, sara.clone());
    for (key, _) in docs.iter().take(5) {
        let mut doc = AutoCommit::load(&store.document_bytes(key).unwrap()).unwrap();
        assert!(
            !exchange(&mut hub, 1, &DocumentId::of(key), &mut doc),
            "{key}"
        );
    }
    let reader = Store::open(&dir.path().join("reader"), &StoreKey::generate()).unwrap();
    assert_eq!(store.my_role(&project).unwrap(), MemberRole::Coordinator);
    World {
        hub,
        sara_actor: automerge::ActorId::from(hex::decode(store.actor_hex()).unwrap()),
        device: reader,
        sara,
        phone,
        docs,
        next_conn: 2,
        accepted: 0,
        refused: 0,
        restarts: 0,
        _dir: dir,
    }
}

#[test]
fn the_hub_never_accepts_a_document_its_devices_cannot_read() {
    let world = RefCell::new(new_world());
    let cases = (0..6_usize, proptest::collection::vec(op(), 1..4));
    // One fixed seed by default, so that the suite's count of accepted and refused
    // changes is the same on every run; INSIKT_FUZZ_SEED=N explores others.
    let seed: u64 = std::env::var("INSIKT_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_202);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 1000,
            ..Config::default()
        },
        rng,
    );
    runner
        .run(&cases, |(which, ops)| {
            let mut w = world.borrow_mut();
            let w = &mut *w;
            let (key, by_phone) = w.docs[which].clone();
            let id = DocumentId::of(&key);
            let Some(before) = w.hub.document_bytes(&id) else {
                return Ok(()); // erased by an earlier case
            };
            let mut doc = AutoCommit::load(&before).unwrap();
            if !by_phone {
                doc.set_actor(w.sara_actor.clone());
            }
            for op in &ops {
                apply(&mut doc, op);
            }
            doc.commit();
            let conn = w.next_conn;
            w.next_conn += 1;
            let device = if by_phone {
                w.phone.clone()
            } else {
                w.sara.clone()
            };
            w.hub.attach(conn, device);
            let refused = exchange(&mut w.hub, conn, &id, &mut doc);
            w.hub.detach(conn);
            let after = w.hub.document_bytes(&id).unwrap_or_default();
            let heads = |b: &[u8]| insikt_core::sync::heads_of(b).unwrap_or_default();
            if refused {
                w.refused += 1;
                prop_assert_eq!(heads(&after), heads(&before), "a refused change stayed");
                return Ok(());
            }
            if heads(&after) != heads(&before) {
                w.accepted += 1;
            }
            // What the hub holds, every device reads.
            w.device
                .merge_document(&key, &after)
                .map_err(|e| TestCaseError::fail(format!("{key}: {e} after {ops:?}")))?;
            prop_assert!(
                !w.device.is_set_aside(&key).unwrap(),
                "{} accepted but unreadable after {:?}",
                key,
                ops
            );
            // A change the coordinator may make can take her off her own team (a
            // revocation, another role): the cases after it would prove little, so
            // the world starts again.
            if let DocKey::Project(_) = &key {
                let team =
                    insikt_core::policy::team::Team::read(&AutoCommit::load(&after).unwrap());
                let sara = w.sara.member.clone().unwrap_or_default();
                // Or gave her device's actor to another member: her changes are then
                // judged as theirs.
                let hers = team.member_of_actor(&w.sara_actor) == Some(sara.as_str());
                if team.role_of(&sara) != Some(MemberRole::Coordinator) || !hers {
                    let (accepted, refused) = (w.accepted, w.refused);
                    *w = new_world();
                    (w.accepted, w.refused) = (accepted, refused);
                    w.restarts += 1;
                }
            }
            Ok(())
        })
        .unwrap();
    let w = world.borrow();
    eprintln!(
        "accepted {}, refused {}, restarts {}",
        w.accepted, w.refused, w.restarts
    );
    assert!(w.accepted >= 50, "too few changes accepted: {}", w.accepted);
    assert!(w.refused >= 50, "too few changes refused: {}", w.refused);
}

/// A change that empties the team and breaks the document, straight after a change
/// the hub took (which made it read the team again): refused, and judged by the team
/// before it — so the team the hub keeps is still Sara's, and her next change is
/// taken (the team was once read from the refused change and kept).
#[test]
fn a_refused_change_to_the_team_never_becomes_the_team_the_hub_judges_by() {
    let mut w = new_world();
    let (key, _) = w
        .docs
        .iter()
        .find(|(k, _)| matches!(k, DocKey::Project(_)))
        .cloned()
        .unwrap();
    let id = DocumentId::of(&key);
    let sara = w.sara.clone();
    let send = |w: &mut World, write: &dyn Fn(&mut AutoCommit)| -> bool {
        let mut doc = AutoCommit::load(&w.hub.document_bytes(&id).unwrap()).unwrap();
        doc.set_actor(w.sara_actor.clone());
        write(&mut doc);
        doc.commit();
        let conn = w.next_conn;
        w.next_conn += 1;
        w.hub.attach(conn, sara.clone());
        let refused = exchange(&mut w.hub, conn, &id, &mut doc);
        w.hub.detach(conn);
        !refused
    };
    let canvas = |doc: &mut AutoCommit| {
        doc.put(automerge::ROOT, "stage_note", "ett").unwrap();
    };
    assert!(send(&mut w, &canvas), "a plain change is taken");
    let wipe = |doc: &mut AutoCommit| {
        doc.put_object(automerge::ROOT, "members", ObjType::Map)
            .unwrap();
        doc.put(automerge::ROOT, "schema", "ett").unwrap();
    };
    assert!(!send(&mut w, &wipe), "the team is not replaced");
    let again = |doc: &mut AutoCommit| {
        doc.put(automerge::ROOT, "stage_note", "två").unwrap();
    };
    assert!(send(&mut w, &again), "Sara is still on her team");
}
