//! Reading documents into their types, as every replica does.
//!
//! A document may have been written by this build, an older one, or a stock
//! automerge client writing ordinary JavaScript values through the documented
//! shapes. Those clients write what JavaScript has: a string is a collaborative text
//! object (automerge 3) unless wrapped, and a number is a signed integer or a float.
//! The Rust types say `String` or `Prose`, `u32` or `i64`. The reader here accepts
//! every representation that means the same value and nothing else:
//!
//! - a text object where a string is expected, and a string where text is;
//! - a signed integer, or a float with no fractional part, where an unsigned one is
//!   expected — when it is not negative and fits the type;
//! - an unsigned integer where a signed one is expected, when it fits.
//!
//! A negative count, a fraction, a number where a word belongs, a map where a value
//! belongs: still an error. The hub and every device read with this reader, so a
//! document the hub accepts is one every device can read.

use automerge::{AutomergeError, ChangeHash, ObjId, ObjType, ScalarValue, Value};
use autosurgeon::{Hydrate, HydrateError, Prop, ReadDoc};
use std::borrow::Cow;
use std::ops::RangeBounds;

/// The largest integer a float carries exactly.
const EXACT_F64: f64 = 9_007_199_254_740_992.0;

/// A document seen through the tolerant reader.
pub struct Lenient<'a, D>(pub &'a D);

/// Reads the whole document (its root) as `T`.
pub fn hydrate<D: ReadDoc, T: Hydrate>(doc: &D) -> Result<T, HydrateError> {
    autosurgeon::hydrate(&Lenient(doc))
}

/// Reads `obj.prop` as `T`.
pub fn hydrate_prop<'p, D: ReadDoc, T: Hydrate, O: AsRef<ObjId>, P: Into<Prop<'p>>>(
    doc: &D,
    obj: O,
    prop: P,
) -> Result<T, HydrateError> {
    autosurgeon::hydrate_prop(&Lenient(doc), obj, prop)
}

/// The value as the domain types expect to meet it (see the module's rules).
fn normalise<'v, D: ReadDoc>(doc: &D, value: Value<'v>, id: &ObjId) -> Value<'v> {
    match value {
        Value::Object(ObjType::Text) => match doc.text(id) {
            Ok(s) => Value::Scalar(Cow::Owned(ScalarValue::Str(s.into()))),
            Err(_) => Value::Object(ObjType::Text),
        },
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Int(i) if *i >= 0 => {
                Value::Scalar(Cow::Owned(ScalarValue::Uint(i.unsigned_abs())))
            }
            ScalarValue::F64(f) if f.fract() == 0.0 && f.abs() <= EXACT_F64 => {
                let n = if *f >= 0.0 {
                    ScalarValue::Uint(*f as u64)
                } else {
                    ScalarValue::Int(*f as i64)
                };
                Value::Scalar(Cow::Owned(n))
            }
            _ => Value::Scalar(s),
        },
        other => other,
    }
}

impl<D: ReadDoc> ReadDoc for Lenient<'_, D> {
    type Parents<'b>
        = D::Parents<'b>
    where
        Self: 'b;

    fn get_heads(&self) -> Vec<ChangeHash> {
        self.0.get_heads()
    }

    fn get<P: Into<automerge::Prop>>(
        &self,
        obj: &ObjId,
        prop: P,
    ) -> Result<Option<(Value<'_>, ObjId)>, AutomergeError> {
        Ok(self
            .0
            .get(obj, prop)?
            .map(|(v, id)| (normalise(self.0, v, &id), id)))
    }

    fn object_type<O: AsRef<ObjId>>(&self, obj: O) -> Option<ObjType> {
        self.0.object_type(obj)
    }

    fn map_range<'a, O, R>(&'a self, obj: O, range: R) -> automerge::iter::MapRange<'a>
    where
        R: RangeBounds<String> + 'a,
        O: AsRef<ObjId>,
        R: RangeBounds<String>,
    {
        self.0.map_range(obj, range)
    }

    fn list_range<O: AsRef<ObjId>, R: RangeBounds<usize>>(
        &self,
        obj: O,
        range: R,
    ) -> automerge::iter::ListRange<'_> {
        self.0.list_range(obj, range)
    }

    fn length<O: AsRef<ObjId>>(&self, obj: O) -> usize {
        self.0.length(obj)
    }

    fn text<O: AsRef<ObjId>>(&self, obj: O) -> Result<String, AutomergeError> {
        self.0.text(obj)
    }

    fn parents<O: AsRef<ObjId>>(&self, obj: O) -> Result<Self::Parents<'_>, AutomergeError> {
        self.0.parents(obj)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A small signed number (a journey's emotion, -2 to 2): the tolerant reader shows a
/// non-negative integer as unsigned, which the plain `i8` does not take.
pub fn small_signed<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    prop: Prop<'_>,
) -> Result<Option<i8>, HydrateError> {
    struct Signed(Option<i8>);
    impl Hydrate for Signed {
        fn hydrate_none() -> Result<Self, HydrateError> {
            Ok(Signed(None))
        }
        fn hydrate_int(i: i64) -> Result<Self, HydrateError> {
            i8::try_from(i)
                .map(|v| Signed(Some(v)))
                .map_err(|_| HydrateError::unexpected("a small number", "a large one".into()))
        }
        fn hydrate_uint(u: u64) -> Result<Self, HydrateError> {
            i8::try_from(u)
                .map(|v| Signed(Some(v)))
                .map_err(|_| HydrateError::unexpected("a small number", "a large one".into()))
        }
    }
    Ok(Signed::hydrate(doc, obj, prop)?.0)
}

/// A text value at `obj.prop`, whether stored as a string or a text object.
pub fn text_at<D: automerge::ReadDoc>(
    doc: &D,
    obj: &ObjId,
    prop: &str,
) -> Result<Option<String>, AutomergeError> {
    Ok(match doc.get(obj, prop)? {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(t) => Some(t.to_string()),
            _ => None,
        },
        Some((Value::Object(ObjType::Text), id)) => Some(doc.text(&id)?),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DiaryEntry, InboxDoc, NoteAnchor, Prose};
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    /// An inbox as a stock JS client writes it: strings as text objects, numbers
    /// signed or floats.
    fn js_inbox() -> AutoCommit {
        let mut doc = AutoCommit::new();
        let text = |doc: &mut AutoCommit, obj: &ObjId, key: &str, value: &str| {
            let t = doc.put_object(obj, key, ObjType::Text).unwrap();
            doc.splice_text(&t, 0, 0, value).unwrap();
        };
        doc.put(ROOT, "schema", 1_i64).unwrap();
        text(&mut doc, &ROOT, "project_id", "p");
        text(&mut doc, &ROOT, "participant_id", "q");
        doc.put_object(ROOT, "messages", ObjType::Map).unwrap();
        let entries = doc.put_object(ROOT, "entries", ObjType::Map).unwrap();
        let e = doc.put_object(&entries, "e1", ObjType::Map).unwrap();
        text(&mut doc, &e, "id", "e1");
        doc.put(&e, "session", ScalarValue::Null).unwrap();
        text(&mut doc, &e, "heading", "Idag");
        doc.put(&e, "text", "en vanlig sträng").unwrap();
        doc.put(&e, "rating", 4.0_f64).unwrap();
        doc.put(&e, "anonymous", false).unwrap();
        doc.put(&e, "written_at", 1_700_000_000_000_i64).unwrap();
        doc
    }

    #[test]
    fn what_a_stock_js_client_writes_reads_as_the_type() {
        let doc = js_inbox();
        assert!(
            autosurgeon::hydrate::<_, InboxDoc>(&doc).is_err(),
            "the plain reader refuses it (the finding this reader fixes)"
        );
        let inbox: InboxDoc = hydrate(&doc).unwrap();
        let e: &DiaryEntry = &inbox.entries["e1"];
        assert_eq!(inbox.schema, 1);
        assert_eq!(e.heading, "Idag");
        assert_eq!(e.text, Prose::new("en vanlig sträng"));
        assert_eq!(e.rating, Some(4));
        assert_eq!(e.written_at.0, 1_700_000_000_000);
    }

    #[test]
    fn nonsense_is_still_refused() {
        for (field, value) in [
            ("rating", ScalarValue::Int(-1)),
            ("rating", ScalarValue::F64(2.5)),
            ("rating", ScalarValue::Uint(300)),
            ("rating", ScalarValue::Str("fyra".into())),
            ("written_at", ScalarValue::Str("igår".into())),
            ("anonymous", ScalarValue::Int(1)),
            ("heading", ScalarValue::Int(7)),
            ("written_at", ScalarValue::F64(f64::NAN)),
        ] {
            let mut doc = js_inbox();
            let entries = automerge::ReadDoc::get(&doc, ROOT, "entries")
                .unwrap()
                .unwrap()
                .1;
            let e = automerge::ReadDoc::get(&doc, &entries, "e1")
                .unwrap()
                .unwrap()
                .1;
            doc.put(&e, field, value.clone()).unwrap();
            assert!(
                hydrate::<_, InboxDoc>(&doc).is_err(),
                "{field} = {value:?} must not read"
            );
        }
        let mut doc = js_inbox();
        doc.put(ROOT, "schema", -1_i64).unwrap();
        assert!(hydrate::<_, InboxDoc>(&doc).is_err(), "a negative schema");
    }

    #[test]
    fn a_journeys_emotion_reads_from_every_integer_shape() {
        for (value, expected) in [
            (ScalarValue::Int(-2), Some(Some(-2))),
            (ScalarValue::Int(2), Some(Some(2))),
            (ScalarValue::Uint(1), Some(Some(1))),
            (ScalarValue::F64(-1.0), Some(Some(-1))),
            (ScalarValue::Null, Some(None)),
            (ScalarValue::Int(1000), None),
            (ScalarValue::Str("x".into()), None),
        ] {
            let mut doc = AutoCommit::new();
            doc.put(ROOT, "emotion", value.clone()).unwrap();
            let got = hydrate::<_, NoteAnchor>(&doc).ok().map(|a| a.emotion);
            assert_eq!(got, expected, "{value:?}");
        }
    }
}
