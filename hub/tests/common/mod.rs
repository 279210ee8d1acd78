//! Helpers shared by the hub's scenario tests.
#![allow(dead_code)]

pub mod forge;
pub mod js;
pub mod raw;

use insikt_core::domain::{AgeBand, ConsentScope, GivenBy, MemberRole, ParticipantRole};
use insikt_core::ids::{ParticipantId, ProjectId};
use insikt_core::sync::HubSyncOptions;
use insikt_core::{Lang, Store, StoreKey};
use insikt_hub::{Role, RunningHub};
use std::path::Path;

/// Every live byte of an SQLCipher database, decrypted with its key.
pub fn dump(db: &Path, key: &[u8; 32], scratch: &Path, name: &str) -> Vec<u8> {
    let out = scratch.join(format!("{name}-plain.db"));
    let _ = std::fs::remove_file(&out);
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex::encode(key)))
        .unwrap();
    conn.execute(
        "ATTACH DATABASE ?1 AS plain KEY ''",
        [out.to_str().unwrap()],
    )
    .unwrap();
    conn.query_row("SELECT sqlcipher_export('plain')", [], |_| Ok(()))
        .unwrap();
    conn.execute_batch("DETACH DATABASE plain;").unwrap();
    std::fs::read(&out).unwrap()
}

pub fn hub_dump(hub_dir: &Path, scratch: &Path) -> Vec<u8> {
    let key = std::fs::read_to_string(hub_dir.join("hub.key")).unwrap();
    let key: [u8; 32] = hex::decode(key.trim()).unwrap().try_into().unwrap();
    dump(&hub_dir.join("hub.db"), &key, scratch, "hub")
}

pub fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Syncs with the hub, fetching originals too.
pub fn sync(s: &Store) {
    s.sync_with_hub(&HubSyncOptions {
        fetch_originals: true,
        ..Default::default()
    })
    .unwrap();
}

/// Sara (coordinator) and Omar (researcher) in the project "Rasten" of Region Syd,
/// with P-04, whose guardian consented to notes and photos, and P-04's own phone.
pub struct Rasten {
    pub sara: Store,
    pub omar: Store,
    pub phone: Store,
    pub project: ProjectId,
    pub p04: ParticipantId,
}

/// Sets up [`Rasten`] on `hub` (which has the organisation Region Syd), the stores
/// in `dir` under `keys`: the team enrolled and synced (after Sara sends `message`
/// to P-04, if any), P-04's phone enrolled with a participant invite.
pub fn rasten(hub: &RunningHub, dir: &Path, keys: [&StoreKey; 3], message: Option<&str>) -> Rasten {
    let open = |n: &str, k: &StoreKey| Store::open(&dir.join(n), k).unwrap();
    let (sara, omar, phone) = (
        open("sara", keys[0]),
        open("omar", keys[1]),
        open("phone", keys[2]),
    );
    let project = sara.create_project("Rasten", Lang::Sv, "Sara").unwrap();
    sara.add_member_with_id(&project, omar.me().clone(), "Omar", MemberRole::Researcher)
        .unwrap();
    let p04 = sara
        .add_participant(
            &project,
            "P-04",
            ParticipantRole::YoungPerson,
            AgeBand::From13To15,
        )
        .unwrap();
    for scope in [ConsentScope::Notes, ConsentScope::Photos] {
        sara.record_consent(&p04, scope, GivenBy::Guardian, "v1")
            .unwrap();
    }
    if let Some(text) = message {
        sara.send_message(&p04, text).unwrap();
    }
    for (store, role, label) in [
        (&sara, Role::Coordinator, "Sara"),
        (&omar, Role::Researcher, "Omar"),
    ] {
        let code = hub.hub.invite("Region Syd", role, None).unwrap();
        store.enroll(&hub.url, &code, label).unwrap();
    }
    sync(&sara);
    sync(&omar);
    let code = hub
        .hub
        .invite("Region Syd", Role::Participant, Some(p04.as_str()))
        .unwrap();
    phone.enroll(&hub.url, &code, "P-04:s telefon").unwrap();
    Rasten {
        sara,
        omar,
        phone,
        project,
        p04,
    }
}

/// Enrolls `store` with a code for `role` on the team of `project`.
pub fn join_team(hub: &RunningHub, store: &Store, org: &str, project: &ProjectId, role: Role) {
    let code = hub
        .hub
        .invite_to_project(org, project.as_str(), role)
        .unwrap();
    store.enroll(&hub.url, &code, "device").unwrap();
}

/// The device token of an enrolled store.
pub fn token(store: &Store) -> String {
    store.enrollment().unwrap().unwrap().token
}

/// Every live byte of a store's database, decrypted with its key.
pub fn store_dump(store: &Store, key: &StoreKey, scratch: &Path, name: &str) -> Vec<u8> {
    store.compact().unwrap();
    dump(
        &store.dir().join("insikt.db"),
        key.as_bytes(),
        scratch,
        name,
    )
}

/// Links two devices directly (a workshop, no hub) until both are in sync.
pub fn pair(a: &Store, b: &Store) {
    use insikt_core::sync::{Limits, Session, StoreDocuments};
    let mut left = Session::new(
        StoreDocuments::new(a.clone()).unwrap(),
        "left",
        Limits::default(),
    );
    let mut right = Session::new(
        StoreDocuments::new(b.clone()).unwrap(),
        "right",
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
        if to_right.is_empty() && left.in_sync() && right.in_sync() {
            return;
        }
    }
    panic!("the paired devices did not reach sync");
}

/// The hub binary as a child process, so that its memory can be read on its own
/// (`/proc/PID/status`); killed when dropped.
pub struct ChildHub {
    pub child: std::process::Child,
    pub url: String,
    pub data: std::path::PathBuf,
}

impl ChildHub {
    /// Creates the organisation `org` in `data` and serves the hub from there.
    pub fn start(data: &Path, org: &str) -> ChildHub {
        use std::process::{Command, Stdio};
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let bin = env!("CARGO_BIN_EXE_insikt-hub");
        let made = Command::new(bin)
            .arg("--data")
            .arg(data)
            .args(["org", "add", org])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(made.success());
        let child = Command::new(bin)
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let hub = ChildHub {
            child,
            url: format!("http://127.0.0.1:{port}"),
            data: data.to_path_buf(),
        };
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < std::time::Duration::from_secs(30));
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        hub
    }

    /// An invite code, made by the command line as an administrator would.
    pub fn invite(&self, org: &str, role: &str) -> String {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_insikt-hub"))
            .arg("--data")
            .arg(&self.data)
            .args(["invite", "--org", org, "--role", role])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// The hub process's resident memory now and its peak so far, in KiB.
    pub fn memory_kib(&self) -> (u64, u64) {
        memory_kib(self.child.id())
    }

    /// Starts the peak (`VmHWM`) over from the memory in use now (Linux's
    /// `clear_refs`), so that a phase's own peak can be read.
    pub fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }
}

impl Drop for ChildHub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process's resident memory (`VmRSS`) and its peak (`VmHWM`), in KiB.
pub fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
