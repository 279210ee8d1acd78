//! The hub: enrolling with an invite code, syncing when a network is there, fetching
//! an original on demand. All of it is `suspend`/`async`: it waits on the network.

use std::time::Duration;

use insikt_core::ids::{ParticipantId, ProjectId};
use insikt_core::store::HubEnrollment;

use crate::call::background;
use crate::error::Result;
use crate::store::Store;

/// This device's enrollment with a hub. The device's token stays inside the store.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Enrollment {
    /// The hub's base address.
    pub url: String,
    pub device_id: String,
    /// coordinator, researcher, reviewer, participant or coach.
    pub role: String,
    /// On a participant's phone: whose inbox it holds, in which project.
    pub participant: Option<ParticipantId>,
    pub project: Option<ProjectId>,
}

impl From<HubEnrollment> for Enrollment {
    fn from(v: HubEnrollment) -> Self {
        // The token and the CA stay in the store: the app never needs them.
        let HubEnrollment {
            url,
            device_id,
            token: _,
            role,
            participant,
            project,
            ca_pem: _,
        } = v;
        Enrollment {
            url,
            device_id,
            role,
            participant: participant.map(ParticipantId::from),
            project: project.map(ProjectId::from),
        }
    }
}

/// When to fetch what.
#[derive(Clone, Debug, uniffi::Record)]
pub struct HubSyncOptions {
    /// Fetch previews and originals too (on Wi-Fi, say); thumbnails always come.
    #[uniffi(default = false)]
    pub fetch_originals: bool,
    /// Give up when the hub has not finished by then.
    #[uniffi(default = 120000)]
    pub deadline_ms: u64,
}

/// What a sync with the hub did.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct HubSyncReport {
    /// Documents that arrived or changed here.
    pub documents_changed: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Documents the hub does not have or will not share with this device.
    pub unavailable: u32,
    pub blobs_uploaded: u32,
    pub blobs_downloaded: u32,
    /// Rows of this device's audit log handed to the hub.
    pub audit_rows_sent: u32,
    /// The hub could not take the audit rows this time (they go with the next sync).
    pub audit_upload_failed: bool,
    /// Documents the hub would not take from this device (it refused a change made
    /// here): still held here, as they are.
    pub refused: u32,
    /// Documents of projects whose team this device left, purged here.
    pub purged: u32,
    /// Documents held here that do not read as their type: kept, out of lists and
    /// search until a later change mends them.
    pub set_aside: u32,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<insikt_core::sync::HubSyncReport> for HubSyncReport {
    fn from(v: insikt_core::sync::HubSyncReport) -> Self {
        let insikt_core::sync::HubSyncReport {
            documents,
            blobs_uploaded,
            blobs_downloaded,
            audit_rows_sent,
            audit_upload_failed,
            purged,
            set_aside,
        } = v;
        HubSyncReport {
            documents_changed: count(documents.changed.len()),
            bytes_sent: documents.bytes_sent,
            bytes_received: documents.bytes_received,
            unavailable: count(documents.unavailable),
            blobs_uploaded: count(blobs_uploaded),
            blobs_downloaded: count(blobs_downloaded),
            audit_rows_sent: count(audit_rows_sent),
            audit_upload_failed,
            refused: count(documents.refused.len()),
            purged: count(purged),
            set_aside: count(set_aside.len()),
        }
    }
}

#[uniffi::export]
impl Store {
    /// Enrolls this device with the hub at `url` (`https://…`) using a one-time
    /// invite code; `ca_pem` when the hub's certificate comes from the organisation's
    /// own certificate authority.
    pub async fn enroll(
        &self,
        url: String,
        code: String,
        label: String,
        ca_pem: Option<String>,
    ) -> Result<Enrollment> {
        let core = self.core.clone();
        background(move || {
            Ok(core
                .enroll_with_ca(&url, &code, &label, ca_pem.as_deref())?
                .into())
        })
        .await
    }

    /// This device's enrollment, if it has one.
    pub fn enrollment(&self) -> Result<Option<Enrollment>> {
        crate::call::call(|| Ok(self.core.enrollment()?.map(Into::into)))
    }

    /// Syncs with the hub: documents both ways, then photos and recordings, then the
    /// projects' retention. `Unreachable` when there is no network: retry later.
    pub async fn sync_with_hub(&self, options: HubSyncOptions) -> Result<HubSyncReport> {
        let core = self.core.clone();
        background(move || {
            let HubSyncOptions {
                fetch_originals,
                deadline_ms,
            } = options;
            let options = insikt_core::sync::HubSyncOptions {
                fetch_originals,
                deadline: Duration::from_millis(deadline_ms),
                ..Default::default()
            };
            Ok(core.sync_with_hub(&options)?.into())
        })
        .await
    }

    /// Fetches one rendition or recording from the hub now (an original a person asked
    /// to see), unless it is here already; then `blob(hash)` reads it.
    pub async fn fetch_blob_from_hub(&self, hash: String) -> Result<()> {
        let core = self.core.clone();
        background(move || Ok(core.fetch_blob_from_hub(&hash)?)).await
    }
}
