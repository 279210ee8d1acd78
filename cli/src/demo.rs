//! `insikt demo`: a field day on built-in material, through the same API the apps use.
//!
//! A project team in a municipality's child and youth welfare asks how young people
//! experience their first contact with social services. In one day they frame the
//! challenge, interview a child, a young person and a staff member, observe a waiting
//! room, receive a diary entry, map a user journey and an empathy map, and then turn
//! the material into insights, questions, ideas, votes and a test.

use indicatif::{ProgressBar, ProgressStyle};
use insikt_core::domain::{
    AgeBand, ConsentScope, EmpathyQuadrant, GivenBy, GuidePhase, JourneyStage, MemberRole,
    NoteAnchor, NoteKind, ParticipantRole, PrototypeKind, SessionKind, Step, StepStatus,
};
use insikt_core::ids::{AttachmentId, ParticipantId, ProjectId, SessionId};
use insikt_core::{Error, Lang, NewDiaryEntry, NewIdea, NewNote, NewSession, Store};
use insikt_core::{NewPhoto, RedactStyle, Redaction, Region};
use insikt_media::sample::{phone_photo, PLANTED_OWNER, PLANTED_SERIAL};
use std::path::Path;

use crate::args::Cli;
use crate::context::Ctx;

/// The steps of the day, for the progress bar.
const STAGES: u64 = 10;

pub fn run(cli: &Cli, dir: &Path) -> Result<(), Error> {
    let ctx = Ctx::open(cli, dir)?;
    let bar = ProgressBar::new(STAGES).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let day = FieldDay::frame(&ctx.store, ctx.lang, &bar)?;
    let summary = day.run(&bar)?;
    bar.set_message("Kväll: teamet synkar via hubben");
    let diarist = ctx
        .store
        .participants(&day.project)?
        .into_iter()
        .find(|p| p.code.as_str() == "P-04")
        .map(|p| p.id)
        .ok_or(Error::NotFound {
            what: "participant",
            id: "P-04".into(),
        })?;
    let evening = crate::demo_sync::evening(&ctx.store, dir, &day.project, &diarist)?;
    bar.inc(1);
    bar.finish_and_clear();
    print_summary(&ctx, dir, &day.project, &summary)?;
    print_evening(ctx.lang, &evening);
    Ok(())
}

fn print_evening(l: Lang, e: &crate::demo_sync::SyncSummary) {
    let sv = l == Lang::Sv;
    let t = |a: &'static str, b: &'static str| if sv { a } else { b };
    println!(
        "\n{}",
        t(
            "Synk via hubben (inbäddad, 127.0.0.1)",
            "Sync through the hub (embedded, 127.0.0.1)"
        )
    );
    for (device, docs) in &e.devices {
        println!("  {device:<20} {docs} {}", t("dokument", "documents"));
    }
    println!(
        "  {}: {}",
        t(
            "Samma innehåll på alla enheter",
            "Same content on every device"
        ),
        if e.identical {
            t("ja", "yes")
        } else {
            t("NEJ", "NO")
        }
    );
    println!(
        "  {}: {}",
        t(
            "Ungdomens telefon har bara",
            "The young person's phone holds only"
        ),
        e.youth_holds.join(", ")
    );
    println!(
        "  {} {} · {} {} · {} {}",
        e.bytes,
        t("byte dokumentsynk", "bytes of document sync"),
        e.blobs_uploaded,
        t("bilder och ljud upp", "images and recordings up"),
        e.blobs_downloaded,
        t("ner", "down")
    );
    println!(
        "  {}: {} {} {} {}",
        t(
            "Granskningslogg i hubben (vem gjorde vad med vems data, aldrig innehåll)",
            "Audit log on the hub (who did what to whose data, never content)"
        ),
        e.audit.0,
        t("rader från", "rows from"),
        e.audit.1,
        t("enheter", "devices")
    );
    match &e.revoked_refused {
        Some(err) => println!("  {}: {err}", t("Återkallad surfplatta", "Revoked tablet")),
        None => println!(
            "  {}",
            t(
                "Återkallad surfplatta: INTE nekad",
                "Revoked tablet: NOT refused"
            )
        ),
    }
}

/// What the day produced, for the summary.
struct Summary {
    refused: Error,
    searches: Vec<(&'static str, usize)>,
    photos: Vec<AttachmentId>,
}

struct FieldDay<'a> {
    store: &'a Store,
    project: ProjectId,
}

fn quote(text: &str) -> NewNote {
    NewNote::new(NoteKind::Quote, text)
}

fn note(kind: NoteKind, text: &str, tags: &[&str]) -> NewNote {
    let mut n = NewNote::new(kind, text);
    n.tags = tags.iter().map(|t| t.to_string()).collect();
    n
}

impl<'a> FieldDay<'a> {
    /// Step 1, Ringa in: the project, its canvas, stakeholders, team and guide.
    fn frame(store: &'a Store, lang: Lang, bar: &ProgressBar) -> Result<Self, Error> {
        bar.set_message("Ringa in: project, canvas, team");
        let name = "Första kontakten – ungas möte med socialtjänsten";
        let project = store.create_project(name, lang, "Sara Lind")?;
        store.set_canvas(
            &project,
            Some("förstå hur unga upplever sin första kontakt med socialtjänsten"),
            Some("barn och unga 10–20 år och deras familjer"),
            Some("som kontaktas efter en orosanmälan"),
            Some("genom intervjuer, observationer och dagböcker under sex veckor"),
        )?;
        for (name, ring) in [
            ("Unga och deras familjer", 1),
            ("Socialsekreterare", 1),
            ("Skolkurator", 2),
            ("Fritidsgården", 3),
        ] {
            store.add_stakeholder(&project, name, ring, "")?;
        }
        store.add_member(&project, "Omar Haddad", MemberRole::Researcher)?;
        store.add_member(&project, "Lina Berg", MemberRole::Reviewer)?;
        store.set_sample_plan(
            &project,
            15,
            30,
            "unga, vårdnadshavare, personal och några som inte sökt stöd",
        )?;
        store.set_step_status(&project, Step::Frame, StepStatus::Done)?;
        store.set_step_status(&project, Step::Investigate, StepStatus::InProgress)?;
        bar.inc(1);
        Ok(FieldDay { store, project })
    }

    fn run(&self, bar: &ProgressBar) -> Result<Summary, Error> {
        let s = self.store;
        bar.set_message("Undersöka: participants and consent");
        let guide = s.add_template_guide(&self.project)?;
        s.add_guide(
            &self.project,
            "Personalintervju",
            &[
                (
                    GuidePhase::Before,
                    "Hur ser ett första möte ut i dag?".into(),
                ),
                (
                    GuidePhase::InField,
                    "Vad gör du när den unga inte vill prata?".into(),
                ),
                (GuidePhase::After, "Vad skulle du vilja ändra?".into()),
            ],
        )?;
        let questions = s.project(&self.project)?.guides[guide.as_str()]
            .questions
            .clone();
        let child = self.participant(
            "P-01",
            ParticipantRole::Child,
            AgeBand::From10To12,
            GivenBy::Guardian,
            &[ConsentScope::Notes, ConsentScope::QuotesInReports],
        )?;
        let young = self.participant(
            "P-02",
            ParticipantRole::YoungPerson,
            AgeBand::From16To17,
            GivenBy::Participant,
            &[
                ConsentScope::Notes,
                ConsentScope::QuotesInReports,
                ConsentScope::Photos,
            ],
        )?;
        let staff = self.participant(
            "P-03",
            ParticipantRole::Staff,
            AgeBand::Adult,
            GivenBy::Participant,
            &[ConsentScope::Notes, ConsentScope::QuotesInReports],
        )?;
        let diarist = self.participant(
            "P-04",
            ParticipantRole::YoungPerson,
            AgeBand::From13To15,
            GivenBy::Participant,
            &[ConsentScope::Notes, ConsentScope::Photos],
        )?;
        let undecided = self.participant(
            "P-05",
            ParticipantRole::Guardian,
            AgeBand::Adult,
            GivenBy::Participant,
            &[],
        )?;
        bar.inc(1);

        bar.set_message("Undersöka: interviews");
        let i1 = self.session(
            SessionKind::Interview,
            "Intervju med P-01",
            vec![child.clone()],
            "Fritidsgården",
        )?;
        let at = |i: usize| NoteAnchor {
            question: questions.get(i).map(|q| q.id.clone()),
            ..Default::default()
        };
        let mut evidence = Vec::new();
        evidence.push(s.add_note(
            &i1,
            NewNote {
                anchor: at(2),
                ..quote("Jag visste inte varför hon kom hem till oss. Ingen sa något till mig.")
            },
        )?);
        s.add_note(
            &i1,
            NewNote {
                anchor: at(3),
                ..note(
                    NoteKind::Pain,
                    "Fick inte veta vad som skulle hända efter mötet",
                    &["information"],
                )
            },
        )?;
        s.add_note(
            &i1,
            NewNote {
                anchor: at(4),
                ..note(
                    NoteKind::Gain,
                    "Pratar helst med fritidsledaren, som känner hen sedan länge",
                    &["förtroende"],
                )
            },
        )?;
        s.add_note(
            &i1,
            note(
                NoteKind::Feeling,
                "Blev tyst och tittade ner när mamma pratade om skolan",
                &["skola"],
            ),
        )?;
        s.end_session(&i1)?;

        let i2 = self.session(
            SessionKind::Interview,
            "Intervju med P-02",
            vec![young.clone()],
            "Biblioteket",
        )?;
        evidence.push(s.add_note(
            &i2,
            quote("Det kändes som att de redan hade bestämt allt innan de frågade mig."),
        )?);
        s.add_note(
            &i2,
            note(
                NoteKind::Pain,
                "Brevet från socialtjänsten var svårt att förstå",
                &["information", "språk"],
            ),
        )?;
        evidence.push(s.add_note(
            &i2,
            quote("Om jag fått sms:a min handläggare hade jag vågat fråga mer."),
        )?);
        s.add_note(
            &i2,
            note(
                NoteKind::Gain,
                "Kuratorn i skolan följde med till första mötet",
                &["skola", "förtroende"],
            ),
        )?;
        let drawing = NewPhoto {
            caption: "P-02 ritade vägen till socialkontoret".into(),
            appears: vec![young.clone()],
            redactions: vec![],
        };
        let drawing_photo = s.add_photo(&i2, &phone_photo(1200, 900, 1), drawing)?;
        s.end_session(&i2)?;

        let i3 = self.session(
            SessionKind::Interview,
            "Intervju med P-03",
            vec![staff.clone()],
            "Socialkontoret",
        )?;
        s.add_note(
            &i3,
            quote("Vi hinner sällan förklara för barnet, vi pratar med föräldrarna."),
        )?;
        s.add_note(
            &i3,
            note(
                NoteKind::Observation,
                "Använder ett eget häfte med bilder för att förklara utredningen",
                &["omväg"],
            ),
        )?;
        s.add_note(
            &i3,
            note(
                NoteKind::Pain,
                "Dokumentationskraven tar tid från mötet",
                &["tid"],
            ),
        )?;
        s.end_session(&i3)?;
        bar.inc(1);

        bar.set_message("Undersöka: observation, diary, journey, empathy map");
        let obs = self.session(
            SessionKind::Observation,
            "Väntrummet en tisdag",
            vec![],
            "Socialkontorets väntrum",
        )?;
        s.add_note(
            &obs,
            note(
                NoteKind::Observation,
                "Inga leksaker eller något för tonåringar att göra; en tv visar nyheter",
                &["miljö"],
            ),
        )?;
        s.add_note(
            &obs,
            note(
                NoteKind::Observation,
                "Receptionen ropar upp familjens efternamn högt",
                &["integritet"],
            ),
        )?;
        // A phone photo of the noticeboard, with a staff member's face blurred at ingest.
        let face = Redaction {
            region: Region::Ellipse {
                x: 500,
                y: 300,
                w: 220,
                h: 280,
            },
            style: RedactStyle::Blur,
        };
        let board = NewPhoto {
            caption: "Anslagstavlan i väntrummet".into(),
            appears: vec![],
            redactions: vec![face],
        };
        let mut photos = vec![s.add_photo(&obs, &phone_photo(1600, 1200, 6), board)?];
        s.end_session(&obs)?;

        let diary = self.session(
            SessionKind::Diary,
            "Dagbok vecka 1–6",
            vec![diarist.clone()],
            "Hemma",
        )?;
        s.submit_diary_entry(
            &diarist,
            NewDiaryEntry {
                session: Some(diary.clone()),
                heading: "Efter mötet".into(),
                text: "Jag fick äntligen säga vad jag tyckte om skolan. Det kändes bra men jag är trött.".into(),
                rating: Some(4),
                anonymous: false,
                photo: Some((phone_photo(900, 1200, 1), "Min väg hem från mötet".into())),
            },
        )?;

        let journey = self.session(
            SessionKind::UserJourney,
            "P-02:s väg till första mötet",
            vec![young.clone()],
            "Biblioteket",
        )?;
        for (stage, emotion, kind, text) in [
            (
                JourneyStage::Before,
                -1,
                NoteKind::Pain,
                "Brevet kommer hem, mamma blir arg",
            ),
            (
                JourneyStage::During,
                -2,
                NoteKind::Feeling,
                "Sitter bredvid mamma och säger ingenting",
            ),
            (
                JourneyStage::After,
                1,
                NoteKind::Gain,
                "Handläggaren ringer och frågar hur det gick för mig",
            ),
        ] {
            let anchor = NoteAnchor {
                stage: Some(stage),
                emotion: Some(emotion),
                ..Default::default()
            };
            s.add_note(
                &journey,
                NewNote {
                    anchor,
                    ..note(kind, text, &[])
                },
            )?;
        }

        let map = self.session(
            SessionKind::EmpathyMap,
            "Empatikarta P-01",
            vec![child.clone()],
            "Projektrummet",
        )?;
        for (quadrant, text) in [
            (EmpathyQuadrant::Says, "\"Jag vet inte\""),
            (EmpathyQuadrant::Thinks, "Har jag gjort något fel?"),
            (EmpathyQuadrant::Does, "Håller sig nära fritidsledaren"),
            (EmpathyQuadrant::Feels, "Orolig och utanför"),
        ] {
            let anchor = NoteAnchor {
                quadrant: Some(quadrant),
                ..Default::default()
            };
            s.add_note(
                &map,
                NewNote {
                    anchor,
                    ..note(NoteKind::Feeling, text, &[])
                },
            )?;
        }
        bar.inc(1);

        bar.set_message("Consent: a capture it does not cover");
        let refused = {
            let with_guardian = self.session(
                SessionKind::Interview,
                "Samtal med P-05",
                vec![undecided],
                "Telefon",
            )?;
            s.add_note(&with_guardian, NewNote::new(NoteKind::Plain, "—"))
                .expect_err("no consent recorded")
        };
        bar.inc(1);

        bar.set_message("Fokusera: insights and questions");
        s.set_step_status(&self.project, Step::Investigate, StepStatus::Done)?;
        s.set_step_status(&self.project, Step::Focus, StepStatus::InProgress)?;
        let insight1 = s.add_insight(
            &self.project,
            "Barn och unga får inte veta varför socialtjänsten kontaktar dem eller vad som händer sedan",
            &evidence[..2],
            "Förklara för barnet först, på barnets språk",
        )?;
        let hmw1 = s.add_hmw(
            &self.project,
            &insight1,
            "Hur kan vi låta barnet förstå vad som händer innan första mötet?",
        )?;
        let insight2 = s.add_insight(
            &self.project,
            "Unga vågar fråga mer i kanaler de redan använder",
            &evidence[2..],
            "Låt unga nå sin handläggare digitalt",
        )?;
        let hmw2 = s.add_hmw(
            &self.project,
            &insight2,
            "Hur kan vi göra det enkelt för unga att ställa frågor mellan mötena?",
        )?;
        s.add_area(
            &self.project,
            "Information till barn",
            &[insight1.clone(), insight2.clone()],
        )?;
        s.set_step_status(&self.project, Step::Focus, StepStatus::Done)?;
        bar.inc(1);

        bar.set_message("Ta fram idéer: ideas and dot voting");
        s.set_step_status(&self.project, Step::Ideate, StepStatus::InProgress)?;
        let ideas = [
            (
                "Välkomstfilm för barn",
                "En kort film som förklarar vad som händer, gjord tillsammans med unga",
                "barn och unga",
                &hmw1,
            ),
            (
                "Sms till handläggaren",
                "Unga kan skicka frågor via sms och få svar inom en dag",
                "unga och handläggare",
                &hmw2,
            ),
            (
                "Barnets egen kallelse",
                "Ett brev skrivet till barnet, inte bara till föräldrarna",
                "barn",
                &hmw1,
            ),
        ];
        let mut ids = Vec::new();
        for (title, description, affects, hmw) in ideas {
            let input = NewIdea {
                title: title.into(),
                description: description.into(),
                affects: affects.into(),
                hmw: Some((*hmw).clone()),
                round: Some(1),
            };
            ids.push(s.add_idea(&self.project, input)?);
        }
        photos.push(drawing_photo);
        let inbox = s.inbox(&diarist)?;
        photos.extend(
            inbox
                .entries
                .into_values()
                .filter_map(|e| e.photo.map(|p| p.id)),
        );
        photos.push(s.set_idea_sketch(
            &self.project,
            &ids[1],
            &phone_photo(1024, 768, 8),
            "Skiss: sms-flödet",
        )?);
        s.vote(&self.project, &ids[1], 2)?;
        s.vote(&self.project, &ids[2], 1)?;
        s.score_idea(&self.project, &ids[1], "Genomförbar inom ett år", 4)?;
        s.set_step_status(&self.project, Step::Ideate, StepStatus::Done)?;
        bar.inc(1);

        bar.set_message("Testa idéer: a prototype test");
        s.set_step_status(&self.project, Step::Test, StepStatus::InProgress)?;
        let test = s.add_test(
            &self.project,
            &ids[1],
            PrototypeKind::RolePlay,
            "Skulle du skicka en fråga till din handläggare?",
        )?;
        s.add_feedback(
            &self.project,
            &test,
            "ung person",
            "Ja, om jag vet att mamma inte läser det",
        )?;
        s.add_feedback(
            &self.project,
            &test,
            "personal",
            "Vi behöver en rutin för svarstider",
        )?;
        s.set_learned(
            &self.project,
            &test,
            "Sekretess mot föräldrar måste förklaras innan unga vågar använda kanalen",
        )?;
        bar.inc(1);

        bar.set_message("Förverkliga: decision and feedback to participants");
        s.add_decision(
            &self.project,
            Some(&ids[1]),
            "Pilot med sms-kontakt i två arbetsgrupper under våren",
            "Ledningsgruppen",
            "Uppföljning efter tre månader",
        )?;
        s.send_message(&diarist, "Tack för din dagbok! Det du skrev om mötet har gjort att vi testar sms-kontakt med handläggare i vår.")?;
        s.set_step_status(&self.project, Step::Realise, StepStatus::InProgress)?;
        let searches = ["skola", "information", "sms", "förtroende"]
            .into_iter()
            .map(|q| Ok((q, s.search(&self.project, q, 50)?.len())))
            .collect::<Result<Vec<_>, Error>>()?;
        bar.inc(1);
        Ok(Summary {
            refused,
            searches,
            photos,
        })
    }

    fn participant(
        &self,
        code: &str,
        role: ParticipantRole,
        age: AgeBand,
        by: GivenBy,
        scopes: &[ConsentScope],
    ) -> Result<ParticipantId, Error> {
        let id = self.store.add_participant(&self.project, code, role, age)?;
        for scope in scopes {
            self.store.record_consent(&id, *scope, by, "2026-10")?;
        }
        Ok(id)
    }

    fn session(
        &self,
        kind: SessionKind,
        title: &str,
        who: Vec<ParticipantId>,
        place: &str,
    ) -> Result<SessionId, Error> {
        let input = NewSession {
            kind,
            title: title.into(),
            participants: who,
            place: Some(place.into()),
            guide: None,
            started_at: None,
        };
        self.store.start_session(&self.project, input)
    }
}

fn print_summary(
    ctx: &Ctx,
    dir: &Path,
    project: &ProjectId,
    summary: &Summary,
) -> Result<(), Error> {
    let (s, l) = (&ctx.store, ctx.lang);
    let sv = l == Lang::Sv;
    let t = |a: &'static str, b: &'static str| if sv { a } else { b };
    let p = s.project(project)?;
    println!("{}", p.name);
    println!(
        "{}: {}\n",
        t("Jag vill", "I want to"),
        p.canvas.purpose.as_str()
    );
    println!("{}", t("Steg", "Steps"));
    for step in Step::ALL {
        println!("  {:<16} {}", step.label(l), p.step_status(*step).label(l));
    }
    println!("\n{}", t("Fältarbete", "Field work"));
    for session in s.sessions(project)?.iter().rev() {
        println!(
            "  {:<14} {:<34} {} {}",
            session.kind.label(l),
            session.title,
            session.notes,
            t("anteckningar", "notes")
        );
    }
    println!(
        "\n{}",
        t("Deltagare och samtycke", "Participants and consent")
    );
    for part in s.participants(project)? {
        let given: Vec<&str> = part
            .consents
            .iter()
            .filter(|c| c.state == insikt_core::domain::ConsentState::Given)
            .map(|c| c.scope.label(l))
            .collect();
        let given = if given.is_empty() {
            t("inget samtycke", "no consent").to_string()
        } else {
            given.join(", ")
        };
        println!("  {:<6} {:<16} {}", part.code, part.role.label(l), given);
    }
    println!(
        "  {} (P-05): {}",
        t("Nekad registrering", "Refused capture"),
        summary.refused
    );
    println!("\n{}", t("Insikter", "Insights"));
    for i in s.insights(project)? {
        println!(
            "  • {} ({} {})",
            i.statement,
            i.evidence,
            t("belägg", "pieces of evidence")
        );
        for q in &i.questions {
            println!("      {q}");
        }
        for e in s.insight_evidence(project, &i.id)? {
            if let insikt_core::EvidenceView::Present(n) = e {
                println!("      «{}»", n.text);
            }
        }
    }
    println!("\n{}", t("Idéer efter prickröstning", "Ideas by dot vote"));
    for i in s.idea_ranking(project)? {
        println!(
            "  {} {}",
            "●".repeat(i.dots as usize).to_string()
                + &" ".repeat(5usize.saturating_sub(i.dots as usize)),
            i.title
        );
    }
    println!("\n{}", t("Foton", "Photos"));
    let mut leaks = 0;
    for id in &summary.photos {
        let (_, a) = s.attachment(id)?;
        for hash in a.hashes() {
            let bytes = s.blob(hash)?;
            let text = String::from_utf8_lossy(&bytes);
            leaks += usize::from(
                text.contains("Exif")
                    || text.contains(PLANTED_SERIAL)
                    || text.contains(PLANTED_OWNER),
            );
        }
        let redacted = if a.redacted {
            t(", ansikte suddat", ", face blurred")
        } else {
            ""
        };
        println!(
            "  {} ({}×{}{redacted})",
            a.caption.as_str(),
            a.original.width,
            a.original.height
        );
    }
    println!(
        "  {}: {}",
        t(
            "GPS, serienummer och ägarnamn från telefonen kvar i lagrade bilder",
            "GPS, serial number and owner from the phone left in stored images"
        ),
        if leaks == 0 {
            t("inga", "none")
        } else {
            t("HITTADE", "FOUND")
        }
    );
    println!("\n{}", t("Sökningar", "Searches"));
    for (q, n) in &summary.searches {
        println!("  {q:<12} {n} {}", t("träffar", "hits"));
    }
    let totals = s.projects()?.into_iter().find(|x| &x.id == project);
    if let Some(x) = totals {
        println!(
            "\n{} {}: {} {}, {} {}, {} {}, {} {}, {} {}",
            t("Lagrat krypterat i", "Stored encrypted in"),
            dir.display(),
            x.participants,
            t("deltagare", "participants"),
            x.sessions,
            t("sessioner", "sessions"),
            x.notes,
            t("anteckningar", "notes"),
            x.insights,
            t("insikter", "insights"),
            x.ideas,
            t("idéer", "ideas"),
        );
    }
    Ok(())
}
