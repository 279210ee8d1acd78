//! The sync engine: a sans-IO state machine for one node (a device or the hub) with
//! any number of connections. Feed it [`Event`]s, carry out the [`Effect`]s it returns.
//! It speaks automerge-repo's protocol; what it may share with whom, and the
//! documents themselves, come from a [`Documents`] implementation.

use automerge::sync;
use std::collections::{BTreeMap, HashMap};

use super::bounds::{self, SyncBounds};
use super::wire::{DocumentId, Message, PeerMetadata, WireError, PROTOCOL_VERSION};
use crate::error::Error;

/// A connection, named by whoever drives the engine.
pub type ConnId = u64;

/// What a peer may do with a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Nothing: the document's existence is not revealed.
    None,
    /// Receive our changes; theirs are ignored.
    Read,
    /// Receive ours and send theirs.
    ReadWrite,
}

/// What happened to a document on receiving a sync message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Received {
    /// The document has new changes.
    pub changed: bool,
    /// The peer may not bring this document; nothing was kept.
    pub refused: bool,
}

/// The side that holds the documents and decides access.
pub trait Documents {
    /// Documents to offer `conn` when it connects (they are pushed without being
    /// asked for). Documents the node wants but does not hold are requested.
    fn offer(&mut self, conn: ConnId) -> Vec<DocumentId>;
    /// What `conn` may do with `doc`. For a document not held here, `ReadWrite` means
    /// the peer may bring it.
    fn access(&mut self, conn: ConnId, doc: &DocumentId) -> Access;
    /// Whether the document is held here.
    fn has(&mut self, doc: &DocumentId) -> bool;
    /// The next sync message for the peer on `conn` in `state`, if there is anything
    /// to say.
    fn generate(
        &mut self,
        conn: ConnId,
        doc: &DocumentId,
        state: &mut sync::State,
    ) -> Result<Option<sync::Message>, Error>;
    /// Applies a sync message from `conn`. A document the peer may not bring is
    /// `refused` (the peer hears it is unavailable); an error (content that does not
    /// match its id, a full disk) closes the connection.
    fn receive(
        &mut self,
        conn: ConnId,
        doc: &DocumentId,
        state: &mut sync::State,
        message: sync::Message,
    ) -> Result<Received, Error>;
}

/// Limits that protect a node from its peers.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The largest frame accepted; larger ones close the connection.
    pub max_message_bytes: usize,
    /// How many documents one connection may talk about.
    pub max_documents_per_connection: usize,
    /// Caps on the lists of one sync message (checked before automerge reads it).
    pub sync: SyncBounds,
    /// How much of what a peer said (heads, needs, bloom filters, and a fixed
    /// amount per document) its connection's sync states may keep; a peer that
    /// says more is disconnected.
    pub max_peer_state_per_connection: usize,
    /// The same over all connections: when it is exceeded, the connection keeping
    /// the most is closed.
    pub max_peer_state_total: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 16 << 20,
            max_documents_per_connection: 100_000,
            sync: SyncBounds::default(),
            max_peer_state_per_connection: 16 << 20,
            max_peer_state_total: 64 << 20,
        }
    }
}

/// What a document's sync state with one peer costs besides what the peer said.
const DOC_STATE_BYTES: usize = 256;

/// Something that happened, for the engine to act on.
#[derive(Clone, Debug)]
pub enum Event {
    /// A transport connected. The dialling side sends `join`. `expected_peer` binds
    /// an authenticated transport to the peer id it must announce.
    Connected {
        conn: ConnId,
        dialer: bool,
        expected_peer: Option<String>,
    },
    /// A whole frame arrived.
    Received { conn: ConnId, frame: Vec<u8> },
    /// The transport went away.
    Disconnected { conn: ConnId },
    /// Close a connection (a revoked device, shutdown).
    Close { conn: ConnId, reason: String },
    /// A document changed here (a local edit, an erasure): tell peers.
    Changed { doc: DocumentId },
    /// Ask every connected peer for a document not held here.
    Want { doc: DocumentId },
}

/// What the driver must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Send a frame on a connection.
    Send { conn: ConnId, frame: Vec<u8> },
    /// Close a connection, after sending what came before; `error` says why when it
    /// is not a normal end.
    Close { conn: ConnId, error: Option<String> },
    /// The handshake completed.
    Established { conn: ConnId, peer: String },
    /// A document's content changed through a connection.
    DocumentChanged { doc: DocumentId },
    /// A peer does not have, or will not share, a document.
    Unavailable { conn: ConnId, doc: DocumentId },
}

#[derive(Debug, PartialEq, Eq)]
enum Phase {
    AwaitJoin,
    AwaitPeer,
    Established,
}

struct Conn {
    phase: Phase,
    peer: Option<String>,
    expected_peer: Option<String>,
    docs: HashMap<DocumentId, DocState>,
    /// What this connection's sync states keep of what the peer said (see
    /// [`Limits::max_peer_state_per_connection`]).
    peer_state: usize,
}

struct DocState {
    sync: sync::State,
    unavailable: bool,
    /// What the peer's last message left in `sync`.
    peer_state: usize,
}

impl DocState {
    fn new(access: Access) -> Self {
        DocState {
            sync: new_state(access),
            unavailable: false,
            peer_state: 0,
        }
    }
}

/// Counters, for benchmarks and status lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub frames_sent: u64,
    pub bytes_sent: u64,
    pub frames_received: u64,
    pub bytes_received: u64,
}

/// One node's sync engine.
pub struct Engine {
    me: String,
    metadata: PeerMetadata,
    limits: Limits,
    conns: BTreeMap<ConnId, Conn>,
    counters: Counters,
    /// The sum of every connection's `peer_state`.
    peer_state_total: usize,
}

impl Engine {
    pub fn new(me: impl Into<String>, limits: Limits) -> Self {
        Self {
            me: me.into(),
            metadata: PeerMetadata {
                storage_id: None,
                is_ephemeral: false,
            },
            limits,
            conns: BTreeMap::new(),
            counters: Counters::default(),
            peer_state_total: 0,
        }
    }

    /// How many bytes of what peers said the sync states keep, over all connections.
    pub fn peer_state_bytes(&self) -> usize {
        self.peer_state_total
    }

    /// Forgets a connection and what its sync states kept.
    fn drop_conn(&mut self, conn: ConnId) -> Option<Conn> {
        let c = self.conns.remove(&conn)?;
        self.peer_state_total = self.peer_state_total.saturating_sub(c.peer_state);
        Some(c)
    }

    /// Begins a document's sync state on a connection, counting its fixed cost.
    fn add_doc(&mut self, conn: ConnId, doc: DocumentId, access: Access) {
        if let Some(c) = self.conns.get_mut(&conn) {
            if c.docs.insert(doc, DocState::new(access)).is_none() {
                c.peer_state += DOC_STATE_BYTES;
                self.peer_state_total += DOC_STATE_BYTES;
            }
        }
    }

    /// Ends a document's sync state on a connection.
    fn remove_doc(&mut self, conn: ConnId, doc: &DocumentId) {
        if let Some(c) = self.conns.get_mut(&conn) {
            if let Some(s) = c.docs.remove(doc) {
                let freed = s.peer_state + DOC_STATE_BYTES;
                c.peer_state = c.peer_state.saturating_sub(freed);
                self.peer_state_total = self.peer_state_total.saturating_sub(freed);
            }
        }
    }

    /// Records what a peer's message leaves in a document's sync state; returns the
    /// connection to close when a budget is exceeded (this one, or — over the total
    /// — the one keeping the most).
    fn account(&mut self, conn: ConnId, doc: &DocumentId, retained: usize) -> Option<ConnId> {
        let c = self.conns.get_mut(&conn)?;
        let s = c.docs.get_mut(doc)?;
        let before = std::mem::replace(&mut s.peer_state, retained);
        c.peer_state = c.peer_state.saturating_sub(before) + retained;
        self.peer_state_total = self.peer_state_total.saturating_sub(before) + retained;
        if c.peer_state > self.limits.max_peer_state_per_connection {
            return Some(conn);
        }
        if self.peer_state_total > self.limits.max_peer_state_total {
            return self
                .conns
                .iter()
                .max_by_key(|(_, c)| c.peer_state)
                .map(|(id, _)| *id);
        }
        None
    }

    /// This node's peer id.
    pub fn peer_id(&self) -> &str {
        &self.me
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The peer on an established connection.
    pub fn peer_of(&self, conn: ConnId) -> Option<&str> {
        self.conns
            .get(&conn)
            .filter(|c| c.phase == Phase::Established)
            .and_then(|c| c.peer.as_deref())
    }

    /// The connections whose handshake completed.
    pub fn established(&self) -> Vec<ConnId> {
        self.conns
            .iter()
            .filter(|(_, c)| c.phase == Phase::Established)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Whether every document shared on `conn` is known to be in sync both ways
    /// (or unavailable there), as far as the last messages tell.
    pub fn in_sync<D: Documents>(&self, docs: &mut D, conn: ConnId) -> bool {
        let Some(c) = self.conns.get(&conn) else {
            return false;
        };
        c.phase == Phase::Established
            && c.docs.iter().all(|(id, s)| {
                s.unavailable || {
                    let mut probe = s.sync.clone();
                    matches!(docs.generate(conn, id, &mut probe), Ok(None))
                }
            })
    }

    /// Acts on one event.
    pub fn handle<D: Documents>(&mut self, docs: &mut D, event: Event) -> Vec<Effect> {
        let mut out = Vec::new();
        match event {
            Event::Connected {
                conn,
                dialer,
                expected_peer,
            } => {
                self.conns.insert(
                    conn,
                    Conn {
                        phase: if dialer {
                            Phase::AwaitPeer
                        } else {
                            Phase::AwaitJoin
                        },
                        peer: None,
                        expected_peer,
                        docs: HashMap::new(),
                        peer_state: 0,
                    },
                );
                if dialer {
                    let join = Message::Join {
                        sender: self.me.clone(),
                        versions: vec![PROTOCOL_VERSION.into()],
                        metadata: Some(self.metadata.clone()),
                    };
                    self.send(&mut out, conn, &join);
                }
            }
            Event::Received { conn, frame } => self.receive(docs, conn, &frame, &mut out),
            Event::Disconnected { conn } => {
                self.drop_conn(conn);
            }
            Event::Close { conn, reason } => self.fail(&mut out, conn, reason),
            Event::Changed { doc } => self.push(docs, &doc, None, &mut out),
            Event::Want { doc } => {
                for conn in self.established() {
                    self.start_doc(docs, conn, doc, &mut out);
                }
            }
        }
        out
    }

    fn send(&mut self, out: &mut Vec<Effect>, conn: ConnId, message: &Message) {
        let frame = message.encode();
        self.counters.frames_sent += 1;
        self.counters.bytes_sent += frame.len() as u64;
        out.push(Effect::Send { conn, frame });
    }

    /// Sends an `error` message and closes the connection.
    fn fail(&mut self, out: &mut Vec<Effect>, conn: ConnId, reason: String) {
        if self.drop_conn(conn).is_some() {
            let frame = Message::Error {
                message: reason.clone(),
            }
            .encode();
            out.push(Effect::Send { conn, frame });
            out.push(Effect::Close {
                conn,
                error: Some(reason),
            });
        }
    }

    fn receive<D: Documents>(
        &mut self,
        docs: &mut D,
        conn: ConnId,
        frame: &[u8],
        out: &mut Vec<Effect>,
    ) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        self.counters.frames_received += 1;
        self.counters.bytes_received += frame.len() as u64;
        let message = match Message::decode(frame, self.limits.max_message_bytes) {
            Ok(m) => m,
            Err(e) => return self.fail(out, conn, protocol_error(&e)),
        };
        match (&c.phase, message) {
            (
                Phase::AwaitJoin,
                Message::Join {
                    sender, versions, ..
                },
            ) => {
                if !versions.iter().any(|v| v == PROTOCOL_VERSION) {
                    return self.fail(out, conn, "unsupported protocol version".into());
                }
                if c.expected_peer.as_ref().is_some_and(|p| p != &sender) {
                    return self.fail(out, conn, "peer id does not match its credentials".into());
                }
                let peer = Message::Peer {
                    sender: self.me.clone(),
                    target: sender.clone(),
                    version: PROTOCOL_VERSION.into(),
                    metadata: Some(self.metadata.clone()),
                };
                self.send(out, conn, &peer);
                self.establish(docs, conn, sender, out);
            }
            (
                Phase::AwaitPeer,
                Message::Peer {
                    sender,
                    target,
                    version,
                    ..
                },
            ) => {
                if version != PROTOCOL_VERSION {
                    return self.fail(out, conn, "unsupported protocol version".into());
                }
                if target != self.me || c.expected_peer.as_ref().is_some_and(|p| p != &sender) {
                    return self.fail(out, conn, "peer id does not match".into());
                }
                self.establish(docs, conn, sender, out);
            }
            (_, Message::Error { message }) => {
                // The peer refused something and closed: that is an error here too.
                self.drop_conn(conn);
                let message = if message.is_empty() {
                    "the peer closed the connection with an error".to_string()
                } else {
                    message.chars().take(200).collect()
                };
                out.push(Effect::Close {
                    conn,
                    error: Some(message),
                });
            }
            (_, Message::Leave { .. }) => {
                self.drop_conn(conn);
                out.push(Effect::Close { conn, error: None });
            }
            (Phase::Established, Message::Other { .. }) => {}
            // A repeated handshake (a duplicated frame) changes nothing.
            (Phase::Established, Message::Join { .. } | Message::Peer { .. }) => {}
            // Document messages overtaking the peer's answer are dropped like lost
            // frames; the sync protocol asks again.
            (
                Phase::AwaitPeer,
                Message::Sync { .. } | Message::Request { .. } | Message::DocUnavailable { .. },
            ) => {}
            (Phase::Established, m @ (Message::Sync { .. } | Message::Request { .. })) => {
                let request = matches!(m, Message::Request { .. });
                let (Message::Sync {
                    sender, doc, data, ..
                }
                | Message::Request {
                    sender, doc, data, ..
                }) = m
                else {
                    return;
                };
                if c.peer.as_deref() != Some(sender.as_str()) {
                    return self.fail(out, conn, "sender does not match the connection".into());
                }
                self.on_sync(docs, conn, doc, &data, request, out);
            }
            (Phase::Established, Message::DocUnavailable { sender, doc, .. }) => {
                if c.peer.as_deref() != Some(sender.as_str()) {
                    return self.fail(out, conn, "sender does not match the connection".into());
                }
                if let Some(s) = self.conns.get_mut(&conn).and_then(|c| c.docs.get_mut(&doc)) {
                    s.unavailable = true;
                }
                out.push(Effect::Unavailable { conn, doc });
            }
            (phase, m) => {
                let reason = format!("unexpected {} message while {phase:?}", m.kind());
                self.fail(out, conn, reason)
            }
        }
    }

    fn establish<D: Documents>(
        &mut self,
        docs: &mut D,
        conn: ConnId,
        peer: String,
        out: &mut Vec<Effect>,
    ) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.phase = Phase::Established;
            c.peer = Some(peer.clone());
        }
        out.push(Effect::Established { conn, peer });
        for doc in docs.offer(conn) {
            self.start_doc(docs, conn, doc, out);
        }
    }

    /// Begins syncing `doc` with `conn`, if allowed and not already under way.
    fn start_doc<D: Documents>(
        &mut self,
        docs: &mut D,
        conn: ConnId,
        doc: DocumentId,
        out: &mut Vec<Effect>,
    ) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        if c.phase != Phase::Established || c.docs.contains_key(&doc) {
            return;
        }
        let access = docs.access(conn, &doc);
        if access == Access::None {
            return;
        }
        if c.docs.len() >= self.limits.max_documents_per_connection {
            return;
        }
        self.add_doc(conn, doc, access);
        let request = !docs.has(&doc);
        self.reply(docs, conn, doc, request, out);
    }

    /// Generates and sends the next message for `doc` on `conn`, if there is one.
    fn reply<D: Documents>(
        &mut self,
        docs: &mut D,
        conn: ConnId,
        doc: DocumentId,
        request: bool,
        out: &mut Vec<Effect>,
    ) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let Some(peer) = c.peer.clone() else {
            return;
        };
        let Some(state) = c.docs.get_mut(&doc) else {
            return;
        };
        match docs.generate(conn, &doc, &mut state.sync) {
            Ok(Some(m)) => {
                let data = m.encode();
                let message = if request {
                    Message::Request {
                        sender: self.me.clone(),
                        target: peer,
                        doc,
                        data,
                    }
                } else {
                    Message::Sync {
                        sender: self.me.clone(),
                        target: peer,
                        doc,
                        data,
                    }
                };
                self.send(out, conn, &message);
            }
            Ok(None) => {}
            Err(e) => self.fail(out, conn, e.to_string()),
        }
    }

    fn on_sync<D: Documents>(
        &mut self,
        docs: &mut D,
        conn: ConnId,
        doc: DocumentId,
        data: &[u8],
        request: bool,
        out: &mut Vec<Effect>,
    ) {
        let access = docs.access(conn, &doc);
        let unavailable = |engine: &mut Self, out: &mut Vec<Effect>| {
            if let Some(peer) = engine.conns.get(&conn).and_then(|c| c.peer.clone()) {
                let m = Message::DocUnavailable {
                    sender: engine.me.clone(),
                    target: peer,
                    doc,
                };
                engine.send(out, conn, &m);
            }
        };
        if access == Access::None {
            return unavailable(self, out);
        }
        // Counted on the bytes before automerge reads them: automerge would allocate
        // for whatever counts the peer wrote.
        let shape = match bounds::inspect(data, &self.limits.sync) {
            Ok(shape) => shape,
            Err(e) => return self.fail(out, conn, e.to_string()),
        };
        let message = match sync::Message::decode(data) {
            Ok(m) => m,
            Err(_) => return self.fail(out, conn, "not an automerge sync message".into()),
        };
        // A peer that may only read learns that a document we do not hold is not here.
        if !docs.has(&doc) && access == Access::Read {
            return unavailable(self, out);
        }
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        if !c.docs.contains_key(&doc) {
            if c.docs.len() >= self.limits.max_documents_per_connection {
                return self.fail(out, conn, "too many documents on one connection".into());
            }
            self.add_doc(conn, doc, access);
        }
        if let Some(over) = self.account(conn, &doc, shape.retained) {
            self.fail(
                out,
                over,
                "the peer said more than its sync state may keep".into(),
            );
            if over == conn {
                return;
            }
        }
        let Some(state) = self.conns.get_mut(&conn).and_then(|c| c.docs.get_mut(&doc)) else {
            return;
        };
        state.unavailable = false;
        let received = docs.receive(conn, &doc, &mut state.sync, message);
        match received {
            Ok(r) => {
                if r.refused || (request && !docs.has(&doc)) {
                    // Asked for a document we do not hold: we cannot serve it.
                    self.remove_doc(conn, &doc);
                    return unavailable(self, out);
                }
                self.reply(docs, conn, doc, false, out);
                if r.changed {
                    out.push(Effect::DocumentChanged { doc });
                    self.push(docs, &doc, Some(conn), out);
                }
            }
            Err(e) => self.fail(out, conn, e.to_string()),
        }
    }

    /// Tells every other established connection allowed to see `doc` about it.
    fn push<D: Documents>(
        &mut self,
        docs: &mut D,
        doc: &DocumentId,
        except: Option<ConnId>,
        out: &mut Vec<Effect>,
    ) {
        for conn in self.established() {
            if Some(conn) == except {
                continue;
            }
            let known = self
                .conns
                .get(&conn)
                .is_some_and(|c| c.docs.contains_key(doc));
            if known {
                if docs.access(conn, doc) == Access::None {
                    // Access was withdrawn: stop sharing the document.
                    self.remove_doc(conn, doc);
                    continue;
                }
                self.reply(docs, conn, *doc, false, out);
            } else {
                self.start_doc(docs, conn, *doc, out);
            }
        }
    }
}

fn new_state(access: Access) -> sync::State {
    match access {
        Access::Read => sync::State::new_read_only(),
        _ => sync::State::new(),
    }
}

fn protocol_error(e: &WireError) -> String {
    format!("malformed message: {e}")
}
