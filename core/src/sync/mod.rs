//! Sync: devices and the hub converge over automerge-repo's protocol.
//!
//! - [`wire`]: the protocol's messages (CBOR) and document ids (bs58check UUIDs).
//! - [`bounds`]: caps on a peer's automerge sync messages, checked on their bytes.
//! - [`engine`]: a sans-IO state machine for one node with many connections; a
//!   simulated network can drive it in plain tests.
//! - [`StoreDocuments`]: a device's store as the engine's document source, with the
//!   scope a peer may see.
//! - [`stream`]: frames over any byte stream (Bluetooth, Wi-Fi Direct, a socket), and
//!   a blocking driver for one connection.

pub mod bounds;
mod client;
mod device;
pub mod engine;
pub mod stream;
pub mod wire;

pub use bounds::{SyncBounds, SyncShape, SyncShapeError};
pub use client::{HubSyncOptions, HubSyncReport, WsTransport};
pub use device::{PeerScope, StoreDocuments};
pub use engine::{Access, ConnId, Counters, Documents, Effect, Engine, Event, Limits, Received};
pub use stream::{run, FrameDecoder, Session, SyncReport, TcpTransport, Transport};
pub use wire::{DocumentId, Message, WireError};

/// The heads of a document given as automerge bytes, as hex: two replicas with the
/// same heads hold the same document.
pub fn heads_of(bytes: &[u8]) -> crate::Result<Vec<String>> {
    let doc = automerge::Automerge::load(bytes)?;
    Ok(doc.get_heads().iter().map(|h| h.to_string()).collect())
}
