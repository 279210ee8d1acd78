//! A project keeps raw material for 30 days. A young person's diary and a photo from
//! an interview pass that age: the hub rebuilds their documents without them and
//! without the history that held them, and every device that meets the hub does the
//! same — including the young person's phone, which wrote a new entry offline in
//! the meantime (kept), and a researcher's phone that was away (which cannot bring
//! the old generation back).

use insikt_core::domain::SessionKind;
use insikt_core::{DocKey, NewDiaryEntry, NewPhoto, NewSession, Store, StoreKey};
use insikt_hub::{HubConfig, RunningHub};
use std::path::Path;

mod common;
use common::{contains, dump, hub_dump, sync};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Every byte a device keeps: its database decrypted, and every other file raw.
fn device_bytes(store: &Store, key: &StoreKey, scratch: &Path, name: &str) -> Vec<u8> {
    let mut all = dump(
        &store.dir().join("insikt.db"),
        key.as_bytes(),
        scratch,
        name,
    );
    for entry in walk(store.dir()) {
        all.extend(std::fs::read(entry).unwrap_or_default());
    }
    all
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn diary(text: &str, photo: Option<(Vec<u8>, String)>) -> NewDiaryEntry {
    NewDiaryEntry {
        session: None,
        heading: "Idag".into(),
        text: text.into(),
        rating: Some(2),
        anonymous: false,
        photo,
    }
}

#[test]
fn material_past_retention_leaves_every_replica_history_included() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let hub_dir = dir.path().join("hub");
    let hub = RunningHub::start(&hub_dir, HubConfig::default()).unwrap();
    hub.hub.add_org("Region Syd").unwrap();
    let keys: Vec<StoreKey> = (0..3).map(|_| StoreKey::generate()).collect();
    let common::Rasten {
        sara,
        omar,
        phone,
        project,
        p04,
    } = common::rasten(
        &hub,
        dir.path(),
        [&keys[0], &keys[1], &keys[2]],
        Some("Tack för din dagbok!"),
    );
    sync(&phone);

    // The young person writes in their diary, with a photo; Omar photographs a
    // drawing in an interview.
    let diary_photo = insikt_media::sample::phone_photo(640, 480, 3);
    phone
        .submit_own_diary_entry(diary(
            "Ingen ville vara med mig på rasten",
            Some((diary_photo, "Bänken vid staketet".into())),
        ))
        .unwrap();
    let session = omar
        .start_session(
            &project,
            NewSession {
                kind: SessionKind::Interview,
                title: "Samtal om rasten".into(),
                participants: vec![p04.clone()],
                place: None,
                guide: None,
                started_at: None,
            },
        )
        .unwrap();
    let attachment = omar
        .add_photo(
            &session,
            &insikt_media::sample::phone_photo(800, 600, 4),
            NewPhoto {
                caption: "Teckning av skolgården".into(),
                appears: vec![p04.clone()],
                redactions: vec![],
            },
        )
        .unwrap();
    let (_, photo) = omar.attachment(&attachment).unwrap();
    sync(&phone);
    sync(&omar);
    sync(&sara);
    // A sweep before any retention period: nothing to do, and every document is
    // marked as looked at.
    let early = hub
        .sweep_retention(insikt_core::Timestamp::now().0 + 40 * DAY_MS)
        .unwrap();
    assert_eq!((early.examined, early.rebuilt), (3, 0), "{early:?}");
    sara.set_retention(&project, Some(30)).unwrap();
    sync(&sara);
    let diary_photo = sara
        .inbox(&p04)
        .unwrap()
        .entries
        .into_values()
        .next()
        .unwrap()
        .photo
        .unwrap();
    assert!(sara.has_blob(&photo.original.hash).unwrap());
    assert!(
        sara.has_blob(&diary_photo.original.hash).unwrap(),
        "the diary photo reached the team"
    );
    let before = hub_dump(&hub_dir, scratch.path());
    for words in [
        "Ingen ville vara med mig",
        "Bänken vid staketet",
        "Teckning av skolgården",
    ] {
        assert!(contains(&before, words), "control: the hub holds {words:?}");
    }

    // Everything so far is older than this moment; the phone reads the team's
    // message and writes again, offline, after it.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let split = insikt_core::Timestamp::now().0;
    std::thread::sleep(std::time::Duration::from_millis(20));
    phone
        .submit_own_diary_entry(diary("Idag satt jag med Ali", None))
        .unwrap();

    // Thirty days after that moment, the hub's retention runs.
    let report = hub.sweep_retention(split + 30 * DAY_MS).unwrap();
    assert_eq!(report.rebuilt, 2, "the inbox and the interview: {report:?}");
    let after = hub_dump(&hub_dir, scratch.path());
    for words in [
        "Ingen ville vara med mig",
        "Bänken vid staketet",
        "Teckning av skolgården",
    ] {
        assert!(!contains(&after, words), "the hub still holds {words:?}");
    }
    assert!(
        contains(&after, "Samtal om rasten"),
        "the session itself stays"
    );
    assert!(
        contains(&after, "Tack för din dagbok"),
        "the team's message stays"
    );
    // Nothing to do a second time.
    assert_eq!(hub.sweep_retention(split + 30 * DAY_MS).unwrap().rebuilt, 0);

    // Omar's phone was away and still holds the old generations; it meets the hub.
    sync(&omar);
    // The young person's phone, with its offline entry, meets the hub.
    sync(&phone);
    sync(&sara);
    sync(&omar);

    let inbox = phone.own_inbox().unwrap();
    let texts: Vec<String> = inbox
        .entries
        .values()
        .map(|e| e.text.as_str().to_string())
        .collect();
    assert_eq!(
        texts,
        vec!["Idag satt jag med Ali".to_string()],
        "the new entry was kept"
    );
    assert_eq!(inbox.messages.len(), 1);
    assert_eq!(
        sara.inbox(&p04).unwrap().entries.len(),
        1,
        "the new entry reached the team"
    );
    assert!(
        omar.attachment(&attachment).is_err(),
        "the photo left Omar's phone"
    );
    assert!(!omar.has_blob(&photo.original.hash).unwrap());
    assert!(!sara.has_blob(&photo.original.hash).unwrap());
    for hash in [
        &diary_photo.original.hash,
        &diary_photo.thumbnail.as_ref().unwrap().hash,
    ] {
        assert!(!sara.has_blob(hash).unwrap() && !phone.has_blob(hash).unwrap());
    }

    for (store, key, name) in [
        (&sara, &keys[0], "sara"),
        (&omar, &keys[1], "omar"),
        (&phone, &keys[2], "phone"),
    ] {
        let bytes = device_bytes(store, key, scratch.path(), name);
        for words in [
            "Ingen ville vara med mig",
            "Bänken vid staketet",
            "Teckning av skolgården",
        ] {
            assert!(!contains(&bytes, words), "{name} still holds {words:?}");
        }
    }
    let hub_now = hub_dump(&hub_dir, scratch.path());
    assert!(
        !contains(&hub_now, "Ingen ville vara med mig"),
        "a stale phone brought it back"
    );
    assert!(contains(&hub_now, "Idag satt jag med Ali"));

    // The replicas agree: the team devices hold the same documents at the same heads.
    assert_eq!(
        sara.document_heads().unwrap(),
        omar.document_heads().unwrap()
    );
    let key = DocKey::Inbox(p04.clone());
    assert_eq!(
        phone.document_heads().unwrap().get(&key.to_string()),
        sara.document_heads().unwrap().get(&key.to_string())
    );
    assert_eq!(sara.document_generation(&key).unwrap(), Some(1));

    // Later the young person withdraws and is erased: the rebuilt inbox goes the same
    // way as any document, and their own phone, told by the hub, destroys its copy.
    sara.erase_participant(&p04).unwrap();
    sync(&sara);
    sync(&omar);
    let told = phone.sync_with_hub(&Default::default());
    assert!(
        matches!(told, Err(insikt_core::Error::Erased { .. })),
        "{told:?}"
    );
    assert!(!phone.has_document(&key).unwrap());
    for (store, k, name) in [
        (&sara, &keys[0], "sara"),
        (&omar, &keys[1], "omar"),
        (&phone, &keys[2], "phone"),
    ] {
        assert!(!store.has_document(&key).unwrap(), "{name} holds the inbox");
        let bytes = device_bytes(store, k, scratch.path(), name);
        assert!(
            !contains(&bytes, "Idag satt jag med Ali"),
            "{name} still holds it"
        );
    }
    assert!(!contains(
        &hub_dump(&hub_dir, scratch.path()),
        "Idag satt jag med Ali"
    ));
    // The phone can do nothing more with the hub.
    assert!(phone.sync_with_hub(&Default::default()).is_err());
}
