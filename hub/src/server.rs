//! The hub's endpoints.
//!
//! - `GET  /v1/sync` — WebSocket, automerge-repo protocol, binary frames. The device
//!   token goes in `Authorization: Bearer`; a client that cannot set headers puts a
//!   one-time `ticket` (from `POST /v1/tickets`) or, failing that, its `token` in the
//!   URL's query.
//! - `POST /v1/tickets` — with the bearer token: a one-time ticket for `/v1/sync`,
//!   good for a minute.
//! - `POST /v1/enroll` — `{code, label}` → the device's id and token (shown once).
//! - `POST /v1/invites` — a coordinator's device invites a role: `{role, participant?,
//!   project?}`; with a project, the device that enrolls joins its team.
//! - `GET  /v1/memberships` — the projects whose team the device is on.
//! - `POST /v1/join` — an enrolled device redeems a project invite `{code}`.
//! - `POST /v1/devices/{id}/revoke` — a coordinator revokes a device of their
//!   organisation; its open connections close at once.
//! - `GET  /v1/blobs/{hash}` — a blob, streamed, when a document the device may read
//!   references it in a project that holds the blob.
//! - `GET  /v1/blobs/{hash}/status?project=P` — whether project P holds the blob as
//!   far as this device may know, or how much of its own upload arrived.
//! - `PUT  /v1/blobs/{hash}?project=P&offset=N&total=T` — one piece of the device's
//!   upload for project P; the last piece completes it, verified against the hash.
//!
//! Every handler does its database and file work off the async threads. Each device
//! may hold a few connections, downloads and uploads at once (see [`HubConfig`]);
//! connections that go quiet are closed.

use axum::body::{Body, Bytes};
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use insikt_core::sync::{ConnId, Effect, Engine, Event, Limits};
use insikt_media::{BlobHash, BlobStore};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};

use crate::auth::{self, Device, Role};
use crate::blobs::{self, Piece};
use crate::docs::HubDocuments;
use crate::error::{HubError, Result};
use crate::slots::{Slot, Slots, TicketRefusal, Tickets};

/// The hub's settings.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// The largest protocol message accepted; a peer sending a larger one is
    /// disconnected.
    pub max_message_bytes: usize,
    /// The largest blob accepted.
    pub max_blob_bytes: u64,
    /// The largest piece of an upload in one request.
    pub max_upload_piece: usize,
    /// How often open connections are checked against revocations made elsewhere
    /// (another process on the same database).
    pub revocation_sweep: Duration,
    /// How often retention runs: raw material older than each project's retention
    /// period, and deleted material still in documents' history, is purged by
    /// rebuilding those documents as their next generation.
    pub retention_sweep: Duration,
    /// How many WebSocket connections one device may have open at once.
    pub max_connections_per_device: usize,
    /// How many WebSocket connections the hub serves at once.
    pub max_connections: usize,
    /// A connection from which nothing arrives for this long (not even the answer to
    /// the pings the hub sends meanwhile) is closed.
    pub idle_timeout: Duration,
    /// How many blobs the hub streams to devices at once (four per device at most).
    pub max_parallel_downloads: usize,
    /// How many upload pieces the hub takes in at once (one per device at most):
    /// each is held in memory until it is stored.
    pub max_parallel_uploads: usize,
    /// How many bytes of frames may wait for a peer that reads slowly; over that it
    /// is disconnected (it gets the rest on its next sync).
    pub max_queued_bytes: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            max_message_bytes: 16 << 20,
            max_blob_bytes: 512 << 20,
            max_upload_piece: 8 << 20,
            revocation_sweep: Duration::from_millis(500),
            retention_sweep: Duration::from_secs(600),
            max_connections_per_device: 4,
            max_connections: 10_000,
            idle_timeout: Duration::from_secs(120),
            max_parallel_downloads: 16,
            max_parallel_uploads: 4,
            max_queued_bytes: 32 << 20,
        }
    }
}

/// How many blobs one device may download at once.
const DOWNLOADS_PER_DEVICE: usize = 4;
/// How many upload pieces one device may send at once.
const UPLOADS_PER_DEVICE: usize = 1;
/// How long a request waits for its turn at a download or an upload before the hub
/// answers that it is busy.
const QUEUE_WAIT: Duration = Duration::from_secs(30);
/// How long a download may stall on a client that does not read.
const DOWNLOAD_STALL: Duration = Duration::from_secs(30);

/// How often the retention sweep also looks for blob files no document references.
const BLOB_GC_EVERY: Duration = Duration::from_secs(24 * 3600);
/// How old an unreferenced blob file must be before it is removed.
const BLOB_GC_MIN_AGE: Duration = Duration::from_secs(3600);

/// How many frames may wait for a slow peer before it is disconnected.
const OUTBOUND_FRAMES: usize = 4096;

enum Outbound {
    Frame(Vec<u8>),
    Ping,
    Close(Option<String>),
}

/// A connection's way out: its device, its writer's queue, and how many bytes wait
/// in that queue.
struct Outlet {
    device: String,
    tx: mpsc::Sender<Outbound>,
    queued: Arc<AtomicUsize>,
}

struct Core {
    engine: Engine,
    docs: HubDocuments,
}

struct Shared {
    core: Mutex<Core>,
    /// Logins, enrollment, invites, audit rows.
    admin: Mutex<Connection>,
    /// Upload pieces (a login never waits for one).
    uploads: Mutex<Connection>,
    /// Where the database is and its key, for further connections (an upload's
    /// completion opens its own).
    dir: PathBuf,
    key: zeroize::Zeroizing<[u8; 32]>,
    blobs: BlobStore,
    senders: Mutex<HashMap<ConnId, Outlet>>,
    next_conn: AtomicU64,
    config: HubConfig,
    /// When the sweep last looked for unreferenced blob files.
    last_blob_gc: Mutex<Option<std::time::Instant>>,
    sockets: Arc<Slots>,
    download_slots: Arc<Slots>,
    downloads: Arc<Semaphore>,
    upload_slots: Arc<Slots>,
    upload_pieces: Arc<Semaphore>,
    tickets: Tickets,
}

/// What the hub holds for its peers at a moment (see [`Hub::held`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// Open WebSocket connections.
    pub connections: usize,
    /// What peers' messages left in the sync states (heads, needs, bloom filters,
    /// and a fixed amount per document).
    pub peer_state_bytes: usize,
    /// Changes that arrived before those they depend on, held with the connections
    /// that brought them (never in a document, never stored).
    pub waiting_change_bytes: usize,
    /// Documents loaded in memory (at most a few thousand, all stored).
    pub loaded_documents: usize,
}

/// A running hub's state; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Hub {
    /// Opens the hub's storage in `dir` (created when new).
    pub fn open(dir: &Path, config: HubConfig) -> Result<Hub> {
        let key = crate::load_or_create_key(dir)?;
        let sync_db = crate::db::open(dir, &key)?;
        let admin = crate::db::open(dir, &key)?;
        let uploads = crate::db::open(dir, &key)?;
        let blob_dir: PathBuf = dir.join("blobs");
        let docs = HubDocuments::new(sync_db, BlobStore::open(&blob_dir, &key)?)?;
        let limits = Limits {
            max_message_bytes: config.max_message_bytes,
            ..Limits::default()
        };
        Ok(Hub {
            shared: Arc::new(Shared {
                core: Mutex::new(Core {
                    engine: Engine::new("insikt-hub", limits),
                    docs,
                }),
                admin: Mutex::new(admin),
                uploads: Mutex::new(uploads),
                dir: dir.to_path_buf(),
                key: zeroize::Zeroizing::new(key),
                blobs: BlobStore::open(&blob_dir, &key)?,
                senders: Mutex::new(HashMap::new()),
                next_conn: AtomicU64::new(1),
                last_blob_gc: Mutex::new(None),
                sockets: Slots::new(config.max_connections_per_device),
                download_slots: Slots::new(DOWNLOADS_PER_DEVICE),
                downloads: Arc::new(Semaphore::new(config.max_parallel_downloads)),
                upload_slots: Slots::new(UPLOADS_PER_DEVICE),
                upload_pieces: Arc::new(Semaphore::new(config.max_parallel_uploads)),
                tickets: Tickets::default(),
                config,
            }),
        })
    }

    /// Runs `f` on the hub's administrative database connection.
    pub fn admin<R>(&self, f: impl FnOnce(&mut Connection) -> Result<R>) -> Result<R> {
        f(&mut lock(&self.shared.admin))
    }

    /// Creates an organisation.
    pub fn add_org(&self, name: &str) -> Result<String> {
        self.admin(|c| auth::add_org(c, name))
    }

    /// An invite code for `role` in the organisation `org` (name or id).
    pub fn invite(&self, org: &str, role: Role, participant: Option<&str>) -> Result<String> {
        self.admin(|c| {
            let org = crate::db::org_id(c, org)?;
            auth::create_invite(c, &org, role, participant, None)
        })
    }

    /// An invite code for `role` on the team of `project`, in the organisation `org`
    /// (name or id): the device that enrolls with it joins the team when it first
    /// connects.
    pub fn invite_to_project(&self, org: &str, project: &str, role: Role) -> Result<String> {
        self.admin(|c| {
            let org = crate::db::org_id(c, org)?;
            auth::create_invite_into(c, &org, role, None, Some(project), None)
        })
    }

    /// Opens a project to another organisation (the project must allow crossing).
    pub fn share_project(&self, project: &str, org: &str) -> Result<()> {
        self.admin(|c| {
            let org = crate::db::org_id(c, org)?;
            let n = c.execute("UPDATE projects SET cross_org = 1 WHERE id = ?1", [project])?;
            if n == 0 {
                return Err(HubError::NotFound("project"));
            }
            c.execute(
                "INSERT OR IGNORE INTO project_orgs (project, org) VALUES (?1, ?2)",
                params![project, org],
            )?;
            crate::db::audit(c, Some(&org), None, "share-project", "")?;
            Ok(())
        })?;
        lock(&self.shared.core).docs.forget_projects();
        Ok(())
    }

    /// Revokes a device and closes its open connections at once.
    pub fn revoke(&self, device: &str, by: Option<&str>) -> Result<()> {
        self.admin(|c| auth::revoke(c, device, by))?;
        self.close_device(device, "the device was revoked");
        Ok(())
    }

    fn close_device(&self, device: &str, reason: &str) {
        let effects = {
            let mut core = lock(&self.shared.core);
            let Core { engine, docs } = &mut *core;
            let conns = docs.revoke(device);
            let mut effects = Vec::new();
            for conn in conns {
                effects.extend(engine.handle(
                    docs,
                    Event::Close {
                        conn,
                        reason: reason.into(),
                    },
                ));
            }
            effects
        };
        self.dispatch(effects);
    }

    /// How many connections are open.
    pub fn connections(&self) -> usize {
        lock(&self.shared.senders).len()
    }

    /// What the hub holds for its peers now, for tests and benchmarks.
    pub fn held(&self) -> Held {
        let core = lock(&self.shared.core);
        Held {
            connections: self.connections(),
            peer_state_bytes: core.engine.peer_state_bytes(),
            waiting_change_bytes: core.docs.waiting_bytes(),
            loaded_documents: core.docs.loaded(),
        }
    }

    /// Runs `f` on a blocking thread (database and file work), with this hub.
    async fn blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Hub) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let hub = self.clone();
        tokio::task::spawn_blocking(move || f(&hub))
            .await
            .unwrap_or(Err(HubError::Storage("a worker stopped".into())))
    }

    /// The HTTP and WebSocket routes.
    pub fn router(&self) -> Router {
        let piece = self.shared.config.max_upload_piece;
        Router::new()
            .route("/v1/health", get(|| async { "ok" }))
            .route("/v1/sync", get(sync_socket))
            .route("/v1/tickets", post(ticket))
            .route("/v1/enroll", post(enroll))
            .route("/v1/invites", post(invite))
            .route("/v1/memberships", get(memberships))
            .route("/v1/join", post(join))
            .route("/v1/devices/{id}/revoke", post(revoke))
            .route("/v1/blobs/{hash}", get(blob_get).put(blob_put))
            .route("/v1/blobs/{hash}/status", get(blob_status))
            .route("/v1/audit", post(audit_put))
            .route("/v1/projects/{id}/audit", get(audit_get))
            .layer(DefaultBodyLimit::max(piece + 1024))
            .with_state(self.clone())
    }

    /// Serves plain HTTP on `listener` (behind a TLS proxy, or on loopback) until the
    /// process ends, sweeping revocations made elsewhere.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> Result<()> {
        self.start_sweeper();
        axum::serve(listener, self.router())
            .await
            .map_err(HubError::from)
    }

    /// Serves HTTPS on `listener` with `tls` (see [`crate::tls::server_config`]).
    pub async fn serve_tls(
        self,
        listener: tokio::net::TcpListener,
        tls: Arc<rustls::ServerConfig>,
    ) -> Result<()> {
        self.start_sweeper();
        let listener = crate::tls::TlsListener::new(listener, tls)?;
        axum::serve(listener, self.router())
            .await
            .map_err(HubError::from)
    }

    fn start_sweeper(&self) {
        let sweeper = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(sweeper.shared.config.revocation_sweep);
            loop {
                tick.tick().await;
                // It takes the documents' lock to close connections: off the async
                // threads.
                let _ = sweeper
                    .blocking(|hub| {
                        hub.sweep_revoked();
                        Ok(())
                    })
                    .await;
            }
        });
        let retention = self.clone();
        tokio::spawn(async move {
            // The first sweep one period after start, not at once: a hub that starts
            // is busy with devices reconnecting.
            let period = retention.shared.config.retention_sweep;
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            loop {
                tick.tick().await;
                let hub = retention.clone();
                // The sweep reads documents from the database: off the async threads.
                let outcome =
                    tokio::task::spawn_blocking(move || hub.sweep_retention(crate::db::now()))
                        .await;
                match outcome {
                    Ok(Err(e)) => eprintln!("insikt-hub: retention sweep failed: {e}"),
                    Err(_) => eprintln!("insikt-hub: retention sweep stopped unexpectedly"),
                    Ok(Ok(_)) => {}
                }
            }
        });
    }

    /// Runs retention now, with `now` (milliseconds since the epoch) deciding what
    /// is old: documents holding raw material past their project's period, or
    /// deleted material in their history, are rebuilt as their next generation and
    /// the devices connected are sent the new one.
    /// Removes what uploads left that nothing uses, once older than `min_age`: a
    /// project's record of a blob none of its documents references, and a blob file
    /// no project holds (a blob is uploaded after the document naming it, so a young
    /// one may be on its way; the retention sweep does this once a day with an
    /// hour's grace). The directory is read without the hub's lock; records are
    /// checked a few hundred at a time under it. Returns how many files were removed.
    pub fn collect_blob_garbage(&self, min_age: Duration) -> Result<usize> {
        let before = crate::db::now() - i64::try_from(min_age.as_millis()).unwrap_or(i64::MAX);
        lock(&self.shared.core)
            .docs
            .expire_unreferenced_blobs(before)?;
        let now = std::time::SystemTime::now();
        let mut old = Vec::new();
        for hash in self.shared.blobs.list()? {
            if let Some(at) = self.shared.blobs.modified(&hash)? {
                if now.duration_since(at).unwrap_or_default() >= min_age {
                    old.push(hash);
                }
            }
        }
        let mut removed = 0;
        for batch in old.chunks(256) {
            let unreferenced: Vec<&BlobHash> = {
                let core = lock(&self.shared.core);
                let mut out = Vec::new();
                for hash in batch {
                    if !core.docs.blob_recorded(&hash.to_hex())? {
                        out.push(hash);
                    }
                }
                out
            };
            for hash in unreferenced {
                // Checked again at deletion: a document may have arrived meanwhile.
                let core = lock(&self.shared.core);
                if !core.docs.blob_recorded(&hash.to_hex())? && self.shared.blobs.delete(hash)? {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    pub fn sweep_retention(&self, now: i64) -> Result<crate::docs::SweepReport> {
        let candidates = lock(&self.shared.core).docs.retention_candidates(now)?;
        let mut report = crate::docs::SweepReport::default();
        for candidate in candidates {
            // One document at a time, so that devices syncing meanwhile wait for one
            // document's rebuild at most.
            let (outcome, effects) = {
                let mut core = lock(&self.shared.core);
                let Core { engine, docs } = &mut *core;
                let outcome = docs.sweep_one(&candidate, now);
                let mut effects = Vec::new();
                for doc in docs.take_erased() {
                    effects.extend(engine.handle(docs, Event::Changed { doc }));
                }
                (outcome, effects)
            };
            self.dispatch(effects);
            report.examined += 1;
            match outcome {
                Ok(true) => report.rebuilt += 1,
                Ok(false) => {}
                Err(e) => {
                    report.failed += 1;
                    eprintln!(
                        "insikt-hub: retention could not look at a {} document: {e}",
                        candidate.key.kind()
                    );
                }
            }
        }
        if report.rebuilt > 0 {
            lock(&self.shared.core).docs.checkpoint()?;
        }
        // Once a day, blob files left without a document by a crash.
        let due = {
            let mut last = lock(&self.shared.last_blob_gc);
            let due = last.is_none_or(|t| t.elapsed() >= BLOB_GC_EVERY);
            if due {
                *last = Some(std::time::Instant::now());
            }
            due
        };
        if due {
            report.blobs_removed = self.collect_blob_garbage(BLOB_GC_MIN_AGE)?;
        }
        Ok(report)
    }

    fn sweep_revoked(&self) {
        let devices: Vec<String> = lock(&self.shared.senders)
            .values()
            .map(|o| o.device.clone())
            .collect();
        let revoked: Vec<String> = {
            let admin = lock(&self.shared.admin);
            devices
                .into_iter()
                .filter(|d| auth::is_revoked(&admin, d))
                .collect()
        };
        for d in revoked {
            self.close_device(&d, "the device was revoked");
        }
    }

    fn authenticate(&self, headers: &HeaderMap, query_token: Option<&str>) -> Result<Device> {
        let token = bearer(headers)
            .or(query_token)
            .ok_or(HubError::Unauthorized)?;
        self.admin(|c| auth::authenticate(c, token))
    }

    /// The device a one-time ticket was issued to (the ticket is used up).
    fn redeem_ticket(&self, ticket: &str) -> Result<Device> {
        let device = self
            .shared
            .tickets
            .redeem(ticket)
            .ok_or(HubError::Unauthorized)?;
        self.admin(|c| auth::authenticate_id(c, &device))
    }

    /// Carries out the engine's effects.
    fn dispatch(&self, effects: Vec<Effect>) {
        if effects.is_empty() {
            return;
        }
        let max_queued = self.shared.config.max_queued_bytes;
        let mut senders = lock(&self.shared.senders);
        for effect in effects {
            match effect {
                Effect::Send { conn, frame } => {
                    let full = match senders.get(&conn) {
                        Some(o) => {
                            let n = frame.len();
                            let waiting = o.queued.fetch_add(n, Ordering::SeqCst);
                            (waiting > 0 && waiting + n > max_queued)
                                || o.tx.try_send(Outbound::Frame(frame)).is_err()
                        }
                        None => false,
                    };
                    if full {
                        // A peer that does not read what it is sent is dropped rather
                        // than buffered without bound; its reader ends with it.
                        senders.remove(&conn);
                    }
                }
                Effect::Close { conn, error } => {
                    // The writer sends the error and closes; the reader stops reading.
                    if let Some(o) = senders.remove(&conn) {
                        let _ = o.tx.try_send(Outbound::Close(error));
                    }
                }
                Effect::Established { .. }
                | Effect::DocumentChanged { .. }
                | Effect::Unavailable { .. } => {}
            }
        }
    }

    /// Feeds one event to the engine, then tells it about documents an erasure just
    /// destroyed, and carries out the effects.
    fn feed(&self, event: Event) {
        let effects = {
            let mut core = lock(&self.shared.core);
            let Core { engine, docs } = &mut *core;
            let mut effects = engine.handle(docs, event);
            for doc in docs.take_erased() {
                effects.extend(engine.handle(docs, Event::Changed { doc }));
            }
            effects
        };
        self.dispatch(effects);
    }

    /// [`Hub::feed`] on a blocking thread: applying a message may take a while (a
    /// large document), and the async threads serve everyone's requests.
    async fn feed_blocking(&self, event: Event) {
        let _ = self
            .blocking(move |hub| {
                hub.feed(event);
                Ok(())
            })
            .await;
    }

    async fn run_socket(self, device: Device, socket: WebSocket, _slot: Slot) {
        let conn = self.shared.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = mpsc::channel(OUTBOUND_FRAMES);
        let queued = Arc::new(AtomicUsize::new(0));
        lock(&self.shared.senders).insert(
            conn,
            Outlet {
                device: device.id.clone(),
                tx: tx.clone(),
                queued: queued.clone(),
            },
        );
        let attached = device.clone();
        let _ = self
            .blocking(move |hub| {
                lock(&hub.shared.core).docs.attach(conn, attached);
                hub.feed(Event::Connected {
                    conn,
                    dialer: false,
                    expected_peer: None,
                });
                Ok(())
            })
            .await;
        let (mut sink, mut stream) = socket.split();
        let mut writer = tokio::spawn(async move {
            while let Some(out) = rx.recv().await {
                match out {
                    Outbound::Frame(f) => {
                        let n = f.len();
                        let sent = sink.send(WsMessage::Binary(f.into())).await;
                        queued.fetch_sub(n, Ordering::SeqCst);
                        if sent.is_err() {
                            break;
                        }
                    }
                    Outbound::Ping => {
                        if sink.send(WsMessage::Ping(Bytes::new())).await.is_err() {
                            break;
                        }
                    }
                    Outbound::Close(reason) => {
                        let frame = CloseFrame {
                            code: if reason.is_some() { 1008 } else { 1000 },
                            reason: reason
                                .unwrap_or_default()
                                .chars()
                                .take(120)
                                .collect::<String>()
                                .into(),
                        };
                        let _ = sink.send(WsMessage::Close(Some(frame))).await;
                        break;
                    }
                }
            }
            let _ = sink.close().await;
        });
        // Pings keep a quiet but live peer's connection open; a peer from which
        // nothing at all arrives for the idle timeout is closed.
        let idle = self.shared.config.idle_timeout;
        let mut tick = tokio::time::interval((idle / 4).max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut heard = tokio::time::Instant::now();
        loop {
            let msg = tokio::select! {
                msg = stream.next() => msg,
                _ = tick.tick() => {
                    if !lock(&self.shared.senders).contains_key(&conn) {
                        break;
                    }
                    if heard.elapsed() >= idle {
                        self.feed_blocking(Event::Close {
                            conn,
                            reason: "the connection was idle".into(),
                        })
                        .await;
                        break;
                    }
                    let _ = tx.try_send(Outbound::Ping);
                    continue;
                }
            };
            let Some(msg) = msg else {
                break;
            };
            heard = tokio::time::Instant::now();
            let frame = match msg {
                Ok(WsMessage::Binary(b)) => Vec::from(b),
                Ok(WsMessage::Close(_)) => break,
                Ok(WsMessage::Ping(_) | WsMessage::Pong(_)) => continue,
                Ok(WsMessage::Text(_)) => {
                    self.feed_blocking(Event::Close {
                        conn,
                        reason: "text frames are not part of the protocol".into(),
                    })
                    .await;
                    break;
                }
                Err(_) => {
                    // Oversized or broken frames end the connection with an error.
                    self.feed_blocking(Event::Close {
                        conn,
                        reason: "malformed or oversized frame".into(),
                    })
                    .await;
                    break;
                }
            };
            self.feed_blocking(Event::Received { conn, frame }).await;
            if !lock(&self.shared.senders).contains_key(&conn) {
                break;
            }
        }
        // Give the writer a moment to flush a closing error, then end it: a peer that
        // does not read must not keep it (and what it holds) alive.
        lock(&self.shared.senders).remove(&conn);
        drop(tx);
        if tokio::time::timeout(Duration::from_secs(2), &mut writer)
            .await
            .is_err()
        {
            writer.abort();
        }
        let _ = self
            .blocking(move |hub| {
                let mut core = lock(&hub.shared.core);
                let Core { engine, docs } = &mut *core;
                engine.handle(docs, Event::Disconnected { conn });
                docs.detach(conn);
                Ok(())
            })
            .await;
    }
}

/// A handler's outcome as a response: JSON on success, the error's status otherwise.
fn json(outcome: Result<serde_json::Value>) -> Response {
    match outcome {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

impl Hub {
    /// The device behind the request's bearer token, which must be a coordinator's.
    fn coordinator(&self, headers: &HeaderMap, what: &'static str) -> Result<Device> {
        let me = self.authenticate(headers, None)?;
        if me.role != Role::Coordinator {
            return Err(HubError::Forbidden(what));
        }
        Ok(me)
    }

    /// The device behind the request's bearer token, which must be one that uploads.
    fn uploader(&self, headers: &HeaderMap) -> Result<Device> {
        let me = self.authenticate(headers, None)?;
        if !may_upload(&me) {
            return Err(HubError::Forbidden("this role does not upload"));
        }
        Ok(me)
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

#[derive(Deserialize)]
struct SocketQuery {
    token: Option<String>,
    ticket: Option<String>,
}

async fn sync_socket(
    State(hub): State<Hub>,
    Query(q): Query<SocketQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let found = hub
        .blocking(move |hub| match &q.ticket {
            Some(ticket) => hub.redeem_ticket(ticket),
            None => hub.authenticate(&headers, q.token.as_deref()),
        })
        .await;
    let device = match found {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    if hub.connections() >= hub.shared.config.max_connections {
        return (StatusCode::SERVICE_UNAVAILABLE, "the hub is full").into_response();
    }
    let Some(slot) = hub.shared.sockets.take(&device.id) else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "too many connections from this device",
        )
            .into_response();
    };
    let max = hub.shared.config.max_message_bytes;
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| hub.run_socket(device, socket, slot))
}

/// A one-time ticket for `/v1/sync?ticket=…`, for a client that can make this one
/// call with its token in a header but cannot set headers on its WebSocket.
async fn ticket(State(hub): State<Hub>, headers: HeaderMap) -> Response {
    json(
        hub.blocking(move |hub| {
            let me = hub.authenticate(&headers, None)?;
            match hub.shared.tickets.issue(&me.id) {
                Ok(ticket) => Ok(serde_json::json!({
                    "ticket": ticket,
                    "expires_in": crate::slots::TICKET_VALID.as_secs(),
                })),
                Err(TicketRefusal::DeviceFull) => {
                    Err(HubError::TooMany("this device has enough unused tickets"))
                }
                Err(TicketRefusal::HubFull) => Err(HubError::Busy("too many unused tickets")),
            }
        })
        .await,
    )
}

#[derive(Deserialize)]
struct EnrollRequest {
    code: String,
    #[serde(default)]
    label: String,
    /// The member id the device's store writes under.
    #[serde(default)]
    member: Option<String>,
    /// The automerge actor (hex) the device's store writes under.
    #[serde(default)]
    actor: Option<String>,
}

async fn enroll(State(hub): State<Hub>, Json(req): Json<EnrollRequest>) -> Response {
    let enrolled = hub
        .blocking(move |hub| {
            let me = auth::Joining {
                label: &req.label,
                member: req.member.as_deref(),
                actor: req.actor.as_deref(),
            };
            hub.admin(|c| auth::enroll_as(c, &req.code, &me))
        })
        .await;
    match enrolled {
        Ok(e) => Json(e).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct InviteRequest {
    role: Role,
    participant: Option<String>,
    /// The project whose team the invited device joins.
    #[serde(default)]
    project: Option<String>,
}

async fn invite(
    State(hub): State<Hub>,
    headers: HeaderMap,
    Json(req): Json<InviteRequest>,
) -> Response {
    json(
        hub.blocking(move |hub| {
            let me = hub.coordinator(&headers, "only a coordinator invites")?;
            if let Some(project) = &req.project {
                // Into a project's team: only a coordinator on that team.
                let role = lock(&hub.shared.core).docs.team_role(&me, project);
                if role != Some(insikt_core::domain::MemberRole::Coordinator) {
                    return Err(HubError::Forbidden(
                        "only a coordinator on the project's team invites to it",
                    ));
                }
            }
            let code = hub.admin(|c| {
                auth::create_invite_into(
                    c,
                    &me.org,
                    req.role,
                    req.participant.as_deref(),
                    req.project.as_deref(),
                    Some(&me.id),
                )
            })?;
            Ok(serde_json::json!({ "code": code }))
        })
        .await,
    )
}

#[derive(Deserialize)]
struct JoinRequest {
    code: String,
}

/// An enrolled device redeems a project invite: it joins the team when it next
/// connects.
async fn join(
    State(hub): State<Hub>,
    headers: HeaderMap,
    Json(req): Json<JoinRequest>,
) -> Response {
    json(
        hub.blocking(move |hub| {
            let me = hub.authenticate(&headers, None)?;
            let project = hub.admin(|c| auth::join(c, &me, &req.code))?;
            Ok(serde_json::json!({ "project": project }))
        })
        .await,
    )
}

/// The projects whose team the device is on: what it may hold material of.
async fn memberships(State(hub): State<Hub>, headers: HeaderMap) -> Response {
    json(
        hub.blocking(move |hub| {
            let me = hub.authenticate(&headers, None)?;
            let projects = lock(&hub.shared.core).docs.memberships(&me)?;
            Ok(serde_json::json!({ "projects": projects }))
        })
        .await,
    )
}

async fn revoke(
    State(hub): State<Hub>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let outcome = hub
        .blocking(move |hub| {
            let me = hub.coordinator(&headers, "only a coordinator revokes")?;
            let target = hub.admin(|c| auth::device(c, &id))?;
            if target.org != me.org {
                return Err(HubError::NotFound("device"));
            }
            hub.revoke(&id, Some(&me.id))
        })
        .await;
    match outcome {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// One row of a device's audit log, as the device recorded it.
#[derive(Debug, Deserialize, Serialize)]
struct AuditRow {
    seq: i64,
    at: i64,
    project: String,
    member: String,
    action: String,
    participant: String,
    detail: String,
    /// Which device sent it (set by the hub; ignored on the way in).
    #[serde(default)]
    device: String,
}

/// How many audit rows one request may bring.
const MAX_AUDIT_ROWS: usize = 1000;
/// How many audit rows the hub keeps from one device.
const MAX_AUDIT_ROWS_PER_DEVICE: i64 = 2_000_000;
/// How far ahead of the hub's clock a row may be dated.
const AUDIT_CLOCK_SKEW_MS: i64 = 24 * 3600 * 1000;
/// How many audit rows one page of the log holds.
const AUDIT_PAGE: i64 = 1000;

/// A device hands over its audit log. Each row is taken on its own: a row of a
/// project not open to the device's organisation, about another participant than a
/// participant's phone's own, under another member than the device enrolled as, or
/// dated far in the future is skipped (and counted), never failing the rest. Rows
/// already received are ignored, so a device may send them again. Coaches record
/// nothing and send nothing.
async fn audit_put(
    State(hub): State<Hub>,
    headers: HeaderMap,
    Json(rows): Json<Vec<AuditRow>>,
) -> Response {
    json(
        hub.blocking(move |hub| {
            let me = hub.authenticate(&headers, None)?;
            if me.role == Role::Coach {
                return Err(HubError::Forbidden("a coach records no audit rows"));
            }
            if rows.len() > MAX_AUDIT_ROWS {
                return Err(HubError::TooLarge("too many audit rows at once"));
            }
            let (accepted, skipped) = hub.admin(|c| {
                let held: i64 = c
                    .prepare_cached("SELECT count(*) FROM participant_audit WHERE device = ?1")?
                    .query_row([&me.id], |r| r.get(0))?;
                if held + rows.len() as i64 > MAX_AUDIT_ROWS_PER_DEVICE {
                    return Err(HubError::TooLarge("this device's audit log is full"));
                }
                let tx = c.transaction()?;
                let latest = crate::db::now() + AUDIT_CLOCK_SKEW_MS;
                let member = me
                    .member
                    .clone()
                    .unwrap_or_else(|| format!("device:{}", me.id));
                let (mut accepted, mut skipped) = (0, 0);
                for r in &rows {
                    let long = [&r.project, &r.member, &r.action, &r.participant]
                        .iter()
                        .any(|f| f.len() > 64)
                        || r.detail.len() > 256;
                    // A device enrolled without a member id writes under its own
                    // identity, never a member's.
                    let other_member = me.member.as_deref().is_some_and(|m| m != r.member);
                    let other_participant = me.role == Role::Participant
                        && !r.participant.is_empty()
                        && me.participant.as_deref() != Some(r.participant.as_str());
                    if long
                        || other_member
                        || other_participant
                        || r.at > latest
                        || !crate::db::project_open(&tx, &r.project, &me.org)?
                    {
                        skipped += 1;
                        continue;
                    }
                    accepted += tx
                        .prepare_cached(
                            "INSERT OR IGNORE INTO participant_audit
                         (device, seq, org, project, at, member, action, participant, detail)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                        )?
                        .execute(rusqlite::params![
                            me.id,
                            r.seq,
                            me.org,
                            r.project,
                            r.at,
                            member,
                            r.action,
                            r.participant,
                            r.detail
                        ])?;
                }
                tx.commit()?;
                Ok((accepted, skipped))
            })?;
            Ok(serde_json::json!({ "accepted": accepted, "skipped": skipped }))
        })
        .await,
    )
}

#[derive(Deserialize)]
struct AuditPage {
    /// How many rows of the newest to skip.
    #[serde(default)]
    offset: i64,
}

/// A page of a project's audit log from every device, newest first: coordinators
/// only. `?offset=N` skips the N newest rows; a page shorter than 1,000 rows is the
/// last.
async fn audit_get(
    State(hub): State<Hub>,
    headers: HeaderMap,
    UrlPath(project): UrlPath<String>,
    Query(page): Query<AuditPage>,
) -> Response {
    json(
        hub.blocking(move |hub| {
            let me = hub.coordinator(&headers, "only a coordinator reads the audit log")?;
            let rows = hub.admin(|c| {
                if !crate::db::project_open(c, &project, &me.org)? {
                    return Err(HubError::NotFound("project"));
                }
                let mut stmt = c.prepare_cached(
                    "SELECT seq, at, project, member, action, participant, detail, device
                 FROM participant_audit WHERE project = ?1
                 ORDER BY at DESC, device, seq DESC LIMIT ?2 OFFSET ?3",
                )?;
                let rows = stmt.query_map(
                    rusqlite::params![&project, AUDIT_PAGE, page.offset.max(0)],
                    |r| {
                        Ok(AuditRow {
                            seq: r.get(0)?,
                            at: r.get(1)?,
                            project: r.get(2)?,
                            member: r.get(3)?,
                            action: r.get(4)?,
                            participant: r.get(5)?,
                            detail: r.get(6)?,
                            device: r.get(7)?,
                        })
                    },
                )?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })?;
            serde_json::to_value(rows)
                .map_err(|_| HubError::Invalid("the audit log could not be written"))
        })
        .await,
    )
}

fn parse_hash(hash: &str) -> Result<BlobHash> {
    hash.parse::<BlobHash>()
        .map_err(|_| HubError::Invalid("not a blob hash"))
}

fn may_upload(device: &Device) -> bool {
    matches!(
        device.role,
        Role::Coordinator | Role::Researcher | Role::Participant
    )
}

impl Hub {
    /// The project an upload is for: the one it names, which the device must be able
    /// to write to (as if it did not exist otherwise), or — from a device of an
    /// earlier version that names none — the only one it can write to, or the only
    /// one of those whose documents refer to the blob.
    fn upload_project(&self, me: &Device, named: Option<&str>, hash: &BlobHash) -> Result<String> {
        let mut core = lock(&self.shared.core);
        match named {
            Some(p) if core.docs.may_upload_to(me, p) => Ok(p.to_string()),
            Some(_) => Err(HubError::NotFound("project")),
            None => {
                let mut projects = core.docs.upload_projects(me)?;
                if projects.len() > 1 {
                    let hex = hash.to_hex();
                    let mut referring = Vec::new();
                    for p in projects {
                        if core.docs.blob_referenced_in(&p, &hex)? {
                            referring.push(p);
                        }
                    }
                    projects = referring;
                }
                match projects.len() {
                    1 => Ok(projects.remove(0)),
                    _ => Err(HubError::Invalid("an upload names its project")),
                }
            }
        }
    }

    /// Whether the device may learn that `project` holds the blob: it uploaded it
    /// there, or it may read the blob anyway. Anyone else uploads the bytes again,
    /// as if the hub had never seen them. A record whose file is gone (an erasure
    /// elsewhere deleted it while this upload completed) asks for the bytes again.
    fn holds_for(&self, me: &Device, project: &str, hash: &BlobHash) -> Result<bool> {
        let known = {
            let mut core = lock(&self.shared.core);
            let hex = hash.to_hex();
            match core.docs.blob_record(project, &hex)? {
                None => false,
                Some(by) => {
                    by.as_deref() == Some(me.id.as_str()) || core.docs.may_read_blob(me, &hex)?
                }
            }
        };
        Ok(known && self.shared.blobs.contains(hash)?)
    }
}

/// Waits for one of `permits`, up to [`QUEUE_WAIT`].
async fn turn(permits: &Arc<Semaphore>) -> Result<tokio::sync::OwnedSemaphorePermit> {
    match tokio::time::timeout(QUEUE_WAIT, permits.clone().acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(HubError::Busy("the hub is busy; try again")),
    }
}

/// A blob, streamed a chunk at a time from the encrypted store, to a device that may
/// read it; four at once per device, a few over the hub.
async fn blob_get(
    State(hub): State<Hub>,
    headers: HeaderMap,
    UrlPath(hash): UrlPath<String>,
) -> Response {
    let outcome = async {
        let (me, h) = hub
            .blocking(move |hub| {
                let me = hub.authenticate(&headers, None)?;
                let h = parse_hash(&hash)?;
                // Not held for anything the device may read: as if it did not exist.
                if !lock(&hub.shared.core)
                    .docs
                    .may_read_blob(&me, &h.to_hex())?
                {
                    return Err(HubError::NotFound("blob"));
                }
                Ok((me, h))
            })
            .await?;
        let slot = hub
            .shared
            .download_slots
            .take(&me.id)
            .ok_or(HubError::TooMany(
                "too many downloads from this device at once",
            ))?;
        let permit = turn(&hub.shared.downloads).await?;
        let mut reader = hub
            .blocking(move |hub| {
                hub.shared.blobs.reader(&h).map_err(|e| match e {
                    insikt_media::MediaError::NotFound => HubError::NotFound("blob"),
                    other => other.into(),
                })
            })
            .await?;
        let len = reader.len();
        let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(4);
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let _held = (slot, permit);
            loop {
                let item = match reader.next_chunk() {
                    Ok(Some(chunk)) => Ok(Bytes::from(chunk)),
                    Ok(None) => break,
                    Err(_) => Err(std::io::Error::other("the blob could not be read")),
                };
                let last = item.is_err();
                // A client that stops reading ends its download.
                let sent = runtime.block_on(tokio::time::timeout(DOWNLOAD_STALL, tx.send(item)));
                if last || !matches!(sent, Ok(Ok(()))) {
                    break;
                }
            }
        });
        let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }));
        Response::builder()
            .header(axum::http::header::CONTENT_TYPE, "application/octet-stream")
            .header(axum::http::header::CONTENT_LENGTH, len)
            .body(body)
            .map_err(|_| HubError::Invalid("response"))
    }
    .await;
    match outcome {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct StatusQuery {
    project: Option<String>,
}

async fn blob_status(
    State(hub): State<Hub>,
    headers: HeaderMap,
    UrlPath(hash): UrlPath<String>,
    Query(q): Query<StatusQuery>,
) -> Response {
    json(
        hub.blocking(move |hub| {
            let me = hub.uploader(&headers)?;
            let h = parse_hash(&hash)?;
            let project = hub.upload_project(&me, q.project.as_deref(), &h)?;
            if hub.holds_for(&me, &project, &h)? {
                return Ok(serde_json::json!({ "complete": true, "received": null }));
            }
            let received = blobs::received(&lock(&hub.shared.uploads), &me, &project, &h)?;
            Ok(serde_json::json!({ "complete": false, "received": received }))
        })
        .await,
    )
}

#[derive(Deserialize)]
struct PieceQuery {
    project: Option<String>,
    offset: u64,
    total: u64,
}

/// One piece of the device's own upload. The body is read only once it is this
/// request's turn (one piece per device, a few over the hub), and stored off the
/// async threads; the last piece completes the upload there.
async fn blob_put(
    State(hub): State<Hub>,
    headers: HeaderMap,
    UrlPath(hash): UrlPath<String>,
    Query(q): Query<PieceQuery>,
    body: Body,
) -> Response {
    let outcome = async {
        let max_blob = hub.shared.config.max_blob_bytes;
        let total = q.total;
        let named = q.project.clone();
        let (me, h, project, done) = hub
            .blocking(move |hub| {
                let me = hub.uploader(&headers)?;
                let h = parse_hash(&hash)?;
                if total > max_blob {
                    return Err(HubError::TooLarge("blob"));
                }
                let project = hub.upload_project(&me, named.as_deref(), &h)?;
                let done = hub.holds_for(&me, &project, &h)?;
                Ok((me, h, project, done))
            })
            .await?;
        if done {
            return Ok(serde_json::json!({ "complete": true, "received": total }));
        }
        let _slot = hub
            .shared
            .upload_slots
            .take(&me.id)
            .ok_or(HubError::TooMany("this device is uploading already"))?;
        let _permit = turn(&hub.shared.upload_pieces).await?;
        let bytes = axum::body::to_bytes(body, hub.shared.config.max_upload_piece)
            .await
            .map_err(|_| HubError::TooLarge("upload piece"))?;
        hub.blocking(move |hub| {
            let piece = blobs::receive_piece(
                &mut lock(&hub.shared.uploads),
                &me,
                &project,
                &h,
                q.offset,
                total,
                &bytes,
            )?;
            drop(bytes);
            match piece {
                Piece::Received(n) => Ok(serde_json::json!({ "complete": false, "received": n })),
                Piece::Complete(upload) => {
                    let mut c = crate::db::open_worker(&hub.shared.dir, &hub.shared.key)?;
                    blobs::complete(&mut c, &hub.shared.blobs, &me, &project, &h, upload)?;
                    Ok(serde_json::json!({ "complete": true, "received": total }))
                }
            }
        })
        .await
    }
    .await;
    json(outcome)
}
