//! Focus, Generate ideas, Test ideas: insights, questions, ideas, votes, tests.

use std::collections::BTreeMap;

use super::field::note_location;
use super::views::NewIdea;
use super::Store;
use crate::domain::{
    DevelopmentArea, EvidenceRef, Feedback, Hmw, Idea, Insight, MemberRole, Prose, PrototypeKind,
    PrototypeTest,
};
use crate::error::{Error, Result};
use crate::ids::{AreaId, HmwId, IdeaId, InsightId, NoteId, ProjectId, TestId};
use crate::time::Timestamp;

const TEAM: &[MemberRole] = &[
    MemberRole::Coordinator,
    MemberRole::Researcher,
    MemberRole::Reviewer,
];

fn check(s: &str, max: usize, rule: &'static str) -> Result<()> {
    if s.trim().is_empty() || s.chars().count() > max {
        Err(Error::InvalidInput(rule))
    } else {
        Ok(())
    }
}

impl Store {
    /// States an insight backed by notes. The insight refers to the notes; it never
    /// copies their text.
    pub fn add_insight(
        &self,
        project: &ProjectId,
        statement: &str,
        evidence: &[NoteId],
        opportunity: &str,
    ) -> Result<InsightId> {
        check(statement, 2000, "an insight is 1-2000 characters")?;
        let refs = self.evidence_refs(project, evidence)?;
        let me = self.me().clone();
        self.modify_project(project, TEAM, "building insights", |p| {
            let i = Insight {
                id: InsightId::new(),
                statement: Prose::new(statement.trim()),
                evidence: refs,
                opportunity: Prose::new(opportunity.trim()),
                questions: BTreeMap::new(),
                area: None,
                created_by: me,
                created_at: Timestamp::now(),
            };
            let id = i.id.clone();
            p.insights.insert(id.to_string(), i);
            Ok(id)
        })
    }

    fn evidence_refs(&self, project: &ProjectId, notes: &[NoteId]) -> Result<Vec<EvidenceRef>> {
        self.read_query(|c| {
            notes
                .iter()
                .map(|n| {
                    let (doc, p, session) = note_location(c, n)?;
                    let session = session.ok_or(Error::InvalidInput(
                        "only notes from sessions can be evidence",
                    ))?;
                    if &p != project {
                        return Err(Error::not_found(NoteId::WHAT, n));
                    }
                    Ok(EvidenceRef {
                        note: n.clone(),
                        session,
                        doc: doc.to_string(),
                    })
                })
                .collect()
        })
    }

    /// Adds evidence to an insight.
    pub fn add_evidence(
        &self,
        project: &ProjectId,
        insight: &InsightId,
        notes: &[NoteId],
    ) -> Result<()> {
        let refs = self.evidence_refs(project, notes)?;
        self.modify_project(project, TEAM, "building insights", |p| {
            let i = p
                .insights
                .get_mut(insight.as_str())
                .ok_or_else(|| Error::not_found(InsightId::WHAT, insight))?;
            for r in refs {
                if !i.evidence.iter().any(|e| e.note == r.note) {
                    i.evidence.push(r);
                }
            }
            Ok(())
        })
    }

    /// Turns an insight into a "How might we …?" question.
    pub fn add_hmw(&self, project: &ProjectId, insight: &InsightId, text: &str) -> Result<HmwId> {
        check(text, 500, "a question is 1-500 characters")?;
        let me = self.me().clone();
        self.modify_project(project, TEAM, "building insights", |p| {
            let i = p
                .insights
                .get_mut(insight.as_str())
                .ok_or_else(|| Error::not_found(InsightId::WHAT, insight))?;
            let q = Hmw {
                id: HmwId::new(),
                text: Prose::new(text.trim()),
                created_by: me,
                created_at: Timestamp::now(),
            };
            let id = q.id.clone();
            i.questions.insert(id.to_string(), q);
            Ok(id)
        })
    }

    /// Adds a development area and places insights in it.
    pub fn add_area(
        &self,
        project: &ProjectId,
        title: &str,
        insights: &[InsightId],
    ) -> Result<AreaId> {
        check(title, 200, "an area title is 1-200 characters")?;
        self.modify_project(project, TEAM, "building insights", |p| {
            let area = DevelopmentArea {
                id: AreaId::new(),
                title: title.trim().into(),
                created_at: Timestamp::now(),
            };
            for i in insights {
                p.insights
                    .get_mut(i.as_str())
                    .ok_or_else(|| Error::not_found(InsightId::WHAT, i))?
                    .area = Some(area.id.clone());
            }
            let id = area.id.clone();
            p.areas.insert(id.to_string(), area);
            Ok(id)
        })
    }

    /// Adds an idea card.
    pub fn add_idea(&self, project: &ProjectId, input: NewIdea) -> Result<IdeaId> {
        check(&input.title, 200, "an idea title is 1-200 characters")?;
        let me = self.me().clone();
        self.modify_project(project, TEAM, "adding ideas", |p| {
            if let Some(q) = &input.hmw {
                let known = p
                    .insights
                    .values()
                    .any(|i| i.questions.contains_key(q.as_str()));
                if !known {
                    return Err(Error::not_found(HmwId::WHAT, q));
                }
            }
            let idea = Idea {
                id: IdeaId::new(),
                title: input.title.trim().into(),
                description: Prose::new(input.description.trim()),
                affects: input.affects.trim().into(),
                hmw: input.hmw,
                round: input.round,
                votes: BTreeMap::new(),
                scores: BTreeMap::new(),
                sketch: None,
                created_by: me,
                created_at: Timestamp::now(),
            };
            let id = idea.id.clone();
            p.ideas.insert(id.to_string(), idea);
            Ok(id)
        })
    }

    /// Places `dots` of my dots on an idea (dot voting), replacing what I placed on it
    /// before. Each member has `dots_per_member` dots across all ideas.
    pub fn vote(&self, project: &ProjectId, idea: &IdeaId, dots: u8) -> Result<()> {
        let me = self.me().clone();
        self.modify_project(project, TEAM, "voting", |p| {
            let budget = u32::from(p.dots_per_member);
            let on_this = p
                .ideas
                .get(idea.as_str())
                .ok_or_else(|| Error::not_found(IdeaId::WHAT, idea))?
                .votes
                .get(me.as_str())
                .copied()
                .unwrap_or(0);
            let elsewhere = p.dots_used_by(&me) - u32::from(on_this);
            if elsewhere + u32::from(dots) > budget {
                return Err(Error::InvalidInput("not enough dots left"));
            }
            let votes = &mut p
                .ideas
                .get_mut(idea.as_str())
                .ok_or_else(|| Error::not_found(IdeaId::WHAT, idea))?
                .votes;
            if dots == 0 {
                votes.remove(me.as_str());
            } else {
                votes.insert(me.to_string(), dots);
            }
            Ok(())
        })
    }

    /// Sets how many dots each member has (three to five).
    pub fn set_dots_per_member(&self, project: &ProjectId, dots: u8) -> Result<()> {
        if !(3..=5).contains(&dots) {
            return Err(Error::InvalidInput("each member has three to five dots"));
        }
        self.modify_project(
            project,
            &[MemberRole::Coordinator],
            "setting the vote",
            |p| {
                p.dots_per_member = dots;
                Ok(())
            },
        )
    }

    /// Scores an idea against a criterion, 1 to 5.
    pub fn score_idea(
        &self,
        project: &ProjectId,
        idea: &IdeaId,
        criterion: &str,
        score: u8,
    ) -> Result<()> {
        check(criterion, 100, "a criterion is 1-100 characters")?;
        if !(1..=5).contains(&score) {
            return Err(Error::InvalidInput("a score is 1 to 5"));
        }
        self.modify_project(project, TEAM, "prioritising ideas", |p| {
            p.ideas
                .get_mut(idea.as_str())
                .ok_or_else(|| Error::not_found(IdeaId::WHAT, idea))?
                .scores
                .insert(criterion.trim().into(), score);
            Ok(())
        })
    }

    /// Plans a prototype test of an idea, with one question.
    pub fn add_test(
        &self,
        project: &ProjectId,
        idea: &IdeaId,
        kind: PrototypeKind,
        question: &str,
    ) -> Result<TestId> {
        check(question, 500, "a test question is 1-500 characters")?;
        self.modify_project(project, TEAM, "planning tests", |p| {
            if !p.ideas.contains_key(idea.as_str()) {
                return Err(Error::not_found(IdeaId::WHAT, idea));
            }
            let t = PrototypeTest {
                id: TestId::new(),
                idea: idea.clone(),
                kind,
                question: question.trim().into(),
                feedback: Vec::new(),
                learned: Prose::default(),
                created_at: Timestamp::now(),
            };
            let id = t.id.clone();
            p.tests.insert(id.to_string(), t);
            Ok(id)
        })
    }

    /// Records feedback from a test; `from_role` is a role ("young person"), never a name.
    pub fn add_feedback(
        &self,
        project: &ProjectId,
        test: &TestId,
        from_role: &str,
        text: &str,
    ) -> Result<()> {
        check(text, 5000, "feedback is 1-5000 characters")?;
        self.modify_project(project, TEAM, "recording feedback", |p| {
            let t = p
                .tests
                .get_mut(test.as_str())
                .ok_or_else(|| Error::not_found(TestId::WHAT, test))?;
            t.feedback.push(Feedback {
                from_role: from_role.trim().into(),
                text: Prose::new(text.trim()),
                at: Timestamp::now(),
            });
            Ok(())
        })
    }

    /// Writes down what a test taught.
    pub fn set_learned(&self, project: &ProjectId, test: &TestId, learned: &str) -> Result<()> {
        self.modify_project(project, TEAM, "recording feedback", |p| {
            p.tests
                .get_mut(test.as_str())
                .ok_or_else(|| Error::not_found(TestId::WHAT, test))?
                .learned
                .update(learned.trim());
            Ok(())
        })
    }
}
