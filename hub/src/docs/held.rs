//! Changes that arrive before the changes they depend on.
//!
//! A peer's sync message can carry a change whose dependencies the hub does not hold
//! yet: a bloom filter's false positive made the peer think the hub had them, and the
//! next round brings them when the hub asks. Such a change is not given to the
//! document — automerge would queue it there, where a later message from anyone could
//! complete it, and it would then be judged as that message's — but held with the
//! connection that brought it, until a later message of the same connection brings
//! what it needs. Then it is applied, and judged, as part of that message. What is
//! held is never stored, is bounded per connection and over the hub, and is dropped
//! with its connection.

use automerge::{Change, ChangeHash};
use insikt_core::sync::{ConnId, DocumentId};
use std::collections::{HashMap, HashSet, VecDeque};

/// How many bytes of changes one connection may have held: about one message's
/// worth (what a false positive leaves for one round trip); a forger's changes that
/// will never be completed are bounded by it.
pub const MAX_HELD_PER_CONN: usize = 16 << 20;
/// The same over every connection.
pub const MAX_HELD_TOTAL: usize = 32 << 20;

/// A change waiting for its dependencies.
struct Pending {
    hash: ChangeHash,
    deps: Vec<ChangeHash>,
    chunk: Vec<u8>,
}

/// The changes each connection brought for each document before their dependencies.
#[derive(Default)]
pub struct Held {
    by: HashMap<(ConnId, DocumentId), Vec<Pending>>,
    /// Bytes held per connection, and in all.
    per_conn: HashMap<ConnId, usize>,
    total: usize,
}

/// Holding a message's changes would take its connection, or the hub, over its share.
#[derive(Debug, PartialEq, Eq)]
pub struct OverShare;

impl Held {
    /// Splits a message's `chunks` for `doc` from `conn` (with what that connection
    /// held for it before) into what the document can take now, in an order it can
    /// take them in, and holds the rest. `has` says whether the document holds a
    /// change. A chunk that is not one change (a whole document) passes as it is.
    /// Over the share, nothing of this document is held any longer for `conn`.
    pub fn sort(
        &mut self,
        conn: ConnId,
        doc: DocumentId,
        chunks: Vec<Vec<u8>>,
        mut has: impl FnMut(&ChangeHash) -> bool,
    ) -> Result<Vec<Vec<u8>>, OverShare> {
        let mut whole = Vec::new();
        let mut pending = self.take(conn, doc);
        for chunk in chunks {
            match Change::try_from(chunk.as_slice()) {
                Ok(change) => pending.push(Pending {
                    hash: change.hash(),
                    deps: change.deps().to_vec(),
                    chunk,
                }),
                Err(_) => whole.push(chunk),
            }
        }
        let (ready, waiting) = order(pending, &mut has);
        let bytes: usize = waiting.iter().map(|p| p.chunk.len()).sum();
        let conn_bytes = self.per_conn.get(&conn).copied().unwrap_or(0) + bytes;
        if bytes > 0 && (conn_bytes > MAX_HELD_PER_CONN || self.total + bytes > MAX_HELD_TOTAL) {
            return Err(OverShare);
        }
        if !waiting.is_empty() {
            self.per_conn.insert(conn, conn_bytes);
            self.total += bytes;
            self.by.insert((conn, doc), waiting);
        }
        whole.extend(ready.into_iter().map(|p| p.chunk));
        Ok(whole)
    }

    /// What `conn` held for `doc`, no longer held.
    fn take(&mut self, conn: ConnId, doc: DocumentId) -> Vec<Pending> {
        let taken = self.by.remove(&(conn, doc)).unwrap_or_default();
        let bytes: usize = taken.iter().map(|p| p.chunk.len()).sum();
        if let Some(b) = self.per_conn.get_mut(&conn) {
            *b = b.saturating_sub(bytes);
            if *b == 0 {
                self.per_conn.remove(&conn);
            }
        }
        self.total = self.total.saturating_sub(bytes);
        taken
    }

    /// Drops what a connection held (it closed).
    pub fn drop_conn(&mut self, conn: ConnId) {
        let docs: Vec<DocumentId> = self
            .by
            .keys()
            .filter(|(c, _)| *c == conn)
            .map(|(_, d)| *d)
            .collect();
        for doc in docs {
            self.take(conn, doc);
        }
    }

    /// Drops what any connection held for a document (erased, or replaced by a new
    /// generation).
    pub fn drop_doc(&mut self, doc: &DocumentId) {
        let keys: Vec<(ConnId, DocumentId)> =
            self.by.keys().filter(|(_, d)| d == doc).copied().collect();
        for (conn, doc) in keys {
            self.take(conn, doc);
        }
    }

    /// Bytes of changes held, over every connection.
    pub fn bytes(&self) -> usize {
        self.total
    }
}

/// The changes whose dependencies the document holds or that come before them here,
/// in an order they apply in (Kahn's), and the rest. A duplicate of a change the
/// document holds is dropped.
fn order(
    pending: Vec<Pending>,
    has: &mut impl FnMut(&ChangeHash) -> bool,
) -> (Vec<Pending>, Vec<Pending>) {
    let mut seen = HashSet::new();
    let pending: Vec<Pending> = pending
        .into_iter()
        .filter(|p| !has(&p.hash) && seen.insert(p.hash))
        .collect();
    let index: HashMap<ChangeHash, usize> = pending
        .iter()
        .enumerate()
        .map(|(i, p)| (p.hash, i))
        .collect();
    let mut blocked = vec![false; pending.len()];
    let mut unmet = vec![0usize; pending.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); pending.len()];
    for (i, p) in pending.iter().enumerate() {
        for dep in &p.deps {
            match index.get(dep) {
                Some(&j) => {
                    unmet[i] += 1;
                    dependents[j].push(i);
                }
                None if !has(dep) => blocked[i] = true,
                None => {}
            }
        }
    }
    let mut queue: VecDeque<usize> = (0..pending.len())
        .filter(|&i| unmet[i] == 0 && !blocked[i])
        .collect();
    let mut sequence = Vec::with_capacity(pending.len());
    while let Some(i) = queue.pop_front() {
        sequence.push(i);
        for &k in &dependents[i] {
            unmet[k] -= 1;
            if unmet[k] == 0 && !blocked[k] {
                queue.push_back(k);
            }
        }
    }
    let mut slots: Vec<Option<Pending>> = pending.into_iter().map(Some).collect();
    let now: Vec<Pending> = sequence.iter().filter_map(|&i| slots[i].take()).collect();
    let later: Vec<Pending> = slots.into_iter().flatten().collect();
    (now, later)
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    /// Three changes in a chain, as chunks.
    fn chain() -> (AutoCommit, Vec<Vec<u8>>) {
        let mut doc = AutoCommit::new();
        let mut out = Vec::new();
        for i in 0..3 {
            doc.put(ROOT, "n", i as i64).unwrap();
            doc.commit();
            out.push(doc.get_last_local_change().unwrap().raw_bytes().to_vec());
        }
        (doc, out)
    }

    fn conn_doc() -> (ConnId, DocumentId) {
        (7, DocumentId::from_bytes([1; 16]))
    }

    #[test]
    fn changes_out_of_order_are_put_in_order() {
        let (_, c) = chain();
        let (conn, doc) = conn_doc();
        let mut held = Held::default();
        let sorted = held
            .sort(
                conn,
                doc,
                vec![c[2].clone(), c[0].clone(), c[1].clone()],
                |_| false,
            )
            .unwrap();
        assert_eq!(sorted, vec![c[0].clone(), c[1].clone(), c[2].clone()]);
        assert_eq!(held.bytes(), 0);
    }

    #[test]
    fn a_change_waits_with_its_connection_until_that_connection_completes_it() {
        let (_, c) = chain();
        let (conn, doc) = conn_doc();
        let mut held = Held::default();
        // The second and third arrive without the first.
        let now = held
            .sort(conn, doc, vec![c[1].clone(), c[2].clone()], |_| false)
            .unwrap();
        assert!(now.is_empty());
        assert_eq!(held.bytes(), c[1].len() + c[2].len());
        // Another connection bringing the first does not release them.
        let other = held.sort(99, doc, vec![c[0].clone()], |_| false).unwrap();
        assert_eq!(other, vec![c[0].clone()]);
        assert_eq!(held.bytes(), c[1].len() + c[2].len());
        // The same connection does, once the document holds the first.
        let first = Change::try_from(c[0].as_slice()).unwrap().hash();
        let now = held.sort(conn, doc, Vec::new(), |h| *h == first).unwrap();
        assert_eq!(now, vec![c[1].clone(), c[2].clone()]);
        assert_eq!(held.bytes(), 0);
    }

    #[test]
    fn what_a_connection_held_goes_with_it_and_shares_are_bounded() {
        let (_, c) = chain();
        let (conn, doc) = conn_doc();
        let mut held = Held::default();
        held.sort(conn, doc, vec![c[2].clone()], |_| false).unwrap();
        assert!(held.bytes() > 0);
        held.drop_conn(conn);
        assert_eq!(held.bytes(), 0);
        // A change whose dependency never comes, larger than a connection's share.
        let mut big = AutoCommit::new();
        big.put(ROOT, "a", 1).unwrap();
        big.commit();
        big.put(ROOT, "b", vec![0u8; MAX_HELD_PER_CONN + 1])
            .unwrap();
        big.commit();
        let orphan = big.get_last_local_change().unwrap().raw_bytes().to_vec();
        assert_eq!(
            held.sort(conn, doc, vec![orphan], |_| false),
            Err(OverShare)
        );
        assert_eq!(held.bytes(), 0);
    }
}
