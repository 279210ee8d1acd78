//! Free text that several people may edit at once.

use autosurgeon::reconcile::TextReconciler;
use autosurgeon::{Hydrate, HydrateError, ReadDoc, Reconcile, Reconciler};
use serde::{Deserialize, Serialize};

/// Text stored as an automerge text object, so that two people who edit the same
/// note while apart both keep their words: a change is written as the smallest set of
/// character splices (automerge's `update_text`), not as a new value that replaces the
/// old one, so concurrent edits merge instead of one winning.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Prose(String);

impl Prose {
    /// New text.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The current text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Replaces the text; the document records only the difference.
    pub fn update(&mut self, s: impl Into<String>) {
        self.0 = s.into();
    }
}

impl Reconcile for Prose {
    type Key<'a> = autosurgeon::reconcile::NoKey;

    fn reconcile<R: Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        // `update` diffs against what the document holds, in the document's own
        // units (code points), so non-ASCII text such as "å" is spliced correctly.
        let mut text = reconciler.text()?;
        text.update(&self.0)
    }
}

impl Hydrate for Prose {
    fn hydrate_text<D: ReadDoc>(doc: &D, obj: &automerge::ObjId) -> Result<Self, HydrateError> {
        Ok(Self(doc.text(obj)?))
    }

    fn hydrate_string(s: &str) -> Result<Self, HydrateError> {
        Ok(Self(s.to_string()))
    }
}

impl From<&str> for Prose {
    fn from(s: &str) -> Self {
        Prose::new(s)
    }
}

impl From<String> for Prose {
    fn from(s: String) -> Self {
        Prose::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Reconcile, Hydrate)]
    struct Doc {
        text: Prose,
    }

    #[test]
    fn concurrent_edits_of_swedish_text_both_survive() {
        let mut a = automerge::AutoCommit::new();
        autosurgeon::reconcile(
            &mut a,
            &Doc {
                text: "Mötet gick bra".into(),
            },
        )
        .unwrap();
        let mut b = a.fork();
        let mut on_a: Doc = autosurgeon::hydrate(&a).unwrap();
        on_a.text.update("Mötet på förskolan gick bra");
        autosurgeon::reconcile(&mut a, &on_a).unwrap();
        let mut on_b: Doc = autosurgeon::hydrate(&b).unwrap();
        on_b.text.update("Mötet gick bra, tyckte hon");
        autosurgeon::reconcile(&mut b, &on_b).unwrap();
        a.merge(&mut b).unwrap();
        let merged: Doc = autosurgeon::hydrate(&a).unwrap();
        assert_eq!(
            merged.text.as_str(),
            "Mötet på förskolan gick bra, tyckte hon"
        );
    }
}
