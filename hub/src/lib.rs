//! # insikt-hub
//!
//! The hub a team's devices sync through when a network is there. It speaks
//! automerge-repo's protocol over WebSocket (`/v1/sync`), so stock automerge-repo
//! clients holding a device token can sync the documents they may read; devices
//! enroll with one-time invite codes; every document and every message is checked
//! against the device's role and organisation; photos and recordings travel through
//! `/v1/blobs`. Storage is one SQLCipher file and an encrypted blob directory.
//!
//! - [`auth`]: organisations, invites, devices, tokens (kept hashed), revocation.
//! - [`docs`]: the documents and the access policy.
//! - [`blobs`]: uploads, each its device's own, streamed into the blob store.
//! - [`slots`]: each device's share of connections, downloads and uploads; tickets.
//! - [`server`]: the HTTP and WebSocket endpoints.

pub mod auth;
pub mod blobs;
pub mod db;
pub mod docs;
pub mod error;
pub mod server;
pub mod slots;
pub mod tls;

pub use auth::{Device, Enrollment, Role};
pub use error::{HubError, Result};
pub use server::{Held, Hub, HubConfig};

use std::path::Path;

/// Makes the C allocator hand large buffers (over 128 KiB: frames, upload pieces,
/// documents) straight back to the system when they are freed. Call once, first
/// thing, in a process that serves a hub. A hub's large buffers come and go on many
/// threads; with glibc's defaults the threshold rises after the first large buffer
/// is freed and every thread's arena keeps what it held, so after a burst of large
/// messages the process kept hundreds of megabytes it no longer used (the hub
/// benchmark's attacks section: 425 MiB peak and 413 MiB after, against 116 and 24
/// with this).
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes an allocator parameter; it is called before the
    // process allocates large buffers, and a failure leaves the default in place.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Reads the hub's key from `dir/hub.key`, creating it (owner-only) on first use.
pub fn load_or_create_key(dir: &Path) -> Result<[u8; 32]> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let path = dir.join("hub.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let bytes =
            hex::decode(text.trim()).map_err(|_| HubError::Invalid("hub.key is not hex"))?;
        return bytes
            .try_into()
            .map_err(|_| HubError::Invalid("hub.key is not 32 bytes"));
    }
    let key: [u8; 32] = rand::random();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&path)?;
    f.write_all(hex::encode(key).as_bytes())?;
    f.sync_all()?;
    Ok(key)
}

/// A hub serving on a loopback port from a background runtime: embedded in the
/// CLI's demo and in tests. Dropping it stops the hub.
pub struct RunningHub {
    pub hub: Hub,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl RunningHub {
    /// Opens the hub in `dir` and serves it on a free loopback port.
    pub fn start(dir: &Path, config: HubConfig) -> Result<RunningHub> {
        Self::start_with(dir, config, None)
    }

    /// As [`RunningHub::start`], over TLS with the given server configuration; the
    /// URL is then `https://127.0.0.1:PORT`.
    pub fn start_with(
        dir: &Path,
        config: HubConfig,
        tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    ) -> Result<RunningHub> {
        let hub = Hub::open(dir, config)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let url = match tls {
            Some(tls) => {
                let _guard = runtime.enter();
                runtime.spawn(hub.clone().serve_tls(listener, tls));
                format!("https://{addr}")
            }
            None => {
                runtime.spawn(hub.clone().serve(listener));
                format!("http://{addr}")
            }
        };
        Ok(RunningHub {
            hub,
            url,
            runtime: Some(runtime),
        })
    }
}

impl RunningHub {
    /// Runs retention now (see [`Hub::sweep_retention`]).
    pub fn sweep_retention(&self, now: i64) -> Result<crate::docs::SweepReport> {
        self.hub.sweep_retention(now)
    }
}

impl Drop for RunningHub {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(std::time::Duration::from_secs(1));
        }
    }
}
