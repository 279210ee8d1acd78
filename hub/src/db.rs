//! The hub's database: organisations, devices, invites, projects and the documents
//! themselves, in one SQLCipher file keyed from the hub's key file.

use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

use crate::error::{HubError, Result};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS orgs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY,
    org TEXT NOT NULL REFERENCES orgs(id),
    role TEXT NOT NULL,
    participant TEXT,
    label TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS invites (
    code_hash BLOB PRIMARY KEY,
    org TEXT NOT NULL REFERENCES orgs(id),
    role TEXT NOT NULL,
    participant TEXT,
    created_by TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    used_by TEXT
);
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY,
    org TEXT NOT NULL REFERENCES orgs(id),
    cross_org INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS project_orgs (
    project TEXT NOT NULL,
    org TEXT NOT NULL,
    PRIMARY KEY (project, org)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    project TEXT NOT NULL,
    subject TEXT,
    data BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_project ON documents (project);
CREATE TABLE IF NOT EXISTS doc_changes (
    doc_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (doc_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS doc_blobs (
    doc_id TEXT NOT NULL,
    hash TEXT NOT NULL,
    rendition TEXT NOT NULL,
    PRIMARY KEY (doc_id, hash)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS doc_blobs_hash ON doc_blobs (hash);
-- Which projects hold which blobs: a project holds a blob once one of its devices
-- uploaded it for the project (device NULL: held since before uploads were recorded
-- by device). A document's reference to a hash reaches the blob only through its
-- own project's record.
CREATE TABLE IF NOT EXISTS blob_records (
    project TEXT NOT NULL,
    hash TEXT NOT NULL,
    device TEXT,
    bytes INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (project, hash)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blob_records_hash ON blob_records (hash);
CREATE INDEX IF NOT EXISTS blob_records_device ON blob_records (device);
-- Uploads under way, each the device's own: its pieces wait here, inside the
-- encrypted database, until the last one arrives.
CREATE TABLE IF NOT EXISTS blob_uploads (
    id INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    project TEXT NOT NULL,
    hash TEXT NOT NULL,
    total INTEGER NOT NULL,
    received INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    UNIQUE (device, project, hash)
);
CREATE TABLE IF NOT EXISTS blob_upload_pieces (
    upload INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (upload, offset)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tombstones (
    doc_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    erased_at INTEGER NOT NULL
);
-- The devices' own audit logs: who did what to which participant's data (codes and
-- kinds, never content), as each device recorded it, for the project's coordinators.
CREATE TABLE IF NOT EXISTS participant_audit (
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    org TEXT NOT NULL,
    project TEXT NOT NULL,
    at INTEGER NOT NULL,
    member TEXT NOT NULL,
    action TEXT NOT NULL,
    participant TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (device, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS participant_audit_project ON participant_audit (project, at);
-- Participants erased: their own phones are revoked and told so.
CREATE TABLE IF NOT EXISTS erased_participants (
    participant TEXT NOT NULL,
    org TEXT NOT NULL,
    erased_at INTEGER NOT NULL,
    PRIMARY KEY (participant, org)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit (
    at INTEGER NOT NULL,
    org TEXT,
    device TEXT,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
"#;

/// Opens (creating when new) the hub database in `dir`, keyed with `key`.
pub fn open(dir: &Path, key: &[u8; 32]) -> Result<Connection> {
    let conn = Connection::open(dir.join("hub.db"))?;
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex::encode(key)))?;
    // Wait for another connection (the hub's own second one, an admin command)
    // rather than fail at once.
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // A wrong key shows here, on the first read.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ffi::ErrorCode::NotADatabase) => HubError::WrongKey,
        _ => HubError::from(e),
    })?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
         PRAGMA secure_delete = ON;",
    )?;
    let had_records: bool = conn
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'blob_records'")?
        .exists([])?;
    conn.execute_batch(SCHEMA)?;
    if !had_records {
        record_existing_blobs(&conn)?;
    }
    // Added after the first release: when retention last looked at a document, and
    // when it will next have something to purge.
    add_column(&conn, "documents", "swept_at", "INTEGER")?;
    add_column(&conn, "documents", "due_at", "INTEGER")?;
    // The member id a device's store writes under (its audit rows must carry it).
    add_column(&conn, "devices", "member", "TEXT")?;
    // The retention period the sweep last saw for a project.
    add_column(&conn, "projects", "retention_days", "INTEGER")?;
    // The automerge actor a device's store writes under, as it said when enrolling:
    // the hub registers it in the projects the device's member is on.
    add_column(&conn, "devices", "actor", "TEXT")?;
    // The project an invite enrolls a device into.
    add_column(&conn, "invites", "project", "TEXT")?;
    // Devices enrolled into a project, until the hub has written them into its team.
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS pending_members (
             device TEXT NOT NULL,
             project TEXT NOT NULL,
             role TEXT NOT NULL,
             PRIMARY KEY (device, project)
         ) WITHOUT ROWID;",
    )?;
    Ok(conn)
}

/// A database from before blobs were recorded per project: every blob its documents
/// reference is taken as held by the projects referring to it — except a blob
/// referred to from more than one organisation, which no record can tell apart from
/// a borrowed hash (its uploader's devices send it again with their next sync).
/// Uploads under way then restart.
fn record_existing_blobs(conn: &Connection) -> Result<()> {
    conn.execute_batch("DROP TABLE IF EXISTS upload_chunks; DROP TABLE IF EXISTS uploads;")?;
    conn.execute(
        "INSERT OR IGNORE INTO blob_records (project, hash, device, bytes, created_at)
         SELECT DISTINCT d.project, b.hash, NULL, 0, ?1
         FROM doc_blobs b JOIN documents d ON d.doc_id = b.doc_id
         WHERE (SELECT count(DISTINCT p.org) FROM doc_blobs b2
                JOIN documents d2 ON d2.doc_id = b2.doc_id
                JOIN projects p ON p.id = d2.project
                WHERE b2.hash = b.hash) = 1",
        [now()],
    )?;
    Ok(())
}

/// A further connection to the hub's database for work done off the async threads
/// (an upload's completion): keyed, waiting on a busy database, nothing created.
pub fn open_worker(dir: &Path, key: &[u8; 32]) -> Result<Connection> {
    let conn = Connection::open(dir.join("hub.db"))?;
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex::encode(key)))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON;")?;
    Ok(conn)
}

/// Adds a column to a table of a database created by an older build.
fn add_column(conn: &Connection, table: &str, column: &str, decl: &str) -> Result<()> {
    let exists: bool = conn
        .prepare(&format!(
            "SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"
        ))?
        .exists([column])?;
    if !exists {
        match conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl};")) {
            // Another process opening the same database added it first.
            Err(e) if e.to_string().contains("duplicate column") => {}
            other => other?,
        }
    }
    Ok(())
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Appends to the hub's audit log: who did what, never content.
pub fn audit(
    conn: &Connection,
    org: Option<&str>,
    device: Option<&str>,
    action: &str,
    detail: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO audit (at, org, device, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![now(), org, device, action, detail],
    )?;
    Ok(())
}

/// Whether `project` is open to the organisation `org`: its own, or shared with it.
pub fn project_open(conn: &Connection, project: &str, org: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM projects p WHERE p.id = ?1 AND (p.org = ?2 OR (p.cross_org = 1 AND
             EXISTS (SELECT 1 FROM project_orgs o WHERE o.project = p.id AND o.org = ?2)))",
        )?
        .exists(params![project, org])?)
}

/// Whether a document of `project` refers to the blob `hash`.
pub fn blob_used_in(conn: &Connection, project: &str, hash: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM doc_blobs b JOIN documents d ON d.doc_id = b.doc_id
             WHERE b.hash = ?1 AND d.project = ?2 LIMIT 1",
        )?
        .exists(params![hash, project])?)
}

/// The id of the organisation called `name`.
pub fn org_id(conn: &Connection, name: &str) -> Result<String> {
    conn.query_row(
        "SELECT id FROM orgs WHERE name = ?1 OR id = ?1",
        [name],
        |r| r.get(0),
    )
    .optional()?
    .ok_or(HubError::NotFound("organisation"))
}
