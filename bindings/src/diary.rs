//! Diaries and inboxes: a young person's own phone (participant mode) writes diary
//! entries into their inbox and reads the team's messages; the team writes back.

use insikt_core::domain as core;
use insikt_core::ids::{EntryId, MemberId, MessageId, ParticipantId, ProjectId, SessionId};
use insikt_core::Timestamp;

use crate::call::{background, call};
use crate::error::Result;
use crate::media::Attachment;
use crate::store::Store;

/// On a participant's own phone: whose inbox it holds, in which project.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ParticipantMode {
    pub participant: ParticipantId,
    pub project: ProjectId,
}

/// A photo for a diary entry.
#[derive(Clone, Debug, uniffi::Record)]
pub struct DiaryPhoto {
    /// JPEG, PNG or WebP; stripped of everything but its pixels.
    pub bytes: Vec<u8>,
    pub caption: String,
}

/// What to record for a diary entry.
#[derive(Clone, Debug, uniffi::Record)]
pub struct NewDiaryEntry {
    /// The diary study it belongs to.
    #[uniffi(default = None)]
    pub session: Option<SessionId>,
    #[uniffi(default = "")]
    pub heading: String,
    pub text: String,
    /// 1 (bad) to 5 (good).
    #[uniffi(default = None)]
    pub rating: Option<u8>,
    /// The team sees the entry without the participant's code.
    #[uniffi(default = false)]
    pub anonymous: bool,
    #[uniffi(default = None)]
    pub photo: Option<DiaryPhoto>,
}

impl From<NewDiaryEntry> for insikt_core::NewDiaryEntry {
    fn from(v: NewDiaryEntry) -> Self {
        let NewDiaryEntry {
            session,
            heading,
            text,
            rating,
            anonymous,
            photo,
        } = v;
        insikt_core::NewDiaryEntry {
            session,
            heading,
            text,
            rating,
            anonymous,
            photo: photo.map(|DiaryPhoto { bytes, caption }| (bytes, caption)),
        }
    }
}

/// A diary entry as read back.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct DiaryEntryView {
    pub id: EntryId,
    pub session: Option<SessionId>,
    pub heading: String,
    pub text: String,
    pub rating: Option<u8>,
    pub anonymous: bool,
    pub written_at: Timestamp,
    pub photo: Option<Attachment>,
}

/// A message from the team: what became of the participant's input.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct TeamMessageView {
    pub id: MessageId,
    pub text: String,
    pub from: MemberId,
    pub sent_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

/// A participant's inbox: their diary entries and the team's messages, oldest first.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Inbox {
    pub project: ProjectId,
    pub participant: ParticipantId,
    pub entries: Vec<DiaryEntryView>,
    pub messages: Vec<TeamMessageView>,
}

impl From<core::InboxDoc> for Inbox {
    fn from(v: core::InboxDoc) -> Self {
        let core::InboxDoc {
            schema: _,
            project_id,
            participant_id,
            entries,
            messages,
        } = v;
        let mut entries: Vec<DiaryEntryView> = entries
            .into_values()
            .map(
                |core::DiaryEntry {
                     id,
                     session,
                     heading,
                     text,
                     rating,
                     anonymous,
                     written_at,
                     photo,
                 }| DiaryEntryView {
                    id,
                    session,
                    heading,
                    text: text.as_str().to_string(),
                    rating,
                    anonymous,
                    written_at,
                    photo: photo.map(Into::into),
                },
            )
            .collect();
        entries.sort_by(|a, b| (a.written_at, &a.id).cmp(&(b.written_at, &b.id)));
        let mut messages: Vec<TeamMessageView> = messages
            .into_values()
            .map(
                |core::TeamMessage {
                     id,
                     text,
                     from,
                     sent_at,
                     read_at,
                 }| TeamMessageView {
                    id,
                    text: text.as_str().to_string(),
                    from,
                    sent_at,
                    read_at,
                },
            )
            .collect();
        messages.sort_by(|a, b| (a.sent_at, &a.id).cmp(&(b.sent_at, &b.id)));
        Inbox {
            project: project_id,
            participant: participant_id,
            entries,
            messages,
        }
    }
}

#[uniffi::export]
impl Store {
    /// On a participant's own phone (enrolled with a participant invite): whose inbox
    /// it holds. `null`/`nil` on a team device.
    pub fn participant_mode(&self) -> Result<Option<ParticipantMode>> {
        call(|| {
            Ok(self
                .core
                .participant_mode()?
                .map(|(participant, project)| ParticipantMode {
                    participant,
                    project,
                }))
        })
    }

    /// On a participant's own phone: writes a diary entry (a photo stripped of
    /// everything but its pixels) into their own inbox.
    pub async fn submit_own_diary_entry(&self, entry: NewDiaryEntry) -> Result<EntryId> {
        let core = self.core.clone();
        background(move || Ok(core.submit_own_diary_entry(entry.into())?)).await
    }

    /// On a participant's own phone: their inbox.
    pub fn own_inbox(&self) -> Result<Inbox> {
        call(|| Ok(self.core.own_inbox()?.into()))
    }

    /// On a shared team device: a diary entry for a participant, who must have
    /// consented to notes (and photos, with a photo).
    pub async fn submit_diary_entry(
        &self,
        participant: ParticipantId,
        entry: NewDiaryEntry,
    ) -> Result<EntryId> {
        let core = self.core.clone();
        background(move || Ok(core.submit_diary_entry(&participant, entry.into())?)).await
    }

    /// Writes to a participant about what happened with their input.
    pub fn send_message(&self, participant: ParticipantId, text: String) -> Result<MessageId> {
        call(|| Ok(self.core.send_message(&participant, &text)?))
    }

    /// A participant's inbox, as the team sees it.
    pub fn inbox(&self, participant: ParticipantId) -> Result<Inbox> {
        call(|| Ok(self.core.inbox(&participant)?.into()))
    }
}
