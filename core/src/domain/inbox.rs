//! A youth participant's inbox: the only document their own device holds. They write
//! diary entries into it; the team writes back what became of their input.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::prose::Prose;
use crate::ids::{EntryId, MemberId, MessageId, ParticipantId, ProjectId, SessionId};
use crate::time::Timestamp;

/// A diary entry (dagbok): few headings, text, an optional rating.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct DiaryEntry {
    pub id: EntryId,
    /// The diary study it belongs to.
    pub session: Option<SessionId>,
    pub heading: String,
    pub text: Prose,
    /// 1 (bad) to 5 (good).
    pub rating: Option<u8>,
    /// When set, the team sees the entry without the participant's code.
    pub anonymous: bool,
    pub written_at: Timestamp,
    /// A photo with its caption.
    #[autosurgeon(missing = "Default::default")]
    pub photo: Option<super::Attachment>,
}

/// A message from the team: what happened with the participant's input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct TeamMessage {
    pub id: MessageId,
    pub text: Prose,
    pub from: MemberId,
    pub sent_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

/// The inbox document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct InboxDoc {
    pub schema: u64,
    pub project_id: ProjectId,
    pub participant_id: ParticipantId,
    pub entries: BTreeMap<String, DiaryEntry>,
    pub messages: BTreeMap<String, TeamMessage>,
}
