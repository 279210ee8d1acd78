//! A raw protocol client for the hub's refusal and attack tests: a WebSocket with a
//! real device token, frames written by hand.
#![allow(dead_code)]

use automerge::sync::SyncDoc;
use insikt_core::sync::wire::{DocumentId, Message};
use std::net::TcpStream;
use std::time::Duration;
use tungstenite::client::IntoClientRequest;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message as Ws, WebSocket};

pub type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

/// Opens `/v1/sync` with the token in a header or (as stock clients do) in the URL;
/// the HTTP status when the hub refuses the upgrade.
pub fn connect(url: &str, token: Option<&str>, in_query: bool) -> Result<Socket, u16> {
    let ws = url.replacen("http://", "ws://", 1);
    let target = match (token, in_query) {
        (Some(t), true) => format!("{ws}/v1/sync?token={t}"),
        _ => format!("{ws}/v1/sync"),
    };
    let mut req = target.into_client_request().unwrap();
    if let (Some(t), false) = (token, in_query) {
        req.headers_mut()
            .insert("Authorization", format!("Bearer {t}").parse().unwrap());
    }
    connect_request(req)
}

/// Opens a WebSocket at exactly `ws_url`.
pub fn connect_url(ws_url: &str) -> Result<Socket, u16> {
    connect_request(ws_url.into_client_request().unwrap())
}

fn connect_request(req: tungstenite::handshake::client::Request) -> Result<Socket, u16> {
    match tungstenite::connect(req) {
        Ok((s, _)) => Ok(s),
        Err(tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("unexpected: {e}"),
    }
}

pub fn send(s: &mut Socket, m: &Message) {
    s.send(Ws::Binary(m.encode().into())).unwrap();
}

/// Reads protocol messages until `want` matches one or the connection closes;
/// returns the match, or the close reason as an error.
pub fn read_until(s: &mut Socket, want: impl Fn(&Message) -> bool) -> Result<Message, String> {
    read_within(s, Duration::from_secs(10), want)
}

/// As [`read_until`], giving up when nothing arrives for `patience`.
pub fn read_within(
    s: &mut Socket,
    patience: Duration,
    want: impl Fn(&Message) -> bool,
) -> Result<Message, String> {
    if let MaybeTlsStream::Plain(t) = s.get_mut() {
        t.set_read_timeout(Some(patience)).unwrap();
    }
    loop {
        match s.read() {
            Ok(Ws::Binary(b)) => {
                let m = Message::decode(&b, 1 << 26).unwrap();
                if let Message::Error { message } = &m {
                    return Err(message.clone());
                }
                if want(&m) {
                    return Ok(m);
                }
            }
            Ok(Ws::Close(f)) => return Err(f.map(|f| f.reason.to_string()).unwrap_or_default()),
            Ok(_) => {}
            Err(e) => return Err(format!("closed: {e}")),
        }
    }
}

pub fn handshake(s: &mut Socket, me: &str) {
    send(
        s,
        &Message::Join {
            sender: me.into(),
            versions: vec!["1".into()],
            metadata: None,
        },
    );
    read_until(s, |m| matches!(m, Message::Peer { .. })).expect("the hub answers the join");
}

/// Sends one automerge sync message about `doc` as `me`.
pub fn send_sync(s: &mut Socket, me: &str, doc: DocumentId, data: Vec<u8>) {
    send(
        s,
        &Message::Sync {
            sender: me.into(),
            target: "insikt-hub".into(),
            doc,
            data,
        },
    );
}

/// Syncs `am` as document `doc` with the hub until both have nothing more to say;
/// returns whether the hub refused it (doc-unavailable).
pub fn sync_doc(
    s: &mut Socket,
    me: &str,
    doc: DocumentId,
    am: &mut automerge::AutoCommit,
    state: &mut automerge::sync::State,
) -> bool {
    if let Some(m) = am.sync().generate_sync_message(state) {
        send_sync(s, me, doc, m.encode());
    }
    if let MaybeTlsStream::Plain(t) = s.get_mut() {
        t.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    }
    loop {
        let frame = match s.read() {
            Ok(Ws::Binary(b)) => b,
            Ok(Ws::Close(f)) => panic!("the hub closed the connection: {f:?}"),
            Ok(_) => continue,
            // Quiet: nothing more is coming.
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            Err(e) => panic!("the connection failed: {e}"),
        };
        match Message::decode(&frame, 1 << 26).unwrap() {
            Message::Sync { doc: d, data, .. } if d == doc => {
                let m = automerge::sync::Message::decode(&data).unwrap();
                am.sync().receive_sync_message(state, m).unwrap();
                match am.sync().generate_sync_message(state) {
                    Some(m) => send_sync(s, me, doc, m.encode()),
                    // The hub answered and we have nothing to add.
                    None => return false,
                }
            }
            Message::DocUnavailable { doc: d, .. } if d == doc => return true,
            Message::Error { message } => panic!("the hub refused: {message}"),
            _ => {}
        }
    }
}

/// Asks for `doc` as a peer that holds nothing of it; true when the hub sends it,
/// false when it answers that the document is unavailable.
pub fn ask_for(s: &mut Socket, me: &str, doc: DocumentId) -> bool {
    let mut am = automerge::AutoCommit::new();
    let data = am
        .sync()
        .generate_sync_message(&mut automerge::sync::State::new())
        .unwrap()
        .encode();
    send(
        s,
        &Message::Request {
            sender: me.into(),
            target: "insikt-hub".into(),
            doc,
            data,
        },
    );
    let answer = read_until(s, |m| {
        matches!(m, Message::DocUnavailable { doc: d, .. } | Message::Sync { doc: d, .. } if *d == doc)
    })
    .unwrap();
    matches!(answer, Message::Sync { .. })
}
