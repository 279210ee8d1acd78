//! Opening the encrypted SQLite database and keeping its schema current.

use rusqlite::{Connection, OpenFlags};
use std::io::Read;
use std::path::Path;

use super::key::StoreKey;
use crate::error::{Error, Result};

/// How hard a write works to survive a crash before it is acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// Survives the process being killed at any moment (WAL, `synchronous=NORMAL`):
    /// an acknowledged write has reached the operating system. The default: it keeps
    /// capture well under a millisecond.
    #[default]
    ProcessCrash,
    /// Also survives power loss (`synchronous=FULL`): every acknowledged write is
    /// fsynced, at the cost of a flash write per note.
    PowerLoss,
}

/// The schema versions, in order. Each entry moves the database from version `i` to
/// `i + 1`; an entry, once released, is never edited.
const MIGRATIONS: &[&str] = &[
    // 1: documents, their persisted changes, and the query index.
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE documents (
        doc TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        project TEXT,
        chunks INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE chunks (
        doc TEXT NOT NULL,
        seq INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (doc, seq)
    ) WITHOUT ROWID;
    CREATE TABLE tombstones (doc TEXT PRIMARY KEY, erased_at INTEGER NOT NULL) WITHOUT ROWID;
    -- Who did what to which participant's data: never the content.
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        project TEXT NOT NULL,
        member TEXT NOT NULL,
        action TEXT NOT NULL,
        participant TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    -- Journal rows that could not be decoded, kept for recovery rather than dropped.
    CREATE TABLE failed_notes (seq INTEGER PRIMARY KEY, note BLOB NOT NULL);
    -- Captured notes not yet applied to their documents (see journal.rs).
    CREATE TABLE pending_notes (
        seq INTEGER PRIMARY KEY,
        session TEXT NOT NULL,
        project TEXT NOT NULL,
        note BLOB NOT NULL
    );

    CREATE TABLE projects (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        lang TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        my_role TEXT
    ) WITHOUT ROWID;
    CREATE TABLE participants (
        id TEXT PRIMARY KEY,
        project TEXT NOT NULL,
        code TEXT NOT NULL,
        role TEXT NOT NULL,
        age_band TEXT NOT NULL,
        created_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX participants_project ON participants (project, code);
    CREATE TABLE consents (
        participant TEXT NOT NULL,
        scope TEXT NOT NULL,
        state TEXT NOT NULL,
        PRIMARY KEY (participant, scope)
    ) WITHOUT ROWID;
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        project TEXT NOT NULL,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        ran_by TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        place TEXT,
        guide TEXT
    ) WITHOUT ROWID;
    CREATE INDEX sessions_project ON sessions (project, started_at);
    CREATE TABLE session_participants (
        session TEXT NOT NULL,
        participant TEXT NOT NULL,
        PRIMARY KEY (session, participant)
    ) WITHOUT ROWID;
    CREATE INDEX session_participants_participant ON session_participants (participant);
    CREATE TABLE notes (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        doc TEXT NOT NULL,
        project TEXT NOT NULL,
        session TEXT,
        participant TEXT,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        tags TEXT NOT NULL,
        author TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        deleted INTEGER NOT NULL,
        question TEXT,
        quadrant TEXT,
        stage TEXT,
        emotion INTEGER,
        attachment TEXT,
        start_ms INTEGER,
        end_ms INTEGER
    );
    CREATE INDEX notes_session ON notes (session, created_at);
    CREATE INDEX notes_doc ON notes (doc);
    CREATE INDEX notes_project ON notes (project, created_at);
    -- Swedish: å, ä and ö are letters of their own, so diacritics are kept.
    CREATE VIRTUAL TABLE notes_fts USING fts5 (
        text, tags,
        content = 'notes', content_rowid = 'rowid',
        tokenize = "unicode61 remove_diacritics 0"
    );
    -- Deleted and erased words leave the index's pages at once, not at the next merge.
    INSERT INTO notes_fts (notes_fts, rank) VALUES ('secure-delete', 1);
    CREATE TRIGGER notes_ai AFTER INSERT ON notes BEGIN
        INSERT INTO notes_fts (rowid, text, tags) VALUES (new.rowid, new.text, new.tags);
    END;
    CREATE TRIGGER notes_ad AFTER DELETE ON notes BEGIN
        INSERT INTO notes_fts (notes_fts, rowid, text, tags) VALUES ('delete', old.rowid, old.text, old.tags);
    END;
    CREATE TRIGGER notes_au AFTER UPDATE ON notes BEGIN
        INSERT INTO notes_fts (notes_fts, rowid, text, tags) VALUES ('delete', old.rowid, old.text, old.tags);
        INSERT INTO notes_fts (rowid, text, tags) VALUES (new.rowid, new.text, new.tags);
    END;
    CREATE TABLE insights (
        id TEXT PRIMARY KEY,
        project TEXT NOT NULL,
        statement TEXT NOT NULL,
        opportunity TEXT NOT NULL,
        hmw_count INTEGER NOT NULL,
        created_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE evidence (
        insight TEXT NOT NULL,
        note TEXT NOT NULL,
        PRIMARY KEY (insight, note)
    ) WITHOUT ROWID;
    CREATE INDEX evidence_note ON evidence (note);
    CREATE TABLE attachments (
        id TEXT PRIMARY KEY,
        doc TEXT NOT NULL,
        project TEXT NOT NULL,
        session TEXT,
        kind TEXT NOT NULL,
        caption TEXT NOT NULL,
        created_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX attachments_doc ON attachments (doc);
    CREATE INDEX attachments_session ON attachments (session);
    CREATE TABLE blob_refs (
        hash TEXT NOT NULL,
        attachment TEXT NOT NULL,
        PRIMARY KEY (hash, attachment)
    ) WITHOUT ROWID;
    CREATE INDEX blob_refs_attachment ON blob_refs (attachment);
    CREATE TABLE ideas (
        id TEXT PRIMARY KEY,
        project TEXT NOT NULL,
        title TEXT NOT NULL,
        dots INTEGER NOT NULL,
        created_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 2: the local-only roster — a participant's real name, kept on the device that
    // entered it; never in a document, so never synced or exported.
    r#"
    CREATE TABLE roster (
        participant TEXT PRIMARY KEY,
        name TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 3: each document's generation (see generation.rs): which of its wire ids is
    // the live one.
    r#"
    ALTER TABLE documents ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
    "#,
    // 4: documents that arrived but do not read as their type: kept (a later change
    // may mend them), out of the index, reported until then.
    r#"
    CREATE TABLE set_aside (
        doc TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        since INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

const SQLITE_PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Opens a second connection to a store `open` has already opened and migrated: the
/// capture connection, which appends to the journal without waiting for the worker.
pub(crate) fn open_secondary(
    path: &Path,
    key: &StoreKey,
    durability: Durability,
) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    conn.execute_batch(&key.sqlcipher_pragma())?;
    configure(&conn, durability)?;
    Ok(conn)
}

fn configure(conn: &Connection, durability: Durability) -> Result<()> {
    let sync = match durability {
        Durability::ProcessCrash => "NORMAL",
        Durability::PowerLoss => "FULL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = {sync};
         PRAGMA foreign_keys = ON;
         PRAGMA secure_delete = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -16000;"
    ))?;
    // Two connections write: the capture journal and everything else. A write that
    // meets the other's transaction waits for it instead of failing.
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(())
}

/// Opens (creating when asked) the database at `path` with `key`.
pub(crate) fn open(
    path: &Path,
    key: &StoreKey,
    durability: Durability,
    create: bool,
) -> Result<Connection> {
    let exists = path.exists();
    if !exists && !create {
        return Err(Error::not_found("store", "at the given location"));
    }
    if exists && is_plain_sqlite(path)? {
        return Err(Error::NotAStore);
    }
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
        if !exists {
            // SQLite gives the log and shared-memory files the database file's mode, so
            // creating it owner-only here keeps all three private.
            super::private_file()
                .write(true)
                .create_new(true)
                .open(path)?;
        }
    }
    let conn = Connection::open_with_flags(path, flags)?;
    // SQLCipher logs a failed key check to stderr by default; the typed error says it.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    conn.execute_batch(&key.sqlcipher_pragma())?;
    // The first read decrypts page 1: a wrong key fails here, as NOTADB.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| match Error::from(e) {
        Error::WrongKey => Error::WrongKey,
        other => other,
    })?;
    configure(&conn, durability)?;
    migrate(&conn)?;
    Ok(conn)
}

fn is_plain_sqlite(path: &Path) -> Result<bool> {
    let mut header = [0u8; 16];
    let mut file = std::fs::File::open(path)?;
    match file.read_exact(&mut header) {
        Ok(()) => Ok(&header == SQLITE_PLAIN_HEADER),
        // Shorter than a header: empty files are new stores, anything else is not ours.
        Err(_) => Ok(false),
    }
}

fn migrate(conn: &Connection) -> Result<()> {
    let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(Error::StoreTooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version == 0 {
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        if tables > 0 {
            // An encrypted database with our key but someone else's tables.
            return Err(Error::NotAStore);
        }
    } else {
        let app: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'app'", [], |r| r.get(0))
            .ok();
        if app.as_deref() != Some("insikt") {
            return Err(Error::NotAStore);
        }
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        if i == 0 {
            tx.execute("INSERT INTO meta (key, value) VALUES ('app', 'insikt')", [])?;
        }
        tx.pragma_update(None, "user_version", (i + 1) as u32)?;
        tx.commit()?;
    }
    Ok(())
}
