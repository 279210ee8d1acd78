//! The encrypted local store: automerge documents persisted change by change in
//! SQLCipher, with a query index kept in the same transactions.
//!
//! Every write follows one path (`Store::write`): change the document in memory,
//! append the change to the database together with the index rows it affects, commit,
//! and only then acknowledge. If any step fails the in-memory document is dropped and
//! reloaded from disk on next use, so memory never runs ahead of what is stored.

mod db;
mod docs;
mod enrollment;
mod erase;
mod export;
mod field;
mod focus;
pub mod generation;
mod index;
mod journal;
mod key;
mod media;
mod membership;
mod observe;
mod project;
mod query;
mod retention;
mod roster;
mod sync;
mod views;

#[cfg(test)]
mod tests;

pub use db::{Durability, SCHEMA_VERSION};
pub use docs::{describe as describe_document, DocKey, DocumentInfo};
/// Which document automerge bytes hold, read from their content.
pub fn identify_document(doc: &AutoCommit) -> Result<DocKey> {
    docs::identify(doc)
}
pub use enrollment::HubEnrollment;
pub use erase::ErasureReport;
pub use export::{ExportedMedia, Report};
pub use key::StoreKey;
pub use media::{NewPhoto, NewRecording, MAX_RECORDING_BYTES};
pub use membership::SetAside;
pub use observe::{Change, Observer, Watch};
pub use retention::RetentionReport;
pub use sync::BlobReference;
pub use views::*;

use automerge::{ActorId, AutoCommit, ROOT};
use autosurgeon::{Hydrate, Reconcile};
use rusqlite::{Connection, OptionalExtension, Transaction};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::domain::MemberRole;
use crate::error::{Error, Result};
use crate::ids::{MemberId, ProjectId};
use docs::DocCache;

/// The database file inside a store directory.
pub const DB_FILE: &str = "insikt.db";

/// The encrypted blob directory inside a store directory.
pub const BLOB_DIR: &str = "blobs";

/// How to open a store.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// Create the store when the directory holds none.
    pub create: bool,
    /// What an acknowledged write survives.
    pub durability: Durability,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            create: true,
            durability: Durability::default(),
        }
    }
}

/// A handle on one device's store. Cheap to clone, `Send + Sync`: every method takes
/// `&self` and may be called from any thread.
#[derive(Clone)]
pub struct Store {
    /// Declared first so that it is dropped first: the worker finishes its batch
    /// before the connection goes.
    worker: Arc<journal::Worker>,
    /// The capture connection: role and consent checks and the journal insert, so
    /// that capture never waits for the worker's document work.
    capture: Arc<Mutex<Connection>>,
    pending: journal::PendingCount,
    inner: Arc<Mutex<State>>,
    /// Photos and recordings, encrypted, content-addressed.
    blobs: Arc<insikt_media::BlobStore>,
    /// Held for the store's lifetime: one process at a time may write a store, or
    /// its in-memory documents could run behind the database.
    _lock: Arc<std::fs::File>,
    /// Who is told about changes (see `observe`).
    observers: Arc<observe::Registry>,
    me: MemberId,
    /// This device's automerge actor, hex: the author of its changes.
    actor: String,
    dir: PathBuf,
}

struct State {
    conn: Connection,
    cache: DocCache,
    /// Notes in the capture journal not yet applied.
    pending: journal::PendingCount,
    /// The last failure of the journal worker, cleared by its next success.
    apply_error: Option<Error>,
    observers: Arc<observe::Registry>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store in `dir`, creating it (and the directory) when missing.
    pub fn open(dir: &Path, key: &StoreKey) -> Result<Store> {
        Self::open_with(dir, key, &OpenOptions::default())
    }

    /// Opens the store in `dir` with explicit options.
    pub fn open_with(dir: &Path, key: &StoreKey, options: &OpenOptions) -> Result<Store> {
        if options.create {
            create_private_dir(dir)?;
        } else if !dir.join(DB_FILE).exists() {
            return Err(Error::not_found("store", "at the given location"));
        }
        let lock = lock_dir(dir)?;
        let conn = db::open(&dir.join(DB_FILE), key, options.durability, options.create)?;
        let (me, actor) = identity(&conn)?;
        let actor_hex = actor.to_hex_string();
        let pending: journal::PendingCount = Default::default();
        pending.store(
            journal::count(&conn)? as i64,
            std::sync::atomic::Ordering::Release,
        );
        let observers = Arc::new(observe::Registry::default());
        let mut state = State {
            conn,
            cache: DocCache::new(actor),
            pending: pending.clone(),
            apply_error: None,
            observers: observers.clone(),
        };
        // Notes captured before a crash are applied before anything reads them. A
        // failure here (a full disk) must not lock anyone out of their data: it is
        // reported by `journal_status` and retried.
        settle_locked(&mut state);
        let capture = db::open_secondary(&dir.join(DB_FILE), key, options.durability)?;
        let blobs = insikt_media::BlobStore::open(&dir.join(BLOB_DIR), key.as_bytes())?;
        let inner = Arc::new(Mutex::new(state));
        let worker = Arc::new(journal::Worker::start(Arc::downgrade(&inner)));
        Ok(Store {
            worker,
            capture: Arc::new(Mutex::new(capture)),
            pending,
            inner,
            blobs: Arc::new(blobs),
            _lock: Arc::new(lock),
            observers,
            me,
            actor: actor_hex,
            dir: dir.to_path_buf(),
        })
    }

    /// This device's member id: the author of everything written here.
    pub fn me(&self) -> &MemberId {
        &self.me
    }

    /// This device's automerge actor (hex): what its changes carry as their author.
    pub fn actor_hex(&self) -> &str {
        &self.actor
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves at worst a stale cache entry; the
        // database itself is transactional, so carry on with a cleared cache.
        match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => {
                let mut g = poisoned.into_inner();
                g.cache.clear();
                g
            }
        }
    }

    /// Changes a document and persists the change with its index rows, atomically.
    fn write<R>(
        &self,
        key: &DocKey,
        project: &ProjectId,
        change: impl FnOnce(&mut AutoCommit) -> Result<R>,
        index: impl FnOnce(&Transaction, &AutoCommit, &R) -> Result<()>,
    ) -> Result<R> {
        let mut guard = self.lock();
        let State { conn, cache, .. } = &mut *guard;
        let outcome = (|| {
            let loaded = cache.entry(conn, key)?;
            let result = change(&mut loaded.doc)?;
            let tx = conn.transaction()?;
            docs::persist(&tx, key, project, loaded)?;
            index(&tx, &loaded.doc, &result)?;
            tx.commit()?;
            Ok(result)
        })();
        match &outcome {
            Ok(_) => self.observers.publish(project, key, false),
            Err(_) => cache.evict(key),
        }
        outcome
    }

    /// Creates a document holding `root`, unless it exists already.
    fn create_doc<T: Reconcile>(
        &self,
        key: &DocKey,
        project: &ProjectId,
        root: &T,
        index: impl FnOnce(&Transaction, &AutoCommit) -> Result<()>,
    ) -> Result<()> {
        let mut guard = self.lock();
        let State { conn, cache, .. } = &mut *guard;
        if docs::exists(conn, key)? {
            return Ok(());
        }
        refuse_erased(conn, key)?;
        let outcome = (|| {
            let loaded = cache.insert_with_root(key.clone(), root)?;
            let tx = conn.transaction()?;
            docs::persist(&tx, key, project, loaded)?;
            index(&tx, &loaded.doc)?;
            tx.commit()?;
            Ok(())
        })();
        match &outcome {
            Ok(()) => self.observers.publish(project, key, false),
            Err(_) => cache.evict(key),
        }
        outcome
    }

    /// Reads a whole document into its Rust shape.
    fn read<T: Hydrate>(&self, key: &DocKey) -> Result<T> {
        self.settle()?;
        let mut guard = self.lock();
        let State { conn, cache, .. } = &mut *guard;
        let doc = cache.get(conn, key)?;
        Ok(crate::domain::read::hydrate(doc)?)
    }

    /// Reads one property of a document's root into its Rust shape.
    fn read_prop<T: Hydrate>(&self, key: &DocKey, prop: &str) -> Result<T> {
        self.settle()?;
        let mut guard = self.lock();
        let State { conn, cache, .. } = &mut *guard;
        let doc = cache.get(conn, key)?;
        Ok(crate::domain::read::hydrate_prop(&*doc, ROOT, prop)?)
    }

    /// Runs `f` on a stored document as it is in memory.
    pub(crate) fn inspect<R>(
        &self,
        key: &DocKey,
        f: impl FnOnce(&AutoCommit) -> Result<R>,
    ) -> Result<R> {
        self.settle()?;
        let mut guard = self.lock();
        let State { conn, cache, .. } = &mut *guard;
        f(cache.get(conn, key)?)
    }

    /// Loads a document into memory if it is not there yet.
    fn preload(&self, key: &DocKey) -> Result<()> {
        let mut guard = self.lock();
        let State { conn, cache, .. } = &mut *guard;
        if !cache.contains(key) {
            cache.get(conn, key)?;
        }
        Ok(())
    }

    /// Applies every note still in the capture journal, so that what follows reads
    /// its own writes. Cheap when nothing is pending.
    fn settle(&self) -> Result<()> {
        if journal::any(&self.pending) {
            settle_locked(&mut self.lock());
        }
        Ok(())
    }

    /// Runs a query on the index after applying pending notes.
    fn read_query<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let mut guard = self.lock();
        if journal::any(&guard.pending) {
            settle_locked(&mut guard);
        }
        f(&guard.conn)
    }

    /// Runs the capture path's checks and insert on the capture connection.
    fn capture<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let guard = match self.capture.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&guard)
    }

    /// Appends a captured note to the journal and wakes the worker.
    /// Runs a capture — checks and journal insert — in one immediate transaction on
    /// the capture connection, then wakes the worker. The pending count is raised
    /// before the insert (and lowered if it fails), so a read after this returns
    /// always knows the note may be pending.
    fn capture_note<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        use std::sync::atomic::Ordering;
        self.pending.fetch_add(1, Ordering::AcqRel);
        let outcome = self.capture(|c| {
            let tx =
                rusqlite::Transaction::new_unchecked(c, rusqlite::TransactionBehavior::Immediate)?;
            let r = f(&tx)?;
            tx.commit()?;
            Ok(r)
        });
        if outcome.is_err() {
            self.pending.fetch_sub(1, Ordering::AcqRel);
        }
        self.worker.notify();
        outcome
    }

    /// Panics while holding the store's locks: the bindings' tests show with it that a
    /// panic below the API reaches the app as an error and leaves the store usable.
    /// Only in builds with the `test-hooks` feature, which no release enables.
    #[cfg(feature = "test-hooks")]
    #[doc(hidden)]
    pub fn panic_while_locked(&self) {
        let _capture = self.capture.lock();
        let _state = self.lock();
        panic!("test hook: a panic inside the store");
    }

    /// How many captured notes wait to be applied, and the last error applying them
    /// (a full disk, say): for a status line; nothing captured is lost meanwhile.
    pub fn journal_status(&self) -> (usize, Option<Error>) {
        let waiting = self
            .pending
            .load(std::sync::atomic::Ordering::Acquire)
            .max(0) as usize;
        (waiting, self.lock().apply_error.clone())
    }

    /// Runs a read-only query on the index.
    fn query<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let guard = self.lock();
        f(&guard.conn)
    }

    /// My role in `project`, failing when I am not an active member.
    pub fn my_role(&self, project: &ProjectId) -> Result<MemberRole> {
        self.query(|c| my_role(c, project))
    }

    pub(crate) fn require_role(
        &self,
        project: &ProjectId,
        allowed: &[MemberRole],
        what: &'static str,
    ) -> Result<MemberRole> {
        let role = self.my_role(project)?;
        if allowed.contains(&role) {
            Ok(role)
        } else {
            Err(Error::NotAllowed(what))
        }
    }

    // --- documents, for sync and backup -------------------------------------------

    /// Every document this store holds.
    pub fn document_keys(&self) -> Result<Vec<DocKey>> {
        self.read_query(|c| {
            let mut stmt = c.prepare("SELECT doc FROM documents ORDER BY doc")?;
            let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
            let mut keys = Vec::new();
            for name in names {
                keys.push(name?.parse()?);
            }
            Ok(keys)
        })
    }

    /// The whole document as automerge bytes.
    pub fn document_bytes(&self, key: &DocKey) -> Result<Vec<u8>> {
        self.settle()?;
        let mut guard = self.lock();
        let State { conn, cache, .. } = &mut *guard;
        Ok(cache.get(conn, key)?.save())
    }

    /// Merges automerge bytes (a whole document, or changes) received from another
    /// device into the document `key`, persists what is new and rebuilds the index
    /// rows of that document. Returns whether anything changed.
    pub fn merge_document(&self, key: &DocKey, bytes: &[u8]) -> Result<bool> {
        self.merge_with(key, |doc| Ok(doc.load_incremental(bytes).map(|_| ())?))
    }

    /// Applies `apply` (a merge, a sync message) to the document `key`, creating it
    /// when it is new here, and persists and re-indexes it when its heads moved.
    /// Erasures recorded in a project document are honoured right after.
    pub(crate) fn merge_with(
        &self,
        key: &DocKey,
        apply: impl FnOnce(&mut AutoCommit) -> Result<()>,
    ) -> Result<bool> {
        self.settle()?;
        let mut guard = self.lock();
        let State { conn, cache, .. } = &mut *guard;
        refuse_erased(conn, key)?;
        let known = docs::exists(conn, key)?;
        let me = self.me.as_str().to_string();
        let outcome = (|| {
            let loaded = if known {
                cache.entry(conn, key)?
            } else {
                cache.insert_new(key.clone())
            };
            let before = loaded.doc.get_heads();
            apply(&mut loaded.doc)?;
            if loaded.doc.get_heads() == before {
                return Ok(false);
            }
            // Only the hub writes a document's generation, and it does so by building
            // a new document: a change to those fields is refused (and dropped with
            // the cached copy below).
            if known && generation::touches_lineage(&mut loaded.doc, &before)? {
                return Err(Error::NotAllowed(generation::LINEAGE_REFUSED));
            }
            if !known {
                // A document new here must be the one its name says.
                let found = docs::identify(&loaded.doc)?;
                if &found != key {
                    return Err(Error::Document("document does not match its name".into()));
                }
            }
            // A document held here keeps the project it was stored under, even when
            // a change made it unreadable (it is then set aside, below).
            let project = match project_of(key, &loaded.doc) {
                Err(_) if known => stored_project(conn, key)?,
                other => other?,
            };
            let tx = conn.transaction()?;
            docs::persist(&tx, key, &project, loaded)?;
            membership::index_or_set_aside(&tx, key, &loaded.doc, &me)?;
            tx.commit()?;
            self.observers.publish(&project, key, false);
            Ok(true)
        })();
        // A document that was new here and brought nothing stays unstored: forget it.
        if outcome.is_err() || (!known && outcome == Ok(false)) {
            cache.evict(key);
        }
        drop(guard);
        if outcome == Ok(true) {
            if let DocKey::Project(p) = key {
                self.honour_recorded_erasures(p)?;
            }
        }
        outcome
    }

    /// Rewrites every document as a single snapshot and reclaims the freed pages.
    pub fn compact(&self) -> Result<()> {
        let keys = self.document_keys()?;
        let mut guard = self.lock();
        let State { conn, cache, .. } = &mut *guard;
        for key in keys {
            let loaded = cache.entry(conn, &key)?;
            let tx = conn.transaction()?;
            docs::compact(&tx, &key, loaded)?;
            if let Err(e) = tx.commit() {
                cache.evict(&key);
                return Err(e.into());
            }
        }
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;")?;
        Ok(())
    }

    /// Rebuilds the whole index from the documents.
    pub fn rebuild_index(&self) -> Result<()> {
        let keys = self.document_keys()?;
        let me = self.me.as_str().to_string();
        let mut guard = self.lock();
        let State { conn, cache, .. } = &mut *guard;
        for key in keys {
            let doc = cache.get(conn, &key)?;
            let tx = conn.transaction()?;
            membership::index_or_set_aside(&tx, &key, doc, &me)?;
            tx.commit()?;
        }
        Ok(())
    }
}

/// Appends to the audit log: who did what to which participant's data, never the
/// content.
pub(crate) fn audit(
    tx: &Connection,
    project: &str,
    member: &str,
    action: &str,
    participant: &crate::ids::ParticipantId,
    detail: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO audit (at, project, member, action, participant, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(rusqlite::params![crate::time::Timestamp::now().0, project, member, action, participant.as_str(), detail])?;
    Ok(())
}

/// Applies pending notes in small transactions (capture waits for each), recording a
/// failure instead of returning it: reads go on with what is applied.
fn settle_locked(state: &mut State) {
    while journal::any(&state.pending) {
        match journal::apply_batch(state, 32) {
            Ok(0) => break,
            Ok(_) => state.apply_error = None,
            Err(e) => {
                state.apply_error = Some(e);
                break;
            }
        }
    }
}

/// Takes the store's lock file, failing at once when another process holds it. The
/// operating system releases the lock when the process dies, so a crash never leaves
/// a store locked.
/// Creates `dir` and any missing parents, each readable by the owner only: encrypted
/// or not, nobody else on the machine has business in a store. A directory that
/// already exists keeps its permissions (the user chose them).
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    Ok(())
}

/// Options that create a store's own files readable and writable by the owner only.
pub(crate) fn private_file() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

fn lock_dir(dir: &Path) -> Result<std::fs::File> {
    let file = private_file()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("insikt.lock"))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::StoreBusy),
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

/// Reads or creates this device's identity: its member id and automerge actor.
fn identity(conn: &Connection) -> Result<(MemberId, ActorId)> {
    let get = |k: &str| -> Result<Option<String>> {
        Ok(conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
            .optional()?)
    };
    let member = match get("member")? {
        Some(m) => MemberId::from(m),
        None => {
            let m = MemberId::new();
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('member', ?1)",
                [m.as_str()],
            )?;
            m
        }
    };
    let actor = match get("actor")? {
        Some(a) => ActorId::from(hex::decode(a).map_err(|_| Error::Storage("actor".into()))?),
        None => {
            let a = ActorId::random();
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('actor', ?1)",
                [a.to_hex_string()],
            )?;
            a
        }
    };
    Ok((member, actor))
}

fn my_role(conn: &Connection, project: &ProjectId) -> Result<MemberRole> {
    let row: Option<Option<String>> = conn
        .prepare_cached("SELECT my_role FROM projects WHERE id = ?1")?
        .query_row([project.as_str()], |r| r.get(0))
        .optional()?;
    match row {
        None => Err(Error::not_found(ProjectId::WHAT, project)),
        Some(None) => Err(Error::NotAllowed(
            "this device is not a member of the project",
        )),
        Some(Some(role)) => MemberRole::parse(&role).ok_or(Error::Storage("role".into())),
    }
}

/// Refuses to bring back a document that was erased here.
pub(crate) fn refuse_erased(conn: &Connection, key: &DocKey) -> Result<()> {
    let erased: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM tombstones WHERE doc = ?1")?
        .query_row([key.to_string()], |r| r.get(0))
        .optional()?;
    match erased {
        Some(_) => Err(Error::Erased { what: key.kind() }),
        None => Ok(()),
    }
}

/// The project a stored document was filed under.
fn stored_project(conn: &Connection, key: &DocKey) -> Result<ProjectId> {
    let project: Option<String> = conn
        .prepare_cached("SELECT project FROM documents WHERE doc = ?1")?
        .query_row([key.to_string()], |r| r.get(0))
        .optional()?;
    project
        .map(ProjectId::from)
        .ok_or_else(|| Error::Document("project_id".into()))
}

/// The project a document belongs to, read from the document itself.
fn project_of(key: &DocKey, doc: &AutoCommit) -> Result<ProjectId> {
    if let DocKey::Project(p) = key {
        return Ok(p.clone());
    }
    match crate::domain::read::text_at(doc, &ROOT, "project_id")? {
        Some(text) => text.parse(),
        None => Err(Error::Document("project_id".into())),
    }
}
