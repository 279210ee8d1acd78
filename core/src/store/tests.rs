//! The store's rules, each shown on a small store.

use super::*;
use crate::domain::{AgeBand, ConsentScope, GivenBy, NoteKind, ParticipantRole, SessionKind};
use crate::ids::ParticipantId;
use crate::{Lang, NewNote, NewSession};
use automerge::ReadDoc;

fn key() -> StoreKey {
    StoreKey::from_bytes([7; 32])
}

fn store_in(dir: &Path) -> Store {
    Store::open(dir, &key()).unwrap()
}

/// A project with one consenting child and an interview with them.
fn interview(store: &Store) -> (ProjectId, ParticipantId, crate::ids::SessionId) {
    let project = store.create_project("Vägen in", Lang::Sv, "Sara").unwrap();
    let child = store
        .add_participant(
            &project,
            "P-01",
            ParticipantRole::Child,
            AgeBand::From10To12,
        )
        .unwrap();
    store
        .record_consent(&child, ConsentScope::Notes, GivenBy::Guardian, "2026-09")
        .unwrap();
    let session = store
        .start_session(
            &project,
            NewSession {
                kind: SessionKind::Interview,
                title: "Intervju".into(),
                participants: vec![child.clone()],
                place: Some("Fritidsgården".into()),
                guide: None,
                started_at: None,
            },
        )
        .unwrap();
    (project, child, session)
}

#[test]
fn a_note_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (session, note) = {
        let store = store_in(dir.path());
        let (_, _, session) = interview(&store);
        let note = store
            .add_note(
                &session,
                NewNote::new(NoteKind::Quote, "Jag vill bli lyssnad på"),
            )
            .unwrap();
        (session, note)
    };
    let store = store_in(dir.path());
    let notes = store.notes(&session).unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].id, note);
    assert_eq!(notes[0].text, "Jag vill bli lyssnad på");
    assert_eq!(notes[0].kind, NoteKind::Quote);
}

#[cfg(unix)]
#[test]
fn a_new_store_directory_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("new-store");
    let store = store_in(&store_dir);
    let mode = std::fs::metadata(&store_dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    // Its files too, the database's log and shared memory among them.
    store.create_project("Rätt stöd", Lang::Sv, "Sara").unwrap();
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&store_dir).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode();
        let name = entry.file_name().to_string_lossy().into_owned();
        assert_eq!(mode & 0o077, 0, "{name} is readable by others");
        seen.push(name);
    }
    for name in ["insikt.db", "insikt.db-wal", "insikt.lock", "blobs"] {
        assert!(seen.iter().any(|s| s == name), "{name} in {seen:?}");
    }
}

#[test]
fn a_store_is_opened_by_one_handle_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let first = store_in(dir.path());
    assert_eq!(
        Store::open(dir.path(), &key()).unwrap_err(),
        Error::StoreBusy
    );
    let clone = first.clone();
    drop(first);
    assert_eq!(
        Store::open(dir.path(), &key()).unwrap_err(),
        Error::StoreBusy,
        "a clone still holds it"
    );
    drop(clone);
    store_in(dir.path());
}

#[test]
fn a_wrong_key_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    interview(&store_in(dir.path()));
    let err = Store::open(dir.path(), &StoreKey::from_bytes([8; 32])).unwrap_err();
    assert_eq!(err, Error::WrongKey);
}

#[test]
fn a_plain_sqlite_database_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    drop(conn);
    assert_eq!(
        Store::open(dir.path(), &key()).unwrap_err(),
        Error::NotAStore
    );
}

#[test]
fn an_encrypted_database_of_someone_else_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.execute_batch(&key().sqlcipher_pragma()).unwrap();
    conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    drop(conn);
    assert_eq!(
        Store::open(dir.path(), &key()).unwrap_err(),
        Error::NotAStore
    );
}

#[test]
fn the_database_file_holds_no_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = store_in(dir.path());
        let (_, _, session) = interview(&store);
        store
            .add_note(&session, NewNote::new(NoteKind::Plain, "hemligt-ord-zebra"))
            .unwrap();
        store.compact().unwrap();
    }
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            continue; // blobs: see the media tests
        }
        let bytes = std::fs::read(path).unwrap();
        let hay = String::from_utf8_lossy(&bytes);
        assert!(!hay.contains("hemligt-ord-zebra"));
        assert!(!hay.contains("SQLite format 3"));
    }
}

#[test]
fn capture_without_consent_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let (project, child, session) = interview(&store);
    let other = store
        .add_participant(
            &project,
            "P-02",
            ParticipantRole::YoungPerson,
            AgeBand::From16To17,
        )
        .unwrap();
    store.add_session_participant(&session, &other).unwrap();
    // A note about the young person, who has not consented.
    let mut note = NewNote::new(NoteKind::Plain, "text");
    note.about = Some(other.clone());
    assert!(matches!(
        store.add_note(&session, note),
        Err(Error::ConsentMissing { scope: "notes", .. })
    ));
    // A note about no one in particular concerns both; one has not consented.
    assert!(matches!(
        store.add_note(
            &session,
            NewNote::new(NoteKind::Observation, "the room was loud")
        ),
        Err(Error::ConsentMissing { .. })
    ));
    // Once withdrawn, the child's consent covers nothing new either.
    store
        .withdraw_consent(&child, None, GivenBy::Guardian)
        .unwrap();
    let mut note = NewNote::new(NoteKind::Plain, "text");
    note.about = Some(child.clone());
    assert!(matches!(
        store.add_note(&session, note),
        Err(Error::ConsentMissing { .. })
    ));
    // The error names no code and no text.
    let msg = store
        .add_note(&session, NewNote::new(NoteKind::Plain, "secret words"))
        .unwrap_err()
        .to_string();
    assert!(!msg.contains("P-0") && !msg.contains("secret"));
}

#[test]
fn edits_and_deletions_reach_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let (project, _, session) = interview(&store);
    store.open_session(&session).unwrap();
    let note = store
        .add_note(&session, NewNote::new(NoteKind::Plain, "Skolan ringde"))
        .unwrap();
    assert!(matches!(
        store.open_session(&crate::ids::SessionId::new()),
        Err(Error::NotFound { .. })
    ));
    store.edit_note(&note, "Skolan ringde två gånger").unwrap();
    assert_eq!(store.search(&project, "gånger", 10).unwrap().len(), 1);
    store.delete_note(&note).unwrap();
    assert!(store.search(&project, "skolan", 10).unwrap().is_empty());
    assert!(store.notes(&session).unwrap().is_empty());
    assert!(matches!(
        store.edit_note(&note, "x"),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn swedish_letters_are_distinct_in_search() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let (project, _, session) = interview(&store);
    for text in [
        "Det var ett hål i staketet",
        "Vi tog en hal väg hem",
        "Han var för trött",
        "Pojken for hem",
        "Mötet var svårt",
    ] {
        store
            .add_note(&session, NewNote::new(NoteKind::Plain, text))
            .unwrap();
    }
    let texts = |q: &str| -> Vec<String> {
        store
            .search(&project, q, 10)
            .unwrap()
            .into_iter()
            .map(|h| h.note.text)
            .collect()
    };
    assert_eq!(texts("hål"), vec!["Det var ett hål i staketet"]);
    assert_eq!(texts("hal"), vec!["Vi tog en hal väg hem"]);
    assert_eq!(texts("för"), vec!["Han var för trött"]);
    assert_eq!(texts("for"), vec!["Pojken for hem"]);
    assert_eq!(
        texts("MÖTET"),
        vec!["Mötet var svårt"],
        "case folds, letters do not"
    );
    assert_eq!(texts("möt"), vec!["Mötet var svårt"], "prefixes match");
    assert!(texts("motet").is_empty());
    let hit = &store.search(&project, "staketet", 1).unwrap()[0];
    assert!(hit.snippet.contains("[staketet]"));
}

#[test]
fn merged_changes_reach_the_index() {
    let a_dir = tempfile::tempdir().unwrap();
    let b_dir = tempfile::tempdir().unwrap();
    let a = store_in(a_dir.path());
    let b = Store::open(b_dir.path(), &StoreKey::from_bytes([9; 32])).unwrap();
    let (project, child, session) = interview(&a);
    let first = a
        .add_note(
            &session,
            NewNote::new(NoteKind::Plain, "Första anteckningen"),
        )
        .unwrap();
    // Device B joins: A adds B's member, and B receives every document.
    a.add_member_with_id(
        &project,
        b.me().clone(),
        "Omar",
        crate::domain::MemberRole::Researcher,
    )
    .unwrap();
    for k in a.document_keys().unwrap() {
        b.merge_document(&k, &a.document_bytes(&k).unwrap())
            .unwrap();
    }
    assert_eq!(
        b.my_role(&project).unwrap(),
        crate::domain::MemberRole::Researcher
    );
    assert_eq!(b.search(&project, "första", 5).unwrap().len(), 1);
    // Both edit the same note while apart; both edits survive the merge.
    a.edit_note(&first, "Första anteckningen, kompletterad")
        .unwrap();
    b.edit_note(&first, "Den första anteckningen").unwrap();
    b.add_note(&session, NewNote::new(NoteKind::Gain, "Fotbollen hjälper"))
        .unwrap();
    for k in b.document_keys().unwrap() {
        a.merge_document(&k, &b.document_bytes(&k).unwrap())
            .unwrap();
    }
    for k in a.document_keys().unwrap() {
        b.merge_document(&k, &a.document_bytes(&k).unwrap())
            .unwrap();
    }
    let on_a = a.notes(&session).unwrap();
    let on_b = b.notes(&session).unwrap();
    assert_eq!(on_a, on_b);
    assert_eq!(on_a.len(), 2);
    let merged = &on_a.iter().find(|n| n.id == first).unwrap().text;
    assert!(
        merged.contains("Den första") && merged.contains("kompletterad"),
        "{merged}"
    );
    assert_eq!(a.search(&project, "fotbollen", 5).unwrap().len(), 1);
    let _ = child;
}

#[test]
fn compaction_keeps_every_note() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let (_, _, session) = interview(&store);
    for i in 0..(docs::COMPACT_AFTER_CHUNKS + 10) {
        store
            .add_note(
                &session,
                NewNote::new(NoteKind::Plain, format!("anteckning {i}")),
            )
            .unwrap();
    }
    store.compact().unwrap();
    drop(store);
    let store = store_in(dir.path());
    assert_eq!(
        store.notes(&session).unwrap().len() as i64,
        docs::COMPACT_AFTER_CHUNKS + 10
    );
    store.rebuild_index().unwrap();
    assert_eq!(
        store.notes(&session).unwrap().len() as i64,
        docs::COMPACT_AFTER_CHUNKS + 10
    );
}

#[test]
fn dot_voting_respects_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let (project, _, _) = interview(&store);
    let a = store
        .add_idea(
            &project,
            crate::NewIdea {
                title: "Chatt".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let b = store
        .add_idea(
            &project,
            crate::NewIdea {
                title: "Fika".into(),
                ..Default::default()
            },
        )
        .unwrap();
    store.vote(&project, &a, 2).unwrap();
    store.vote(&project, &b, 1).unwrap();
    assert_eq!(
        store.vote(&project, &b, 2),
        Err(Error::InvalidInput("not enough dots left"))
    );
    store.vote(&project, &a, 1).unwrap();
    store.vote(&project, &b, 2).unwrap();
    let ranking = store.idea_ranking(&project).unwrap();
    assert_eq!((ranking[0].title.as_str(), ranking[0].dots), ("Fika", 2));
}

#[test]
fn insights_refer_to_evidence_and_never_copy_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let (project, _, session) = interview(&store);
    let quote = store
        .add_note(
            &session,
            NewNote::new(NoteKind::Quote, "Ingen frågade vad jag ville"),
        )
        .unwrap();
    let insight = store
        .add_insight(
            &project,
            "Barn känner sig inte hörda",
            std::slice::from_ref(&quote),
            "Fråga barnet först",
        )
        .unwrap();
    store
        .add_hmw(&project, &insight, "Hur kan vi låta barnet tala först?")
        .unwrap();
    let doc = store
        .document_bytes(&DocKey::Project(project.clone()))
        .unwrap();
    let project_doc = automerge::AutoCommit::load(&doc).unwrap();
    let json = format!("{:?}", automerge::AutoSerde::from(&project_doc));
    assert!(
        !json.contains("Ingen frågade"),
        "the project document must not copy note text"
    );
    let evidence = store.insight_evidence(&project, &insight).unwrap();
    assert!(matches!(&evidence[0], EvidenceView::Present(n) if n.id == quote));
}

#[test]
fn a_store_handle_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
}

#[test]
fn a_captured_note_reads_back_whole() {
    use crate::domain::{EmpathyQuadrant, JourneyStage, Note, NoteAnchor, Prose};
    use crate::ids::{MemberId, NoteId, QuestionId};
    let full = Note {
        id: NoteId::new(),
        kind: NoteKind::Feeling,
        text: Prose::new("Känner sig utanför på rasterna"),
        author: MemberId::new(),
        about: Some(ParticipantId::new()),
        anchor: NoteAnchor {
            question: Some(QuestionId::new()),
            quadrant: Some(EmpathyQuadrant::Feels),
            stage: Some(JourneyStage::After),
            emotion: Some(-1),
            ..Default::default()
        },
        tags: vec!["skola".into(), "rast".into()],
        created_at: crate::Timestamp(1),
        updated_at: crate::Timestamp(2),
        deleted_at: None,
    };
    let bare = Note {
        about: None,
        anchor: NoteAnchor::default(),
        tags: vec![],
        id: NoteId::new(),
        ..full.clone()
    };
    for note in [full, bare] {
        let mut doc = automerge::AutoCommit::new();
        let notes = docs::map_at(&mut doc, "notes").unwrap();
        note.write_new(&mut doc, &notes).unwrap();
        let doc = automerge::AutoCommit::load(&doc.save()).unwrap();
        let notes = doc.get(automerge::ROOT, "notes").unwrap().unwrap().1;
        let back: Note = autosurgeon::hydrate_prop(&doc, &notes, note.id.as_str()).unwrap();
        assert_eq!(back, note);
    }
}

#[test]
fn optional_fields_survive_a_round_trip() {
    use crate::domain::{EmpathyQuadrant, GivenBy, JourneyStage, NoteAnchor};
    #[derive(Debug, PartialEq, autosurgeon::Reconcile, autosurgeon::Hydrate)]
    struct Probe {
        by: Option<GivenBy>,
        at: Option<crate::Timestamp>,
        who: Option<ParticipantId>,
        anchor: NoteAnchor,
    }
    let probe = Probe {
        by: Some(GivenBy::Guardian),
        at: Some(crate::Timestamp(42)),
        who: Some(ParticipantId::new()),
        anchor: NoteAnchor {
            question: None,
            quadrant: Some(EmpathyQuadrant::Feels),
            stage: Some(JourneyStage::During),
            emotion: Some(-2),
            ..Default::default()
        },
    };
    let mut doc = automerge::AutoCommit::new();
    autosurgeon::reconcile(&mut doc, &probe).unwrap();
    let doc = automerge::AutoCommit::load(&doc.save()).unwrap();
    assert_eq!(autosurgeon::hydrate::<_, Probe>(&doc).unwrap(), probe);
}

#[test]
fn captured_notes_are_readable_at_once_and_survive_a_quick_close() {
    let dir = tempfile::tempdir().unwrap();
    let (project, session) = {
        let store = store_in(dir.path());
        let (project, _, session) = interview(&store);
        for i in 0..60 {
            store
                .add_note(
                    &session,
                    NewNote::new(NoteKind::Plain, format!("snabb anteckning {i}")),
                )
                .unwrap();
        }
        // Read-your-writes, whatever the worker has done so far.
        assert_eq!(store.notes(&session).unwrap().len(), 60);
        for i in 60..90 {
            store
                .add_note(
                    &session,
                    NewNote::new(NoteKind::Plain, format!("snabb anteckning {i}")),
                )
                .unwrap();
        }
        (project, session)
        // Dropped with notes possibly still pending.
    };
    let store = store_in(dir.path());
    assert_eq!(store.journal_status(), (0, None));
    assert_eq!(store.notes(&session).unwrap().len(), 90);
    assert_eq!(store.search(&project, "snabb", 100).unwrap().len(), 90);
    store.rebuild_index().unwrap();
    assert_eq!(
        store.notes(&session).unwrap().len(),
        90,
        "documents hold every note"
    );
}

mod media {
    use super::*;
    use crate::domain::AttachmentKind;
    use crate::{NewPhoto, NewRecording, RedactStyle, Redaction, Region};
    use insikt_media::sample::{phone_photo, PLANTED_OWNER, PLANTED_SERIAL};

    fn wav() -> Vec<u8> {
        let data = vec![0u8; 1600];
        let mut w = b"RIFF".to_vec();
        w.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        w.extend_from_slice(b"WAVEfmt ");
        w.extend_from_slice(&16u32.to_le_bytes());
        w.extend_from_slice(&1u16.to_le_bytes()); // PCM
        w.extend_from_slice(&1u16.to_le_bytes()); // mono
        w.extend_from_slice(&8000u32.to_le_bytes());
        w.extend_from_slice(&16000u32.to_le_bytes());
        w.extend_from_slice(&2u16.to_le_bytes());
        w.extend_from_slice(&16u16.to_le_bytes());
        w.extend_from_slice(b"data");
        w.extend_from_slice(&(data.len() as u32).to_le_bytes());
        w.extend_from_slice(&data);
        w
    }

    pub(super) fn all_store_bytes_pub(dir: &Path) -> Vec<u8> {
        all_store_bytes(dir)
    }

    fn all_store_bytes(dir: &Path) -> Vec<u8> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.extend(std::fs::read(p).unwrap());
                }
            }
        }
        out
    }

    #[test]
    fn a_photo_is_stored_without_metadata_encrypted_and_only_with_consent() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let (_, child, session) = interview(&store);
        let photo = phone_photo(800, 600, 6);
        let input = NewPhoto {
            caption: "Teckning av huset".into(),
            appears: vec![child.clone()],
            redactions: vec![],
        };
        let refused = store.add_photo(&session, &photo, input.clone());
        assert!(matches!(
            refused,
            Err(Error::ConsentMissing {
                scope: "photos",
                ..
            })
        ));
        store
            .record_consent(&child, ConsentScope::Photos, GivenBy::Guardian, "2026-09")
            .unwrap();
        let id = store.add_photo(&session, &photo, input).unwrap();
        let (key, a) = store.attachment(&id).unwrap();
        assert_eq!(
            key,
            DocKey::Material(session.clone(), child.clone()),
            "a photo of one child is that child's material"
        );
        assert_eq!(a.kind, AttachmentKind::Photo);
        assert_eq!(
            (a.original.width, a.original.height),
            (600, 800),
            "turned upright"
        );
        for hash in a.hashes() {
            let bytes = store.blob(hash).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains("Exif")
                    && !text.contains(PLANTED_SERIAL)
                    && !text.contains(PLANTED_OWNER)
            );
        }
        assert_eq!(store.attachments(&session).unwrap().len(), 1);
        store.compact().unwrap();
        let raw = all_store_bytes(dir.path());
        let raw = String::from_utf8_lossy(&raw);
        assert!(
            !raw.contains(PLANTED_SERIAL) && !raw.contains("JFIF") && !raw.contains("Teckning")
        );
    }

    #[test]
    fn redacting_later_replaces_the_renditions_and_destroys_the_old_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let (_, _, session) = interview(&store);
        // A photo of the waiting room, nobody in it.
        let id = store
            .add_photo(&session, &phone_photo(640, 480, 1), NewPhoto::default())
            .unwrap();
        let (_, before) = store.attachment(&id).unwrap();
        let face = Redaction {
            region: Region::Ellipse {
                x: 200,
                y: 150,
                w: 120,
                h: 160,
            },
            style: RedactStyle::Blur,
        };
        store.redact_photo(&id, &[face]).unwrap();
        let (_, after) = store.attachment(&id).unwrap();
        assert!(after.redacted);
        for old in before.hashes() {
            assert!(!after.hashes().contains(&old));
            assert!(matches!(store.blob(old), Err(Error::NotFound { .. })));
        }
        for new in after.hashes() {
            store.blob(new).unwrap();
        }
        assert_eq!(store.collect_blob_garbage().unwrap(), 0);
    }

    #[test]
    fn bad_images_get_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let (_, _, session) = interview(&store);
        let mut truncated = phone_photo(640, 480, 1);
        truncated.truncate(truncated.len() / 3);
        for bytes in [b"not an image at all".to_vec(), truncated, Vec::new()] {
            assert!(matches!(
                store.add_photo(&session, &bytes, NewPhoto::default()),
                Err(Error::Media(_))
            ));
        }
    }

    #[test]
    fn a_recording_and_its_transcript_behave_like_notes() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let (project, child, session) = interview(&store);
        assert!(matches!(
            store.add_recording(&session, &wav(), NewRecording::default()),
            Err(Error::ConsentMissing { scope: "audio", .. })
        ));
        store
            .record_consent(&child, ConsentScope::Audio, GivenBy::Guardian, "2026-09")
            .unwrap();
        let rec = store
            .add_recording(
                &session,
                &wav(),
                NewRecording {
                    caption: "Intervjun".into(),
                    speakers: None,
                },
            )
            .unwrap();
        let (_, a) = store.attachment(&rec).unwrap();
        assert_eq!(a.mime, "audio/wav");
        assert_eq!(store.blob(&a.original.hash).unwrap(), wav());
        let seg = store
            .add_transcript_segment(
                &session,
                &rec,
                (1_000, 4_500),
                Some(child.clone()),
                "Jag tycker om fotbollsträningen",
            )
            .unwrap();
        let hit = &store.search(&project, "fotbollsträningen", 5).unwrap()[0];
        assert_eq!(hit.note.id, seg);
        assert_eq!(hit.note.kind, NoteKind::Transcript);
        assert_eq!(
            (hit.note.anchor.start_ms, hit.note.anchor.end_ms),
            (Some(1_000), Some(4_500))
        );
        assert!(matches!(
            store.add_recording(&session, b"garbage bytes", NewRecording::default()),
            Err(Error::Media(_))
        ));
    }

    #[test]
    fn a_diary_entry_may_carry_a_photo_and_may_be_anonymous() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let (project, child, session) = interview(&store);
        let entry = |anonymous: bool| crate::NewDiaryEntry {
            session: Some(session.clone()),
            heading: "Idag".into(),
            text: "Det var en lugn dag på fritids".into(),
            rating: Some(3),
            anonymous,
            photo: Some((phone_photo(320, 240, 1), "Fritids".into())),
        };
        assert!(matches!(
            store.submit_diary_entry(&child, entry(true)),
            Err(Error::ConsentMissing {
                scope: "photos",
                ..
            })
        ));
        store
            .record_consent(&child, ConsentScope::Photos, GivenBy::Guardian, "2026-09")
            .unwrap();
        store.submit_diary_entry(&child, entry(true)).unwrap();
        let hit = &store.search(&project, "lugn", 5).unwrap()[0];
        assert_eq!(hit.note.kind, NoteKind::DiaryEntry);
        assert_eq!(
            hit.note.about, None,
            "an anonymous entry does not name its writer"
        );
        let photo = store
            .inbox(&child)
            .unwrap()
            .entries
            .into_values()
            .next()
            .unwrap()
            .photo
            .unwrap();
        let (key, found) = store.attachment(&photo.id).unwrap();
        assert_eq!(key, DocKey::Inbox(child.clone()));
        store.blob(&found.thumbnail.unwrap().hash).unwrap();
    }
}

mod review {
    use super::*;
    use crate::domain::MemberRole;

    /// Two devices that both hold the session.
    fn two_devices() -> (
        tempfile::TempDir,
        Store,
        Store,
        ProjectId,
        ParticipantId,
        crate::ids::SessionId,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let a = Store::open(&dir.path().join("a"), &key()).unwrap();
        let b = Store::open(&dir.path().join("b"), &StoreKey::from_bytes([3; 32])).unwrap();
        let (project, child, session) = interview(&a);
        a.add_member_with_id(&project, b.me().clone(), "B", MemberRole::Researcher)
            .unwrap();
        sync(&a, &b);
        (dir, a, b, project, child, session)
    }

    fn sync(from: &Store, to: &Store) {
        for k in from.document_keys().unwrap() {
            to.merge_document(&k, &from.document_bytes(&k).unwrap())
                .unwrap();
        }
    }

    #[test]
    fn two_devices_creating_the_same_material_document_keep_both_notes() {
        let (_dir, a, b, _, _, session) = two_devices();
        a.add_note(&session, NewNote::new(NoteKind::Plain, "Från A"))
            .unwrap();
        b.add_note(&session, NewNote::new(NoteKind::Plain, "Från B"))
            .unwrap();
        sync(&a, &b);
        sync(&b, &a);
        for s in [&a, &b] {
            let mut texts: Vec<String> = s
                .notes(&session)
                .unwrap()
                .into_iter()
                .map(|n| n.text)
                .collect();
            texts.sort();
            assert_eq!(texts, vec!["Från A", "Från B"]);
        }
    }

    #[test]
    fn an_inbox_written_on_two_devices_keeps_entries_and_messages() {
        let (_dir, a, b, _, child, _) = two_devices();
        a.send_message(&child, "Tack!").unwrap();
        let entry = crate::NewDiaryEntry {
            text: "Min dag".into(),
            ..Default::default()
        };
        b.submit_diary_entry(&child, entry).unwrap();
        sync(&a, &b);
        sync(&b, &a);
        for s in [&a, &b] {
            let inbox = s.inbox(&child).unwrap();
            assert_eq!((inbox.entries.len(), inbox.messages.len()), (1, 1));
        }
    }

    #[test]
    fn a_journal_row_that_cannot_be_applied_blocks_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let session = {
            let store = store_in(dir.path());
            let (_, _, session) = interview(&store);
            store
                .add_note(&session, NewNote::new(NoteKind::Plain, "före"))
                .unwrap();
            store.notes(&session).unwrap();
            session
        };
        {
            // A row the journal cannot decode, as a bug or a bad disk might leave.
            let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
            conn.execute_batch(&key().sqlcipher_pragma()).unwrap();
            conn.execute(
                "INSERT INTO pending_notes (session, project, note) VALUES (?1, 'x', X'00FF')",
                [session.as_str()],
            )
            .unwrap();
        }
        let store = store_in(dir.path());
        store
            .add_note(&session, NewNote::new(NoteKind::Plain, "efter"))
            .unwrap();
        let texts: Vec<String> = store
            .notes(&session)
            .unwrap()
            .into_iter()
            .map(|n| n.text)
            .collect();
        assert_eq!(texts, vec!["före", "efter"]);
        assert_eq!(store.journal_status(), (0, None));
    }

    #[test]
    fn search_in_one_project_is_not_crowded_out_by_another() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let (small, _, s1) = interview(&store);
        store
            .add_note(&s1, NewNote::new(NoteKind::Plain, "skolan i Rinkeby"))
            .unwrap();
        let big = store.create_project("Stor", Lang::Sv, "Sara").unwrap();
        let s2 = store
            .start_session(
                &big,
                NewSession {
                    kind: SessionKind::Observation,
                    title: "x".into(),
                    participants: vec![],
                    place: None,
                    guide: None,
                    started_at: None,
                },
            )
            .unwrap();
        for i in 0..(crate::store::query::SEARCH_CANDIDATES + 10) {
            store
                .add_note(&s2, NewNote::new(NoteKind::Plain, format!("skolan {i}")))
                .unwrap();
        }
        assert_eq!(store.search(&small, "skolan", 10).unwrap().len(), 1);
    }

    #[test]
    fn a_deleted_word_leaves_the_search_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let (_, _, session) = interview(&store);
        let note = store
            .add_note(&session, NewNote::new(NoteKind::Plain, "zyxhemligtord"))
            .unwrap();
        store.notes(&session).unwrap();
        store.delete_note(&note).unwrap();
        let left: i64 = store
            .query(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM notes_fts_data WHERE instr(block, CAST('zyxhemligtord' AS BLOB)) > 0",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap();
        assert_eq!(left, 0);
    }

    #[test]
    fn a_document_whose_content_contradicts_its_name_is_refused() {
        let (_dir, a, b, _, _, session) = two_devices();
        a.add_note(&session, NewNote::new(NoteKind::Plain, "x"))
            .unwrap();
        let real = a
            .document_keys()
            .unwrap()
            .into_iter()
            .find(|k| matches!(k, DocKey::Material(..)))
            .unwrap();
        let bytes = a.document_bytes(&real).unwrap();
        let forged = DocKey::Material(session.clone(), ParticipantId::new());
        assert!(matches!(
            b.merge_document(&forged, &bytes),
            Err(Error::Document(_))
        ));
        assert!(b.document_keys().unwrap().iter().all(|k| k != &forged));
    }
}

mod forged {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        /// Bytes from a bad peer — random, or a real document cut or bit-flipped — get
        /// an error or a harmless merge, never a panic, and the store keeps working.
        #[test]
        fn forged_documents_never_panic(noise in proptest::collection::vec(any::<u8>(), 0..512), cut in 0usize..4096, flip in 0usize..4096) {
            let dir = tempfile::tempdir().unwrap();
            let store = store_in(dir.path());
            let (_, _, session) = interview(&store);
            store.add_note(&session, NewNote::new(NoteKind::Plain, "riktig anteckning")).unwrap();
            let key = DocKey::Session(session.clone());
            let real = store.document_bytes(&key).unwrap();
            let mut flipped = real.clone();
            let at = flip % flipped.len();
            flipped[at] ^= 0x5a;
            let other = DocKey::Material(session.clone(), ParticipantId::new());
            for bytes in [noise.clone(), real[..cut.min(real.len())].to_vec(), flipped] {
                let _ = store.merge_document(&key, &bytes);
                let _ = store.merge_document(&other, &bytes);
            }
            prop_assert_eq!(store.notes(&session).unwrap().len(), 1);
        }
    }
}

mod erasure {
    use super::*;
    use crate::NewPhoto;
    use insikt_media::sample::phone_photo;

    /// Every live byte of the database, decrypted, as a plaintext SQLite file.
    fn decrypted_dump(store: &Store, dir: &Path) -> Vec<u8> {
        let out = dir.join("plain-dump.db");
        let _ = std::fs::remove_file(&out);
        store
            .query(|c| {
                c.execute(
                    "ATTACH DATABASE ?1 AS plain KEY ''",
                    [out.to_str().unwrap()],
                )?;
                c.query_row("SELECT sqlcipher_export('plain')", [], |_| Ok(()))?;
                c.execute_batch("DETACH DATABASE plain;")?;
                Ok(())
            })
            .unwrap();
        std::fs::read(&out).unwrap()
    }

    fn contains(hay: &[u8], needle: &str) -> bool {
        hay.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    #[test]
    fn erasing_a_participant_destroys_their_material_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let (project, child, alone) = interview(&store);
        store
            .record_consent(&child, ConsentScope::Photos, GivenBy::Guardian, "v1")
            .unwrap();
        let other = store
            .add_participant(&project, "P-02", ParticipantRole::Staff, AgeBand::Adult)
            .unwrap();
        store
            .record_consent(&other, ConsentScope::Notes, GivenBy::Participant, "v1")
            .unwrap();
        let group = store
            .start_session(
                &project,
                NewSession {
                    kind: SessionKind::Interview,
                    title: "Grupp".into(),
                    participants: vec![child.clone(), other.clone()],
                    place: None,
                    guide: None,
                    started_at: None,
                },
            )
            .unwrap();
        let quote = store
            .add_note(
                &alone,
                NewNote::new(NoteKind::Quote, "hemlighetzebra i skolan"),
            )
            .unwrap();
        let mut about = NewNote::new(NoteKind::Plain, "gruppzebra sa barnet");
        about.about = Some(child.clone());
        store.add_note(&group, about).unwrap();
        let mut staff = NewNote::new(NoteKind::Plain, "personalens anteckning stannar");
        staff.about = Some(other.clone());
        store.add_note(&group, staff).unwrap();
        let photo = store
            .add_photo(
                &alone,
                &phone_photo(320, 240, 1),
                NewPhoto {
                    caption: "teckningzebra".into(),
                    appears: vec![child.clone()],
                    redactions: vec![],
                },
            )
            .unwrap();
        let (_, a) = store.attachment(&photo).unwrap();
        let insight = store
            .add_insight(
                &project,
                "Barn känner sig inte hörda",
                std::slice::from_ref(&quote),
                "",
            )
            .unwrap();
        store
            .set_roster_name(&child, "Alexzebra Andersson")
            .unwrap();
        assert_eq!(
            store.roster_name(&child).unwrap().as_deref(),
            Some("Alexzebra Andersson")
        );
        // The name is in no document: nothing that syncs or exports can carry it.
        for key in store.document_keys().unwrap() {
            let bytes = store.document_bytes(&key).unwrap();
            assert!(
                !contains(&bytes, "Alexzebra"),
                "{key} holds the roster name"
            );
        }
        let stale = [
            DocKey::Material(alone.clone(), child.clone()),
            DocKey::Session(alone.clone()),
        ]
        .map(|k| (k.clone(), store.document_bytes(&k).unwrap()));
        assert!(
            contains(&decrypted_dump(&store, scratch.path()), "hemlighetzebra"),
            "the scan can see text"
        );

        let report = store.erase_participant(&child).unwrap();
        assert!(
            report.documents >= 4 && report.notes >= 2 && report.blobs == 3,
            "{report:?}"
        );

        assert!(store
            .participants(&project)
            .unwrap()
            .iter()
            .all(|p| p.id != child));
        let sessions = store.sessions(&project).unwrap();
        assert_eq!(sessions.len(), 1, "the session with only the child is gone");
        assert_eq!(sessions[0].participants, vec![other.clone()]);
        assert_eq!(
            store.notes(&group).unwrap().len(),
            1,
            "the staff member's note stays"
        );
        assert!(store.search(&project, "zebra", 10).unwrap().is_empty());
        assert!(matches!(
            store.insight_evidence(&project, &insight).unwrap()[0],
            EvidenceView::Erased { .. }
        ));
        for hash in a.hashes() {
            assert!(store.blob(hash).is_err());
        }
        // An old device sending the erased documents back is refused.
        for (key, bytes) in &stale {
            assert!(matches!(
                store.merge_document(key, bytes),
                Err(Error::Erased { .. })
            ));
        }
        assert!(matches!(
            store.add_note(&alone, NewNote::new(NoteKind::Plain, "x")),
            Err(Error::Erased { .. })
        ));
        let dump = decrypted_dump(&store, scratch.path());
        assert_eq!(store.roster_name(&child).unwrap(), None);
        for word in [
            "hemlighetzebra",
            "gruppzebra",
            "teckningzebra",
            "P-01",
            "Alexzebra",
        ] {
            assert!(!contains(&dump, word), "{word} survived erasure");
        }
        // The coordinator sees who did what, never what was said.
        let log = store.audit_log(&project).unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions.first(), Some(&"erase"));
        assert!(actions.contains(&"consent given"));
        assert!(log.iter().all(|e| !e.detail.contains("zebra")));
        // Nothing in the store directory holds the photo's bytes either.
        let files = super::media::all_store_bytes_pub(dir.path());
        assert!(!contains(&files, "teckningzebra"));
    }
}

mod export {
    use super::*;
    use crate::NewPhoto;
    use insikt_media::sample::phone_photo;

    fn session_with(
        store: &Store,
        project: &ProjectId,
        who: &[ParticipantId],
    ) -> crate::ids::SessionId {
        store
            .start_session(
                project,
                NewSession {
                    kind: SessionKind::Interview,
                    title: "Samtal".into(),
                    participants: who.to_vec(),
                    place: None,
                    guide: None,
                    started_at: None,
                },
            )
            .unwrap()
    }

    #[test]
    fn a_report_holds_only_what_consent_covers() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let project = store.create_project("Rapport", Lang::Sv, "Sara").unwrap();
        let a = store
            .add_participant(
                &project,
                "P-11",
                ParticipantRole::YoungPerson,
                AgeBand::From16To17,
            )
            .unwrap();
        let b = store
            .add_participant(
                &project,
                "P-12",
                ParticipantRole::YoungPerson,
                AgeBand::From16To17,
            )
            .unwrap();
        for scope in [
            ConsentScope::Notes,
            ConsentScope::QuotesInReports,
            ConsentScope::Photos,
        ] {
            store
                .record_consent(&a, scope, GivenBy::Participant, "v1")
                .unwrap();
        }
        for scope in [ConsentScope::Notes, ConsentScope::Photos] {
            store
                .record_consent(&b, scope, GivenBy::Participant, "v1")
                .unwrap();
        }
        store.set_roster_name(&a, "Rosternamn Alexzebra").unwrap();
        let sa = session_with(&store, &project, std::slice::from_ref(&a));
        let sb = session_with(&store, &project, std::slice::from_ref(&b));
        let both = session_with(&store, &project, &[a.clone(), b.clone()]);
        let qa = store
            .add_note(&sa, NewNote::new(NoteKind::Quote, "citatzebra från A"))
            .unwrap();
        let qb = store
            .add_note(&sb, NewNote::new(NoteKind::Quote, "citatgiraff från B"))
            .unwrap();
        let qab = store
            .add_note(&both, NewNote::new(NoteKind::Quote, "gemensamtkamel"))
            .unwrap();
        store
            .add_insight(&project, "Unga vill bli hörda", &[qa, qb, qab], "")
            .unwrap();
        let photo = |s: &crate::ids::SessionId, p: &ParticipantId, caption: &str| {
            store
                .add_photo(
                    s,
                    &phone_photo(640, 480, 1),
                    NewPhoto {
                        caption: caption.into(),
                        appears: vec![p.clone()],
                        redactions: vec![],
                    },
                )
                .unwrap()
        };
        let pa = photo(&sa, &a, "bildzebra");
        photo(&sb, &b, "bildgiraff");
        // B withdraws consent to photos after the photo was taken.
        store
            .withdraw_consent(&b, Some(ConsentScope::Photos), GivenBy::Participant)
            .unwrap();

        let report = store.export_report(&project, Lang::Sv).unwrap();
        let md = &report.markdown;
        assert!(md.contains("citatzebra"), "{md}");
        assert!(md.contains("Unga vill bli hörda"));
        for absent in [
            "citatgiraff",
            "gemensamtkamel",
            "bildgiraff",
            "Rosternamn",
            "Alexzebra",
        ] {
            assert!(!md.contains(absent), "{absent} must not be exported:\n{md}");
        }
        assert_eq!(report.media.len(), 1);
        assert_eq!(report.media[0].attachment.id, pa);
        // The audit log records whose material left the app, and what kind, not what.
        let log = store.audit_log(&project).unwrap();
        let exports: Vec<_> = log.iter().filter(|e| e.action == "export").collect();
        assert_eq!(exports.len(), 1, "only A's material was exported");
        assert_eq!(exports[0].detail, "photo, quote");
        assert!(log.iter().all(|e| !e.detail.contains("citat")));
        assert_eq!(report.withheld, 3);
        // The exported photo is the stripped preview, with nothing of the phone in it.
        let text = String::from_utf8_lossy(&report.media[0].bytes);
        assert!(!text.contains("Exif") && !text.contains(insikt_media::sample::PLANTED_SERIAL));

        // A reviewer does not export.
        let other = tempfile::tempdir().unwrap();
        let reviewer = store_in(other.path());
        store
            .add_member_with_id(
                &project,
                reviewer.me().clone(),
                "Lina",
                MemberRole::Reviewer,
            )
            .unwrap();
        for key in store.document_keys().unwrap() {
            reviewer
                .merge_document(&key, &store.document_bytes(&key).unwrap())
                .unwrap();
        }
        assert!(matches!(
            reviewer.export_report(&project, Lang::Sv),
            Err(Error::NotAllowed(_))
        ));
    }
}

mod reviewer_search {
    use super::*;

    #[test]
    fn reviewers_find_notes_only_while_consent_to_notes_stands() {
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let reviewer = store_in(other.path());
        let (project, child, session) = interview(&store);
        store
            .add_member_with_id(
                &project,
                reviewer.me().clone(),
                "Lina",
                MemberRole::Reviewer,
            )
            .unwrap();
        store
            .add_note(
                &session,
                NewNote::new(NoteKind::Plain, "skolgården kändes otrygg"),
            )
            .unwrap();
        let share = |from: &Store, to: &Store| {
            for key in from.document_keys().unwrap() {
                to.merge_document(&key, &from.document_bytes(&key).unwrap())
                    .unwrap();
            }
        };
        share(&store, &reviewer);
        assert_eq!(
            reviewer.search(&project, "skolgården", 10).unwrap().len(),
            1
        );
        store
            .withdraw_consent(&child, Some(ConsentScope::Notes), GivenBy::Guardian)
            .unwrap();
        share(&store, &reviewer);
        assert!(reviewer
            .search(&project, "skolgården", 10)
            .unwrap()
            .is_empty());
        // The coordinator still finds it, to decide on erasure.
        assert_eq!(store.search(&project, "skolgården", 10).unwrap().len(), 1);
    }
}

mod retention {
    use super::*;
    use crate::{NewDiaryEntry, NewPhoto, Timestamp};
    use insikt_media::sample::phone_photo;

    #[test]
    fn raw_material_is_purged_after_the_retention_period_while_insights_and_quotes_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_in(dir.path());
        let (project, child, session) = interview(&store);
        for scope in [ConsentScope::Photos, ConsentScope::QuotesInReports] {
            store
                .record_consent(&child, scope, GivenBy::Guardian, "v1")
                .unwrap();
        }
        let quote = store
            .add_note(
                &session,
                NewNote::new(NoteKind::Quote, "det var läskigt först"),
            )
            .unwrap();
        store
            .add_insight(
                &project,
                "Första mötet skrämmer",
                std::slice::from_ref(&quote),
                "",
            )
            .unwrap();
        let photo = store
            .add_photo(
                &session,
                &phone_photo(320, 240, 1),
                NewPhoto {
                    caption: "teckning".into(),
                    appears: vec![child.clone()],
                    redactions: vec![],
                },
            )
            .unwrap();
        let (_, a) = store.attachment(&photo).unwrap();
        store
            .submit_diary_entry(
                &child,
                NewDiaryEntry {
                    heading: "Idag".into(),
                    text: "dagboksord".into(),
                    photo: Some((phone_photo(200, 150, 1), "min väg".into())),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(matches!(
            store.set_retention(&project, Some(0)),
            Err(Error::InvalidInput(_))
        ));
        store.set_retention(&project, Some(30)).unwrap();
        let day = 24 * 3600 * 1000;
        let now = Timestamp::now();
        // Within the period nothing goes.
        let early = store
            .apply_retention(&project, Timestamp(now.0 + 10 * day))
            .unwrap();
        assert_eq!(early, crate::store::RetentionReport::default());
        // After it, photos, their files and diary entries go; notes and insights stay.
        let late = store
            .apply_retention(&project, Timestamp(now.0 + 31 * day))
            .unwrap();
        assert_eq!((late.attachments, late.diary_entries), (1, 1), "{late:?}");
        assert_eq!(late.blobs, 6, "three renditions of each photo");
        assert!(store.attachments(&session).unwrap().is_empty());
        for hash in a.hashes() {
            assert!(store.blob(hash).is_err());
        }
        assert!(store.inbox(&child).unwrap().entries.is_empty());
        assert!(store.search(&project, "dagboksord", 10).unwrap().is_empty());
        assert_eq!(store.search(&project, "läskigt", 10).unwrap().len(), 1);
        assert_eq!(store.insights(&project).unwrap().len(), 1);
        // A second pass finds nothing more.
        let again = store
            .apply_retention(&project, Timestamp(now.0 + 31 * day))
            .unwrap();
        assert_eq!(again, crate::store::RetentionReport::default());
    }
}

/// What a device's own edits touch, as the hub's policy reads them: only the fields
/// they change (reconciling a whole document must not rewrite the rest, or a team
/// member's edit would touch the team and be refused).
#[test]
fn an_edit_touches_only_what_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let s = store_in(dir.path());
    let (project, _, session) = interview(&s);
    let key = DocKey::Project(project.clone());
    let touched_by = |f: &dyn Fn()| -> Vec<String> {
        let before = {
            let mut d = automerge::AutoCommit::load(&s.document_bytes(&key).unwrap()).unwrap();
            d.get_heads()
        };
        f();
        let mut d = automerge::AutoCommit::load(&s.document_bytes(&key).unwrap()).unwrap();
        let mut paths: Vec<String> = crate::policy::touched(&mut d, &before)
            .unwrap()
            .iter()
            .map(|t| t.to_string())
            .collect();
        paths.sort();
        paths.dedup();
        paths
    };
    let paths = touched_by(&|| {
        s.set_canvas(&project, Some("Jag vill"), None, None, None)
            .unwrap()
    });
    assert_eq!(paths, vec!["canvas/purpose/#"]);
    let paths = touched_by(&|| {
        s.set_step_status(
            &project,
            crate::domain::Step::Focus,
            crate::domain::StepStatus::Done,
        )
        .unwrap()
    });
    assert!(
        paths.iter().all(|p| p.starts_with("steps/focus")),
        "{paths:?}"
    );
    let idea = s
        .add_idea(
            &project,
            crate::NewIdea {
                title: "Fika".into(),
                description: String::new(),
                affects: String::new(),
                hmw: None,
                round: None,
            },
        )
        .unwrap();
    let paths = touched_by(&|| s.vote(&project, &idea, 2).unwrap());
    assert_eq!(paths, vec![format!("ideas/{idea}/votes/{}", s.me())]);
    let who = crate::policy::Who {
        writer: crate::policy::Writer::Reviewer,
        member: Some(s.me().as_str()),
    };
    for p in &paths {
        let path: Vec<crate::policy::Segment> = p
            .split('/')
            .map(|k| crate::policy::Segment::Key(k.into()))
            .collect();
        assert!(crate::policy::may_write(crate::policy::DocKind::Project, &who, &path).is_ok());
    }
    let _ = session;
}

/// Two devices linked directly until both are in sync; panics if they never are.
fn pair(a: &Store, b: &Store) -> (crate::sync::SyncReport, crate::sync::SyncReport) {
    use crate::sync::{Limits, Session, StoreDocuments};
    let mut left = Session::new(
        StoreDocuments::new(a.clone()).unwrap(),
        "a",
        Limits::default(),
    );
    let mut right = Session::new(
        StoreDocuments::new(b.clone()).unwrap(),
        "b",
        Limits::default(),
    );
    let mut to_right = left.start(true);
    let mut to_left = right.start(false);
    for _ in 0..200 {
        let mut next_left = Vec::new();
        for f in to_right.drain(..) {
            next_left.extend(right.receive(f));
        }
        let mut next_right = Vec::new();
        for f in to_left.drain(..).chain(next_left) {
            next_right.extend(left.receive(f));
        }
        to_right = next_right;
        assert!(
            left.closed().is_none() && right.closed().is_none(),
            "a side closed"
        );
        if to_right.is_empty() && left.in_sync() && right.in_sync() {
            return (left.report(), right.report());
        }
    }
    panic!("the devices did not reach sync");
}

/// A document a peer made unreadable (here a paired device that wrote a note's
/// kind as a number) is kept and set aside, reported, and read again once a later
/// change mends it; the sync goes on for everything else.
#[test]
fn a_document_that_does_not_read_is_set_aside_not_fatal() {
    use automerge::transaction::Transactable;
    let dir = tempfile::tempdir().unwrap();
    let a = store_in(&dir.path().join("a"));
    let b = store_in(&dir.path().join("b"));
    let (project, child, session) = interview(&a);
    a.add_note(&session, NewNote::new(NoteKind::Quote, "Jag gillar rasten"))
        .unwrap();
    a.add_member_with_id(
        &project,
        b.me().clone(),
        "B",
        crate::domain::MemberRole::Researcher,
    )
    .unwrap();
    pair(&a, &b);
    assert_eq!(b.search(&project, "rasten", 10).unwrap().len(), 1);
    let key = DocKey::Material(session.clone(), child);
    // A tampered app on A's device writes what no Insikt type reads.
    let mut doc = automerge::AutoCommit::load(&a.document_bytes(&key).unwrap()).unwrap();
    let notes = doc.get(automerge::ROOT, "notes").unwrap().unwrap().1;
    let note = doc.keys(&notes).next().unwrap();
    let n = doc.get(&notes, &note).unwrap().unwrap().1;
    doc.put(&n, "kind", 7_i64).unwrap();
    doc.commit();
    assert_eq!(a.merge_document(&key, &doc.save()), Ok(true));
    let second = a
        .start_session(
            &project,
            NewSession {
                kind: SessionKind::Observation,
                title: "Rasten".into(),
                participants: vec![],
                place: None,
                guide: None,
                started_at: None,
            },
        )
        .unwrap();
    let (_, at_b) = pair(&a, &b);
    assert_eq!(at_b.set_aside, vec![key.clone()]);
    let aside = b.set_aside_documents().unwrap();
    assert_eq!(aside.len(), 1);
    assert_eq!(aside[0].doc, key);
    assert!(
        !aside[0].reason.contains("gillar"),
        "no content in the reason"
    );
    assert!(b.search(&project, "rasten", 10).unwrap().is_empty());
    assert!(
        b.has_document(&DocKey::Session(second)).unwrap(),
        "the rest of the sync went on"
    );
    // A later change mends it: it reads, and is indexed, again.
    doc.put(&n, "kind", "quote").unwrap();
    doc.commit();
    a.merge_document(&key, &doc.save()).unwrap();
    let (_, at_b) = pair(&a, &b);
    assert!(at_b.set_aside.is_empty());
    assert!(b.set_aside_documents().unwrap().is_empty());
    assert_eq!(b.search(&project, "rasten", 10).unwrap().len(), 1);
}
