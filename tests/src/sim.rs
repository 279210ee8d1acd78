//! A simulated network for sync: nodes are real stores driven by the real engine;
//! the network between them loses, duplicates and reorders frames, partitions and
//! heals, as a seed decides.

use insikt_core::sync::{ConnId, Effect, Engine, Event, Limits, StoreDocuments};
use insikt_core::{DocKey, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

/// One device on the simulated network.
pub struct Node {
    pub engine: Engine,
    pub docs: StoreDocuments,
}

impl Node {
    pub fn new(name: &str, store: Store) -> Node {
        Node {
            engine: Engine::new(name, Limits::default()),
            docs: StoreDocuments::new(store).expect("index the store's documents"),
        }
    }

    pub fn store(&self) -> &Store {
        self.docs.store()
    }
}

/// A frame on its way.
#[derive(Clone)]
struct InFlight {
    to: usize,
    conn: ConnId,
    frame: Vec<u8>,
}

/// A link between two nodes; up while both ends are connected.
struct Link {
    a: usize,
    b: usize,
    conn_a: ConnId,
    conn_b: ConnId,
}

/// What the network may do wrong, in chances per delivered frame.
#[derive(Clone, Copy, Debug)]
pub struct Faults {
    pub drop: f64,
    pub duplicate: f64,
    /// Deliver a random frame in flight instead of the oldest.
    pub reorder: f64,
    /// Cut a random link.
    pub partition: f64,
    /// Bring a random cut link back.
    pub heal: f64,
}

impl Faults {
    pub const NONE: Faults = Faults {
        drop: 0.0,
        duplicate: 0.0,
        reorder: 0.0,
        partition: 0.0,
        heal: 0.0,
    };
}

/// The network and its nodes.
pub struct Network {
    pub nodes: Vec<Node>,
    links: BTreeMap<(usize, usize), Link>,
    in_flight: Vec<InFlight>,
    next_conn: ConnId,
    pub rng: StdRng,
    /// Frames and bytes delivered.
    pub delivered: (u64, u64),
}

impl Network {
    pub fn new(nodes: Vec<Node>, seed: u64) -> Network {
        Network {
            nodes,
            links: BTreeMap::new(),
            in_flight: Vec::new(),
            next_conn: 1,
            rng: StdRng::seed_from_u64(seed),
            delivered: (0, 0),
        }
    }

    /// Connects `a` (dialling) and `b`, unless they are connected.
    pub fn connect(&mut self, a: usize, b: usize) {
        let pair = (a.min(b), a.max(b));
        if self.links.contains_key(&pair) {
            return;
        }
        let (conn_a, conn_b) = (self.next_conn, self.next_conn + 1);
        self.next_conn += 2;
        self.links.insert(
            pair,
            Link {
                a,
                b,
                conn_a,
                conn_b,
            },
        );
        self.apply(
            b,
            Event::Connected {
                conn: conn_b,
                dialer: false,
                expected_peer: None,
            },
        );
        self.apply(
            a,
            Event::Connected {
                conn: conn_a,
                dialer: true,
                expected_peer: None,
            },
        );
    }

    /// Cuts the link between `a` and `b`; frames on it are lost.
    pub fn disconnect(&mut self, a: usize, b: usize) {
        let Some(link) = self.links.remove(&(a.min(b), a.max(b))) else {
            return;
        };
        self.in_flight.retain(|f| {
            !(f.to == link.a && f.conn == link.conn_a || f.to == link.b && f.conn == link.conn_b)
        });
        self.apply(link.a, Event::Disconnected { conn: link.conn_a });
        self.apply(link.b, Event::Disconnected { conn: link.conn_b });
    }

    /// Cuts every link.
    pub fn disconnect_all(&mut self) {
        let pairs: Vec<(usize, usize)> = self.links.keys().copied().collect();
        for (a, b) in pairs {
            self.disconnect(a, b);
        }
    }

    /// Whether `a` and `b` are linked.
    pub fn linked(&self, a: usize, b: usize) -> bool {
        self.links.contains_key(&(a.min(b), a.max(b)))
    }

    /// Tells a node's peers that `key` changed on it.
    pub fn changed(&mut self, node: usize, key: &DocKey) {
        let doc = self.nodes[node].docs.local_change(key);
        self.apply(node, Event::Changed { doc });
    }

    fn apply(&mut self, node: usize, event: Event) {
        let n = &mut self.nodes[node];
        let effects = n.engine.handle(&mut n.docs, event);
        for effect in effects {
            match effect {
                Effect::Send { conn, frame } => {
                    if let Some(link) = self.link_of(node, conn) {
                        let (to, to_conn) = if link.a == node {
                            (link.b, link.conn_b)
                        } else {
                            (link.a, link.conn_a)
                        };
                        self.in_flight.push(InFlight {
                            to,
                            conn: to_conn,
                            frame,
                        });
                    }
                }
                Effect::Close { conn, error } => {
                    if let Some(e) = error {
                        panic!("node {node} closed connection {conn}: {e}");
                    }
                    if let Some((a, b)) = self.link_of(node, conn).map(|l| (l.a, l.b)) {
                        self.disconnect(a, b);
                    }
                }
                _ => {}
            }
        }
    }

    fn link_of(&self, node: usize, conn: ConnId) -> Option<&Link> {
        self.links
            .values()
            .find(|l| (l.a == node && l.conn_a == conn) || (l.b == node && l.conn_b == conn))
    }

    /// Whether frames are on their way.
    pub fn busy(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// Delivers one frame, with the faults' chances; returns false when nothing was
    /// in flight.
    pub fn step(&mut self, faults: Faults) -> bool {
        let n = self.nodes.len();
        if self.rng.random_bool(faults.partition) && !self.links.is_empty() {
            let pairs: Vec<(usize, usize)> = self.links.keys().copied().collect();
            let (a, b) = pairs[self.rng.random_range(0..pairs.len())];
            self.disconnect(a, b);
        }
        if self.rng.random_bool(faults.heal) {
            let a = self.rng.random_range(0..n);
            let b = self.rng.random_range(0..n);
            if a != b {
                self.connect(a, b);
            }
        }
        if self.in_flight.is_empty() {
            return false;
        }
        let i = if self.rng.random_bool(faults.reorder) {
            self.rng.random_range(0..self.in_flight.len())
        } else {
            0
        };
        let f = if self.rng.random_bool(faults.duplicate) {
            self.in_flight[i].clone()
        } else {
            self.in_flight.remove(i)
        };
        if self.rng.random_bool(faults.drop) {
            return true;
        }
        // A frame for a connection that is gone is lost with it.
        if self.link_of(f.to, f.conn).is_none() {
            return true;
        }
        self.delivered.0 += 1;
        self.delivered.1 += f.frame.len() as u64;
        self.apply(
            f.to,
            Event::Received {
                conn: f.conn,
                frame: f.frame,
            },
        );
        true
    }

    /// Delivers everything in flight in order, without faults. Returns the frames
    /// delivered.
    pub fn settle(&mut self, max_frames: usize) -> usize {
        let mut count = 0;
        while self.step(Faults::NONE) {
            count += 1;
            assert!(count <= max_frames, "the network did not settle");
        }
        count
    }

    /// Heals the network: every link is cut and made anew (fresh sync states, as
    /// after a reconnect), in a full mesh, and everything is delivered.
    pub fn heal_and_settle(&mut self) -> usize {
        self.disconnect_all();
        let n = self.nodes.len();
        for a in 0..n {
            for b in a + 1..n {
                self.connect(a, b);
            }
        }
        self.settle(1_000_000)
    }
}

/// Every document's heads, by name, on a store: equal maps mean equal replicas.
pub fn fingerprint(store: &Store) -> BTreeMap<String, Vec<String>> {
    store.document_heads().expect("read the documents' heads")
}
