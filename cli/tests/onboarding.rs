//! Onboarding without typing ids (issue 10, point 6): a coordinator's device, a second
//! team device and a young person's phone join a project through invite codes and a
//! hub this test starts. Every id a command needs comes from what an earlier command
//! printed or from a participant's code — none is typed by hand.

use insikt_hub::{HubConfig, Role, RunningHub};
use std::path::Path;
use std::process::{Command, Output};

const KEYS: [&str; 4] = [
    "1111111111111111111111111111111111111111111111111111111111111111",
    "2222222222222222222222222222222222222222222222222222222222222222",
    "3333333333333333333333333333333333333333333333333333333333333333",
    "4444444444444444444444444444444444444444444444444444444444444444",
];

fn insikt(dir: &Path, key: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_insikt"))
        .arg("--data")
        .arg(dir)
        .args(args)
        .env("INSIKT_KEY", key)
        .output()
        .unwrap()
}

/// Runs a command that must succeed; its output, trimmed.
fn run(dir: &Path, key: &str, args: &[&str]) -> String {
    let out = insikt(dir, key, args);
    assert!(
        out.status.success(),
        "insikt {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn a_team_and_a_young_persons_phone_join_through_invites() {
    let dir = tempfile::tempdir().unwrap();
    let hub = RunningHub::start(&dir.path().join("hub"), HubConfig::default()).unwrap();
    hub.hub.add_org("Malmö stad").unwrap();
    // The one code from the hub's administrator: the coordinator's.
    let first = hub
        .hub
        .invite("Malmö stad", Role::Coordinator, None)
        .unwrap();
    let (sara, omar, phone) = (
        dir.path().join("sara"),
        dir.path().join("omar"),
        dir.path().join("phone"),
    );
    let sara = |args: &[&str]| run(&sara, KEYS[0], args);
    let omar = |args: &[&str]| run(&omar, KEYS[1], args);
    let phone = |args: &[&str]| run(&phone, KEYS[2], args);

    sara(&["project", "create", "Rasten", "--me", "Sara"]);
    sara(&[
        "enroll", "--hub", &hub.url, "--code", &first, "--label", "Sara",
    ]);
    sara(&[
        "participant",
        "add",
        "P-04",
        "--role",
        "young-person",
        "--age",
        "13-15",
    ]);
    sara(&[
        "consent", "give", "P-04", "--scope", "notes", "--by", "guardian",
    ]);
    sara(&["sync"]);

    // Sara invites Omar's phone into the project as a researcher…
    let code = sara(&["project", "invite", "--role", "researcher"]);
    assert_eq!(
        code.len(),
        14,
        "a code of 12 characters in three groups: {code}"
    );
    let enrolled = omar(&[
        "enroll", "--hub", &hub.url, "--code", &code, "--label", "Omar",
    ]);
    assert!(enrolled.contains("researcher"), "{enrolled}");
    omar(&["sync"]);
    // …where he works at once: the session id he uses is the one the command printed.
    let session = omar(&[
        "session",
        "start",
        "--kind",
        "interview",
        "--title",
        "Samtal",
        "--participant",
        "P-04",
    ]);
    omar(&[
        "note",
        "add",
        "--session",
        &session,
        "Det är lättare på fritids",
    ]);
    omar(&["sync"]);

    // …and P-04's own phone, by the participant's code.
    let code = sara(&["participant", "invite", "P-04"]);
    let enrolled = phone(&[
        "enroll", "--hub", &hub.url, "--code", &code, "--label", "P-04",
    ]);
    assert!(enrolled.contains("participant"), "{enrolled}");
    phone(&["diary", "write", "Idag var en bra dag", "--rating", "4"]);
    phone(&["sync"]);
    sara(&["message", "send", "P-04", "Tack för att du skrev!"]);

    sara(&["sync"]);
    let found = sara(&["search", "fritids"]);
    assert!(
        found.contains("lättare") && !found.contains("no notes match"),
        "{found}"
    );
    assert!(sara(&["diary", "show", "P-04"]).contains("Idag var en bra dag"));
    let team = sara(&["project", "show"]);
    assert!(team.contains("Omar") && team.contains("Sara"), "{team}");
    phone(&["sync"]);
    let mine = phone(&["diary", "mine"]);
    assert!(mine.contains("Tack för att du skrev!"), "{mine}");
    // The phone holds its inbox and nothing of the team's material.
    assert!(phone(&["project", "list"]).is_empty());

    // A tablet enrolled in the organisation before the project existed joins its
    // team with a code too.
    let tablet_dir = dir.path().join("tablet");
    let tablet = |args: &[&str]| run(&tablet_dir, KEYS[3], args);
    let org_code = hub.hub.invite("Malmö stad", Role::Reviewer, None).unwrap();
    tablet(&[
        "enroll",
        "--hub",
        &hub.url,
        "--code",
        &org_code,
        "--label",
        "Surfplatta",
    ]);
    tablet(&["sync"]);
    let refused = insikt(&tablet_dir, KEYS[3], &["search", "fritids"]);
    assert!(
        !refused.status.success(),
        "not on the team yet: no material"
    );
    let code = sara(&["project", "invite", "--role", "reviewer"]);
    tablet(&["join", "--code", &code]);
    tablet(&["sync"]);
    let found = tablet(&["search", "fritids"]);
    assert!(found.contains("lättare"), "{found}");
}
