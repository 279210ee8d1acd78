//! Sync over a byte stream, and one connection's sync session.
//!
//! A platform transport (Bluetooth, Wi-Fi Direct, the local network) hands over bytes
//! in whatever pieces it receives them: [`FrameDecoder`] cuts them into frames (a
//! 4-byte big-endian length, then the message, as automerge-repo's stream transports
//! do). [`Session`] is one connection of a device: feed it frames, send what it
//! returns, and ask it whether both sides are in sync. [`run`] drives a session
//! over a blocking [`Transport`] until it is.

use std::time::{Duration, Instant};

use super::device::{PeerScope, StoreDocuments};
use super::engine::{ConnId, Documents, Effect, Engine, Event, Limits};
use super::wire::DocumentId;
use crate::error::{Error, Result};
use crate::store::DocKey;

/// Prefixes a frame with its length.
pub fn encode_frame(frame: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(frame.len() + 4);
    out.extend_from_slice(&(frame.len() as u32).to_be_bytes());
    out.extend_from_slice(frame);
    out
}

/// Cuts a byte stream into frames.
#[derive(Debug)]
pub struct FrameDecoder {
    buffer: Vec<u8>,
    max_frame: usize,
}

impl FrameDecoder {
    pub fn new(max_frame: usize) -> Self {
        Self {
            buffer: Vec::new(),
            max_frame,
        }
    }

    /// Adds received bytes and returns the frames now complete. A length over the
    /// limit is an error: the stream cannot be trusted after it.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.buffer.extend_from_slice(bytes);
        let mut frames = Vec::new();
        let mut at = 0;
        while self.buffer.len() - at >= 4 {
            let mut len = [0u8; 4];
            len.copy_from_slice(&self.buffer[at..at + 4]);
            let len = u32::from_be_bytes(len) as usize;
            if len > self.max_frame {
                return Err(Error::InvalidInput("a sync frame is larger than allowed"));
            }
            if self.buffer.len() - at - 4 < len {
                break;
            }
            frames.push(self.buffer[at + 4..at + 4 + len].to_vec());
            at += 4 + len;
        }
        self.buffer.drain(..at);
        Ok(frames)
    }
}

/// How a session ended, for a status line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Documents that arrived or changed here.
    pub changed: Vec<DocKey>,
    pub frames_sent: u64,
    pub bytes_sent: u64,
    pub frames_received: u64,
    pub bytes_received: u64,
    /// Documents the peer does not have or will not share.
    pub unavailable: usize,
    /// Documents held here and by the peer that the peer would not take (it refused a
    /// change made here, or this device may no longer share them): still held here,
    /// as they are.
    pub refused: Vec<DocKey>,
    /// Documents that arrived or changed but do not read as their type: kept and set
    /// aside (see `Store::set_aside_documents`), the rest of the sync went on.
    pub set_aside: Vec<DocKey>,
}

pub(crate) const CONN: ConnId = 1;

/// One connection of a device, sans-IO.
pub struct Session {
    engine: Engine,
    docs: StoreDocuments,
    closed: Option<Option<String>>,
    report: SyncReport,
    /// Documents held here that the peer answered as unavailable.
    refused: Vec<DocumentId>,
}

impl Session {
    /// A session for this device's store. `peer_id` names this device on the wire.
    pub fn new(docs: StoreDocuments, peer_id: &str, limits: Limits) -> Self {
        Self {
            engine: Engine::new(peer_id, limits),
            docs,
            closed: None,
            report: SyncReport::default(),
            refused: Vec::new(),
        }
    }

    /// Limits what the peer may see.
    pub fn set_scope(&mut self, scope: PeerScope) {
        self.docs.set_scope(CONN, scope);
    }

    /// Asks the peer for a document this device does not hold.
    pub fn want(&mut self, key: DocKey) -> DocumentId {
        self.docs.want(key)
    }

    /// Starts the connection; returns the frames to send. `dialer` is the side that
    /// opened it.
    pub fn start(&mut self, dialer: bool) -> Vec<Vec<u8>> {
        let effects = self.engine.handle(
            &mut self.docs,
            Event::Connected {
                conn: CONN,
                dialer,
                expected_peer: None,
            },
        );
        let mut frames = self.absorb(effects);
        // Documents wanted before the connection is established are asked for as soon
        // as it is; a dialer learns that on the peer's answer.
        frames.extend(self.ask_wanted());
        frames
    }

    /// Takes one received frame; returns the frames to send.
    pub fn receive(&mut self, frame: Vec<u8>) -> Vec<Vec<u8>> {
        let effects = self
            .engine
            .handle(&mut self.docs, Event::Received { conn: CONN, frame });
        let established_now = effects
            .iter()
            .any(|e| matches!(e, Effect::Established { .. }));
        let mut frames = self.absorb(effects);
        if established_now {
            frames.extend(self.ask_wanted());
        }
        frames
    }

    /// Tells the peer about a local change to `key`; returns the frames to send.
    pub fn changed(&mut self, key: &DocKey) -> Vec<Vec<u8>> {
        let doc = self.docs.local_change(key);
        let effects = self.engine.handle(&mut self.docs, Event::Changed { doc });
        self.absorb(effects)
    }

    fn ask_wanted(&mut self) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        let wanted: Vec<DocumentId> = self
            .docs
            .offer(CONN)
            .into_iter()
            .filter(|id| !self.docs.has(id))
            .collect();
        for doc in wanted {
            let effects = self.engine.handle(&mut self.docs, Event::Want { doc });
            frames.extend(self.absorb(effects));
        }
        frames
    }

    fn absorb(&mut self, effects: Vec<Effect>) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        for effect in effects {
            match effect {
                Effect::Send { frame, .. } => frames.push(frame),
                Effect::Close { error, .. } => self.closed = Some(error),
                Effect::Unavailable { doc, .. } => {
                    self.report.unavailable += 1;
                    if self.docs.held_key(&doc).is_some() {
                        self.refused.push(doc);
                    }
                }
                Effect::Established { .. } | Effect::DocumentChanged { .. } => {}
            }
        }
        for key in self.docs.take_changed() {
            if !self.report.changed.contains(&key) {
                self.report.changed.push(key);
            }
        }
        for key in self.docs.take_set_aside() {
            if !self.report.set_aside.contains(&key) {
                self.report.set_aside.push(key);
            }
        }
        frames
    }

    /// Whether the handshake is done and every shared document is in sync as far as
    /// the last messages tell.
    pub fn in_sync(&mut self) -> bool {
        self.engine.in_sync(&mut self.docs, CONN)
    }

    /// `Some(None)` after a normal close, `Some(Some(reason))` after an error.
    pub fn closed(&self) -> Option<&Option<String>> {
        self.closed.as_ref()
    }

    /// What happened so far.
    pub fn report(&self) -> SyncReport {
        let c = self.engine.counters();
        // Refused by a peer that holds the document (one it does not hold and this
        // device may not bring stays here, unrefused), and still held here as that
        // same generation (an old generation the peer dropped and this device has
        // since replaced is not a refusal).
        let mut refused: Vec<DocKey> = Vec::new();
        for id in self.refused.iter().filter(|id| self.docs.heard(id)) {
            if let Some(key) = self.docs.held_key(id) {
                if !refused.contains(&key) {
                    refused.push(key);
                }
            }
        }
        SyncReport {
            frames_sent: c.frames_sent,
            bytes_sent: c.bytes_sent,
            frames_received: c.frames_received,
            bytes_received: c.bytes_received,
            refused,
            ..self.report.clone()
        }
    }

    pub fn store(&self) -> &crate::store::Store {
        self.docs.store()
    }
}

/// A blocking, message-oriented transport.
pub trait Transport {
    fn send(&mut self, frame: &[u8]) -> Result<()>;
    /// The next frame, or `None` when nothing arrived within `timeout`.
    fn recv(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>>;
    /// Whether the peer ended the connection cleanly (nothing more will arrive).
    fn peer_closed(&self) -> bool {
        false
    }
}

/// Frames over a TCP stream (a device-to-device link on the local network, or a
/// test's loopback socket).
pub struct TcpTransport {
    stream: std::net::TcpStream,
    decoder: FrameDecoder,
    pending: std::collections::VecDeque<Vec<u8>>,
    closed: bool,
}

impl TcpTransport {
    pub fn new(stream: std::net::TcpStream, max_frame: usize) -> Self {
        let _ = stream.set_nodelay(true);
        Self {
            stream,
            decoder: FrameDecoder::new(max_frame),
            pending: Default::default(),
            closed: false,
        }
    }
}

fn io_error(e: std::io::Error) -> Error {
    Error::Io(format!("{:?}", e.kind()))
}

impl Transport for TcpTransport {
    fn send(&mut self, frame: &[u8]) -> Result<()> {
        use std::io::Write;
        self.stream
            .write_all(&encode_frame(frame))
            .map_err(io_error)
    }

    fn recv(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>> {
        use std::io::Read;
        if let Some(f) = self.pending.pop_front() {
            return Ok(Some(f));
        }
        if self.closed {
            return Ok(None);
        }
        self.stream
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
            .map_err(io_error)?;
        let mut buf = vec![0u8; 64 * 1024];
        match self.stream.read(&mut buf) {
            Ok(0) => {
                self.closed = true;
                Ok(None)
            }
            Ok(n) => {
                self.pending.extend(self.decoder.push(&buf[..n])?);
                Ok(self.pending.pop_front())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(io_error(e)),
        }
    }

    fn peer_closed(&self) -> bool {
        self.closed && self.pending.is_empty()
    }
}

/// Drives `session` over `transport` until both sides are in sync and nothing has
/// arrived for `settle`, the peer closes, or `deadline` passes.
pub fn run(
    session: &mut Session,
    transport: &mut dyn Transport,
    dialer: bool,
    settle: Duration,
    deadline: Duration,
) -> Result<SyncReport> {
    let started = Instant::now();
    for frame in session.start(dialer) {
        transport.send(&frame)?;
    }
    let mut quiet_since = Instant::now();
    loop {
        if let Some(reason) = session.closed() {
            return match reason {
                Some(r) => Err(Error::Sync(r.clone())),
                None => Ok(session.report()),
            };
        }
        if started.elapsed() > deadline {
            return Err(Error::Sync("the peer did not finish in time".into()));
        }
        match transport.recv(Duration::from_millis(50))? {
            Some(frame) => {
                quiet_since = Instant::now();
                for out in session.receive(frame) {
                    transport.send(&out)?;
                }
            }
            None => {
                if transport.peer_closed() {
                    // The peer finished: a clean end when both sides were in sync.
                    return if session.in_sync() {
                        Ok(session.report())
                    } else {
                        Err(Error::Sync("the peer closed the connection early".into()))
                    };
                }
                if quiet_since.elapsed() >= settle && session.in_sync() {
                    return Ok(session.report());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_survive_any_split() {
        let frames: Vec<Vec<u8>> = vec![vec![1, 2, 3], vec![], vec![9; 300]];
        let stream: Vec<u8> = frames.iter().flat_map(|f| encode_frame(f)).collect();
        for piece in 1..8 {
            let mut d = FrameDecoder::new(1024);
            let mut got = Vec::new();
            for chunk in stream.chunks(piece) {
                got.extend(d.push(chunk).unwrap());
            }
            assert_eq!(got, frames);
        }
    }

    #[test]
    fn an_oversized_length_is_refused_before_buffering() {
        let mut d = FrameDecoder::new(10);
        assert!(d.push(&encode_frame(&[0; 11])[..4]).is_err());
    }
}
