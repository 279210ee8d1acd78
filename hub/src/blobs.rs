//! Blob uploads. An upload belongs to the device that started it and to the project
//! it names; its pieces wait inside the encrypted database. The last piece streams
//! them, one at a time, into the encrypted blob store, hashing as it goes; only bytes
//! that are the announced blob are stored, and the project then holds the blob (see
//! `blob_records` in `db.rs`). Nothing here holds more than one piece in memory.

use insikt_media::{BlobHash, BlobStore, MediaError};
use rusqlite::{params, Connection, OptionalExtension};

use crate::auth::{Device, Role};
use crate::error::{HubError, Result};

/// Unfinished uploads are dropped after this long.
const UPLOAD_EXPIRES_MS: i64 = 7 * 24 * 3600 * 1000;

/// What a device may leave on the hub that no document uses yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Bytes of uploads under way.
    pub pending_bytes: u64,
    /// Bytes of finished uploads no document of their project references.
    pub unreferenced_bytes: u64,
    /// How many such finished uploads.
    pub unreferenced_blobs: u64,
}

/// A device's quota: a participant's phone uploads a diary photo at a time (its
/// renditions are a few megabytes, referenced by its inbox before they are sent);
/// a team device may be carrying a field day's photos.
pub fn quota(role: Role) -> Quota {
    match role {
        Role::Participant => Quota {
            pending_bytes: 64 << 20,
            unreferenced_bytes: 32 << 20,
            unreferenced_blobs: 64,
        },
        _ => Quota {
            pending_bytes: 2 << 30,
            unreferenced_bytes: 1 << 30,
            unreferenced_blobs: 10_000,
        },
    }
}

/// Where an upload stands after a piece.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece {
    /// This many bytes have arrived.
    Received(u64),
    /// Every byte has arrived: [`complete`] the upload with this id.
    Complete(i64),
}

/// How much of the device's upload of `hash` for `project` has arrived.
pub fn received(c: &Connection, me: &Device, project: &str, hash: &BlobHash) -> Result<u64> {
    let received: Option<i64> = c
        .prepare_cached(
            "SELECT received FROM blob_uploads WHERE device = ?1 AND project = ?2 AND hash = ?3",
        )?
        .query_row(params![me.id, project, hash.to_hex()], |r| r.get(0))
        .optional()?;
    Ok(received.unwrap_or(0) as u64)
}

/// Stores one piece of the device's own upload. A different total restarts only
/// this device's upload; an upload that starts must fit the device's quota.
pub fn receive_piece(
    c: &mut Connection,
    me: &Device,
    project: &str,
    hash: &BlobHash,
    offset: u64,
    total: u64,
    body: &[u8],
) -> Result<Piece> {
    let hex = hash.to_hex();
    let tx = c.transaction()?;
    let expired = crate::db::now() - UPLOAD_EXPIRES_MS;
    tx.execute(
        "DELETE FROM blob_upload_pieces WHERE upload IN
            (SELECT id FROM blob_uploads WHERE started_at < ?1)",
        [expired],
    )?;
    tx.execute("DELETE FROM blob_uploads WHERE started_at < ?1", [expired])?;
    let current: Option<(i64, i64, i64)> = tx
        .query_row(
            "SELECT id, total, received FROM blob_uploads
             WHERE device = ?1 AND project = ?2 AND hash = ?3",
            params![me.id, project, hex],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let (id, received) = match current {
        Some((id, t, r)) if t as u64 == total => (Some(id), r as u64),
        Some((id, _, _)) => {
            // A different total restarts the upload: this device's own.
            tx.execute("DELETE FROM blob_upload_pieces WHERE upload = ?1", [id])?;
            tx.execute("DELETE FROM blob_uploads WHERE id = ?1", [id])?;
            (None, 0)
        }
        None => (None, 0),
    };
    if offset != received {
        return Err(HubError::Invalid("the piece does not continue the upload"));
    }
    if offset + body.len() as u64 > total {
        return Err(HubError::Invalid("the piece runs past the declared size"));
    }
    let id = match id {
        Some(id) => id,
        None => {
            check_quota(&tx, me, project, &hex, total)?;
            tx.execute(
                "INSERT INTO blob_uploads (device, project, hash, total, received, started_at)
                 VALUES (?1, ?2, ?3, ?4, 0, ?5)",
                params![me.id, project, hex, total as i64, crate::db::now()],
            )?;
            tx.last_insert_rowid()
        }
    };
    let now_received = received + body.len() as u64;
    if !body.is_empty() {
        tx.prepare_cached(
            "INSERT INTO blob_upload_pieces (upload, offset, data) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![id, offset as i64, body])?;
        tx.prepare_cached("UPDATE blob_uploads SET received = ?2 WHERE id = ?1")?
            .execute(params![id, now_received as i64])?;
    }
    tx.commit()?;
    Ok(if now_received == total {
        Piece::Complete(id)
    } else {
        Piece::Received(now_received)
    })
}

/// Refuses an upload of `total` bytes that would take the device past its quota. A
/// blob a document of the project refers to already is in use as soon as it is
/// stored, and counts only as unfinished meanwhile.
fn check_quota(c: &Connection, me: &Device, project: &str, hash: &str, total: u64) -> Result<()> {
    let q = quota(me.role);
    let pending: i64 = c.query_row(
        "SELECT coalesce(sum(total), 0) FROM blob_uploads WHERE device = ?1",
        [&me.id],
        |r| r.get(0),
    )?;
    if pending as u64 + total > q.pending_bytes {
        return Err(HubError::TooLarge(
            "too much unfinished upload for one device",
        ));
    }
    if crate::db::blob_used_in(c, project, hash)? {
        return Ok(());
    }
    let (count, bytes): (i64, i64) = c.query_row(
        "SELECT count(*), coalesce(sum(r.bytes), 0) FROM blob_records r
         WHERE r.device = ?1 AND NOT EXISTS
            (SELECT 1 FROM doc_blobs b JOIN documents d ON d.doc_id = b.doc_id
             WHERE b.hash = r.hash AND d.project = r.project)",
        [&me.id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if count as u64 >= q.unreferenced_blobs || bytes as u64 + total > q.unreferenced_bytes {
        return Err(HubError::TooLarge(
            "too many finished uploads that no document refers to",
        ));
    }
    Ok(())
}

/// Finishes an upload whose bytes have all arrived: streams its pieces into the blob
/// store, hashing them on the way; when they are the announced blob, the project
/// holds it from now on (the first uploader stays recorded). The pieces go either way.
pub fn complete(
    c: &mut Connection,
    blobs: &BlobStore,
    me: &Device,
    project: &str,
    hash: &BlobHash,
    upload: i64,
) -> Result<()> {
    let written = {
        let mut writer = blobs.writer(*hash)?;
        let mut stmt =
            c.prepare("SELECT data FROM blob_upload_pieces WHERE upload = ?1 ORDER BY offset")?;
        let mut rows = stmt.query([upload])?;
        let mut outcome = Ok(());
        while let Some(row) = rows.next()? {
            let piece = row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
            if let Err(e) = writer.write(piece) {
                outcome = Err(e);
                break;
            }
        }
        let total = writer.len();
        outcome.and_then(|()| writer.finish()).map(|_| total)
    };
    let tx = c.transaction()?;
    tx.execute("DELETE FROM blob_upload_pieces WHERE upload = ?1", [upload])?;
    tx.execute("DELETE FROM blob_uploads WHERE id = ?1", [upload])?;
    let total = match written {
        Ok(total) => total,
        Err(MediaError::HashMismatch) => {
            tx.commit()?;
            return Err(HubError::Invalid("the upload does not match its hash"));
        }
        Err(e) => return Err(e.into()),
    };
    tx.execute(
        "INSERT OR IGNORE INTO blob_records (project, hash, device, bytes, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            project,
            hash.to_hex(),
            me.id,
            total as i64,
            crate::db::now()
        ],
    )?;
    tx.commit()?;
    Ok(())
}
