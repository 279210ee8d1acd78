//! Participants: pseudonymous codes with a role and an age band. No names.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::consent::{state_of, ConsentRecord, ConsentScope, ConsentState};
use crate::i18n::labelled_enum;
use crate::ids::{MemberId, ParticipantCode, ParticipantId, ProjectId};
use crate::time::Timestamp;

labelled_enum! {
    /// The participant's relation to the service.
    ParticipantRole {
        Child = "child", "Barn", "Child";
        YoungPerson = "young-person", "Ung person", "Young person";
        Guardian = "guardian", "Vårdnadshavare", "Guardian";
        Staff = "staff", "Personal", "Staff";
        Other = "other", "Annan", "Other";
    }
}

labelled_enum! {
    /// An age band, coarse enough not to identify anyone.
    AgeBand {
        Under6 = "0-5", "0–5 år", "0–5 years";
        From6To9 = "6-9", "6–9 år", "6–9 years";
        From10To12 = "10-12", "10–12 år", "10–12 years";
        From13To15 = "13-15", "13–15 år", "13–15 years";
        From16To17 = "16-17", "16–17 år", "16–17 years";
        From18To24 = "18-24", "18–24 år", "18–24 years";
        Adult = "25+", "25 år och äldre", "25 years and older";
        Unknown = "unknown", "Okänd", "Unknown";
    }
}

/// A participant, and the whole content of their own participant document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Participant {
    pub schema: u64,
    pub id: ParticipantId,
    pub project_id: ProjectId,
    pub code: ParticipantCode,
    pub role: ParticipantRole,
    pub age_band: AgeBand,
    pub created_at: Timestamp,
    pub created_by: MemberId,
    /// Consent records by id.
    pub consents: BTreeMap<String, ConsentRecord>,
}

impl Participant {
    /// Whether `scope` is covered now.
    pub fn consent_state(&self, scope: ConsentScope) -> ConsentState {
        let records: Vec<&ConsentRecord> = self.consents.values().collect();
        state_of(&records, scope)
    }

    /// Whether `scope` is covered now.
    pub fn covers(&self, scope: ConsentScope) -> bool {
        self.consent_state(scope) == ConsentState::Given
    }

    /// Whether a child's consent must come from a guardian. Swedish practice asks a
    /// guardian for children under 15; the team may record both.
    pub fn needs_guardian(&self) -> bool {
        matches!(
            self.age_band,
            AgeBand::Under6 | AgeBand::From6To9 | AgeBand::From10To12
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::GivenBy;
    use crate::ids::ConsentId;

    fn participant() -> Participant {
        Participant {
            schema: 1,
            id: ParticipantId::new(),
            project_id: ProjectId::new(),
            code: ParticipantCode::parse("P-01").unwrap(),
            role: ParticipantRole::Child,
            age_band: AgeBand::From10To12,
            created_at: Timestamp(0),
            created_by: MemberId::new(),
            consents: BTreeMap::new(),
        }
    }

    fn grant(scope: ConsentScope) -> ConsentRecord {
        ConsentRecord {
            id: ConsentId::new(),
            scope,
            given_by: GivenBy::Guardian,
            given_at: Timestamp(1),
            information_version: "v1".into(),
            recorded_by: MemberId::new(),
            withdrawn_at: None,
            withdrawn_by: None,
        }
    }

    #[test]
    fn consent_is_per_scope_and_withdrawable() {
        let mut p = participant();
        assert_eq!(p.consent_state(ConsentScope::Notes), ConsentState::NotGiven);
        let g = grant(ConsentScope::Notes);
        p.consents.insert(g.id.to_string(), g.clone());
        assert!(p.covers(ConsentScope::Notes));
        assert!(
            !p.covers(ConsentScope::Photos),
            "notes consent does not cover photos"
        );
        let rec = p.consents.get_mut(g.id.as_str()).unwrap();
        rec.withdrawn_at = Some(Timestamp(2));
        assert_eq!(
            p.consent_state(ConsentScope::Notes),
            ConsentState::Withdrawn
        );
        assert!(p.needs_guardian());
    }
}
