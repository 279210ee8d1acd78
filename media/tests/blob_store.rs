//! The encrypted blob store: round trips, keys, tampering, names, deletion, atomicity and
//! a full disk.

use std::fs;
use std::path::Path;

use insikt_media::{BlobHash, BlobStore, MediaError};

const KEY: [u8; 32] = [0x42; 32];

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn blob_files(dir: &Path) -> Vec<String> {
    files(dir).into_iter().filter(|n| n.len() == 64).collect()
}

#[test]
fn round_trip_idempotence_and_listing() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path(), &KEY).unwrap();
    let big: Vec<u8> = (0..5_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let small = b"a note photo".to_vec();
    let h_big = store.put(&big).unwrap();
    let h_small = store.put(&small).unwrap();
    assert_eq!(h_big, BlobHash::of(&big));
    assert_eq!(store.put(&big).unwrap(), h_big, "put is idempotent");
    assert_eq!(blob_files(dir.path()).len(), 2);
    assert_eq!(store.get(&h_big).unwrap(), big);
    assert_eq!(store.get(&h_small).unwrap(), small);
    assert!(store.contains(&h_small).unwrap());
    let mut want = vec![h_big, h_small];
    want.sort();
    assert_eq!(store.list().unwrap(), want);
    // Reopening with the same key sees the same blobs.
    let again = BlobStore::open(dir.path(), &KEY).unwrap();
    assert_eq!(again.get(&h_small).unwrap(), small);
    assert!(
        !files(dir.path()).iter().any(|n| n.starts_with(".tmp")),
        "no temp files left"
    );
}

#[test]
fn files_reveal_neither_hash_nor_content() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path(), &KEY).unwrap();
    let secret = b"P-07 said: my foster family never listens to me".repeat(100);
    let h = store.put(&secret).unwrap();
    let names = blob_files(dir.path());
    assert_eq!(names.len(), 1);
    let hex = h.to_string();
    assert_ne!(names[0], hex);
    assert!(
        !names[0].contains(&hex[..16]),
        "file name must not contain the plaintext hash"
    );
    let raw = fs::read(dir.path().join(&names[0])).unwrap();
    assert!(
        !raw.windows(8).any(|w| w == b"P-07 sai"),
        "plaintext visible on disk"
    );
    assert!(
        !raw.windows(32).any(|w| w == h.as_bytes()),
        "hash visible on disk"
    );
    // The same content in another store (other key) gets another name.
    let dir2 = tempfile::tempdir().unwrap();
    BlobStore::open(dir2.path(), &[1; 32])
        .unwrap()
        .put(&secret)
        .unwrap();
    assert_ne!(blob_files(dir2.path()), names);
}

#[test]
fn wrong_key_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path(), &KEY).unwrap();
    let h = store.put(b"x").unwrap();
    let mut wrong = KEY;
    wrong[31] ^= 1;
    assert!(matches!(
        BlobStore::open(dir.path(), &wrong),
        Err(MediaError::Decrypt)
    ));
    // Even past the key check (marker removed), content does not open under another key.
    fs::remove_file(dir.path().join("blobstore.v1")).unwrap();
    let other = BlobStore::open(dir.path(), &wrong).unwrap();
    assert!(other.list().unwrap().is_empty());
    let name = blob_files(dir.path()).into_iter().next().unwrap();
    let other_name = {
        let tmp = other.put(b"x").unwrap();
        assert_eq!(tmp, h);
        blob_files(dir.path())
            .into_iter()
            .find(|n| *n != name)
            .unwrap()
    };
    // Put the first store's file under the name the wrong-key store expects.
    fs::copy(dir.path().join(&name), dir.path().join(&other_name)).unwrap();
    assert!(matches!(other.get(&h), Err(MediaError::Decrypt)));
}

#[test]
fn tampering_truncation_and_swapping_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path(), &KEY).unwrap();
    let a: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    let b = b"another blob".to_vec();
    let ha = store.put(&a).unwrap();
    let hb = store.put(&b).unwrap();
    let names = blob_files(dir.path());
    let name_of = |h: &BlobHash| -> String {
        let before = store.get(h).is_ok();
        assert!(before);
        names
            .iter()
            .find(|n| (fs::read(dir.path().join(n)).unwrap().len() > 100_000) == (*h == ha))
            .unwrap()
            .clone()
    };
    let (na, nb) = (name_of(&ha), name_of(&hb));
    let pa = dir.path().join(&na);
    let original = fs::read(&pa).unwrap();

    for at in [10, 100, original.len() / 2, original.len() - 1] {
        let mut t = original.clone();
        t[at] ^= 0x01;
        fs::write(&pa, &t).unwrap();
        assert!(
            matches!(store.get(&ha), Err(MediaError::Decrypt)),
            "flip at {at}"
        );
    }
    let mut t = original.clone();
    t[0] = b'X';
    fs::write(&pa, &t).unwrap();
    assert!(matches!(store.get(&ha), Err(MediaError::UnknownBlobFormat)));
    for cut in [0, 50, original.len() - 16, original.len() - 1] {
        fs::write(&pa, &original[..cut]).unwrap();
        assert!(
            matches!(store.get(&ha), Err(MediaError::Decrypt)),
            "cut at {cut}"
        );
    }
    let mut longer = original.clone();
    longer.extend_from_slice(&[0; 17]);
    fs::write(&pa, &longer).unwrap();
    assert!(
        matches!(store.get(&ha), Err(MediaError::Decrypt)),
        "appended bytes"
    );
    // B's (valid) file under A's name: authentic, but not the blob asked for.
    fs::copy(dir.path().join(&nb), &pa).unwrap();
    assert!(matches!(store.get(&ha), Err(MediaError::HashMismatch)));
    assert!(
        !store.list().unwrap().contains(&ha),
        "a misnamed file is not listed as A"
    );
    fs::write(&pa, &original).unwrap();
    assert_eq!(store.get(&ha).unwrap(), a);
}

#[test]
fn delete_really_removes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path(), &KEY).unwrap();
    let h = store.put(b"photo of a child").unwrap();
    let keep = store.put(b"other").unwrap();
    assert_eq!(blob_files(dir.path()).len(), 2);
    assert!(store.delete(&h).unwrap());
    assert_eq!(blob_files(dir.path()).len(), 1);
    assert!(!store.contains(&h).unwrap());
    assert!(matches!(store.get(&h), Err(MediaError::NotFound)));
    assert!(!store.delete(&h).unwrap(), "second delete reports absence");
    assert_eq!(store.list().unwrap(), vec![keep]);
    assert!(matches!(
        store.get(&BlobHash::of(b"never stored")),
        Err(MediaError::NotFound)
    ));
}

#[test]
fn concurrent_puts_of_the_same_content() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(BlobStore::open(dir.path(), &KEY).unwrap());
    let data = vec![7u8; 300_000];
    let hashes: Vec<BlobHash> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| s.spawn(|| store.put(&data).unwrap()))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(hashes.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(store.get(&hashes[0]).unwrap(), data);
    assert_eq!(blob_files(dir.path()).len(), 1);
    assert!(!files(dir.path()).iter().any(|n| n.starts_with(".tmp")));
}

/// A real full file system (a 256 KiB tmpfs). Needs root and mount permission; where the
/// sandbox forbids mounting, the unit test that writes to /dev/full covers the error path.
#[test]
fn full_disk_is_a_typed_error_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(dir.path())
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("note: cannot mount a tmpfs here; full-disk case covered by the /dev/full unit test only");
        return;
    }
    let result = std::panic::catch_unwind(|| {
        let store = BlobStore::open(dir.path(), &KEY).unwrap();
        let small = store.put(b"fits").unwrap();
        let big = vec![3u8; 1 << 20];
        let err = store.put(&big).unwrap_err();
        assert!(
            matches!(err, MediaError::Io(std::io::ErrorKind::StorageFull)),
            "{err:?}"
        );
        assert!(
            !store.contains(&BlobHash::of(&big)).unwrap(),
            "no half blob under its name"
        );
        assert!(
            !files(dir.path()).iter().any(|n| n.starts_with(".tmp")),
            "temp file removed"
        );
        assert_eq!(store.get(&small).unwrap(), b"fits", "earlier blobs intact");
    });
    let _ = std::process::Command::new("umount")
        .arg(dir.path())
        .status();
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}
