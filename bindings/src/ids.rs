//! Typed ids and times as they cross: every id is a `String` on the foreign side (a
//! type alias in Kotlin and Swift, so it still reads as `ParticipantId`), checked
//! when it comes back in; a time is milliseconds since the Unix epoch (UTC).

use insikt_core::ids::{
    AttachmentId, ConsentId, EntryId, GuideId, HmwId, IdeaId, InsightId, MemberId, MessageId,
    NoteId, ParticipantId, ProjectId, QuestionId, SessionId,
};
use insikt_core::Timestamp;

use crate::error::InsiktError;

/// Declares core's id types as custom types over `String`. An id that does not parse
/// is refused with `InvalidInput` before the call runs.
macro_rules! ids {
    ($($id:ident),+ $(,)?) => {$(
        uniffi::custom_type!($id, String, {
            remote,
            lower: |id| id.as_str().to_string(),
            try_lift: |text| text
                .parse::<$id>()
                .map_err(|e| uniffi::deps::anyhow::Error::from(InsiktError::from(e))),
        });
    )+};
}

ids!(
    ProjectId,
    MemberId,
    ParticipantId,
    ConsentId,
    SessionId,
    NoteId,
    GuideId,
    QuestionId,
    AttachmentId,
    InsightId,
    HmwId,
    IdeaId,
    EntryId,
    MessageId,
);

uniffi::custom_type!(Timestamp, i64, {
    remote,
    lower: |t| t.0,
    try_lift: |ms| Ok(Timestamp(ms)),
});
