//! The command line as a person meets it: bad input gets one line and a non-zero
//! exit, never a panic or a stack trace.

use std::path::Path;
use std::process::{Command, Output};

const KEY: &str = "0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a090807060504030201000";

fn insikt(dir: &Path, key: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_insikt"));
    cmd.arg("--data")
        .arg(dir)
        .args(args)
        .env_remove("INSIKT_KEY");
    if let Some(k) = key {
        cmd.env("INSIKT_KEY", k);
    }
    cmd.output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Fails unless the command failed with exactly one line on stderr.
fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success());
    assert_ne!(out.status.code(), Some(101), "a panic");
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "one line, got: {err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"));
    err
}

#[test]
fn the_demo_runs_a_whole_field_day() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(&insikt(dir.path(), None, &["--lang", "en", "demo"]));
    for expected in [
        "Frame",
        "Interview",
        "Empathy map",
        "User journey",
        "Diary",
        "Observation",
        "Insights",
        "How might we",
        "Ideas by dot vote",
        "Refused capture",
    ] {
        let shown =
            out.contains(expected) || (expected == "How might we" && out.contains("Hur kan vi"));
        assert!(shown, "the summary shows {expected}:\n{out}");
    }
    // The key file was created owner-only, and the store reopens with it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("insikt.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let list = ok(&insikt(dir.path(), None, &["project", "list"]));
    assert!(list.contains("Första kontakten"));
}

#[test]
fn a_person_works_through_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| ok(&insikt(dir.path(), Some(KEY), args)).trim().to_string();
    run(&["init"]);
    run(&["project", "create", "Skolans roll", "--me", "Sara"]);
    run(&[
        "participant",
        "add",
        "P-07",
        "--role",
        "young-person",
        "--age",
        "13-15",
    ]);
    run(&[
        "consent", "give", "P-07", "--scope", "notes", "--by", "guardian", "--info", "2026-10",
    ]);
    let session = run(&[
        "session",
        "start",
        "--kind",
        "interview",
        "--title",
        "Intervju",
        "--participant",
        "P-07",
        "--place",
        "Skolan",
    ]);
    let note = run(&[
        "note",
        "add",
        "--session",
        &session,
        "--kind",
        "quote",
        "Jag gillar håltimmarna",
        "--tag",
        "skola",
    ]);
    assert!(run(&["search", "håltimmar"]).contains(&note));
    assert!(run(&["search", "haltimmar"]).contains("no notes match"));
    let listed = run(&["note", "list", "--session", &session]);
    assert!(listed.contains("Jag gillar håltimmarna") && listed.contains("#skola"));
    let insight = run(&[
        "insight",
        "add",
        "Unga trivs i pauserna",
        "--evidence",
        &note,
    ]);
    run(&["insight", "hmw", &insight, "Hur kan vi använda pauserna?"]);
    let idea = run(&["idea", "add", "Fika med kuratorn"]);
    run(&["idea", "vote", &idea, "2"]);
    assert!(run(&["idea", "list"]).contains("2 ●"));
    assert!(run(&["participant", "list"]).contains("P-07"));
    run(&["consent", "withdraw", "P-07"]);
    let refused = insikt(
        dir.path(),
        Some(KEY),
        &["note", "add", "--session", &session, "more"],
    );
    assert!(one_line_error(&refused).contains("consent does not cover notes"));
}

#[test]
fn bad_input_gets_one_line_and_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    ok(&insikt(dir.path(), Some(KEY), &["project", "create", "P"]));
    // A malformed key.
    let err = one_line_error(&insikt(dir.path(), Some("abc"), &["project", "list"]));
    assert!(err.contains("64 hexadecimal"), "{err}");
    // A wrong key.
    let wrong = KEY.replace('0', "1");
    let err = one_line_error(&insikt(dir.path(), Some(&wrong), &["project", "list"]));
    assert!(err.contains("key does not open"), "{err}");
    // Unknown ids, and ids that are not ids.
    let err = one_line_error(&insikt(
        dir.path(),
        Some(KEY),
        &[
            "note",
            "list",
            "--session",
            "01a204ea-f97c-74b8-b8f2-f703a01a5ce9",
        ],
    ));
    assert!(err.contains("no session"), "{err}");
    one_line_error(&insikt(
        dir.path(),
        Some(KEY),
        &["note", "edit", "not-an-id", "x"],
    ));
    // An unknown participant code, a name where a code belongs.
    one_line_error(&insikt(
        dir.path(),
        Some(KEY),
        &["consent", "give", "P-99", "--scope", "notes"],
    ));
    one_line_error(&insikt(
        dir.path(),
        Some(KEY),
        &["participant", "add", "Anna", "--role", "child"],
    ));
    // Coordinates where a place label belongs.
    let err = one_line_error(&insikt(
        dir.path(),
        Some(KEY),
        &[
            "session",
            "start",
            "--kind",
            "observation",
            "--title",
            "x",
            "--place",
            "59.3293, 18.0686",
        ],
    ));
    assert!(err.contains("never coordinates"), "{err}");
}

#[test]
fn a_database_that_is_not_ours_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("insikt.db"),
        b"SQLite format 3\0 and then something else entirely",
    )
    .unwrap();
    let err = one_line_error(&insikt(dir.path(), Some(KEY), &["project", "list"]));
    assert!(err.contains("not an Insikt store"), "{err}");
}

#[test]
fn a_photo_goes_in_with_its_metadata_and_comes_out_without() {
    use insikt_media::sample::{phone_photo, PLANTED_OWNER, PLANTED_SERIAL};
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| ok(&insikt(dir.path(), Some(KEY), args)).trim().to_string();
    run(&["project", "create", "Foton"]);
    run(&[
        "participant",
        "add",
        "P-03",
        "--role",
        "child",
        "--age",
        "10-12",
    ]);
    let session = run(&[
        "session",
        "start",
        "--kind",
        "observation",
        "--title",
        "Fritids",
        "--participant",
        "P-03",
    ]);
    let file = dir.path().join("IMG_0042.JPG");
    std::fs::write(&file, phone_photo(900, 600, 6)).unwrap();
    let file = file.to_str().unwrap();
    // P-03 appears, but has not consented to photos.
    let refused = insikt(
        dir.path(),
        Some(KEY),
        &[
            "photo",
            "add",
            file,
            "--session",
            &session,
            "--appears",
            "P-03",
        ],
    );
    assert!(one_line_error(&refused).contains("consent does not cover photos"));
    let id = run(&[
        "photo",
        "add",
        file,
        "--session",
        &session,
        "--caption",
        "Anslagstavlan",
        "--redact",
        "ellipse:100,100,80,120",
    ]);
    assert!(run(&["photo", "list", "--session", &session]).contains("(redacted)"));
    let out = dir.path().join("export");
    let written = run(&["photo", "export", &id, "--out", out.to_str().unwrap()]);
    assert_eq!(
        written.lines().count(),
        3,
        "thumbnail, preview and original"
    );
    for path in written.lines() {
        let bytes = std::fs::read(path).unwrap();
        assert!(bytes.starts_with(&[0xFF, 0xD8]), "a JPEG");
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("Exif")
                && !text.contains(PLANTED_SERIAL)
                && !text.contains(PLANTED_OWNER)
        );
    }
    run(&["photo", "redact", &id, "--redact", "10,10,50,50:pixelate"]);
    // A file that is not an image, and one that does not exist.
    std::fs::write(dir.path().join("notes.txt"), "just text").unwrap();
    let err = one_line_error(&insikt(
        dir.path(),
        Some(KEY),
        &[
            "photo",
            "add",
            dir.path().join("notes.txt").to_str().unwrap(),
            "--session",
            &session,
        ],
    ));
    assert!(err.contains("unsupported"), "{err}");
    one_line_error(&insikt(
        dir.path(),
        Some(KEY),
        &["photo", "add", "/no/such/file.jpg", "--session", &session],
    ));
}

#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    ok(&insikt(
        dir.path(),
        Some(KEY),
        &["project", "create", "Rasten", "--me", "Sara"],
    ));
    // `insikt project list | head -0`: the reader is gone before the first line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_insikt"))
        .arg("--data")
        .arg(dir.path())
        .args(["project", "list"])
        .env("INSIKT_KEY", KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.stderr.is_empty(),
        "said: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        // Ended by the closed pipe itself (SIGPIPE, 13), as `yes | head` ends.
        out.status.success() || out.status.signal() == Some(13),
        "ended with {:?}",
        out.status
    );
}

#[test]
fn a_second_process_waits_for_the_store() {
    let dir = tempfile::tempdir().unwrap();
    ok(&insikt(
        dir.path(),
        Some(KEY),
        &["project", "create", "Rasten", "--me", "Sara"],
    ));
    let key = insikt_core::StoreKey::from_hex(KEY).unwrap();
    let held = insikt_core::Store::open(dir.path(), &key).unwrap();
    // Without patience the second process is told at once.
    let busy = insikt(dir.path(), Some(KEY), &["--wait", "0", "project", "list"]);
    assert!(one_line_error(&busy).contains("in use by another process"));
    // With it, it goes on once the first lets go.
    let waiting = std::thread::spawn({
        let dir = dir.path().to_path_buf();
        move || insikt(&dir, Some(KEY), &["project", "list"])
    });
    std::thread::sleep(std::time::Duration::from_millis(700));
    drop(held);
    assert!(ok(&waiting.join().unwrap()).contains("Rasten"));
}

#[cfg(unix)]
#[test]
fn a_store_the_cli_creates_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    ok(&insikt(
        &store,
        None,
        &["project", "create", "Rasten", "--me", "Sara"],
    ));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&store), 0o700);
    for entry in std::fs::read_dir(&store).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(
            mode(&path) & 0o077,
            0,
            "{} is open to others",
            path.display()
        );
    }
}
