//! The capture journal: how a note is acknowledged in a fraction of a millisecond.
//!
//! Writing a note into its automerge document, its index row and its search row costs
//! around a millisecond on a phone. A person typing in an interview must never wait
//! for that, so capture only appends the note to `pending_notes` — one small row in
//! one SQLite transaction, durable when `add_note` returns — and a background worker
//! moves pending notes into their documents and the index a few at a time, each batch
//! in one transaction that also deletes the rows it applied.
//!
//! Every read that could see a note (lists, search, evidence, sync) first applies
//! whatever is still pending, so a caller always reads its own writes. A process that
//! dies with notes pending applies them when the store is next opened.

use rusqlite::{params, Connection};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use super::docs::{map_at, DocKey};
use super::{index, State};
use crate::domain::{MaterialDoc, Note, DOC_SCHEMA};
use crate::error::{Error, Result};
use crate::ids::{ParticipantId, ProjectId, SessionId};

/// How many notes the worker applies in one transaction. Small, because capture waits
/// for the store while a batch is being applied.
pub(crate) const WORKER_BATCH: usize = 4;

/// A note waiting to be applied.
pub(crate) struct Pending {
    pub(crate) session: SessionId,
    pub(crate) project: ProjectId,
    pub(crate) note: Note,
}

/// How many notes are pending: raised by capture after its insert commits, lowered by
/// each applied batch. It may dip below zero for a moment (a note applied before its
/// capture call returned); a read after a capture returned always sees it above zero
/// until the note is applied.
pub(crate) type PendingCount = Arc<AtomicI64>;

/// Whether notes may be pending.
pub(crate) fn any(count: &PendingCount) -> bool {
    count.load(Ordering::Acquire) > 0
}

/// Appends a note to the journal; durable once this returns.
pub(crate) fn enqueue(conn: &Connection, p: &Pending) -> Result<()> {
    let json = serde_json::to_vec(&p.note).map_err(|_| Error::Storage("encode".into()))?;
    conn.prepare_cached("INSERT INTO pending_notes (session, project, note) VALUES (?1, ?2, ?3)")?
        .execute(params![p.session.as_str(), p.project.as_str(), json])?;
    Ok(())
}

/// How many notes are pending in the database.
pub(crate) fn count(conn: &Connection) -> Result<usize> {
    let n: i64 = conn.query_row("SELECT count(*) FROM pending_notes", [], |r| r.get(0))?;
    Ok(n as usize)
}

/// Applies up to `max` pending notes in one transaction. Returns how many rows left
/// the journal (applied, or set aside as described below).
///
/// A row that can never be applied must not block the rows behind it, nor every read,
/// nor opening the store: a row that does not decode is moved to `failed_notes`, and
/// a row whose session or participant was erased (or no longer exists here) is
/// dropped — its material must not be written anywhere. Any other failure (a full
/// disk, say) leaves every row pending and is returned.
pub(crate) fn apply_batch(state: &mut State, max: usize) -> Result<usize> {
    let State {
        conn,
        cache,
        pending,
        observers,
        ..
    } = state;
    let rows: Vec<(i64, String, String, Vec<u8>)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT seq, session, project, note FROM pending_notes ORDER BY seq LIMIT ?1",
        )?;
        let rows = stmt.query_map([max as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let Some(last_seq) = rows.last().map(|(seq, ..)| *seq) else {
        return Ok(0);
    };
    let mut touched: BTreeMap<DocKey, ProjectId> = BTreeMap::new();
    let mut applied: Vec<(DocKey, Pending)> = Vec::new();
    let mut failed: Vec<i64> = Vec::new();
    let outcome = (|| {
        for (seq, session, project, json) in &rows {
            let Ok(note) = serde_json::from_slice::<Note>(json) else {
                failed.push(*seq);
                continue;
            };
            let p = Pending {
                session: SessionId::from(session.clone()),
                project: ProjectId::from(project.clone()),
                note,
            };
            let key = doc_for(&p.session, p.note.about.as_ref());
            match apply_one(conn, cache, &key, &p) {
                Ok(()) => {
                    touched.insert(key.clone(), p.project.clone());
                    applied.push((key, p));
                }
                // Erased or gone: the note has nowhere it may live.
                Err(Error::Erased { .. }) | Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let tx = conn.transaction()?;
        for (key, project) in &touched {
            let loaded = cache.entry(&tx, key)?;
            super::docs::persist(&tx, key, project, loaded)?;
        }
        for (key, p) in &applied {
            index::upsert_note(&tx, key, &p.project, Some(&p.session), &p.note)?;
        }
        for seq in &failed {
            tx.prepare_cached(
                "INSERT INTO failed_notes (seq, note) SELECT seq, note FROM pending_notes WHERE seq = ?1",
            )?
            .execute([seq])?;
        }
        tx.prepare_cached("DELETE FROM pending_notes WHERE seq <= ?1")?
            .execute([last_seq])?;
        tx.commit()?;
        Ok(rows.len())
    })();
    match outcome {
        Ok(n) => {
            pending.fetch_sub(n as i64, Ordering::AcqRel);
            for (key, project) in &touched {
                observers.publish(project, key, false);
            }
            Ok(n)
        }
        Err(e) => {
            // Drop what memory holds beyond the database; the rows stay pending.
            for key in touched.keys() {
                cache.evict(key);
            }
            Err(e)
        }
    }
}

/// Writes one pending note into its document in memory.
fn apply_one(
    conn: &Connection,
    cache: &mut super::docs::DocCache,
    key: &DocKey,
    p: &Pending,
) -> Result<()> {
    super::refuse_erased(conn, &DocKey::Session(p.session.clone()))?;
    ensure_material(conn, cache, key, p)?;
    let loaded = cache.entry(conn, key)?;
    let notes = map_at(&mut loaded.doc, "notes")?;
    // Applying twice must not duplicate: a note already in its document is skipped.
    if automerge::ReadDoc::get(&loaded.doc, &notes, p.note.id.as_str())?.is_none() {
        p.note.write_new(&mut loaded.doc, &notes)?;
    }
    Ok(())
}

/// The document a note goes into.
pub(crate) fn doc_for(session: &SessionId, about: Option<&ParticipantId>) -> DocKey {
    match about {
        Some(p) => DocKey::Material(session.clone(), p.clone()),
        None => DocKey::Session(session.clone()),
    }
}

/// Creates the participant's material document for the session on its first note.
fn ensure_material(
    conn: &Connection,
    cache: &mut super::docs::DocCache,
    key: &DocKey,
    p: &Pending,
) -> Result<()> {
    let DocKey::Material(session, participant) = key else {
        return Ok(());
    };
    if cache.contains(key) || super::docs::exists(conn, key)? {
        return Ok(());
    }
    super::refuse_erased(conn, key)?;
    let root = MaterialDoc {
        schema: DOC_SCHEMA,
        project_id: p.project.clone(),
        session_id: session.clone(),
        participant_id: participant.clone(),
        notes: BTreeMap::new(),
        attachments: BTreeMap::new(),
    };
    cache.insert_with_root(key.clone(), &root)?;
    Ok(())
}

/// The background worker that applies pending notes. Dropping it stops the thread
/// after its current batch.
pub(crate) struct Worker {
    signal: Arc<Signal>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct Signal {
    flags: Mutex<Flags>,
    wake: Condvar,
}

#[derive(Default)]
struct Flags {
    work: bool,
    stop: bool,
}

impl Worker {
    pub(crate) fn start(state: Weak<Mutex<State>>) -> Worker {
        let signal = Arc::new(Signal::default());
        let theirs = signal.clone();
        let thread = std::thread::Builder::new()
            .name("insikt-journal".into())
            .spawn(move || run(state, &theirs))
            .ok();
        Worker { signal, thread }
    }

    /// Tells the worker there is work.
    pub(crate) fn notify(&self) {
        if let Ok(mut f) = self.signal.flags.lock() {
            f.work = true;
        }
        self.signal.wake.notify_one();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(mut f) = self.signal.flags.lock() {
            f.stop = true;
        }
        self.signal.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(state: Weak<Mutex<State>>, signal: &Signal) {
    loop {
        {
            let Ok(mut f) = signal.flags.lock() else {
                return;
            };
            while !f.work && !f.stop {
                f = match signal.wake.wait_timeout(f, Duration::from_secs(1)) {
                    Ok((f, _)) => f,
                    Err(_) => return,
                };
            }
            if f.stop {
                return;
            }
            f.work = false;
        }
        loop {
            if signal.flags.lock().map(|f| f.stop).unwrap_or(true) {
                return;
            }
            let Some(state) = state.upgrade() else { return };
            let Ok(mut guard) = state.lock() else { return };
            if !any(&guard.pending) {
                break;
            }
            match apply_batch(&mut guard, WORKER_BATCH) {
                Ok(0) => break,
                Ok(_) => guard.apply_error = None,
                Err(e) => {
                    // Leave the notes pending; a read or the next capture retries.
                    guard.apply_error = Some(e);
                    drop(guard);
                    std::thread::sleep(Duration::from_millis(200));
                    break;
                }
            }
        }
    }
}
