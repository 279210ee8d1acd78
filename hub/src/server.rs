//! The hub's endpoints.
//!
//! - `GET  /v1/sync` — WebSocket, automerge-repo protocol, binary frames. The device
//!   token goes in `Authorization: Bearer` or, for clients that cannot set headers,
//!   the `token` query parameter.
//! - `POST /v1/enroll` — `{code, label}` → the device's id and token (shown once).
//! - `POST /v1/invites` — a coordinator's device invites a role: `{role, participant?,
//!   project?}`; with a project, the device that enrolls joins its team.
//! - `GET  /v1/memberships` — the projects whose team the device is on.
//! - `POST /v1/join` — an enrolled device redeems a project invite `{code}`.
//! - `POST /v1/devices/{id}/revoke` — a coordinator revokes a device of their
//!   organisation; its open connections close at once.
//! - `GET  /v1/blobs/{hash}` — a blob, when a document the device may read references it.
//! - `GET  /v1/blobs/{hash}/status` — how much of an upload arrived.
//! - `PUT  /v1/blobs/{hash}?offset=N&total=T` — one piece of an upload; the last piece
//!   completes it, verified against the hash.

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use insikt_core::sync::{ConnId, Effect, Engine, Event, Limits};
use insikt_media::{BlobHash, BlobStore};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;

use crate::auth::{self, Device, Role};
use crate::docs::HubDocuments;
use crate::error::{HubError, Result};

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
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            max_message_bytes: 16 << 20,
            max_blob_bytes: 512 << 20,
            max_upload_piece: 8 << 20,
            revocation_sweep: Duration::from_millis(500),
            retention_sweep: Duration::from_secs(600),
        }
    }
}

/// Unfinished uploads are dropped after this long.
const UPLOAD_EXPIRES_MS: i64 = 7 * 24 * 3600 * 1000;
/// How many bytes of unfinished uploads one device may have at once.
const MAX_PENDING_UPLOADS: u64 = 2 << 30;

/// How often the retention sweep also looks for blob files no document references.
const BLOB_GC_EVERY: Duration = Duration::from_secs(24 * 3600);
/// How old an unreferenced blob file must be before it is removed.
const BLOB_GC_MIN_AGE: Duration = Duration::from_secs(3600);

/// How many frames may wait for a slow peer before it is disconnected.
const OUTBOUND_FRAMES: usize = 4096;

enum Outbound {
    Frame(Vec<u8>),
    Close(Option<String>),
}

struct Core {
    engine: Engine,
    docs: HubDocuments,
}

struct Shared {
    core: Mutex<Core>,
    admin: Mutex<Connection>,
    blobs: BlobStore,
    senders: Mutex<HashMap<ConnId, (String, mpsc::Sender<Outbound>)>>,
    next_conn: AtomicU64,
    config: HubConfig,
    /// When the sweep last looked for unreferenced blob files.
    last_blob_gc: Mutex<Option<std::time::Instant>>,
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
                blobs: BlobStore::open(&blob_dir, &key)?,
                senders: Mutex::new(HashMap::new()),
                next_conn: AtomicU64::new(1),
                config,
                last_blob_gc: Mutex::new(None),
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

    /// The HTTP and WebSocket routes.
    pub fn router(&self) -> Router {
        let piece = self.shared.config.max_upload_piece;
        Router::new()
            .route("/v1/health", get(|| async { "ok" }))
            .route("/v1/sync", get(sync_socket))
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
                sweeper.sweep_revoked();
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
    /// Removes blob files no document references, once older than `min_age` (a blob
    /// is uploaded after the document naming it, so a young one may be on its way;
    /// the retention sweep does this once a day with an hour's grace). The directory
    /// is read without the hub's lock; references are checked a few hundred at a
    /// time under it. Returns how many were removed.
    pub fn collect_blob_garbage(&self, min_age: Duration) -> Result<usize> {
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
                    if !core.docs.blob_referenced(&hash.to_hex())? {
                        out.push(hash);
                    }
                }
                out
            };
            for hash in unreferenced {
                // Checked again at deletion: a document may have arrived meanwhile.
                let core = lock(&self.shared.core);
                if !core.docs.blob_referenced(&hash.to_hex())? && self.shared.blobs.delete(hash)? {
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
            .map(|(d, _)| d.clone())
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

    /// Carries out the engine's effects.
    fn dispatch(&self, effects: Vec<Effect>) {
        if effects.is_empty() {
            return;
        }
        let mut senders = lock(&self.shared.senders);
        for effect in effects {
            match effect {
                Effect::Send { conn, frame } => {
                    let full = match senders.get(&conn) {
                        Some((_, tx)) => tx.try_send(Outbound::Frame(frame)).is_err(),
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
                    if let Some((_, tx)) = senders.remove(&conn) {
                        let _ = tx.try_send(Outbound::Close(error));
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

    async fn run_socket(self, device: Device, socket: WebSocket) {
        let conn = self.shared.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = mpsc::channel(OUTBOUND_FRAMES);
        lock(&self.shared.senders).insert(conn, (device.id.clone(), tx));
        lock(&self.shared.core).docs.attach(conn, device.clone());
        self.feed(Event::Connected {
            conn,
            dialer: false,
            expected_peer: None,
        });
        let (mut sink, mut stream) = socket.split();
        let writer = tokio::spawn(async move {
            while let Some(out) = rx.recv().await {
                match out {
                    Outbound::Frame(f) => {
                        if sink.send(WsMessage::Binary(f.into())).await.is_err() {
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
        while let Some(msg) = stream.next().await {
            let frame = match msg {
                Ok(WsMessage::Binary(b)) => b.to_vec(),
                Ok(WsMessage::Close(_)) => break,
                Ok(WsMessage::Ping(_) | WsMessage::Pong(_)) => continue,
                Ok(WsMessage::Text(_)) => {
                    self.feed(Event::Close {
                        conn,
                        reason: "text frames are not part of the protocol".into(),
                    });
                    break;
                }
                Err(_) => {
                    // Oversized or broken frames end the connection with an error.
                    self.feed(Event::Close {
                        conn,
                        reason: "malformed or oversized frame".into(),
                    });
                    break;
                }
            };
            self.feed(Event::Received { conn, frame });
            if !lock(&self.shared.senders).contains_key(&conn) {
                break;
            }
        }
        // Give the writer a moment to flush a closing error, then end.
        lock(&self.shared.senders).remove(&conn);
        let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
        {
            let mut core = lock(&self.shared.core);
            let Core { engine, docs } = &mut *core;
            engine.handle(docs, Event::Disconnected { conn });
            docs.detach(conn);
        }
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
struct TokenQuery {
    token: Option<String>,
}

async fn sync_socket(
    State(hub): State<Hub>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let device = match hub.authenticate(&headers, q.token.as_deref()) {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let max = hub.shared.config.max_message_bytes;
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| hub.run_socket(device, socket))
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
    let me = auth::Joining {
        label: &req.label,
        member: req.member.as_deref(),
        actor: req.actor.as_deref(),
    };
    match hub.admin(|c| auth::enroll_as(c, &req.code, &me)) {
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
    json((|| {
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
    })())
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
    json((|| {
        let me = hub.authenticate(&headers, None)?;
        let project = hub.admin(|c| auth::join(c, &me, &req.code))?;
        Ok(serde_json::json!({ "project": project }))
    })())
}

/// The projects whose team the device is on: what it may hold material of.
async fn memberships(State(hub): State<Hub>, headers: HeaderMap) -> Response {
    json((|| {
        let me = hub.authenticate(&headers, None)?;
        let projects = lock(&hub.shared.core).docs.memberships(&me)?;
        Ok(serde_json::json!({ "projects": projects }))
    })())
}

async fn revoke(
    State(hub): State<Hub>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let outcome = (|| {
        let me = hub.coordinator(&headers, "only a coordinator revokes")?;
        let target = hub.admin(|c| auth::device(c, &id))?;
        if target.org != me.org {
            return Err(HubError::NotFound("device"));
        }
        hub.revoke(&id, Some(&me.id))
    })();
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
    json((|| {
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
            let (mut accepted, mut skipped) = (0, 0);
            for r in &rows {
                let long = [&r.project, &r.member, &r.action, &r.participant]
                    .iter()
                    .any(|f| f.len() > 64)
                    || r.detail.len() > 256;
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
                        r.member,
                        r.action,
                        r.participant,
                        r.detail
                    ])?;
            }
            tx.commit()?;
            Ok((accepted, skipped))
        })?;
        Ok(serde_json::json!({ "accepted": accepted, "skipped": skipped }))
    })())
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
    json((|| {
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
    })())
}

fn parse_hash(hash: &str) -> Result<BlobHash> {
    hash.parse::<BlobHash>()
        .map_err(|_| HubError::Invalid("not a blob hash"))
}

async fn blob_get(
    State(hub): State<Hub>,
    headers: HeaderMap,
    UrlPath(hash): UrlPath<String>,
) -> Response {
    let outcome = (|| {
        let me = hub.authenticate(&headers, None)?;
        let h = parse_hash(&hash)?;
        let allowed = lock(&hub.shared.core)
            .docs
            .may_read_blob(&me, &h.to_hex())?;
        // Not referenced by anything the device may read: as if it did not exist.
        if !allowed || !hub.shared.blobs.contains(&h)? {
            return Err(HubError::NotFound("blob"));
        }
        Ok(hub.shared.blobs.get(&h)?)
    })();
    match outcome {
        Ok(bytes) => (
            [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
            bytes,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

fn may_upload(device: &Device) -> bool {
    matches!(
        device.role,
        Role::Coordinator | Role::Researcher | Role::Participant
    )
}

async fn blob_status(
    State(hub): State<Hub>,
    headers: HeaderMap,
    UrlPath(hash): UrlPath<String>,
) -> Response {
    json((|| {
        hub.uploader(&headers)?;
        let h = parse_hash(&hash)?;
        if hub.shared.blobs.contains(&h)? {
            return Ok(serde_json::json!({ "complete": true, "received": null }));
        }
        let received: Option<i64> = hub.admin(|c| {
            Ok(c.query_row(
                "SELECT received FROM uploads WHERE hash = ?1",
                [h.to_hex()],
                |r| r.get(0),
            )
            .optional()?)
        })?;
        Ok(serde_json::json!({ "complete": false, "received": received.unwrap_or(0) }))
    })())
}

#[derive(Deserialize)]
struct PieceQuery {
    offset: u64,
    total: u64,
}

async fn blob_put(
    State(hub): State<Hub>,
    headers: HeaderMap,
    UrlPath(hash): UrlPath<String>,
    Query(q): Query<PieceQuery>,
    body: Bytes,
) -> Response {
    json((|| {
        let me = hub.uploader(&headers)?;
        let h = parse_hash(&hash)?;
        if q.total > hub.shared.config.max_blob_bytes {
            return Err(HubError::TooLarge("blob"));
        }
        if hub.shared.blobs.contains(&h)? {
            return Ok(serde_json::json!({ "complete": true, "received": q.total }));
        }
        hub.admin(|c| receive_piece(c, &hub.shared.blobs, &me, &h, q.offset, q.total, &body))
    })())
}

/// Stores one piece of an upload inside the encrypted database; the piece that
/// completes it is checked against the hash and moves the whole into the blob store.
fn receive_piece(
    c: &mut Connection,
    blobs: &BlobStore,
    me: &Device,
    h: &BlobHash,
    offset: u64,
    total: u64,
    body: &[u8],
) -> Result<serde_json::Value> {
    let hex = h.to_hex();
    let tx = c.transaction()?;
    // Unfinished uploads expire after a week.
    let expired = crate::db::now() - UPLOAD_EXPIRES_MS;
    tx.execute(
        "DELETE FROM upload_chunks WHERE hash IN (SELECT hash FROM uploads WHERE started_at < ?1)",
        [expired],
    )?;
    tx.execute("DELETE FROM uploads WHERE started_at < ?1", [expired])?;
    let current: Option<(i64, i64)> = tx
        .query_row(
            "SELECT total, received FROM uploads WHERE hash = ?1",
            [&hex],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let received = match current {
        Some((t, r)) if t as u64 == total => r as u64,
        Some(_) => {
            // A different total restarts the upload.
            tx.execute("DELETE FROM upload_chunks WHERE hash = ?1", [&hex])?;
            tx.execute("DELETE FROM uploads WHERE hash = ?1", [&hex])?;
            0
        }
        None => 0,
    };
    if offset != received {
        return Err(HubError::Invalid("the piece does not continue the upload"));
    }
    if offset == 0 {
        // A device may have only so much unfinished at once.
        let pending: i64 = tx.query_row(
            "SELECT coalesce(sum(total), 0) FROM uploads WHERE device = ?1 AND hash != ?2",
            params![me.id, hex],
            |r| r.get(0),
        )?;
        if pending as u64 + total > MAX_PENDING_UPLOADS {
            return Err(HubError::TooLarge(
                "too much unfinished upload for one device",
            ));
        }
    }
    if offset + body.len() as u64 > total {
        return Err(HubError::Invalid("the piece runs past the declared size"));
    }
    let now_received = received + body.len() as u64;
    tx.execute(
        "INSERT INTO uploads (hash, total, received, device, started_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (hash) DO UPDATE SET received = excluded.received",
        params![hex, total as i64, now_received as i64, me.id, crate::db::now()],
    )?;
    if !body.is_empty() {
        tx.execute(
            "INSERT INTO upload_chunks (hash, offset, data) VALUES (?1, ?2, ?3)",
            params![hex, offset as i64, body],
        )?;
    }
    tx.commit()?;
    if now_received < total {
        return Ok(serde_json::json!({ "complete": false, "received": now_received }));
    }
    let mut whole = Vec::with_capacity(total as usize);
    {
        let mut stmt =
            c.prepare("SELECT data FROM upload_chunks WHERE hash = ?1 ORDER BY offset")?;
        let mut rows = stmt.query([&hex])?;
        while let Some(row) = rows.next()? {
            whole.extend_from_slice(row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?);
        }
    }
    let clear = |c: &Connection| -> Result<()> {
        c.execute("DELETE FROM upload_chunks WHERE hash = ?1", [&hex])?;
        c.execute("DELETE FROM uploads WHERE hash = ?1", [&hex])?;
        Ok(())
    };
    if BlobHash::of(&whole) != *h {
        clear(c)?;
        return Err(HubError::Invalid("the upload does not match its hash"));
    }
    blobs.put(&whole)?;
    clear(c)?;
    Ok(serde_json::json!({ "complete": true, "received": total }))
}
