//! The command line.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Insikt: field research for user-driven innovation of social services.
///
/// Every command works on an encrypted store in --data DIR. The key comes from
/// INSIKT_KEY (64 hex characters) or from a key file created on first use.
#[derive(Parser, Debug)]
#[command(name = "insikt", version, about, long_about)]
pub struct Cli {
    /// The store directory [default: $INSIKT_DATA, or ~/.local/share/insikt].
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The key file to use when INSIKT_KEY is not set [default: DIR/insikt.key].
    #[arg(long, global = true, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// The language of labels: sv or en.
    #[arg(long, global = true, default_value = "sv")]
    pub lang: String,
    /// The project to work on (needed only when the store holds several).
    #[arg(long, global = true, value_name = "ID")]
    pub project: Option<String>,
    /// How long to wait for another process using the store to finish, in seconds.
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        default_value_t = 10,
        env = "INSIKT_WAIT"
    )]
    pub wait: u64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a whole field day on built-in material and print a summary.
    Demo,
    /// Create the store (and its key file) if it does not exist.
    Init,
    /// Projects: create, list, show, canvas, steps, team.
    #[command(subcommand)]
    Project(ProjectCmd),
    /// Participants (pseudonymous codes only).
    #[command(subcommand)]
    Participant(ParticipantCmd),
    /// Consent per participant and scope.
    #[command(subcommand)]
    Consent(ConsentCmd),
    /// Interview guides.
    #[command(subcommand)]
    Guide(GuideCmd),
    /// Field sessions: interviews, observations, diaries, user journeys, empathy maps.
    #[command(subcommand)]
    Session(SessionCmd),
    /// Notes in sessions.
    #[command(subcommand)]
    Note(NoteCmd),
    /// Full-text search over the project's notes.
    Search {
        /// Words to find; every word must match (as a word or its beginning).
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Diary entries written by participants.
    #[command(subcommand)]
    Diary(DiaryCmd),
    /// Messages to participants about what became of their input.
    #[command(subcommand)]
    Message(MessageCmd),
    /// Insights, backed by notes, and their "How might we…?" questions.
    #[command(subcommand)]
    Insight(InsightCmd),
    /// Idea cards and dot voting.
    #[command(subcommand)]
    Idea(IdeaCmd),
    /// Prototype tests and feedback.
    #[command(subcommand)]
    Test(TestCmd),
    /// Photos: ingest (metadata removed, regions redacted), list, export, redact.
    #[command(subcommand)]
    Photo(PhotoCmd),
    /// Interview recordings and their transcripts.
    #[command(subcommand)]
    Audio(AudioCmd),
    /// The method's prompts for a step (or all steps).
    Prompts {
        /// frame, investigate, focus, ideate, test or realise.
        step: Option<String>,
    },
    /// Rewrite every document compactly and reclaim space.
    Compact,
    /// Write a report of the project into a folder: report.md and the photos and
    /// recordings consent allows (quotes, photos, recordings without consent are left
    /// out; names from the local roster never appear).
    Export {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// The audit log (coordinators): who did what to which participant's data, never
    /// the content. With --hub, the log the hub gathered from every device.
    Audit {
        #[arg(long)]
        hub: bool,
    },
    /// Run a hub for the team's devices (the same as `insikt-hub serve`).
    Hub {
        /// Where the hub keeps its database, key and blobs.
        #[arg(long, env = "INSIKT_HUB_DATA", default_value = "insikt-hub-data")]
        hub_data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:7878")]
        listen: String,
        /// Serve HTTPS with this certificate chain (PEM)…
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// …and this private key (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Enroll this device with a hub using a one-time invite code.
    Enroll {
        /// The hub's address, e.g. http://192.168.1.10:7878
        #[arg(long)]
        hub: String,
        #[arg(long)]
        code: String,
        /// A name for this device, shown to the coordinator.
        #[arg(long, default_value = "insikt-cli")]
        label: String,
        /// The certificate authority (PEM) that signed the hub's certificate, when it
        /// is not a public one.
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
    },
    /// Join a project's team with a code from `insikt project invite`, on a device
    /// already enrolled with the hub (a new device uses `enroll --code`).
    Join {
        #[arg(long)]
        code: String,
    },
    /// Sync with the hub this device enrolled with.
    Sync {
        /// Also fetch previews and originals of photos (thumbnails always come).
        #[arg(long)]
        originals: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProjectCmd {
    /// Create a project; you become its coordinator.
    Create {
        name: String,
        /// Your name as the team sees it.
        #[arg(long, default_value = "Koordinator")]
        me: String,
    },
    /// List the projects in the store.
    List,
    /// Show a project: canvas, steps, team, counts.
    Show,
    /// Fill in the challenge canvas (Ringa in).
    Canvas(CanvasArgs),
    /// Set a step's status: not-started, in-progress or done.
    Step { step: String, status: String },
    /// Add a team member.
    AddMember {
        name: String,
        /// coordinator, researcher, reviewer or participant.
        #[arg(long)]
        role: String,
        /// The member id of a device that already has one (`insikt init` on it shows
        /// it); without it a new member id is made.
        #[arg(long, value_name = "ID")]
        member: Option<String>,
    },
    /// Make a one-time code that enrolls another device into this project's team
    /// (`insikt enroll --code` on it; it is on the team after its first sync).
    Invite {
        /// researcher, reviewer or coordinator.
        #[arg(long)]
        role: String,
    },
    /// Add a stakeholder to the stakeholder map.
    Stakeholder {
        name: String,
        /// 1 = core, 2 = close, 3 = further out.
        #[arg(long, default_value_t = 2)]
        ring: u8,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Purge photos, recordings and diary entries after DAYS days ("none" keeps them).
    Retention { days: String },
}

#[derive(Args, Debug)]
pub struct CanvasArgs {
    /// "I want to …"
    #[arg(long)]
    pub purpose: Option<String>,
    #[arg(long)]
    pub for_whom: Option<String>,
    #[arg(long)]
    pub doing_what: Option<String>,
    #[arg(long)]
    pub how: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ParticipantCmd {
    /// Add a participant by code, such as P-07.
    Add {
        code: String,
        /// child, young-person, guardian, staff or other.
        #[arg(long)]
        role: String,
        /// 0-5, 6-9, 10-12, 13-15, 16-17, 18-24, 25+ or unknown.
        #[arg(long, default_value = "unknown")]
        age: String,
    },
    /// List participants and their consent.
    List {
        /// Also show the names this device holds (the local-only roster).
        #[arg(long)]
        names: bool,
        /// Also show each participant's id.
        #[arg(long)]
        ids: bool,
    },
    /// Make a one-time code that enrolls a young person's own phone into their inbox
    /// (`insikt enroll --code` on the phone).
    Invite {
        /// The participant's code (P-07) or id.
        participant: String,
    },
    /// Keep the real name behind a code on this device only (never synced or
    /// exported; erased with the participant).
    Name { code: String, name: String },
    /// Erase everything about a participant on this device, for good.
    Erase {
        code: String,
        /// Confirm: erasure cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConsentCmd {
    /// Record consent for one scope.
    Give {
        /// The participant's code.
        participant: String,
        /// notes, quotes, photos or audio.
        #[arg(long)]
        scope: String,
        /// participant or guardian.
        #[arg(long, default_value = "participant")]
        by: String,
        /// The version of the information the participant was given.
        #[arg(long, default_value = "1")]
        info: String,
    },
    /// Withdraw consent for one scope, or all when --scope is left out.
    Withdraw {
        participant: String,
        #[arg(long)]
        scope: Option<String>,
        #[arg(long, default_value = "participant")]
        by: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum GuideCmd {
    /// Add the built-in interview guide in the project's language.
    Template,
    /// Show the project's guides with question ids.
    List,
}

#[derive(Subcommand, Debug)]
pub enum SessionCmd {
    /// Start a session.
    Start {
        /// interview, observation, diary, journey or empathy-map.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        title: String,
        /// Participant codes (repeat for several).
        #[arg(long = "participant")]
        participants: Vec<String>,
        /// A place label (never coordinates).
        #[arg(long)]
        place: Option<String>,
    },
    /// End a session.
    End { session: String },
    /// List the project's sessions.
    List,
}

#[derive(Subcommand, Debug)]
pub enum NoteCmd {
    /// Capture a note.
    Add {
        #[arg(long)]
        session: String,
        /// note, quote, observation, pain, gain or feeling.
        #[arg(long, default_value = "note")]
        kind: String,
        text: String,
        /// The code of the participant the note is about.
        #[arg(long)]
        about: Option<String>,
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// The guide question id it answers.
        #[arg(long)]
        question: Option<String>,
        /// says, thinks, does or feels (empathy map).
        #[arg(long)]
        quadrant: Option<String>,
        /// before, during or after (user journey).
        #[arg(long)]
        stage: Option<String>,
        /// -2 to 2 (user journey's emotional curve).
        #[arg(long, allow_hyphen_values = true)]
        emotion: Option<i8>,
    },
    /// List a session's notes.
    List {
        #[arg(long)]
        session: String,
    },
    /// Change a note's text.
    Edit { note: String, text: String },
    /// Delete a note.
    Delete { note: String },
}

#[derive(Subcommand, Debug)]
pub enum DiaryCmd {
    /// Submit a diary entry to a participant's inbox.
    Submit {
        /// The participant's code.
        participant: String,
        text: String,
        #[arg(long, default_value = "")]
        heading: String,
        /// 1 to 5.
        #[arg(long)]
        rating: Option<u8>,
        /// The diary session it belongs to.
        #[arg(long)]
        session: Option<String>,
        /// Hide the participant's code from the team.
        #[arg(long)]
        anonymous: bool,
        /// A photo to go with the entry (needs consent to photos).
        #[arg(long)]
        photo: Option<std::path::PathBuf>,
        #[arg(long, default_value = "")]
        photo_caption: String,
    },
    /// Show a participant's inbox.
    Show { participant: String },
    /// On a young person's own phone: write a diary entry into their inbox.
    Write {
        text: String,
        #[arg(long, default_value = "")]
        heading: String,
        /// 1 to 5.
        #[arg(long)]
        rating: Option<u8>,
    },
    /// On a young person's own phone: their entries and the team's messages.
    Mine,
}

#[derive(Subcommand, Debug)]
pub enum MessageCmd {
    /// Tell a participant what happened with their input.
    Send { participant: String, text: String },
}

#[derive(Subcommand, Debug)]
pub enum InsightCmd {
    /// State an insight backed by notes.
    Add {
        statement: String,
        /// Note ids (repeat).
        #[arg(long = "evidence", required = true)]
        evidence: Vec<String>,
        #[arg(long, default_value = "")]
        opportunity: String,
    },
    /// Add a "How might we…?" question to an insight.
    Hmw { insight: String, text: String },
    /// List insights, their questions and evidence.
    List,
}

#[derive(Subcommand, Debug)]
pub enum IdeaCmd {
    /// Add an idea card.
    Add {
        title: String,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long, default_value = "")]
        affects: String,
    },
    /// Place dots on an idea (replaces your earlier dots on it).
    Vote { idea: String, dots: u8 },
    /// Ideas ranked by dots.
    List,
}

#[derive(Subcommand, Debug)]
pub enum TestCmd {
    /// Plan a prototype test of an idea.
    Add {
        idea: String,
        /// paper, storyboard, role-play or model.
        #[arg(long, default_value = "paper")]
        kind: String,
        #[arg(long)]
        question: String,
    },
    /// Record feedback from a test.
    Feedback {
        test: String,
        /// Who gave it, as a role (never a name).
        #[arg(long)]
        from: String,
        text: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PhotoCmd {
    /// Add a photo (JPEG, PNG or WebP) to a session. Nothing of its metadata is kept.
    Add {
        file: std::path::PathBuf,
        #[arg(long)]
        session: String,
        #[arg(long, default_value = "")]
        caption: String,
        /// Codes of participants who appear in it (each needs consent to photos).
        #[arg(long = "appears")]
        appears: Vec<String>,
        /// A region to blur, as x,y,w,h in pixels of the upright photo (repeat);
        /// prefix with `ellipse:` for an ellipse, add `:pixelate` to pixelate.
        #[arg(long = "redact")]
        redact: Vec<String>,
    },
    /// List a session's photos and recordings.
    List {
        #[arg(long)]
        session: String,
    },
    /// Write the decrypted renditions of a photo to a directory, to check them.
    Export {
        id: String,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Redact regions of a stored photo (pixels of its kept original); the old
    /// renditions are destroyed.
    Redact {
        id: String,
        #[arg(long = "redact", required = true)]
        redact: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum AudioCmd {
    /// Add a recording (m4a/AAC, Opus or WAV) to a session, stored as recorded.
    Add {
        file: std::path::PathBuf,
        #[arg(long)]
        session: String,
        #[arg(long, default_value = "")]
        caption: String,
        /// Codes of those who speak (default: every participant of the session).
        #[arg(long = "speaker")]
        speakers: Vec<String>,
    },
    /// Add a transcript segment to a recording.
    Transcript {
        recording: String,
        #[arg(long)]
        session: String,
        /// Start, in milliseconds.
        #[arg(long)]
        start: u64,
        /// End, in milliseconds.
        #[arg(long)]
        end: u64,
        /// The code of the participant speaking.
        #[arg(long)]
        speaker: Option<String>,
        text: String,
    },
}
