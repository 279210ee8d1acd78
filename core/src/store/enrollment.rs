//! This device's enrollment with a hub, and participant mode: a young person's own
//! phone, enrolled as a participant, holds nothing but their inbox.

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::docs::DocKey;
use super::{NewDiaryEntry, Store};
use crate::domain::InboxDoc;
use crate::error::{Error, Result};
use crate::ids::{EntryId, ParticipantId, ProjectId};

/// What enrolling with a hub gave this device. The token is a secret: it is kept in
/// the encrypted store and never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubEnrollment {
    /// The hub's base URL, `http://host:port` or `https://…`.
    pub url: String,
    pub device_id: String,
    pub token: String,
    /// coordinator, researcher, reviewer, participant or coach.
    pub role: String,
    /// On a participant's phone: whose inbox it holds, in which project.
    pub participant: Option<String>,
    pub project: Option<String>,
    /// The certificate authority the hub's TLS certificate is checked against (PEM),
    /// when it is not a public one.
    #[serde(default)]
    pub ca_pem: Option<String>,
}

impl std::fmt::Debug for HubEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubEnrollment")
            .field("device_id", &self.device_id)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Records this device's enrollment (replacing an earlier one).
    pub fn set_enrollment(&self, e: &HubEnrollment) -> Result<()> {
        let json = serde_json::to_string(e).map_err(|_| Error::InvalidInput("enrollment"))?;
        self.query(|c| {
            c.execute(
                "INSERT INTO meta (key, value) VALUES ('hub', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![json],
            )?;
            // A new hub holds none of this device's audit log yet.
            c.execute("DELETE FROM meta WHERE key = 'audit_sent'", [])?;
            Ok(())
        })
    }

    /// This device's enrollment, if it has one.
    pub fn enrollment(&self) -> Result<Option<HubEnrollment>> {
        let json: Option<String> = self.query(|c| {
            Ok(
                c.query_row("SELECT value FROM meta WHERE key = 'hub'", [], |r| r.get(0))
                    .optional()?,
            )
        })?;
        json.map(|j| serde_json::from_str(&j).map_err(|_| Error::Storage("enrollment".into())))
            .transpose()
    }

    /// On a participant's own phone: the participant and project it serves.
    pub fn participant_mode(&self) -> Result<Option<(ParticipantId, ProjectId)>> {
        Ok(self.enrollment()?.and_then(|e| {
            if e.role != "participant" {
                return None;
            }
            Some((
                ParticipantId::from(e.participant?),
                ProjectId::from(e.project?),
            ))
        }))
    }

    fn require_participant_mode(&self) -> Result<(ParticipantId, ProjectId)> {
        self.participant_mode()?.ok_or(Error::NotAllowed(
            "this device is not a participant's phone",
        ))
    }

    /// On a participant's phone: writes a diary entry (with a photo, stripped of
    /// everything but its pixels) into their own inbox. The team's devices hold
    /// their consent; the phone holds only the inbox.
    pub fn submit_own_diary_entry(&self, input: NewDiaryEntry) -> Result<EntryId> {
        let (participant, project) = self.require_participant_mode()?;
        self.file_diary_entry(&project, &participant, input)
    }

    /// On a participant's phone: their inbox (their entries and the team's
    /// messages).
    pub fn own_inbox(&self) -> Result<InboxDoc> {
        let (participant, project) = self.require_participant_mode()?;
        let key = DocKey::Inbox(participant.clone());
        if !self.has_document(&key)? {
            return Ok(super::field::empty_inbox(&project, &participant));
        }
        self.read(&key)
    }
}
