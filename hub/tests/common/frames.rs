//! A raw client speaking the wire protocol frame by frame, with a real device token:
//! what an attacker's own program would do.

use insikt_core::sync::wire::{DocumentId, Message};
use std::net::TcpStream;
use std::time::Duration;
use tungstenite::client::IntoClientRequest;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message as Ws, WebSocket};

pub type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

/// Opens `/v1/sync`, the token in the header or (as stock clients send it) the URL.
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

/// As [`read_until`], giving up after `wait` without a frame (an error saying so).
pub fn read_within(
    s: &mut Socket,
    wait: Duration,
    want: impl Fn(&Message) -> bool,
) -> Result<Message, String> {
    if let MaybeTlsStream::Plain(t) = s.get_mut() {
        t.set_read_timeout(Some(wait)).unwrap();
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

/// Asks for `doc` as a peer that holds nothing of it; true when the hub sends it,
/// false when it answers that the document is unavailable.
pub fn ask_for(s: &mut Socket, me: &str, doc: DocumentId) -> bool {
    use automerge::sync::SyncDoc;
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
