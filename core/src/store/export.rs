//! Exports: what leaves the app for a report. Every export contains only what consent
//! covers at the moment of export — quotes only from participants who consented to
//! quotes in reports, photos only when everyone in them consented to photos,
//! recordings only when every speaker consented to audio — and never a roster name.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use super::{field::require_consent, EvidenceView, Store};
use crate::domain::{Attachment, AttachmentKind, ConsentScope, MemberRole, Step};
use crate::error::{Error, Result};
use crate::i18n::Lang;
use crate::ids::{ParticipantId, ProjectId, SessionId};

/// A photo or recording that may leave the app, with its bytes.
#[derive(Clone, Debug)]
pub struct ExportedMedia {
    pub attachment: Attachment,
    /// The preview of a photo (about 1600 px), or the recording as stored.
    pub bytes: Vec<u8>,
}

/// A project report: Markdown text and the media it may include.
#[derive(Clone, Debug)]
pub struct Report {
    pub markdown: String,
    pub media: Vec<ExportedMedia>,
    /// How many quotes, photos and recordings were left out for lack of consent.
    pub withheld: usize,
}

impl Store {
    /// Whether every one of `people` has given consent to `scope` (and none is erased).
    fn all_consent(&self, people: &[ParticipantId], scope: ConsentScope) -> Result<bool> {
        if people.is_empty() {
            return Ok(false);
        }
        match self.query(|c| require_consent(c, people, scope)) {
            Ok(()) => Ok(true),
            Err(Error::ConsentMissing { .. } | Error::Erased { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The participants of a session.
    fn session_people(
        &self,
        project: &ProjectId,
        session: &SessionId,
    ) -> Result<Vec<ParticipantId>> {
        Ok(self
            .sessions(project)?
            .into_iter()
            .find(|s| &s.id == session)
            .map(|s| s.participants)
            .unwrap_or_default())
    }

    /// A report of the project for people outside the team: the challenge, the steps,
    /// insights with the quotes consent allows, questions, ideas and tests, and the
    /// photos and recordings consent allows. Coordinators and researchers export.
    pub fn export_report(&self, project: &ProjectId, lang: Lang) -> Result<Report> {
        self.require_role(
            project,
            &[MemberRole::Coordinator, MemberRole::Researcher],
            "exporting a report",
        )?;
        let sv = lang == Lang::Sv;
        let t = |a: &'static str, b: &'static str| if sv { a } else { b };
        let p = self.project(project)?;
        let mut md = String::new();
        let mut withheld = 0;
        // Whose material leaves the app, for the audit log: participant → what.
        let mut exported: std::collections::BTreeMap<ParticipantId, BTreeSet<&'static str>> =
            Default::default();
        let _ = writeln!(md, "# {}\n", p.name);
        let _ = writeln!(
            md,
            "{}: {}\n",
            t("Syfte", "Purpose"),
            p.canvas.purpose.as_str()
        );
        let _ = writeln!(md, "## {}\n", t("Steg", "Steps"));
        for step in Step::ALL {
            let _ = writeln!(
                md,
                "- {}: {}",
                step.label(lang),
                p.step_status(*step).label(lang)
            );
        }
        let people = self.participants(project)?;
        let codes: HashMap<ParticipantId, String> = people
            .iter()
            .map(|x| (x.id.clone(), x.code.to_string()))
            .collect();
        let _ = writeln!(
            md,
            "\n{}: {}\n",
            t("Deltagare", "Participants"),
            people.len()
        );

        let _ = writeln!(md, "## {}\n", t("Insikter", "Insights"));
        for insight in self.insights(project)? {
            let _ = writeln!(md, "### {}\n", insight.statement);
            if !insight.opportunity.is_empty() {
                let _ = writeln!(
                    md,
                    "{}: {}\n",
                    t("Möjlighet", "Opportunity"),
                    insight.opportunity
                );
            }
            for q in &insight.questions {
                let _ = writeln!(md, "- {q}");
            }
            for evidence in self.insight_evidence(project, &insight.id)? {
                let EvidenceView::Present(note) = evidence else {
                    continue;
                };
                // Whose words these are: the note's participant, or everyone in a
                // session when the note is about no single one.
                let speakers = match (&note.about, &note.session) {
                    (Some(p), _) => vec![p.clone()],
                    (None, Some(s)) => self.session_people(project, s)?,
                    (None, None) => Vec::new(),
                };
                if self.all_consent(&speakers, ConsentScope::QuotesInReports)? {
                    let who = match speakers.as_slice() {
                        [one] => codes.get(one).cloned().unwrap_or_default(),
                        _ => String::new(),
                    };
                    let _ = writeln!(md, "> «{}» {}", note.text, who);
                    for p in &speakers {
                        exported.entry(p.clone()).or_default().insert("quote");
                    }
                } else {
                    withheld += 1;
                }
            }
            let _ = writeln!(md);
        }

        let _ = writeln!(md, "## {}\n", t("Idéer", "Ideas"));
        for idea in self.idea_ranking(project)? {
            let _ = writeln!(
                md,
                "- {} ({} {})",
                idea.title,
                idea.dots,
                t("prickar", "dots")
            );
        }
        let _ = writeln!(md, "\n## {}\n", t("Tester", "Tests"));
        for test in p.tests.values() {
            let _ = writeln!(md, "- {} ({})", test.question, test.kind.label(lang));
            if !test.learned.as_str().is_empty() {
                let _ = writeln!(
                    md,
                    "  {}: {}",
                    t("Lärdom", "Learned"),
                    test.learned.as_str()
                );
            }
        }

        let mut media = Vec::new();
        let mut seen = BTreeSet::new();
        for session in self.sessions(project)? {
            for a in self.attachments(&session.id)? {
                if !seen.insert(a.id.clone()) {
                    continue;
                }
                let scope = match a.kind {
                    AttachmentKind::Photo => ConsentScope::Photos,
                    AttachmentKind::Audio => ConsentScope::Audio,
                };
                if !self.all_consent(&a.appears, scope)? {
                    withheld += 1;
                    continue;
                }
                let hash = match (&a.kind, &a.preview) {
                    (AttachmentKind::Photo, Some(preview)) => preview.hash.clone(),
                    _ => a.original.hash.clone(),
                };
                let Ok(bytes) = self.blob(&hash) else {
                    // Not fetched to this device: left out rather than failing.
                    continue;
                };
                for p in &a.appears {
                    exported
                        .entry(p.clone())
                        .or_default()
                        .insert(a.kind.as_key());
                }
                media.push(ExportedMedia {
                    attachment: a,
                    bytes,
                });
            }
        }
        if !media.is_empty() {
            let _ = writeln!(
                md,
                "\n## {}\n",
                t("Bilder och ljud", "Photos and recordings")
            );
            for m in &media {
                let _ = writeln!(
                    md,
                    "- {} ({})",
                    m.attachment.caption.as_str(),
                    m.attachment.id
                );
            }
        }
        if withheld > 0 {
            let _ = writeln!(
                md,
                "\n_{} {}_",
                withheld,
                t(
                    "citat, bilder eller inspelningar utelämnade: samtycke saknas",
                    "quotes, photos or recordings left out: no consent"
                )
            );
        }
        let me = self.me().as_str().to_string();
        self.query(|c| {
            let tx = c.unchecked_transaction()?;
            for (p, what) in &exported {
                let detail = what.iter().copied().collect::<Vec<_>>().join(", ");
                super::audit(&tx, project.as_str(), &me, "export", p, &detail)?;
            }
            tx.commit()?;
            Ok(())
        })?;
        Ok(Report {
            markdown: md,
            media,
            withheld,
        })
    }
}
