//! Device-to-device sync over the platform's own link (Bluetooth, Wi-Fi Direct, the
//! local network): the app moves bytes, the link turns them into sync.
//!
//! The app opens its connection, makes a [`DeviceLink`] on each side, sends what
//! `start` returns, then for every chunk it receives calls `receive` and sends what
//! that returns, until `in_sync()` holds on both sides and nothing is left to send.
//! Bytes may arrive in any split: the link reassembles its frames. While the link
//! stays open, `outgoing` hands over what this device wrote meanwhile.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use insikt_core::ids::ParticipantId;
use insikt_core::store::{DocKey, Observer, Watch};
use insikt_core::sync::stream::encode_frame;
use insikt_core::sync::{FrameDecoder, Limits, Session, StoreDocuments};

use crate::call::call;
use crate::error::{InsiktError, Result};
use crate::store::Store;

/// What the peer on a link may see of this device's documents.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum PeerScope {
    /// Everything: a team device paired for a workshop.
    Everything,
    /// Only one participant's inbox: a young person's phone met in the field (on the
    /// team's side), or the phone itself (which asks for its inbox).
    ParticipantInbox { participant: ParticipantId },
}

/// What a link has done so far.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct LinkReport {
    /// Documents that arrived or changed here.
    pub documents_changed: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

struct LinkState {
    session: Session,
    decoder: FrameDecoder,
    /// Told of every document changed on this device while the link is open.
    _observer: Observer,
}

/// One device-to-device connection. Callable from any thread (calls are taken one
/// at a time). Closed with the store it came from, or when released.
#[derive(uniffi::Object)]
pub struct DeviceLink {
    state: Mutex<Option<LinkState>>,
    /// Documents changed here since the last `outgoing`.
    changed: Arc<Mutex<BTreeSet<DocKey>>>,
}

impl DeviceLink {
    /// Drops the sync session and with it the link's handle on the store.
    pub(crate) fn shut(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    fn with<R>(&self, f: impl FnOnce(&mut LinkState) -> Result<R>) -> Result<R> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match state.as_mut() {
            Some(s) => f(s),
            None => Err(InsiktError::NotAllowed {
                reason: "the link is closed (its store was closed)".into(),
            }),
        }
    }
}

/// The frames to send, as one run of bytes.
fn framed(frames: Vec<Vec<u8>>) -> Vec<u8> {
    frames.iter().flat_map(|f| encode_frame(f)).collect()
}

#[uniffi::export]
impl DeviceLink {
    /// Starts the link; returns the bytes to send first. `dialer`: this side opened
    /// the connection.
    pub fn start(&self, dialer: bool) -> Result<Vec<u8>> {
        call(|| self.with(|s| Ok(framed(s.session.start(dialer)))))
    }

    /// Takes bytes received from the peer (in any split); returns the bytes to send
    /// back (possibly none). `Unreachable` when the peer broke the protocol: close
    /// the connection.
    pub fn receive(&self, bytes: Vec<u8>) -> Result<Vec<u8>> {
        call(|| {
            self.with(|s| {
                let mut out = Vec::new();
                for frame in s.decoder.push(&bytes)? {
                    out.extend(s.session.receive(frame));
                }
                if let Some(Some(reason)) = s.session.closed() {
                    return Err(InsiktError::Unreachable {
                        reason: reason.clone(),
                    });
                }
                Ok(framed(out))
            })
        })
    }

    /// The bytes to send for what changed on this device since the last call (notes
    /// written while the link is open); empty when nothing did. Call it when a
    /// listener fires, or between reads.
    pub fn outgoing(&self) -> Result<Vec<u8>> {
        call(|| {
            self.with(|s| {
                let keys =
                    std::mem::take(&mut *self.changed.lock().unwrap_or_else(|p| p.into_inner()));
                let mut out = Vec::new();
                for key in keys {
                    out.extend(s.session.changed(&key));
                }
                Ok(framed(out))
            })
        })
    }

    /// Whether both sides are in sync as far as the last messages tell.
    pub fn in_sync(&self) -> Result<bool> {
        call(|| self.with(|s| Ok(s.session.in_sync())))
    }

    /// What the link has done so far.
    pub fn report(&self) -> Result<LinkReport> {
        call(|| {
            self.with(|s| {
                let r = s.session.report();
                Ok(LinkReport {
                    documents_changed: u32::try_from(r.changed.len()).unwrap_or(u32::MAX),
                    bytes_sent: r.bytes_sent,
                    bytes_received: r.bytes_received,
                })
            })
        })
    }
}

#[uniffi::export]
impl Store {
    /// A device-to-device link over a connection the app made; `scope` limits what
    /// the peer sees.
    pub fn device_link(&self, scope: PeerScope) -> Result<Arc<DeviceLink>> {
        call(|| {
            let limits = Limits::default();
            let decoder = FrameDecoder::new(limits.max_message_bytes);
            let docs = StoreDocuments::new(self.core.clone())?;
            let me = self.core.me().as_str().to_string();
            let mut session = Session::new(docs, &me, limits);
            if let PeerScope::ParticipantInbox { participant } = scope {
                let inbox = DocKey::Inbox(participant);
                session.want(inbox.clone());
                session.set_scope(insikt_core::sync::PeerScope::Only(vec![inbox]));
            }
            let changed: Arc<Mutex<BTreeSet<DocKey>>> = Default::default();
            let noted = changed.clone();
            let observer = self.core.observe(Watch::Store, move |changes| {
                let mut noted = noted.lock().unwrap_or_else(|p| p.into_inner());
                noted.extend(changes.into_iter().map(|c| c.document));
            })?;
            let link = Arc::new(DeviceLink {
                state: Mutex::new(Some(LinkState {
                    session,
                    decoder,
                    _observer: observer,
                })),
                changed,
            });
            self.adopt_link(&link);
            Ok(link)
        })
    }
}
