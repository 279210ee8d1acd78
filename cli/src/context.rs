//! Where the store is, which key opens it, and how names on the command line become ids.

use insikt_core::ids::{ParticipantId, ProjectId};
use insikt_core::{Error, Lang, Store, StoreKey};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::args::Cli;

/// The environment variable holding the store key as 64 hex characters.
pub const KEY_ENV: &str = "INSIKT_KEY";

/// The key file's name inside the store directory.
pub const KEY_FILE: &str = "insikt.key";

/// The default store directory.
pub fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("INSIKT_DATA") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("insikt")
}

/// The store key: from INSIKT_KEY when set, else from the key file (created with
/// owner-only permissions on first use).
pub fn key_for(dir: &Path, key_file: Option<&Path>) -> Result<StoreKey, Error> {
    match std::env::var(KEY_ENV) {
        Ok(hex) => StoreKey::from_hex(&hex),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::MalformedKey),
        Err(std::env::VarError::NotPresent) => {
            let path = key_file
                .map(Path::to_path_buf)
                .unwrap_or_else(|| dir.join(KEY_FILE));
            StoreKey::load_or_create_file(&path)
        }
    }
}

/// Opens the store, waiting up to `patience` while another process has it open (a
/// script running two commands back to back, a sync still finishing).
fn open_waiting(dir: &Path, key: &StoreKey, patience: Duration) -> Result<Store, Error> {
    let deadline = Instant::now() + patience;
    loop {
        match Store::open(dir, key) {
            Err(Error::StoreBusy) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

/// An open store with what the command line said about it.
pub struct Ctx {
    pub store: Store,
    pub lang: Lang,
    project_arg: Option<String>,
}

impl Ctx {
    pub fn open(cli: &Cli, dir: &Path) -> Result<Ctx, Error> {
        let lang: Lang = cli.lang.parse()?;
        let key = key_for(dir, cli.key_file.as_deref())?;
        let store = open_waiting(dir, &key, std::time::Duration::from_secs(cli.wait))?;
        Ok(Ctx {
            store,
            lang,
            project_arg: cli.project.clone(),
        })
    }

    /// The project named with --project, or the only one in the store.
    pub fn project(&self) -> Result<ProjectId, Error> {
        if let Some(p) = &self.project_arg {
            return p.parse();
        }
        let projects = self.store.projects()?;
        match projects.as_slice() {
            [only] => Ok(only.id.clone()),
            [] => Err(Error::InvalidInput(
                "no project yet: run `insikt project create NAME`",
            )),
            _ => Err(Error::InvalidInput(
                "the store holds several projects: pass --project ID",
            )),
        }
    }

    /// A participant by code (P-07) or id.
    pub fn participant(
        &self,
        project: &ProjectId,
        code_or_id: &str,
    ) -> Result<ParticipantId, Error> {
        if let Ok(id) = code_or_id.parse::<ParticipantId>() {
            return Ok(id);
        }
        let code = insikt_core::ids::ParticipantCode::parse(code_or_id)?;
        self.store
            .participants(project)?
            .into_iter()
            .find(|p| p.code == code)
            .map(|p| p.id)
            .ok_or(Error::NotFound {
                what: "participant",
                id: "with that code".into(),
            })
    }
}
