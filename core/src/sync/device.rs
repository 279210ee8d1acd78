//! A device's store as the sync engine's document source.

use automerge::sync::{self, SyncDoc};
use automerge::AutoCommit;
use std::collections::{BTreeMap, HashMap, HashSet};

use super::engine::{Access, ConnId, Documents, Received};
use super::wire::DocumentId;
use crate::error::{Error, Result};
use crate::store::generation::generation_of;
use crate::store::{DocKey, Store};

/// What a peer on one connection may see of this device's documents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerScope {
    /// Everything held here: the hub (which enforces roles itself) or a team device
    /// paired for a workshop.
    All,
    /// Only these documents: a participant's phone met in the field sees its inbox.
    Only(Vec<DocKey>),
}

/// How many earlier generations of a document are refused by id alone.
const RECENT_GENERATIONS: u32 = 8;

/// How many documents may be under way (arrived, not yet identified) at once.
const MAX_PROVISIONAL: usize = 1024;

/// The store, with the names of its documents by wire id and the documents a peer
/// is bringing that are not identified yet.
pub struct StoreDocuments {
    store: Store,
    names: HashMap<DocumentId, DocKey>,
    /// The generation held of each document (see `store::generation`).
    generations: HashMap<DocKey, u32>,
    erased: HashSet<DocumentId>,
    /// Ids of generations older than the one held: refused.
    superseded: HashSet<DocumentId>,
    /// Documents this device wants but does not hold (its project after enrolling,
    /// its inbox).
    wanted: BTreeMap<DocumentId, DocKey>,
    provisional: HashMap<DocumentId, AutoCommit>,
    scopes: HashMap<ConnId, PeerScope>,
    /// Connections to the hub: only from there is a later generation of a document
    /// accepted (only the hub builds them).
    hubs: HashSet<ConnId>,
    /// Documents that arrived or changed, for the caller to notice.
    changed: Vec<DocKey>,
    /// Documents that arrived or changed but do not read as their type: kept, set
    /// aside (see `Store::set_aside_documents`).
    set_aside: Vec<DocKey>,
    /// Documents the peer holds too (it sent their heads).
    heard: HashSet<DocumentId>,
}

impl StoreDocuments {
    pub fn new(store: Store) -> Result<Self> {
        let mut me = Self {
            store,
            names: HashMap::new(),
            generations: HashMap::new(),
            erased: HashSet::new(),
            superseded: HashSet::new(),
            wanted: BTreeMap::new(),
            provisional: HashMap::new(),
            scopes: HashMap::new(),
            hubs: HashSet::new(),
            changed: Vec::new(),
            set_aside: Vec::new(),
            heard: HashSet::new(),
        };
        me.refresh()?;
        Ok(me)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Sets what the peer on `conn` may see (everything, unless said otherwise).
    pub fn set_scope(&mut self, conn: ConnId, scope: PeerScope) {
        self.scopes.insert(conn, scope);
    }

    /// Marks `conn` as the connection to the hub, the one source of later generations
    /// of documents (see `store::generation`).
    pub fn set_hub(&mut self, conn: ConnId) {
        self.hubs.insert(conn);
    }

    /// Asks peers for a document this device does not hold yet (one it holds is
    /// synced anyway).
    pub fn want(&mut self, key: DocKey) -> DocumentId {
        if let Some(g) = self.generations.get(&key) {
            return DocumentId::of_generation(&key, *g);
        }
        let id = DocumentId::of(&key);
        self.names.insert(id, key.clone());
        self.wanted.insert(id, key);
        id
    }

    /// The wire id of the generation of `key` held here (the first, for a document
    /// not held).
    fn id_of(&self, key: &DocKey) -> DocumentId {
        DocumentId::of_generation(key, self.generations.get(key).copied().unwrap_or(0))
    }

    /// Registers a document changed here (it may be new), returning its wire id for
    /// an [`Event::Changed`](super::Event::Changed).
    pub fn local_change(&mut self, key: &DocKey) -> DocumentId {
        if !self.generations.contains_key(key) {
            if let Ok(Some(g)) = self.store.document_generation(key) {
                self.generations.insert(key.clone(), g);
            }
        }
        let id = self.id_of(key);
        if !self.erased.contains(&id) {
            self.names.insert(id, key.clone());
        }
        id
    }

    /// The documents that arrived or changed since the last call.
    pub fn take_changed(&mut self) -> Vec<DocKey> {
        std::mem::take(&mut self.changed)
    }

    /// The documents set aside since the last call: they arrived or changed but do
    /// not read as their type.
    pub fn take_set_aside(&mut self) -> Vec<DocKey> {
        std::mem::take(&mut self.set_aside)
    }

    /// Whether the peer holds `doc` too (it sent its heads).
    pub fn heard(&self, doc: &DocumentId) -> bool {
        self.heard.contains(doc)
    }

    /// The name of a document held here under the wire id `doc` (the live
    /// generation), if any.
    pub fn held_key(&self, doc: &DocumentId) -> Option<DocKey> {
        self.held(doc)
            .filter(|key| &self.id_of(key) == doc)
            .cloned()
    }

    /// Re-reads which documents and tombstones the store holds.
    pub fn refresh(&mut self) -> Result<()> {
        for (key, generation) in self.store.document_generations()? {
            // The ids of the last few generations are refused at once; an older one
            // is refused once its content names it.
            for older in generation.saturating_sub(RECENT_GENERATIONS)..generation {
                let id = DocumentId::of_generation(&key, older);
                self.names.remove(&id);
                self.wanted.remove(&id);
                self.superseded.insert(id);
            }
            self.names
                .insert(DocumentId::of_generation(&key, generation), key.clone());
            self.generations.insert(key, generation);
        }
        for key in self.store.tombstones()? {
            // Every generation of an erased document is refused (a later one arriving
            // is refused once its content names it).
            let last = self.generations.remove(&key).unwrap_or(0);
            for generation in last.saturating_sub(RECENT_GENERATIONS)..=last {
                let id = DocumentId::of_generation(&key, generation);
                self.names.remove(&id);
                self.wanted.remove(&id);
                self.erased.insert(id);
            }
        }
        Ok(())
    }

    fn held(&self, doc: &DocumentId) -> Option<&DocKey> {
        self.names
            .get(doc)
            .filter(|_| !self.wanted.contains_key(doc))
    }

    /// Whether the peer on `conn` may see `key`.
    fn key_in_scope(&self, conn: ConnId, key: &DocKey) -> bool {
        match self.scopes.get(&conn) {
            None | Some(PeerScope::All) => true,
            Some(PeerScope::Only(keys)) => keys.contains(key),
        }
    }

    /// Whether the peer on `conn` may see `doc`. A document not named yet may arrive
    /// (a later generation of one in scope); its name is checked once it is known.
    fn in_scope(&self, conn: ConnId, doc: &DocumentId) -> bool {
        match self.names.get(doc) {
            Some(key) => self.key_in_scope(conn, key),
            None => true,
        }
    }

    /// Moves a provisional document into the store once its content names it: a new
    /// document, or a later generation of one held here (which replaces it). An
    /// older generation, or a document out of the peer's scope, is refused.
    fn adopt(&mut self, conn: ConnId, doc: &DocumentId) -> Result<Received> {
        let refused = Received {
            changed: false,
            refused: true,
        };
        let Some(mut provisional) = self.provisional.remove(doc) else {
            return Ok(Received::default());
        };
        if provisional.get_heads().is_empty() {
            return Ok(Received::default());
        }
        let key = crate::store::identify_document(&provisional)?;
        let generation = generation_of(&provisional)?;
        if &DocumentId::of_generation(&key, generation) != doc {
            return Err(Error::Document(
                "a document arrived under an id that is not its name".into(),
            ));
        }
        if !self.key_in_scope(conn, &key) {
            return Ok(refused);
        }
        if self.store.is_erased(&key)? {
            self.erased.insert(*doc);
            return Ok(refused);
        }
        if generation == 0 && !crate::store::generation::is_plain_first_generation(&provisional)? {
            // A first generation says nothing of generations.
            return Ok(refused);
        }
        if generation > 0 && !self.hubs.contains(&conn) {
            // Only the hub builds generations: one from anyone else is refused.
            return Ok(refused);
        }
        let bytes = provisional.save();
        match self.store.document_generation(&key)? {
            Some(held) if held > generation => {
                // An older generation than the one held: what it carries was purged.
                self.superseded.insert(*doc);
                return Ok(refused);
            }
            Some(held) if held < generation => {
                self.store.adopt_generation(&key, &bytes)?;
                let old = DocumentId::of_generation(&key, held);
                self.names.remove(&old);
                self.superseded.insert(old);
            }
            _ => {
                self.store.merge_document(&key, &bytes)?;
            }
        }
        self.generations.insert(key.clone(), generation);
        self.wanted.retain(|_, k| k != &key);
        self.names.insert(*doc, key.clone());
        self.after_change(&key)?;
        Ok(Received {
            changed: true,
            refused: false,
        })
    }

    fn after_change(&mut self, key: &DocKey) -> Result<()> {
        if matches!(key, DocKey::Project(_)) {
            // A project may carry erasures: learn the new tombstones.
            self.refresh()?;
        }
        if self.store.is_set_aside(key)? {
            self.set_aside.push(key.clone());
        }
        self.changed.push(key.clone());
        Ok(())
    }
}

impl Documents for StoreDocuments {
    fn offer(&mut self, conn: ConnId) -> Vec<DocumentId> {
        // Documents created here since the last look are offered too. A failure to
        // read the list only means offering what was known.
        let _ = self.refresh();
        // Projects first: they carry erasures, which the peer should honour before
        // anything else arrives.
        let mut held: Vec<(&DocKey, DocumentId)> =
            self.names.iter().map(|(id, key)| (key, *id)).collect();
        held.sort_by_key(|(key, _)| (!matches!(key, DocKey::Project(_)), (*key).clone()));
        held.into_iter()
            .map(|(_, id)| id)
            .filter(|id| self.in_scope(conn, id))
            .collect()
    }

    fn access(&mut self, conn: ConnId, doc: &DocumentId) -> Access {
        if self.erased.contains(doc) || self.superseded.contains(doc) || !self.in_scope(conn, doc) {
            return Access::None;
        }
        Access::ReadWrite
    }

    fn has(&mut self, doc: &DocumentId) -> bool {
        self.held(doc).is_some()
    }

    fn generate(
        &mut self,
        _conn: ConnId,
        doc: &DocumentId,
        state: &mut sync::State,
    ) -> Result<Option<sync::Message>> {
        match self.held(doc).cloned() {
            Some(key) => self.store.sync_generate(&key, state),
            None => match self.provisional.get_mut(doc) {
                Some(provisional) => Ok(provisional.sync().generate_sync_message(state)),
                None => Ok(AutoCommit::new().sync().generate_sync_message(state)),
            },
        }
    }

    fn receive(
        &mut self,
        conn: ConnId,
        doc: &DocumentId,
        state: &mut sync::State,
        message: sync::Message,
    ) -> Result<Received> {
        if !message.heads.is_empty() {
            // The peer holds the document (it has heads for it).
            self.heard.insert(*doc);
        }
        if let Some(key) = self.held(doc).cloned() {
            let changed = match self.store.sync_receive(&key, state, message) {
                Err(Error::NotAllowed(why)) if why == crate::store::generation::LINEAGE_REFUSED => {
                    // A change to what only the hub writes: this document is refused
                    // on this connection, the rest goes on.
                    return Ok(Received {
                        changed: false,
                        refused: true,
                    });
                }
                other => other?,
            };
            if changed {
                self.after_change(&key)?;
            }
            return Ok(Received {
                changed,
                refused: false,
            });
        }
        if !self.provisional.contains_key(doc) && self.provisional.len() >= MAX_PROVISIONAL {
            return Err(Error::InvalidInput("too many documents under way"));
        }
        let provisional = self.provisional.entry(*doc).or_default();
        let applied = provisional.sync().receive_sync_message(state, message);
        if applied.is_err() || provisional.get_heads().is_empty() {
            // Nothing arrived: keep nothing for it.
            self.provisional.remove(doc);
            applied?;
        }
        self.adopt(conn, doc)
    }
}
