//! One function per command; each prints what a person needs to see.

use insikt_core::domain::{
    AgeBand, ConsentScope, ConsentState, EmpathyQuadrant, GivenBy, JourneyStage, MemberRole,
    NoteAnchor, NoteKind, ParticipantRole, PrototypeKind, SessionKind, Step, StepStatus,
};
use insikt_core::{Error, Lang, NewDiaryEntry, NewIdea, NewNote, NewSession, NoteView};

use crate::args::*;
use crate::context::{default_data_dir, Ctx};

/// Runs the command line.
pub fn run(cli: Cli) -> Result<(), Error> {
    let dir = cli.data.clone().unwrap_or_else(default_data_dir);
    match &cli.command {
        Command::Demo => {
            let dir = cli
                .data
                .clone()
                .unwrap_or_else(|| default_data_dir().join("demo"));
            crate::demo::run(&cli, &dir)
        }
        Command::Prompts { step } => prompts(cli.lang.parse()?, step.as_deref()),
        Command::Hub {
            hub_data,
            listen,
            tls_cert,
            tls_key,
        } => crate::sync::serve_hub(
            hub_data,
            listen,
            tls_cert.as_deref().zip(tls_key.as_deref()),
        ),
        command => {
            let ctx = Ctx::open(&cli, &dir)?;
            dispatch(&ctx, command, &dir)
        }
    }
}

fn dispatch(ctx: &Ctx, command: &Command, dir: &std::path::Path) -> Result<(), Error> {
    match command {
        Command::Init => {
            println!("store ready in {}", dir.display());
            println!("this device's member id: {}", ctx.store.me());
            Ok(())
        }
        Command::Project(c) => project(ctx, c),
        Command::Participant(c) => participant(ctx, c),
        Command::Consent(c) => consent(ctx, c),
        Command::Guide(c) => guide(ctx, c),
        Command::Session(c) => session(ctx, c),
        Command::Note(c) => note(ctx, c),
        Command::Search { query, limit } => search(ctx, query, *limit),
        Command::Diary(c) => diary(ctx, c),
        Command::Message(MessageCmd::Send { participant, text }) => {
            let project = ctx.project()?;
            let p = ctx.participant(&project, participant)?;
            println!("{}", ctx.store.send_message(&p, text)?);
            Ok(())
        }
        Command::Insight(c) => insight(ctx, c),
        Command::Idea(c) => idea(ctx, c),
        Command::Test(c) => test(ctx, c),
        Command::Photo(c) => crate::media::photo(ctx, c),
        Command::Audio(c) => crate::media::audio(ctx, c),
        Command::Compact => {
            let bar = indicatif::ProgressBar::new_spinner().with_message("compacting");
            bar.enable_steady_tick(std::time::Duration::from_millis(100));
            ctx.store.compact()?;
            bar.finish_with_message("compacted");
            Ok(())
        }
        Command::Export { out } => {
            let project = ctx.project()?;
            let report = ctx.store.export_report(&project, ctx.lang)?;
            let io = |e: std::io::Error| Error::Io(format!("{:?}", e.kind()));
            std::fs::create_dir_all(out).map_err(io)?;
            std::fs::write(out.join("report.md"), &report.markdown).map_err(io)?;
            for m in &report.media {
                let ext = if m.attachment.mime.contains("jpeg") {
                    "jpg"
                } else {
                    "m4a"
                };
                std::fs::write(out.join(format!("{}.{ext}", m.attachment.id)), &m.bytes)
                    .map_err(io)?;
            }
            println!(
                "report written to {}: {} photos or recordings; {} left out for lack of consent",
                out.display(),
                report.media.len(),
                report.withheld
            );
            Ok(())
        }
        Command::Enroll {
            hub,
            code,
            label,
            ca,
        } => crate::sync::enroll(ctx, hub, code, label, ca.as_deref()),
        Command::Sync { originals } => crate::sync::sync(ctx, *originals),
        Command::Join { code } => {
            let project = ctx.store.join_project(code)?;
            println!("on the team of project {project} from the next `insikt sync`");
            Ok(())
        }
        Command::Audit { hub } => {
            let project = ctx.project()?;
            let log = if *hub {
                ctx.store.hub_audit_log(&project)?
            } else {
                ctx.store.audit_log(&project)?
            };
            let codes: std::collections::HashMap<_, _> = ctx
                .store
                .participants(&project)?
                .into_iter()
                .map(|p| (p.id, p.code.to_string()))
                .collect();
            let names: std::collections::HashMap<String, String> = ctx
                .store
                .project(&project)?
                .members
                .into_values()
                .map(|m| (m.id.as_str().to_string(), m.display_name))
                .collect();
            for e in log {
                let member = names
                    .get(e.member.as_str())
                    .cloned()
                    .unwrap_or_else(|| e.member.as_str().to_string());
                let who = if e.participant.as_str().is_empty() {
                    "(anonymous)".to_string()
                } else {
                    codes
                        .get(&e.participant)
                        .cloned()
                        .unwrap_or_else(|| "(erased)".into())
                };
                let device = e
                    .device
                    .map(|d| format!("  device {d}"))
                    .unwrap_or_default();
                println!(
                    "{}  {}  {:<18} {:<6} {}{device}",
                    e.at, member, e.action, who, e.detail
                );
            }
            Ok(())
        }
        Command::Demo | Command::Prompts { .. } | Command::Hub { .. } => {
            unreachable!("handled before the store opens")
        }
    }
}

fn parse<T: std::str::FromStr<Err = Error>>(s: &str) -> Result<T, Error> {
    s.parse()
}

fn project(ctx: &Ctx, c: &ProjectCmd) -> Result<(), Error> {
    let s = &ctx.store;
    match c {
        ProjectCmd::Create { name, me } => println!("{}", s.create_project(name, ctx.lang, me)?),
        ProjectCmd::List => {
            for p in s.projects()? {
                println!(
                    "{}  {}  ({} participants, {} sessions, {} notes, {} insights, {} ideas)",
                    p.id, p.name, p.participants, p.sessions, p.notes, p.insights, p.ideas
                );
            }
        }
        ProjectCmd::Show => show_project(ctx)?,
        ProjectCmd::Retention { days } => {
            let days =
                match days.as_str() {
                    "none" => None,
                    d => Some(d.parse::<u32>().map_err(|_| {
                        Error::InvalidInput("retention is a number of days or none")
                    })?),
                };
            let project = ctx.project()?;
            s.set_retention(&project, days)?;
            let r = s.apply_retention(&project, insikt_core::Timestamp::now())?;
            println!(
                "retention set; purged now: {} photos or recordings, {} diary entries, {} files",
                r.attachments, r.diary_entries, r.blobs
            );
        }
        ProjectCmd::Canvas(a) => s.set_canvas(
            &ctx.project()?,
            a.purpose.as_deref(),
            a.for_whom.as_deref(),
            a.doing_what.as_deref(),
            a.how.as_deref(),
        )?,
        ProjectCmd::Step { step, status } => s.set_step_status(
            &ctx.project()?,
            parse::<Step>(step)?,
            parse::<StepStatus>(status)?,
        )?,
        ProjectCmd::AddMember { name, role, member } => {
            let project = ctx.project()?;
            let role = parse::<MemberRole>(role)?;
            let id = match member {
                Some(m) => s.add_member_with_id(&project, parse(m)?, name, role)?,
                None => s.add_member(&project, name, role)?,
            };
            println!("{id}")
        }
        ProjectCmd::Invite { role } => {
            println!(
                "{}",
                s.invite_to_project(&ctx.project()?, parse::<MemberRole>(role)?)?
            )
        }
        ProjectCmd::Stakeholder { name, ring, note } => {
            println!("{}", s.add_stakeholder(&ctx.project()?, name, *ring, note)?)
        }
    }
    Ok(())
}

/// Prints a project's canvas, steps and team.
pub fn show_project(ctx: &Ctx) -> Result<(), Error> {
    let l = ctx.lang;
    let p = ctx.store.project(&ctx.project()?)?;
    println!("{}  ({})", p.name, p.id);
    let c = &p.canvas;
    let canvas = [
        ("Jag vill", "I want to", &c.purpose),
        ("För vem", "For whom", &c.for_whom),
        ("Som gör vad", "Doing what", &c.doing_what),
        ("Hur", "How", &c.how),
    ];
    for (sv, en, v) in canvas {
        if !v.as_str().is_empty() {
            println!("  {}: {}", if l == Lang::Sv { sv } else { en }, v.as_str());
        }
    }
    for step in Step::ALL {
        println!("  {:<16} {}", step.label(l), p.step_status(*step).label(l));
    }
    for m in p.members.values() {
        println!("  {} ({})", m.display_name, m.role.label(l));
    }
    Ok(())
}

fn participant(ctx: &Ctx, c: &ParticipantCmd) -> Result<(), Error> {
    let project = ctx.project()?;
    match c {
        ParticipantCmd::Add { code, role, age } => {
            let id = ctx.store.add_participant(
                &project,
                code,
                parse::<ParticipantRole>(role)?,
                parse::<AgeBand>(age)?,
            )?;
            println!("{id}");
        }
        ParticipantCmd::Erase { code, yes } => {
            if !yes {
                return Err(Error::InvalidInput(
                    "erasure cannot be undone: add --yes to confirm",
                ));
            }
            let p = ctx.participant(&project, code)?;
            let r = ctx.store.erase_participant(&p)?;
            println!(
                "erased: {} documents, {} notes, {} files",
                r.documents, r.notes, r.blobs
            );
        }
        ParticipantCmd::List { names, ids } => {
            for p in ctx.store.participants(&project)? {
                let name = match names {
                    true => ctx.store.roster_name(&p.id)?.unwrap_or_default(),
                    false => String::new(),
                };
                println!(
                    "{:<8} {:<14} {:<12} {}{}{}",
                    p.code,
                    p.role.label(ctx.lang),
                    p.age_band.label(ctx.lang),
                    consent_line(&p.consents, ctx.lang),
                    if name.is_empty() {
                        String::new()
                    } else {
                        format!("  [{name}]")
                    },
                    if *ids {
                        format!("  {}", p.id)
                    } else {
                        String::new()
                    }
                );
            }
        }
        ParticipantCmd::Invite { participant } => {
            let p = ctx.participant(&project, participant)?;
            println!("{}", ctx.store.invite_participant_phone(&p)?);
        }
        ParticipantCmd::Name { code, name } => {
            let p = ctx.participant(&project, code)?;
            ctx.store.set_roster_name(&p, name)?;
            println!("kept on this device only");
        }
    }
    Ok(())
}

fn consent_line(consents: &[insikt_core::ConsentStatus], lang: Lang) -> String {
    consents
        .iter()
        .map(|c| {
            let mark = match c.state {
                ConsentState::Given => "✓",
                ConsentState::Withdrawn => "✗",
                ConsentState::NotGiven => "–",
            };
            format!("{} {}", mark, c.scope.label(lang))
        })
        .collect::<Vec<_>>()
        .join("  ")
}

fn consent(ctx: &Ctx, c: &ConsentCmd) -> Result<(), Error> {
    let project = ctx.project()?;
    match c {
        ConsentCmd::Give {
            participant,
            scope,
            by,
            info,
        } => {
            let p = ctx.participant(&project, participant)?;
            ctx.store.record_consent(
                &p,
                parse::<ConsentScope>(scope)?,
                parse::<GivenBy>(by)?,
                info,
            )?;
        }
        ConsentCmd::Withdraw {
            participant,
            scope,
            by,
        } => {
            let p = ctx.participant(&project, participant)?;
            let scope = scope.as_deref().map(parse::<ConsentScope>).transpose()?;
            ctx.store
                .withdraw_consent(&p, scope, parse::<GivenBy>(by)?)?;
        }
    }
    Ok(())
}

fn guide(ctx: &Ctx, c: &GuideCmd) -> Result<(), Error> {
    let project = ctx.project()?;
    match c {
        GuideCmd::Template => println!("{}", ctx.store.add_template_guide(&project)?),
        GuideCmd::List => {
            for g in ctx.store.project(&project)?.guides.values() {
                println!("{}  {}", g.id, g.title);
                for q in &g.questions {
                    println!("  [{}] {}  {}", q.phase.label(ctx.lang), q.id, q.text);
                }
            }
        }
    }
    Ok(())
}

fn session(ctx: &Ctx, c: &SessionCmd) -> Result<(), Error> {
    let project = ctx.project()?;
    match c {
        SessionCmd::Start {
            kind,
            title,
            participants,
            place,
        } => {
            let participants = participants
                .iter()
                .map(|p| ctx.participant(&project, p))
                .collect::<Result<Vec<_>, _>>()?;
            let input = NewSession {
                kind: parse::<SessionKind>(kind)?,
                title: title.clone(),
                participants,
                place: place.clone(),
                guide: None,
                started_at: None,
            };
            println!("{}", ctx.store.start_session(&project, input)?);
        }
        SessionCmd::End { session } => ctx.store.end_session(&parse(session)?)?,
        SessionCmd::List => {
            for s in ctx.store.sessions(&project)? {
                println!(
                    "{}  {:<14} {}  {}  ({} notes)",
                    s.id,
                    s.kind.label(ctx.lang),
                    s.started_at,
                    s.title,
                    s.notes
                );
            }
        }
    }
    Ok(())
}

fn note(ctx: &Ctx, c: &NoteCmd) -> Result<(), Error> {
    match c {
        NoteCmd::Add {
            session,
            kind,
            text,
            about,
            tags,
            question,
            quadrant,
            stage,
            emotion,
        } => {
            let session = parse(session)?;
            let project = ctx.store.project_of_session(&session)?;
            let about = about
                .as_deref()
                .map(|a| ctx.participant(&project, a))
                .transpose()?;
            let anchor = NoteAnchor {
                question: question.as_deref().map(parse).transpose()?,
                quadrant: quadrant
                    .as_deref()
                    .map(parse::<EmpathyQuadrant>)
                    .transpose()?,
                stage: stage.as_deref().map(parse::<JourneyStage>).transpose()?,
                emotion: emotion.map(|e| e.clamp(-2, 2)),
                ..Default::default()
            };
            let input = NewNote {
                kind: parse::<NoteKind>(kind)?,
                text: text.clone(),
                about,
                anchor,
                tags: tags.clone(),
            };
            println!("{}", ctx.store.add_note(&session, input)?);
        }
        NoteCmd::List { session } => {
            for n in ctx.store.notes(&parse(session)?)? {
                print_note(&n, ctx.lang);
            }
        }
        NoteCmd::Edit { note, text } => ctx.store.edit_note(&parse(note)?, text)?,
        NoteCmd::Delete { note } => ctx.store.delete_note(&parse(note)?)?,
    }
    Ok(())
}

fn print_note(n: &NoteView, lang: Lang) {
    let tags = if n.tags.is_empty() {
        String::new()
    } else {
        format!("  #{}", n.tags.join(" #"))
    };
    println!("{}  {:<12} {}{}", n.id, n.kind.label(lang), n.text, tags);
}

fn search(ctx: &Ctx, query: &str, limit: u32) -> Result<(), Error> {
    let hits = ctx.store.search(&ctx.project()?, query, limit)?;
    if hits.is_empty() {
        println!("no notes match");
    }
    for h in hits {
        let snippet = h.snippet.replace('\n', " / ");
        println!(
            "{}  {:<12} {}",
            h.note.id,
            h.note.kind.label(ctx.lang),
            snippet
        );
    }
    Ok(())
}

fn diary(ctx: &Ctx, c: &DiaryCmd) -> Result<(), Error> {
    // A young person's own phone holds no project: only their inbox.
    match c {
        DiaryCmd::Write {
            text,
            heading,
            rating,
        } => {
            let entry = NewDiaryEntry {
                session: None,
                heading: heading.clone(),
                text: text.clone(),
                rating: *rating,
                anonymous: false,
                photo: None,
            };
            println!("{}", ctx.store.submit_own_diary_entry(entry)?);
            return Ok(());
        }
        DiaryCmd::Mine => {
            let inbox = ctx.store.own_inbox()?;
            print_inbox(&inbox);
            return Ok(());
        }
        DiaryCmd::Submit { .. } | DiaryCmd::Show { .. } => {}
    }
    let project = ctx.project()?;
    match c {
        DiaryCmd::Submit {
            participant,
            text,
            heading,
            rating,
            session,
            anonymous,
            photo,
            photo_caption,
        } => {
            let p = ctx.participant(&project, participant)?;
            let entry = NewDiaryEntry {
                session: session.as_deref().map(parse).transpose()?,
                heading: heading.clone(),
                text: text.clone(),
                rating: *rating,
                anonymous: *anonymous,
                photo: match photo {
                    Some(path) => Some((std::fs::read(path)?, photo_caption.clone())),
                    None => None,
                },
            };
            println!("{}", ctx.store.submit_diary_entry(&p, entry)?);
        }
        DiaryCmd::Show { participant } => {
            let inbox = ctx.store.inbox(&ctx.participant(&project, participant)?)?;
            print_inbox(&inbox);
        }
        DiaryCmd::Write { .. } | DiaryCmd::Mine => {}
    }
    Ok(())
}

fn print_inbox(inbox: &insikt_core::domain::InboxDoc) {
    for e in inbox.entries.values() {
        let rating = e.rating.map(|r| format!(" ({r}/5)")).unwrap_or_default();
        println!(
            "{}  {}{}  {}",
            e.written_at,
            e.heading,
            rating,
            e.text.as_str()
        );
    }
    for m in inbox.messages.values() {
        println!("{}  → {}", m.sent_at, m.text.as_str());
    }
}

fn insight(ctx: &Ctx, c: &InsightCmd) -> Result<(), Error> {
    let project = ctx.project()?;
    match c {
        InsightCmd::Add {
            statement,
            evidence,
            opportunity,
        } => {
            let notes = evidence
                .iter()
                .map(|n| parse(n))
                .collect::<Result<Vec<_>, _>>()?;
            println!(
                "{}",
                ctx.store
                    .add_insight(&project, statement, &notes, opportunity)?
            );
        }
        InsightCmd::Hmw { insight, text } => {
            println!("{}", ctx.store.add_hmw(&project, &parse(insight)?, text)?)
        }
        InsightCmd::List => {
            for i in ctx.store.insights(&project)? {
                println!("{}  {}  ({} evidence)", i.id, i.statement, i.evidence);
                for q in i.questions {
                    println!("    {q}");
                }
            }
        }
    }
    Ok(())
}

fn idea(ctx: &Ctx, c: &IdeaCmd) -> Result<(), Error> {
    let project = ctx.project()?;
    match c {
        IdeaCmd::Add {
            title,
            description,
            affects,
        } => {
            let input = NewIdea {
                title: title.clone(),
                description: description.clone(),
                affects: affects.clone(),
                ..Default::default()
            };
            println!("{}", ctx.store.add_idea(&project, input)?);
        }
        IdeaCmd::Vote { idea, dots } => ctx.store.vote(&project, &parse(idea)?, *dots)?,
        IdeaCmd::List => {
            for i in ctx.store.idea_ranking(&project)? {
                println!("{}  {:>2} ●  {}", i.id, i.dots, i.title);
            }
        }
    }
    Ok(())
}

fn test(ctx: &Ctx, c: &TestCmd) -> Result<(), Error> {
    let project = ctx.project()?;
    match c {
        TestCmd::Add {
            idea,
            kind,
            question,
        } => {
            println!(
                "{}",
                ctx.store.add_test(
                    &project,
                    &parse(idea)?,
                    parse::<PrototypeKind>(kind)?,
                    question
                )?
            )
        }
        TestCmd::Feedback { test, from, text } => {
            ctx.store
                .add_feedback(&project, &parse(test)?, from, text)?
        }
    }
    Ok(())
}

fn prompts(lang: Lang, step: Option<&str>) -> Result<(), Error> {
    let steps: Vec<Step> = match step {
        Some(s) => vec![parse(s)?],
        None => Step::ALL.to_vec(),
    };
    for s in &steps {
        let number = Step::ALL.iter().position(|x| x == s).unwrap_or(0) + 1;
        println!("{number}. {}", s.label(lang));
        for p in s.prompts() {
            println!("   – {}", p.get(lang));
        }
    }
    Ok(())
}
