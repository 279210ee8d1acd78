//! The store's side of sync: sync messages generated from and applied to stored
//! documents, with the index kept in step and erasures honoured.

use automerge::sync::{self, SyncDoc};

use super::docs::{self, DocKey};
use super::{refuse_erased, State, Store};
use crate::error::Result;

impl Store {
    /// The next automerge sync message for a peer whose state is `state`, or `None`
    /// when there is nothing to say. The document must be held here.
    pub fn sync_generate(
        &self,
        key: &DocKey,
        state: &mut sync::State,
    ) -> Result<Option<sync::Message>> {
        self.settle()?;
        let mut guard = self.lock();
        let State { conn, cache, .. } = &mut *guard;
        let doc = cache.get(conn, key)?;
        let message = doc.sync().generate_sync_message(state);
        Ok(message)
    }

    /// Applies a sync message from a peer to the document `key` (creating it when
    /// the message brings it), persists what is new and re-indexes it. Returns whether
    /// the document changed. A document new here must match its name.
    pub fn sync_receive(
        &self,
        key: &DocKey,
        state: &mut sync::State,
        message: sync::Message,
    ) -> Result<bool> {
        self.merge_with(key, |doc| {
            Ok(doc.sync().receive_sync_message(state, message)?)
        })
    }

    /// Every document held here with its heads (sorted, hex): two replicas with
    /// equal maps hold the same documents.
    pub fn document_heads(&self) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
        let keys = self.document_keys()?;
        let mut guard = self.lock();
        let State { conn, cache, .. } = &mut *guard;
        let mut out = std::collections::BTreeMap::new();
        for key in keys {
            let mut heads: Vec<String> = cache
                .get(conn, &key)?
                .get_heads()
                .iter()
                .map(|h| h.to_string())
                .collect();
            heads.sort();
            out.insert(key.to_string(), heads);
        }
        Ok(out)
    }

    /// Whether the document is held here.
    pub fn has_document(&self, key: &DocKey) -> Result<bool> {
        self.query(|c| docs::exists(c, key))
    }

    /// Whether the document was erased here (and is refused).
    pub fn is_erased(&self, key: &DocKey) -> Result<bool> {
        self.query(|c| Ok(refuse_erased(c, key).is_err()))
    }
}

/// A blob a document held here references, and the project that document belongs
/// to (the hub keeps blobs per project: an upload names it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobReference {
    pub hash: String,
    /// `thumbnail`, `preview` or `original`.
    pub rendition: &'static str,
    pub project: crate::ids::ProjectId,
}

impl Store {
    /// Every blob the documents held here reference, once per project, thumbnails
    /// first.
    pub fn blob_references(&self) -> Result<Vec<BlobReference>> {
        self.settle()?;
        let keys = self.document_keys()?;
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for key in keys {
            if matches!(key, DocKey::Participant(_)) {
                continue;
            }
            let info = {
                let mut guard = self.lock();
                let State { conn, cache, .. } = &mut *guard;
                match docs::describe(cache.get(conn, &key)?) {
                    Ok(info) => info,
                    // Set aside (it does not read): its photos wait until it does.
                    Err(crate::Error::Document(_)) => continue,
                    Err(e) => return Err(e),
                }
            };
            for (hash, rendition) in info.blobs {
                if seen.insert((hash.clone(), info.project.clone())) {
                    out.push(BlobReference {
                        hash,
                        rendition,
                        project: info.project.clone(),
                    });
                }
            }
        }
        // Thumbnails first: they are what a screen shows first.
        out.sort_by_key(|r| match r.rendition {
            "thumbnail" => 0,
            "preview" => 1,
            _ => 2,
        });
        Ok(out)
    }

    /// Whether the blob is held here.
    pub fn has_blob(&self, hash: &str) -> Result<bool> {
        Ok(self.blobs.contains(&super::media::parse_hash(hash)?)?)
    }

    /// Stores a blob fetched from another device or the hub, after checking it is
    /// the one its hash names.
    pub fn import_blob(&self, hash: &str, bytes: &[u8]) -> Result<()> {
        let expected = super::media::parse_hash(hash)?;
        if insikt_media::BlobHash::of(bytes) != expected {
            return Err(crate::Error::Media(
                "the blob does not match its hash".into(),
            ));
        }
        self.blobs.put(bytes)?;
        Ok(())
    }
}
