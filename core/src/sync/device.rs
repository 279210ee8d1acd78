//! A device's store as the sync engine's document source.

use automerge::sync::{self, SyncDoc};
use automerge::AutoCommit;
use std::collections::{BTreeMap, HashMap, HashSet};

use super::engine::{Access, ConnId, Documents, Received};
use super::wire::DocumentId;
use crate::error::{Error, Result};
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

/// How many documents may be under way (arrived, not yet identified) at once.
const MAX_PROVISIONAL: usize = 1024;

/// The store, with the names of its documents by wire id and the documents a peer
/// is bringing that are not identified yet.
pub struct StoreDocuments {
    store: Store,
    names: HashMap<DocumentId, DocKey>,
    erased: HashSet<DocumentId>,
    /// Documents this device wants but does not hold (its project after enrolling,
    /// its inbox).
    wanted: BTreeMap<DocumentId, DocKey>,
    provisional: HashMap<DocumentId, AutoCommit>,
    scopes: HashMap<ConnId, PeerScope>,
    /// Documents that arrived or changed, for the caller to notice.
    changed: Vec<DocKey>,
}

impl StoreDocuments {
    pub fn new(store: Store) -> Result<Self> {
        let mut me = Self {
            store,
            names: HashMap::new(),
            erased: HashSet::new(),
            wanted: BTreeMap::new(),
            provisional: HashMap::new(),
            scopes: HashMap::new(),
            changed: Vec::new(),
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

    /// Asks peers for a document this device does not hold yet.
    pub fn want(&mut self, key: DocKey) -> DocumentId {
        let id = DocumentId::of(&key);
        self.names.insert(id, key.clone());
        self.wanted.insert(id, key);
        id
    }

    /// Registers a document changed here (it may be new), returning its wire id for
    /// an [`Event::Changed`](super::Event::Changed).
    pub fn local_change(&mut self, key: &DocKey) -> DocumentId {
        let id = DocumentId::of(key);
        if !self.erased.contains(&id) {
            self.names.insert(id, key.clone());
        }
        id
    }

    /// The documents that arrived or changed since the last call.
    pub fn take_changed(&mut self) -> Vec<DocKey> {
        std::mem::take(&mut self.changed)
    }

    /// Re-reads which documents and tombstones the store holds.
    pub fn refresh(&mut self) -> Result<()> {
        for key in self.store.document_keys()? {
            self.names.insert(DocumentId::of(&key), key);
        }
        for key in self.store.tombstones()? {
            let id = DocumentId::of(&key);
            self.names.remove(&id);
            self.wanted.remove(&id);
            self.erased.insert(id);
        }
        Ok(())
    }

    fn held(&self, doc: &DocumentId) -> Option<&DocKey> {
        self.names
            .get(doc)
            .filter(|_| !self.wanted.contains_key(doc))
    }

    fn in_scope(&self, conn: ConnId, doc: &DocumentId) -> bool {
        match self.scopes.get(&conn) {
            None | Some(PeerScope::All) => true,
            Some(PeerScope::Only(keys)) => keys.iter().any(|k| &DocumentId::of(k) == doc),
        }
    }

    /// Moves a provisional document into the store once its content names it.
    fn adopt(&mut self, doc: &DocumentId) -> Result<bool> {
        let Some(mut provisional) = self.provisional.remove(doc) else {
            return Ok(false);
        };
        if provisional.get_heads().is_empty() {
            return Ok(false);
        }
        let key = crate::store::identify_document(&provisional)?;
        if &DocumentId::of(&key) != doc {
            return Err(Error::Document(
                "a document arrived under an id that is not its name".into(),
            ));
        }
        let bytes = provisional.save();
        self.store.merge_document(&key, &bytes)?;
        self.wanted.remove(doc);
        self.names.insert(*doc, key.clone());
        self.after_change(&key)?;
        Ok(true)
    }

    fn after_change(&mut self, key: &DocKey) -> Result<()> {
        if matches!(key, DocKey::Project(_)) {
            // A project may carry erasures: learn the new tombstones.
            self.refresh()?;
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
        if self.erased.contains(doc) || !self.in_scope(conn, doc) {
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
        _conn: ConnId,
        doc: &DocumentId,
        state: &mut sync::State,
        message: sync::Message,
    ) -> Result<Received> {
        if let Some(key) = self.held(doc).cloned() {
            let changed = self.store.sync_receive(&key, state, message)?;
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
        let changed = self.adopt(doc)?;
        Ok(Received {
            changed,
            refused: false,
        })
    }
}
