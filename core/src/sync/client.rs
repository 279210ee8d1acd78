//! A device talking to its hub: enrollment, document sync over WebSocket, and the
//! photos and recordings its documents reference.

use std::net::TcpStream;
use std::time::Duration;

use serde::Deserialize;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{client::IntoClientRequest, Message as WsMessage, WebSocket};

use super::device::{PeerScope, StoreDocuments};
use super::engine::Limits;
use super::stream::{run, Session, SyncReport, Transport};
use crate::error::{Error, Result};
use crate::store::{AuditEntry, BlobReference, DocKey, HubEnrollment, Store};

/// The largest piece of an upload in one request.
const UPLOAD_PIECE: usize = 4 << 20;
/// The largest blob a device downloads.
const MAX_DOWNLOAD: u64 = 512 << 20;

/// When to fetch what.
#[derive(Clone, Debug)]
pub struct HubSyncOptions {
    /// Fetch previews and originals too (on Wi-Fi, say); thumbnails always come.
    pub fetch_originals: bool,
    /// Give up when the hub has not finished by then.
    pub deadline: Duration,
    /// Consider the session done after this long without frames, once in sync.
    pub settle: Duration,
}

impl Default for HubSyncOptions {
    fn default() -> Self {
        Self {
            fetch_originals: false,
            deadline: Duration::from_secs(120),
            settle: Duration::from_millis(300),
        }
    }
}

/// What a sync with the hub did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HubSyncReport {
    pub documents: SyncReport,
    pub blobs_uploaded: usize,
    pub blobs_downloaded: usize,
    /// Rows of this device's audit log handed to the hub.
    pub audit_rows_sent: usize,
    /// The hub could not take the audit rows this time (they go with the next sync).
    pub audit_upload_failed: bool,
    /// Documents of projects whose team this device left, purged here.
    pub purged: usize,
    /// Every document set aside here because it does not read as its type.
    pub set_aside: Vec<crate::store::SetAside>,
}

#[derive(Deserialize)]
struct EnrollReply {
    device_id: String,
    token: String,
    role: String,
    participant: Option<String>,
    project: Option<String>,
}

/// How many rows the hub sends per page of an audit log.
const AUDIT_PAGE: usize = 1000;

/// Whether an answer from `url` can only have come from the hub: over TLS (its
/// certificate checked), or from this machine.
fn authenticated_hub(url: &str) -> bool {
    url.starts_with("https://")
        || ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|local| {
                url.strip_prefix(local)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
            })
}

fn http_error(e: ureq::Error) -> Error {
    match e {
        ureq::Error::StatusCode(401) => {
            Error::Unauthorized("the hub did not accept the credentials".into())
        }
        ureq::Error::StatusCode(403) => {
            Error::NotAllowed("the hub refused this for the device's role")
        }
        ureq::Error::StatusCode(404) => Error::NotFound {
            what: "hub resource",
            id: String::new(),
        },
        ureq::Error::StatusCode(413) => Error::InvalidInput("too large for the hub"),
        ureq::Error::StatusCode(429 | 503) => Error::Sync(HUB_BUSY.into()),
        ureq::Error::StatusCode(410) => Error::Erased {
            what: "participant",
        },
        ureq::Error::StatusCode(code) => Error::Sync(format!("the hub answered {code}")),
        ureq::Error::Io(io) => Error::Io(format!("{:?}", io.kind())),
        other => Error::Sync(format!("cannot reach the hub ({})", short(&other))),
    }
}

fn short(e: &ureq::Error) -> &'static str {
    match e {
        ureq::Error::HostNotFound => "host not found",
        ureq::Error::ConnectionFailed => "connection failed",
        ureq::Error::Timeout(_) => "timeout",
        ureq::Error::BadUri(_) => "bad address",
        _ => "transport",
    }
}

fn base(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Error::InvalidInput(
            "a hub address starts with http:// or https://",
        ));
    }
    Ok(url.to_string())
}

/// An HTTP agent that trusts the public roots, or only `ca_pem` when the hub uses
/// its own certificate authority (a municipality's internal one, say).
fn agent(ca_pem: Option<&str>) -> Result<ureq::Agent> {
    let mut config = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(60)));
    if let Some(pem) = ca_pem {
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(pem.as_bytes()) {
            if let Ok(ureq::tls::PemItem::Certificate(c)) = item {
                certs.push(c);
            }
        }
        if certs.is_empty() {
            return Err(Error::InvalidInput(
                "the hub's CA file holds no certificate",
            ));
        }
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                .build(),
        );
    }
    Ok(config.build().into())
}

/// The TLS settings for the WebSocket: the same roots as [`agent`].
fn tls_config(ca_pem: Option<&str>) -> Result<std::sync::Arc<rustls::ClientConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    match ca_pem {
        Some(pem) => {
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|_| Error::InvalidInput("the hub's CA file is not PEM"))?;
                roots
                    .add(cert)
                    .map_err(|_| Error::InvalidInput("the hub's CA certificate is not usable"))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| Error::Sync("TLS is not available".into()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(std::sync::Arc::new(config))
}

impl Store {
    /// Enrolls this device with the hub at `url` using a one-time invite code, and
    /// keeps the device's token in the store.
    pub fn enroll(&self, url: &str, code: &str, label: &str) -> Result<HubEnrollment> {
        self.enroll_with_ca(url, code, label, None)
    }

    /// Enrolls with a hub whose certificate is signed by `ca_pem` (PEM) rather than a
    /// public authority; the CA is kept with the enrollment.
    pub fn enroll_with_ca(
        &self,
        url: &str,
        code: &str,
        label: &str,
        ca_pem: Option<&str>,
    ) -> Result<HubEnrollment> {
        let url = base(url)?;
        let reply: EnrollReply = agent(ca_pem)?
            .post(&format!("{url}/v1/enroll"))
            .send_json(serde_json::json!({
                "code": code,
                "label": label,
                "member": self.me().as_str(),
                // The hub registers it in the project the invite is for, so every
                // replica can tell this device's changes (see `policy::team`).
                "actor": self.actor_hex(),
            }))
            .map_err(http_error)?
            .body_mut()
            .read_json()
            .map_err(|_| Error::Sync("the hub's enrollment answer is malformed".into()))?;
        let e = HubEnrollment {
            url,
            device_id: reply.device_id,
            token: reply.token,
            role: reply.role,
            participant: reply.participant,
            project: reply.project,
            ca_pem: ca_pem.map(str::to_string),
        };
        self.set_enrollment(&e)?;
        Ok(e)
    }

    /// A one-time code that enrolls another device into `project` with `role`
    /// (coordinators only): the device that enrolls with it is on the project's team
    /// after its first sync, with nothing else to type.
    pub fn invite_to_project(
        &self,
        project: &crate::ids::ProjectId,
        role: crate::domain::MemberRole,
    ) -> Result<String> {
        use crate::domain::MemberRole;
        self.require_role(
            project,
            &[MemberRole::Coordinator],
            "inviting to the project",
        )?;
        if role == MemberRole::Participant {
            return Err(Error::InvalidInput(
                "a participant's phone is invited for that participant",
            ));
        }
        self.hub_invite(serde_json::json!({
            "role": role.as_key(),
            "project": project.as_str(),
        }))
    }

    /// A one-time code for a young person's own phone: it enrolls into the
    /// participant's inbox (coordinators only).
    pub fn invite_participant_phone(
        &self,
        participant: &crate::ids::ParticipantId,
    ) -> Result<String> {
        let project = self.participant(participant)?.project_id;
        self.require_role(
            &project,
            &[crate::domain::MemberRole::Coordinator],
            "inviting a participant's phone",
        )?;
        self.hub_invite(serde_json::json!({
            "role": "participant",
            "participant": participant.as_str(),
        }))
    }

    /// Redeems a project invite on a device that is already enrolled with the hub: it
    /// is on the project's team after its next sync. Returns the project.
    pub fn join_project(&self, code: &str) -> Result<crate::ids::ProjectId> {
        #[derive(Deserialize)]
        struct Joined {
            project: String,
        }
        let http = HubHttp::of(&self.hub_enrollment()?)?;
        let reply: Joined = http
            .agent
            .post(&format!("{}/v1/join", http.url))
            .header("Authorization", &http.auth())
            .send_json(serde_json::json!({ "code": code }))
            .map_err(http_error)?
            .body_mut()
            .read_json()
            .map_err(|_| Error::Sync("the hub's join answer is malformed".into()))?;
        reply.project.parse()
    }

    fn hub_invite(&self, body: serde_json::Value) -> Result<String> {
        #[derive(Deserialize)]
        struct Invite {
            code: String,
        }
        let http = HubHttp::of(&self.hub_enrollment()?)?;
        let reply: Invite = http
            .agent
            .post(&format!("{}/v1/invites", http.url))
            .header("Authorization", &http.auth())
            .send_json(body)
            .map_err(http_error)?
            .body_mut()
            .read_json()
            .map_err(|_| Error::Sync("the hub's invite answer is malformed".into()))?;
        Ok(reply.code)
    }

    /// Fetches one photo rendition or recording from the hub now (an original the
    /// person asked to see), unless it is here already.
    pub fn fetch_blob_from_hub(&self, hash: &str) -> Result<()> {
        if self.has_blob(hash)? {
            return Ok(());
        }
        let http = HubHttp::of(&self.hub_enrollment()?)?;
        let bytes = http.download(hash)?;
        self.import_blob(hash, &bytes)
    }

    /// The audit log of a project as the hub gathered it from every device, newest
    /// first (coordinators only): who did what to which participant's data, with the
    /// device that recorded it. Rows this device has not handed over yet are sent
    /// first.
    pub fn hub_audit_log(&self, project: &crate::ids::ProjectId) -> Result<Vec<AuditEntry>> {
        self.require_role(
            project,
            &[crate::domain::MemberRole::Coordinator],
            "reading the audit log",
        )?;
        let http = HubHttp::of(&self.hub_enrollment()?)?;
        // What this device has not handed over yet goes first; the log is read even
        // when that fails.
        let _ = http.upload_audit(self);
        #[derive(Deserialize)]
        struct Row {
            at: i64,
            member: String,
            action: String,
            participant: String,
            detail: String,
            device: String,
        }
        let mut rows: Vec<Row> = Vec::new();
        loop {
            let page: Vec<Row> = http
                .agent
                .get(&format!(
                    "{}/v1/projects/{}/audit?offset={}",
                    http.url,
                    project.as_str(),
                    rows.len()
                ))
                .header("Authorization", &http.auth())
                .call()
                .map_err(http_error)?
                .body_mut()
                .read_json()
                .map_err(|_| Error::Sync("the hub's audit log is malformed".into()))?;
            let last = page.len() < AUDIT_PAGE;
            rows.extend(page);
            if last {
                break;
            }
        }
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                at: crate::time::Timestamp(r.at),
                member: r.member.into(),
                action: r.action,
                participant: r.participant.into(),
                detail: r.detail,
                device: Some(r.device),
            })
            .collect())
    }

    /// Syncs with the hub this device enrolled with: documents both ways, then
    /// photos and recordings (uploads of what the hub lacks, thumbnails down, and
    /// previews and originals when `options` allow).
    pub fn sync_with_hub(&self, options: &HubSyncOptions) -> Result<HubSyncReport> {
        let e = self.hub_enrollment()?;
        let mut docs = StoreDocuments::new(self.clone())?;
        docs.set_hub(super::stream::CONN);
        if let Some((participant, _)) = self.participant_mode()? {
            let inbox = DocKey::Inbox(participant);
            docs.want(inbox.clone());
            docs.set_scope(super::stream::CONN, PeerScope::Only(vec![inbox]));
        }
        // The hub the device enrolled with says at most what its projects' documents
        // call for (a bloom filter per document on the first sync): a budget that
        // fits a large organisation, where a paired device gets the default.
        let limits = Limits {
            max_peer_state_per_connection: 256 << 20,
            max_peer_state_total: 256 << 20,
            ..Limits::default()
        };
        let mut session = Session::new(docs, &e.device_id, limits);
        let mut transport =
            match WsTransport::connect_with_ca(&e.url, &e.token, e.ca_pem.as_deref()) {
                Err(Error::Erased { what }) => {
                    // The participant was erased: their own phone destroys what it
                    // holds of them too, and says so.
                    // Only when the answer can have come from the hub itself (over
                    // TLS, or on this machine), not from anything on the way.
                    if let (Some((participant, _)), true) =
                        (self.participant_mode()?, authenticated_hub(&e.url))
                    {
                        self.honour_tombstones(&[DocKey::Inbox(participant)])?;
                        self.collect_blob_garbage()?;
                        self.forget_audit()?;
                    }
                    return Err(Error::Erased { what });
                }
                other => other?,
            };
        let documents = run(
            &mut session,
            &mut transport,
            true,
            options.settle,
            options.deadline,
        )?;
        transport.close();
        let mut report = HubSyncReport {
            documents,
            ..Default::default()
        };
        let http = HubHttp::of(&e)?;
        // Projects whose team this device left: their material goes (see
        // `Store::purge_project_material`).
        if self.participant_mode()?.is_none() && authenticated_hub(&e.url) {
            if let Ok(mine) = http.memberships() {
                for project in self.projects_held()? {
                    if !mine.contains(project.as_str()) && !self.is_member(&project)? {
                        report.purged += self.purge_project_material(&project)?;
                    }
                }
            }
        }
        let references = self.blob_references()?;
        if matches!(
            e.role.as_str(),
            "coordinator" | "researcher" | "participant"
        ) {
            report.blobs_uploaded = http.upload_missing(self, &references)?;
        }
        report.blobs_downloaded =
            http.download_missing(self, &references, options.fetch_originals)?;
        // Photos a purge or a new generation left behind (an interrupted clean-up).
        self.collect_blob_garbage()?;
        // The projects' retention periods may have passed, or arrived with this sync.
        if self.participant_mode()?.is_none() {
            for project in self.projects()? {
                // Erasures are honoured as they arrive; this catches one whose purge
                // was interrupted (a crash, a full disk) before it finished.
                self.honour_recorded_erasures(&project.id)?;
                match self.apply_retention(&project.id, crate::time::Timestamp::now()) {
                    // A project this device holds without being on its team, or
                    // whose period does not read as one: nothing is purged for it.
                    Ok(_) | Err(Error::NotAllowed(_) | Error::Document(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        // Last, and never failing the sync: the audit rows go again next time.
        match http.upload_audit(self) {
            Ok(n) => report.audit_rows_sent = n,
            Err(_) => report.audit_upload_failed = true,
        }
        report.set_aside = self.set_aside_documents()?;
        // Changes made here that the hub refused stay here; the person must hear of
        // it (everything else was synced).
        let mut refused = Vec::new();
        for key in &report.documents.refused {
            if self.has_document(key)? {
                refused.push(key.clone());
            }
        }
        if !refused.is_empty() {
            return Err(Error::NotAllowed(
                "the hub refused changes made on this device to a document (the rest was synced)",
            ));
        }
        Ok(report)
    }
}

impl Store {
    /// This device's enrollment, or why it cannot talk to a hub.
    fn hub_enrollment(&self) -> Result<HubEnrollment> {
        self.enrollment()?
            .ok_or(Error::NotAllowed("this device is not enrolled with a hub"))
    }
}

struct HubHttp {
    agent: ureq::Agent,
    url: String,
    token: String,
}

#[derive(Deserialize)]
struct UploadStatus {
    complete: bool,
    received: Option<u64>,
}

impl HubHttp {
    /// The hub of an enrollment, trusting its CA when it brought one.
    fn of(e: &HubEnrollment) -> Result<HubHttp> {
        Ok(HubHttp {
            agent: agent(e.ca_pem.as_deref())?,
            url: e.url.clone(),
            token: e.token.clone(),
        })
    }

    fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// Uploads every blob this device's documents reference that the hub does not
    /// hold for their project, resuming where an earlier upload stopped. When the hub
    /// is busy the rest waits for the next sync.
    fn upload_missing(&self, store: &Store, references: &[BlobReference]) -> Result<usize> {
        let mut uploaded = 0;
        for r in references {
            match self.upload(store, r) {
                Ok(true) => uploaded += 1,
                Ok(false) => {}
                Err(e) if busy(&e) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(uploaded)
    }

    /// Uploads one blob for its project unless the hub holds it there; returns
    /// whether it did.
    fn upload(&self, store: &Store, r: &BlobReference) -> Result<bool> {
        let (hash, project) = (&r.hash, r.project.as_str());
        if !store.has_blob(hash)? {
            return Ok(false);
        }
        {
            let status: UploadStatus = self
                .agent
                .get(&format!(
                    "{}/v1/blobs/{hash}/status?project={project}",
                    self.url
                ))
                .header("Authorization", &self.auth())
                .call()
                .map_err(http_error)?
                .body_mut()
                .read_json()
                .map_err(|_| Error::Sync("malformed upload status".into()))?;
            if status.complete {
                return Ok(false);
            }
            let bytes = store.blob(hash)?;
            let mut offset = status.received.unwrap_or(0) as usize;
            if offset > bytes.len() {
                offset = 0;
            }
            loop {
                let end = (offset + UPLOAD_PIECE).min(bytes.len());
                let piece = &bytes[offset..end];
                self.agent
                    .put(&format!(
                        "{}/v1/blobs/{hash}?project={project}&offset={offset}&total={}",
                        self.url,
                        bytes.len()
                    ))
                    .header("Authorization", &self.auth())
                    .send(piece)
                    .map_err(http_error)?;
                offset = end;
                if offset >= bytes.len() {
                    break;
                }
            }
        }
        Ok(true)
    }

    /// Fetches the blobs this device's documents reference and it lacks: thumbnails
    /// always, the rest when `originals`.
    fn download_missing(
        &self,
        store: &Store,
        references: &[BlobReference],
        originals: bool,
    ) -> Result<usize> {
        let mut downloaded = 0;
        for r in references {
            let hash = &r.hash;
            if (r.rendition != "thumbnail" && !originals) || store.has_blob(hash)? {
                continue;
            }
            let bytes = match self.download(hash) {
                Ok(b) => b,
                // Not uploaded yet by the device that took it: next time.
                Err(Error::NotFound { .. }) => continue,
                // The hub is busy: the rest next time.
                Err(e) if busy(&e) => break,
                Err(e) => return Err(e),
            };
            store.import_blob(hash, &bytes)?;
            downloaded += 1;
        }
        Ok(downloaded)
    }
}

impl HubHttp {
    /// The projects the hub counts this device on the team of.
    fn memberships(&self) -> Result<std::collections::BTreeSet<String>> {
        #[derive(Deserialize)]
        struct Memberships {
            projects: Vec<String>,
        }
        let m: Memberships = self
            .agent
            .get(&format!("{}/v1/memberships", self.url))
            .header("Authorization", &self.auth())
            .call()
            .map_err(http_error)?
            .body_mut()
            .read_json()
            .map_err(|_| Error::Sync("the hub's membership answer is malformed".into()))?;
        Ok(m.projects.into_iter().collect())
    }

    /// Hands the hub the rows of this device's audit log it does not hold yet, so
    /// that coordinators read one log from every device.
    fn upload_audit(&self, store: &Store) -> Result<usize> {
        let mut sent = 0;
        loop {
            let rows = store.audit_unsent(500)?;
            let Some(last) = rows.last().map(|r| r.seq) else {
                return Ok(sent);
            };
            self.agent
                .post(&format!("{}/v1/audit", self.url))
                .header("Authorization", &self.auth())
                .send_json(&rows)
                .map_err(http_error)?;
            store.audit_sent_up_to(last)?;
            sent += rows.len();
        }
    }

    fn download(&self, hash: &str) -> Result<Vec<u8>> {
        self.agent
            .get(&format!("{}/v1/blobs/{hash}", self.url))
            .header("Authorization", &self.auth())
            .call()
            .map_err(http_error)?
            .body_mut()
            .with_config()
            .limit(MAX_DOWNLOAD)
            .read_to_vec()
            .map_err(http_error)
    }
}

/// What a device hears when the hub is busy (it answered 429 or 503).
const HUB_BUSY: &str = "the hub is busy; try again later";

/// Whether an error says the hub is busy.
fn busy(e: &Error) -> bool {
    matches!(e, Error::Sync(m) if m == HUB_BUSY)
}

/// The WebSocket to the hub.
pub struct WsTransport {
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
}

impl WsTransport {
    /// Opens `/v1/sync` on the hub at `url` (http:// or https://), sending the token
    /// as a bearer header.
    pub fn connect(url: &str, token: &str) -> Result<WsTransport> {
        Self::connect_with_ca(url, token, None)
    }

    /// As [`WsTransport::connect`], trusting `ca_pem` for an `https://` hub.
    pub fn connect_with_ca(url: &str, token: &str, ca_pem: Option<&str>) -> Result<WsTransport> {
        let url = base(url)?;
        let ws_url = format!(
            "{}/v1/sync",
            url.replacen("http://", "ws://", 1)
                .replacen("https://", "wss://", 1)
        );
        Self::open(&ws_url, Some(token), ca_pem)
    }

    /// Opens a WebSocket at exactly `ws_url` (`ws://…` or `wss://…`), with a bearer
    /// token when given: for peers other than an Insikt hub, such as a stock
    /// automerge-repo sync server.
    pub fn connect_url(ws_url: &str, token: Option<&str>) -> Result<WsTransport> {
        Self::open(ws_url, token, None)
    }

    fn open(ws_url: &str, token: Option<&str>, ca_pem: Option<&str>) -> Result<WsTransport> {
        let mut request = ws_url
            .into_client_request()
            .map_err(|_| Error::InvalidInput("not a hub address"))?;
        if let Some(token) = token {
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|_| Error::InvalidInput("the token is malformed"))?;
            request.headers_mut().insert("Authorization", value);
        }
        let host = request
            .uri()
            .host()
            .unwrap_or("")
            .trim_matches(['[', ']'])
            .to_string();
        let secure = request.uri().scheme_str() == Some("wss");
        let port = request
            .uri()
            .port_u16()
            .unwrap_or(if secure { 443 } else { 80 });
        let stream = TcpStream::connect((host.as_str(), port))
            .map_err(|e| Error::Io(format!("{:?}", e.kind())))?;
        let _ = stream.set_nodelay(true);
        let connector = if secure {
            tungstenite::Connector::Rustls(tls_config(ca_pem)?)
        } else {
            tungstenite::Connector::Plain
        };
        let handshake = tungstenite::client_tls_with_config(request, stream, None, Some(connector));
        let (socket, _) = handshake
            .map_err(|e| match e {
                tungstenite::HandshakeError::Failure(e) => e,
                tungstenite::HandshakeError::Interrupted(_) => tungstenite::Error::ConnectionClosed,
            })
            .map_err(|e| match e {
                tungstenite::Error::Http(r) if r.status() == 401 => {
                    Error::Unauthorized("the hub did not accept the token".into())
                }
                // The participant this phone belongs to was erased.
                tungstenite::Error::Http(r) if r.status() == 410 => Error::Erased {
                    what: "participant",
                },
                tungstenite::Error::Http(r) => {
                    Error::Sync(format!("the hub answered {}", r.status()))
                }
                tungstenite::Error::Io(io) => Error::Io(format!("{:?}", io.kind())),
                tungstenite::Error::Url(_) => Error::InvalidInput("not a hub address"),
                tungstenite::Error::Tls(_) => {
                    Error::Sync("the hub's certificate is not trusted".into())
                }
                _ => Error::Sync("cannot open the sync connection".into()),
            })?;
        Ok(WsTransport { socket })
    }

    fn set_timeout(&mut self, timeout: Duration) {
        let timeout = Some(timeout.max(Duration::from_millis(1)));
        match self.socket.get_mut() {
            MaybeTlsStream::Plain(s) => {
                let _ = s.set_read_timeout(timeout);
            }
            MaybeTlsStream::Rustls(s) => {
                let _ = s.get_mut().set_read_timeout(timeout);
            }
            _ => {}
        }
    }

    /// Closes the connection politely.
    pub fn close(&mut self) {
        let _ = self.socket.close(None);
        let _ = self.socket.flush();
    }
}

fn ws_error(e: tungstenite::Error) -> Error {
    match e {
        tungstenite::Error::Io(io) => Error::Io(format!("{:?}", io.kind())),
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            Error::Sync("the hub closed the connection".into())
        }
        tungstenite::Error::Capacity(_) => Error::Sync("a frame was too large".into()),
        _ => Error::Sync("the sync connection failed".into()),
    }
}

impl Transport for WsTransport {
    fn send(&mut self, frame: &[u8]) -> Result<()> {
        self.socket
            .send(WsMessage::Binary(frame.to_vec().into()))
            .map_err(ws_error)
    }

    fn recv(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>> {
        self.set_timeout(timeout);
        match self.socket.read() {
            Ok(WsMessage::Binary(b)) => Ok(Some(b.to_vec())),
            Ok(WsMessage::Close(frame)) => Err(Error::Sync(match frame {
                Some(f) if !f.reason.is_empty() => {
                    format!("the hub closed the connection: {}", f.reason)
                }
                _ => "the hub closed the connection".into(),
            })),
            Ok(_) => Ok(None),
            Err(tungstenite::Error::Io(io))
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(ws_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::authenticated_hub;

    #[test]
    fn only_a_tls_or_local_hub_can_tell_a_phone_its_participant_was_erased() {
        for url in [
            "https://hub.example.org",
            "http://127.0.0.1:8080",
            "http://localhost",
            "http://[::1]:9000/",
        ] {
            assert!(authenticated_hub(url), "{url}");
        }
        for url in [
            "http://hub.example.org",
            "http://127.0.0.1.evil.example",
            "http://localhost.evil.example:80",
            "ws://127.0.0.1",
        ] {
            assert!(!authenticated_hub(url), "{url}");
        }
    }
}
