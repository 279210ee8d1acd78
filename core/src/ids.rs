//! Typed identifiers. Every id is a UUID (v7, so ids sort by creation time) in its
//! hyphenated text form; the type says what it names, so a `NoteId` cannot be passed
//! where a `SessionId` is meant.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::Error;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Reconcile)]
        #[serde(transparent)]
        pub struct $name(String);

        // By hand: the derived impl does not hydrate inside an `Option`.
        impl Hydrate for $name {
            fn hydrate_string(s: &str) -> Result<Self, autosurgeon::HydrateError> {
                Ok(Self(s.to_string()))
            }
        }

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7().hyphenated().to_string())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// What kind of thing this id names, for error messages.
            pub const WHAT: &'static str = $what;
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                let id = uuid::Uuid::parse_str(s.trim())
                    .map_err(|_| Error::InvalidInput(concat!("not a valid ", $what, " id")))?;
                Ok(Self(id.hyphenated().to_string()))
            }
        }

        impl From<String> for $name {
            /// Used when reading ids back from documents and the index, which only
            /// ever hold ids this type wrote.
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}

id_type!(/// A project: one challenge worked through the six steps.
    ProjectId, "project");
id_type!(/// A member of the project team (a person with a device).
    MemberId, "member");
id_type!(/// A participant, known to the team only by a pseudonymous code.
    ParticipantId, "participant");
id_type!(/// A field session: interview, observation, diary, user journey or empathy map.
    SessionId, "session");
id_type!(/// A note captured in a session.
    NoteId, "note");
id_type!(/// An interview guide.
    GuideId, "guide");
id_type!(/// A question in an interview guide.
    QuestionId, "question");
id_type!(/// An insight in the Focus step.
    InsightId, "insight");
id_type!(/// A "How might we…?" question.
    HmwId, "question");
id_type!(/// An idea card.
    IdeaId, "idea");
id_type!(/// A prototype test.
    TestId, "test");
id_type!(/// A stakeholder on the stakeholder map.
    StakeholderId, "stakeholder");
id_type!(/// A consent record.
    ConsentId, "consent");
id_type!(/// A diary entry submitted by a participant.
    EntryId, "diary entry");
id_type!(/// A message from the team to a participant.
    MessageId, "message");
id_type!(/// A decision in the Realise step.
    DecisionId, "decision");
id_type!(/// A persona card.
    PersonaId, "persona");
id_type!(/// A development area grouping insights.
    AreaId, "development area");
id_type!(/// A photo or recording.
    AttachmentId, "attachment");

/// A participant's pseudonymous code, such as `P-07`: letters, digits and dashes only,
/// so that nobody types a real name into it by habit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Reconcile)]
#[serde(transparent)]
pub struct ParticipantCode(String);

impl Hydrate for ParticipantCode {
    fn hydrate_string(s: &str) -> Result<Self, autosurgeon::HydrateError> {
        Ok(Self(s.to_string()))
    }
}

impl ParticipantCode {
    /// The longest code accepted.
    pub const MAX_LEN: usize = 16;

    /// Checks the shape of a code: 1–16 ASCII letters, digits or dashes, and at least
    /// one digit (codes are numbered; a code without a number is most likely a name).
    pub fn parse(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        let shape_ok = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && s.chars().any(|c| c.is_ascii_digit());
        if shape_ok {
            Ok(Self(s.to_ascii_uppercase()))
        } else {
            Err(Error::InvalidInput(
                "a participant code is 1-16 letters, digits or dashes with at least one digit, e.g. P-07",
            ))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ParticipantCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for ParticipantCode {
    fn from(s: String) -> Self {
        Self(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_garbage() {
        let id = NoteId::new();
        let parsed: NoteId = id.as_str().parse().unwrap();
        assert_eq!(id, parsed);
        assert!("not-an-id".parse::<NoteId>().is_err());
    }

    #[test]
    fn participant_codes_are_pseudonyms() {
        assert_eq!(ParticipantCode::parse(" p-07 ").unwrap().as_str(), "P-07");
        assert!(
            ParticipantCode::parse("Anna").is_err(),
            "a name is not a code"
        );
        assert!(ParticipantCode::parse("P 07").is_err());
        assert!(ParticipantCode::parse("").is_err());
        assert!(ParticipantCode::parse("P-0000000000000007").is_err());
    }
}
