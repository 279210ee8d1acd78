//! The project document: the challenge, the team, the state of the six steps and
//! everything the team builds from the material (insights, questions, ideas, tests,
//! decisions). It holds no raw material about any participant: insights refer to
//! evidence, they never copy it, so this document can be shared with a coach.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::guide::Guide;
use super::insight::{DevelopmentArea, Idea, Insight, PrototypeTest};
use super::prose::Prose;
use crate::i18n::{labelled_enum, Bilingual, Lang};
use crate::ids::{DecisionId, IdeaId, MemberId, PersonaId, ProjectId, StakeholderId};
use crate::time::Timestamp;

labelled_enum! {
    /// The six steps of Innovationsguiden.
    Step {
        Frame = "frame", "Ringa in", "Frame";
        Investigate = "investigate", "Undersöka", "Investigate";
        Focus = "focus", "Fokusera", "Focus";
        Ideate = "ideate", "Ta fram idéer", "Generate ideas";
        Test = "test", "Testa idéer", "Test ideas";
        Realise = "realise", "Förverkliga", "Realise";
    }
}

labelled_enum! {
    /// How far a step has come.
    StepStatus {
        NotStarted = "not-started", "Ej påbörjad", "Not started";
        InProgress = "in-progress", "Pågår", "In progress";
        Done = "done", "Klar", "Done";
    }
}

labelled_enum! {
    /// A team member's role, which decides what their device may read and do.
    MemberRole {
        /// Sets up the project, manages members, consent and erasure.
        Coordinator = "coordinator", "Samordnare", "Coordinator";
        /// Runs sessions in the field and captures material.
        Researcher = "researcher", "Utredare", "Researcher";
        /// Reviews material and builds insights in workshops.
        Reviewer = "reviewer", "Granskare", "Reviewer";
        /// A youth participant with their own device: their own inbox only.
        Participant = "participant", "Deltagare", "Participant";
    }
}

impl Step {
    /// The method prompts for this step, in both languages.
    pub fn prompts(self) -> &'static [Bilingual] {
        const fn b(sv: &'static str, en: &'static str) -> Bilingual {
            Bilingual { sv, en }
        }
        const FRAME: &[Bilingual] = &[
            b("Jag vill …", "I want to …"),
            b("För vem?", "For whom?"),
            b("Som gör vad?", "Doing what?"),
            b("Hur?", "How?"),
            b(
                "Vilka aktörer berörs? Rita en aktörskarta.",
                "Who is involved? Draw a stakeholder map.",
            ),
        ];
        const INVESTIGATE: &[Bilingual] = &[
                b("Förbered: skriv öppna frågor i en intervjuguide.", "Before: write open questions in an interview guide."),
                b("I fält: lyssna, observera beteenden som förändras, omvägar, det som verkar viktigt och överraskningar.", "In the field: listen; observe behaviour that changes, workarounds, what seems important, surprises."),
                b("Efteråt: skriv rent samma dag, markera citat, smärtpunkter och glädjeämnen.", "Afterwards: write up the same day; mark quotes, pain points and gains."),
                b("Intervjua 15–30 personer: användare, personal och några icke-användare. Sluta vid mättnad.", "Interview 15–30 people: users, staff and some non-users. Stop at saturation."),
        ];
        const FOCUS: &[Bilingual] = &[
                b("Vilket problem, behov eller samband ser ni? Vilka citat och anteckningar visar det?", "What problem, need or connection do you see? Which quotes and notes show it?"),
                b("Vilken möjlighet öppnar insikten?", "What opportunity does the insight open?"),
                b("Formulera en fråga: Hur kan vi …?", "Phrase a question: How might we …?"),
        ];
        const IDEATE: &[Bilingual] = &[
            b(
                "Skriv idéer i tysthet i omgångar (brainwriting) och bygg vidare på varandras.",
                "Write ideas in silent rounds (brainwriting) and build on each other's.",
            ),
            b(
                "Ge varje idé en titel, en beskrivning och vem den berör.",
                "Give each idea a title, a description and who it affects.",
            ),
            b(
                "Prickrösta: tre till fem prickar per person.",
                "Dot vote: three to five dots per person.",
            ),
            b(
                "Prioritera mot era kriterier.",
                "Prioritise against your criteria.",
            ),
        ];
        const TEST: &[Bilingual] = &[
            b(
                "Bygg en enkel prototyp: papper, storyboard, rollspel eller modell.",
                "Build a simple prototype: paper, storyboard, role play or model.",
            ),
            b(
                "Testa med användare och personal, en fråga i taget.",
                "Test with users and staff, one question at a time.",
            ),
            b(
                "Vad lärde ni er? Koppla återkopplingen till idén.",
                "What did you learn? Link the feedback to the idea.",
            ),
        ];
        const REALISE: &[Bilingual] = &[
            b(
                "Vad beslutas, av vem, och hur följs det upp?",
                "What is decided, by whom, and how is it followed up?",
            ),
            b(
                "Berätta för deltagarna vad som hände med det de bidrog med.",
                "Tell the participants what became of their input.",
            ),
        ];
        match self {
            Step::Frame => FRAME,
            Step::Investigate => INVESTIGATE,
            Step::Focus => FOCUS,
            Step::Ideate => IDEATE,
            Step::Test => TEST,
            Step::Realise => REALISE,
        }
    }
}

/// The *Ringa in* challenge canvas.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct ChallengeCanvas {
    /// "I want to …"
    pub purpose: Prose,
    /// For whom.
    pub for_whom: Prose,
    /// Doing what.
    pub doing_what: Prose,
    /// How.
    pub how: Prose,
}

/// The state of one step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct StepState {
    pub status: StepStatus,
    pub updated_at: Timestamp,
}

/// A stakeholder on the stakeholder map (aktörskarta).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Stakeholder {
    pub id: StakeholderId,
    pub name: String,
    /// Distance from the challenge: 1 = core, 2 = close, 3 = further out.
    pub ring: u8,
    pub note: String,
}

/// A member of the team. The display name is what the team calls each other; members
/// are staff, not participants.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Member {
    pub id: MemberId,
    pub display_name: String,
    pub role: MemberRole,
    pub joined_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// The automerge actors (hex) of this member's devices, registered by the
    /// project's creator, a coordinator or the hub: how every replica tells who wrote
    /// a change to the team (see `policy::team`).
    #[autosurgeon(missing = "Default::default")]
    pub actors: BTreeMap<String, bool>,
}

/// A persona card (a fictional, composite person; never a real participant).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Persona {
    pub id: PersonaId,
    pub name: String,
    pub age: String,
    pub situation: Prose,
    pub needs: Prose,
    pub when_stressed: Prose,
    pub when_happy: Prose,
}

/// The sample plan for the investigation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct SamplePlan {
    pub target_min: u32,
    pub target_max: u32,
    /// How the sample is spread: users, staff, non-users, ages …
    pub spread: Prose,
    pub saturation_reached: bool,
}

/// A decision in the Realise step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Decision {
    pub id: DecisionId,
    pub idea_id: Option<IdeaId>,
    pub text: Prose,
    pub decided_by: String,
    pub follow_up: Prose,
    pub decided_at: Timestamp,
}

/// The whole project document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct ProjectDoc {
    pub schema: u64,
    pub id: ProjectId,
    pub name: String,
    pub lang: String,
    pub created_at: Timestamp,
    pub canvas: ChallengeCanvas,
    /// Step key → state.
    pub steps: BTreeMap<String, StepState>,
    pub members: BTreeMap<String, Member>,
    pub stakeholders: BTreeMap<String, Stakeholder>,
    pub guides: BTreeMap<String, Guide>,
    pub insights: BTreeMap<String, Insight>,
    pub areas: BTreeMap<String, DevelopmentArea>,
    pub ideas: BTreeMap<String, Idea>,
    pub tests: BTreeMap<String, PrototypeTest>,
    pub decisions: BTreeMap<String, Decision>,
    pub personas: BTreeMap<String, Persona>,
    pub sample_plan: Option<SamplePlan>,
    /// The dots each member may place when voting on ideas (three to five).
    pub dots_per_member: u8,
    /// Erasures, by participant id: which documents were destroyed, so that every
    /// device and the hub destroy and refuse them too. Ids only, never content.
    #[autosurgeon(missing = "BTreeMap::new")]
    pub erasures: BTreeMap<String, Erasure>,
    /// Days after which raw material (photos, recordings, diary entries) is purged;
    /// insights and quotes stay. `None`: kept until the project decides.
    #[autosurgeon(missing = "Option::default")]
    pub retention_days: Option<u32>,
}

/// A participant's erasure, as recorded in the project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Erasure {
    pub at: Timestamp,
    pub by: MemberId,
    /// The names of the destroyed documents.
    pub documents: Vec<String>,
}

impl ProjectDoc {
    /// A new project with every step not started.
    pub fn new(id: ProjectId, name: String, lang: Lang, now: Timestamp) -> Self {
        let steps = Step::ALL
            .iter()
            .map(|s| {
                let status = StepStatus::NotStarted;
                (
                    s.as_key().to_string(),
                    StepState {
                        status,
                        updated_at: now,
                    },
                )
            })
            .collect();
        ProjectDoc {
            schema: super::DOC_SCHEMA,
            id,
            name,
            lang: match lang {
                Lang::Sv => "sv".into(),
                Lang::En => "en".into(),
            },
            created_at: now,
            canvas: ChallengeCanvas::default(),
            steps,
            members: BTreeMap::new(),
            stakeholders: BTreeMap::new(),
            guides: BTreeMap::new(),
            insights: BTreeMap::new(),
            areas: BTreeMap::new(),
            ideas: BTreeMap::new(),
            tests: BTreeMap::new(),
            decisions: BTreeMap::new(),
            personas: BTreeMap::new(),
            sample_plan: None,
            dots_per_member: 3,
            erasures: BTreeMap::new(),
            retention_days: None,
        }
    }

    /// The project's language.
    pub fn language(&self) -> Lang {
        self.lang.parse().unwrap_or_default()
    }

    /// The status of a step.
    pub fn step_status(&self, step: Step) -> StepStatus {
        self.steps
            .get(step.as_key())
            .map(|s| s.status)
            .unwrap_or(StepStatus::NotStarted)
    }

    /// A member who is not revoked.
    pub fn active_member(&self, id: &MemberId) -> Option<&Member> {
        self.members
            .get(id.as_str())
            .filter(|m| m.revoked_at.is_none())
    }

    /// How many dots `member` has placed across all ideas.
    pub fn dots_used_by(&self, member: &MemberId) -> u32 {
        self.ideas
            .values()
            .map(|i| u32::from(i.votes.get(member.as_str()).copied().unwrap_or(0)))
            .sum()
    }
}
