//! The local-only roster: the real name behind a participant's code, for the person
//! who met them. It lives in a table of this device's store only — never in a
//! document, so it is never synced, never exported, and erased with the participant.

use rusqlite::{params, OptionalExtension};

use super::Store;
use crate::error::{Error, Result};
use crate::ids::ParticipantId;

impl Store {
    /// Remembers on this device only the name behind a participant's code.
    pub fn set_roster_name(&self, participant: &ParticipantId, name: &str) -> Result<()> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(Error::InvalidInput("a name is 1-200 characters"));
        }
        // Only for a participant of a project this device works in.
        self.participant(participant)?;
        self.query(|c| {
            c.execute(
                "INSERT INTO roster (participant, name) VALUES (?1, ?2)
                 ON CONFLICT (participant) DO UPDATE SET name = excluded.name",
                params![participant.as_str(), name],
            )?;
            Ok(())
        })
    }

    /// The name this device holds for a participant, if any.
    pub fn roster_name(&self, participant: &ParticipantId) -> Result<Option<String>> {
        self.query(|c| {
            Ok(c.query_row(
                "SELECT name FROM roster WHERE participant = ?1",
                [participant.as_str()],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    /// Forgets the name behind a participant's code.
    pub fn forget_roster_name(&self, participant: &ParticipantId) -> Result<()> {
        self.query(|c| {
            c.execute(
                "DELETE FROM roster WHERE participant = ?1",
                [participant.as_str()],
            )?;
            Ok(())
        })
    }
}
