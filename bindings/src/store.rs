//! The store: opened with the 32 key bytes the platform keystore gives, closed by
//! releasing the object (Kotlin `close()`/`use {}`, Swift's last reference).

use std::sync::{Arc, Mutex, Weak};

use insikt_core::ids::MemberId;
use insikt_core::StoreKey;

use crate::call::{call, quiet_panics};
use crate::error::{InsiktError, Result};
use crate::link::DeviceLink;

/// One device's encrypted store. Every method may be called from any thread at once.
///
/// Closing it (Kotlin `close()`, Swift: dropping the last reference) waits for calls
/// in flight, then releases the database, the blob files, the store's lock and its
/// worker thread before it returns, and closes the device links made from it. A
/// long call still running in the background (a hub sync) keeps them until it ends.
#[derive(uniffi::Object)]
pub struct Store {
    pub(crate) core: insikt_core::Store,
    /// Device links made from this store, closed with it.
    links: Mutex<Vec<Weak<DeviceLink>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

#[uniffi::export]
impl Store {
    /// Opens the store in the directory `dir`, creating it when missing. `key` is the
    /// 32 bytes kept by the Android Keystore or the iOS Keychain; the bindings copy
    /// and wipe it, the caller wipes its own copy.
    #[uniffi::constructor]
    pub fn open(dir: String, key: Vec<u8>) -> Result<Arc<Store>> {
        quiet_panics();
        call(|| {
            let mut key = key;
            let parsed = StoreKey::from_slice(&key);
            key.iter_mut().for_each(|b| *b = 0);
            let core = insikt_core::Store::open(std::path::Path::new(&dir), &parsed?)?;
            Ok(Arc::new(Store {
                core,
                links: Mutex::new(Vec::new()),
            }))
        })
    }

    /// This device's member id: the author of everything written here, and the id a
    /// coordinator adds to a project's team.
    pub fn member_id(&self) -> Result<MemberId> {
        call(|| Ok(self.core.me().clone()))
    }

    /// How many captured notes wait to be filed into their documents (they are saved
    /// already), for a status line.
    pub fn pending_notes(&self) -> Result<u64> {
        call(|| Ok(self.core.journal_status().0 as u64))
    }

    /// Test builds only: panics inside the store while it holds its locks, to show
    /// that a panic reaches the app as `Internal` and the store stays usable. Release
    /// builds answer `NotAllowed`.
    pub fn debug_panic_inside(&self) -> Result<()> {
        call(|| {
            #[cfg(feature = "test-hooks")]
            self.core.panic_while_locked();
            Err(InsiktError::NotAllowed {
                reason: "test hooks are not in this build".into(),
            })
        })
    }
}

impl Store {
    /// Remembers a link so that closing the store closes it.
    pub(crate) fn adopt_link(&self, link: &Arc<DeviceLink>) {
        let mut links = self.links.lock().unwrap_or_else(|p| p.into_inner());
        links.retain(|l| l.strong_count() > 0);
        links.push(Arc::downgrade(link));
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // A link holds a handle on the core store: close it so that the files and
        // the lock go now, not when the app's last link object is collected.
        let links = std::mem::take(self.links.get_mut().unwrap_or_else(|p| p.into_inner()));
        for link in links.iter().filter_map(Weak::upgrade) {
            link.shut();
        }
    }
}
