//! Who may change what in the synced documents: one table, field by field, read by
//! the hub and by every device.
//!
//! - The hub applies each sync message, lists what its new changes touch
//!   ([`touched`], from the operations of the changes themselves, change by change
//!   with their authors), asks [`check`] whether the writer may touch each path, and
//!   checks that the document still reads as its type ([`schema`]). A change that
//!   breaks either is refused — that document only, for that peer; the rest of the
//!   connection goes on.
//! - Devices read the team through [`team::Team`]: a role, a revocation, a retention
//!   period or an erasure counts only when a coordinator (or the hub) wrote it, so a
//!   device never acts destructively on a value this table forbids, whoever relayed it.
//!
//! The table and the reason for each line are in `docs/sync.md` ("Who may write
//! what"). The module is pure: no storage, no network.

pub mod schema;
pub mod team;
mod touch;

pub use touch::{touched, Segment, Touch};

use crate::domain::MemberRole;
use crate::store::DocKey;

/// The kinds of document, as the policy tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocKind {
    Project,
    Participant,
    Session,
    Material,
    Inbox,
}

impl DocKind {
    /// The kind of the document `key`.
    pub fn of(key: &DocKey) -> DocKind {
        match key {
            DocKey::Project(_) => DocKind::Project,
            DocKey::Participant(_) => DocKind::Participant,
            DocKey::Session(_) => DocKind::Session,
            DocKey::Material(..) => DocKind::Material,
            DocKey::Inbox(_) => DocKind::Inbox,
        }
    }

    /// Every kind.
    pub const ALL: [DocKind; 5] = [
        DocKind::Project,
        DocKind::Participant,
        DocKind::Session,
        DocKind::Material,
        DocKind::Inbox,
    ];
}

/// Who writes: a device's role in the document's project, or the hub itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Writer {
    /// The hub: member entries for invited devices, device registrations, generations.
    Hub,
    Coordinator,
    Researcher,
    Reviewer,
    /// A remote coach: reads the project, writes nothing.
    Coach,
    /// A young person's own phone, writing to their own inbox (the caller has checked
    /// that the inbox is theirs).
    Participant,
}

impl From<MemberRole> for Writer {
    fn from(role: MemberRole) -> Writer {
        match role {
            MemberRole::Coordinator => Writer::Coordinator,
            MemberRole::Researcher => Writer::Researcher,
            MemberRole::Reviewer => Writer::Reviewer,
            MemberRole::Participant => Writer::Participant,
        }
    }
}

/// A writer, and the team member it writes as (decides whose dots it may move).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Who<'a> {
    pub writer: Writer,
    pub member: Option<&'a str>,
}

/// Why a change was refused: the rule it broke, never a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal(pub &'static str);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

use Writer::{Coordinator as C, Hub as H, Participant as P, Researcher as R, Reviewer as V};

/// Fixed when the document is created, by whoever creates it: its name.
const NOBODY: &[Writer] = &[];
const HUB: &[Writer] = &[H];
const COORDINATOR: &[Writer] = &[H, C];
const FIELD: &[Writer] = &[H, C, R];
const TEAM: &[Writer] = &[H, C, R, V];
const FIELD_AND_PHONE: &[Writer] = &[H, C, R, P];

/// The root fields only the hub writes (see `store::generation`).
const LINEAGE: [&str; 3] = ["generation", "retired", "purged_before"];

/// The root fields that say which document this is (see `store::docs::identify`):
/// a document never gains one its kind does not have, or it would read as another.
const NAMING: [&str; 7] = [
    "id",
    "project_id",
    "session_id",
    "participant_id",
    "code",
    "kind",
    "canvas",
];

/// Whether documents of `kind` have the root field `field`, of those in [`NAMING`].
fn names_kind(kind: DocKind, field: &str) -> bool {
    match kind {
        DocKind::Project => matches!(field, "id" | "canvas"),
        DocKind::Participant => matches!(field, "id" | "project_id" | "code"),
        DocKind::Session => matches!(field, "id" | "project_id" | "kind"),
        DocKind::Material => matches!(field, "project_id" | "session_id" | "participant_id"),
        DocKind::Inbox => matches!(field, "project_id" | "participant_id"),
    }
}

/// Who may write `path` of a document of `kind`, with the reason a refusal gives.
fn rule(kind: DocKind, path: &[Segment]) -> (&'static [Writer], &'static str) {
    let key = |i: usize| path.get(i).and_then(Segment::key);
    let Some(field) = key(0) else {
        return (NOBODY, "a change without a field");
    };
    if LINEAGE.contains(&field) {
        return (HUB, "only the hub writes a document's generation");
    }
    if NAMING.contains(&field) && !names_kind(kind, field) {
        return (NOBODY, "a document does not take another kind's name");
    }
    match kind {
        DocKind::Project => match field {
            "id" | "created_at" => (NOBODY, "a project's identity does not change"),
            "schema" | "name" | "lang" => (COORDINATOR, "only a coordinator renames a project"),
            "members" => (COORDINATOR, "only a coordinator changes the team"),
            "erasures" => (COORDINATOR, "only a coordinator records erasures"),
            "retention_days" => (COORDINATOR, "only a coordinator sets retention"),
            "dots_per_member" => (COORDINATOR, "only a coordinator sets the dots"),
            // The board, the canvas and everything else the team builds, and fields
            // of newer builds (which older ones ignore).
            _ => (TEAM, "only the team edits the project"),
        },
        DocKind::Participant => match field {
            "id" | "project_id" | "created_at" | "created_by" => {
                (NOBODY, "a participant's identity does not change")
            }
            _ => (FIELD, "only field staff change a participant's record"),
        },
        DocKind::Session => match field {
            "id" | "project_id" => (NOBODY, "a session's identity does not change"),
            _ => (FIELD, "only field staff change a session"),
        },
        DocKind::Material => match field {
            "project_id" | "session_id" | "participant_id" => {
                (NOBODY, "material's identity does not change")
            }
            _ => (FIELD, "only field staff change material"),
        },
        DocKind::Inbox => match field {
            "project_id" | "participant_id" => (NOBODY, "an inbox's identity does not change"),
            // A young person writes, edits and withdraws entries in their own inbox.
            "entries" if path.len() > 1 => (
                FIELD_AND_PHONE,
                "only the inbox's owner and field staff write entries",
            ),
            // …and marks the team's messages read; the messages themselves are the team's.
            "messages" if key(2) == Some("read_at") && path.len() == 3 => {
                (FIELD_AND_PHONE, "only field staff write messages")
            }
            _ => (FIELD, "only field staff write to an inbox"),
        },
    }
}

/// Whether `who` may make a change to a document of `kind` that touches `path`.
pub fn may_write(kind: DocKind, who: &Who<'_>, path: &[Segment]) -> Result<(), Refusal> {
    let (allowed, why) = rule(kind, path);
    if !allowed.contains(&who.writer) {
        return Err(Refusal(why));
    }
    // Dots are each member's own: `ideas/<idea>/votes/<member>`.
    let dots = kind == DocKind::Project
        && path.len() > 3
        && path[0].key() == Some("ideas")
        && path[2].key() == Some("votes");
    if dots {
        let own = who.member.is_some() && path[3].key() == who.member;
        if !(own || matches!(who.writer, H | C)) {
            return Err(Refusal("a member moves only their own dots"));
        }
    }
    Ok(())
}

/// Whether `who` may make every change in `touches` (see [`touched`]).
pub fn check(kind: DocKind, who: &Who<'_>, touches: &[Touch]) -> Result<(), Refusal> {
    touches
        .iter()
        .try_for_each(|t| may_write(kind, who, &t.path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Vec<Segment> {
        p.split('/')
            .map(|s| match s {
                "#" => Segment::Elem,
                k => Segment::Key(k.to_string()),
            })
            .collect()
    }

    fn may(kind: DocKind, writer: Writer, p: &str) -> bool {
        let who = Who {
            writer,
            member: Some("m1"),
        };
        may_write(kind, &who, &path(p)).is_ok()
    }

    #[test]
    fn only_a_coordinator_changes_the_team_retention_and_erasures() {
        for p in [
            "retention_days",
            "members/m2/role",
            "members/m2/revoked_at",
            "members/m1/role",
            "erasures/x/documents/#",
            "erasures",
            "dots_per_member",
            "name",
        ] {
            assert!(may(DocKind::Project, C, p), "{p}");
            assert!(may(DocKind::Project, H, p), "{p}");
            for w in [R, V, P, Writer::Coach] {
                assert!(!may(DocKind::Project, w, p), "{w:?} {p}");
            }
        }
        assert!(!may(DocKind::Project, C, "id"), "nobody renames the id");
    }

    #[test]
    fn reviewers_build_the_board_and_move_only_their_own_dots() {
        for p in [
            "insights/i/statement/#",
            "insights/i/questions/q/text",
            "ideas/i/title",
            "ideas/i/votes",
            "ideas/i/votes/m1",
            "tests/t/feedback/#",
            "canvas/purpose/#",
            "decisions/d/text",
            "a_field_of_a_newer_build",
        ] {
            assert!(may(DocKind::Project, V, p), "{p}");
        }
        assert!(!may(DocKind::Project, V, "ideas/i/votes/m2"));
        assert!(may(DocKind::Project, C, "ideas/i/votes/m2"));
        for kind in [DocKind::Participant, DocKind::Session, DocKind::Material] {
            assert!(!may(kind, V, "notes/n/text/#"));
            assert!(may(kind, R, "notes/n/text/#"));
        }
    }

    #[test]
    fn a_participants_phone_writes_only_its_entries_and_read_marks() {
        assert!(may(DocKind::Inbox, P, "entries/e/text/#"));
        assert!(may(DocKind::Inbox, P, "entries/e"));
        assert!(may(DocKind::Inbox, P, "messages/m/read_at"));
        for p in [
            "entries",
            "messages/m/text/#",
            "messages/m",
            "schema",
            "project_id",
            "something_else",
            "purged_before",
        ] {
            assert!(!may(DocKind::Inbox, P, p), "{p}");
        }
        for kind in [DocKind::Project, DocKind::Session, DocKind::Participant] {
            assert!(!may(kind, P, "notes/n"));
        }
        assert!(may(DocKind::Inbox, R, "messages/m/text/#"));
        assert!(!may(DocKind::Inbox, V, "messages/m/text/#"));
    }

    #[test]
    fn identity_and_generation_fields_are_fixed() {
        for (kind, p) in [
            (DocKind::Session, "id"),
            (DocKind::Session, "project_id"),
            (DocKind::Material, "participant_id"),
            (DocKind::Inbox, "participant_id"),
            (DocKind::Participant, "created_by"),
        ] {
            assert!(!may(kind, C, p), "{kind:?} {p}");
            assert!(!may(kind, H, p), "{kind:?} {p}");
        }
        for kind in DocKind::ALL {
            assert!(!may(kind, C, "generation"));
            assert!(may(kind, H, "retired/#"));
        }
        // A project that gained a `code` would read as a participant.
        assert!(!may(DocKind::Project, C, "code"));
        assert!(!may(DocKind::Session, C, "session_id"));
        assert!(may(DocKind::Participant, R, "code"));
        assert!(may(DocKind::Session, R, "kind"));
    }
}
