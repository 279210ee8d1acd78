//! Five devices of one team work through a week of bad networks: frames are lost,
//! duplicated and reordered, links drop and come back, and one phone stays away the
//! whole time, writing notes of its own, until it returns at the end. Whatever the
//! seed, once the network heals every device holds the same documents.

use insikt_core::domain::{AgeBand, MemberRole, NoteKind, ParticipantRole, SessionKind};
use insikt_core::ids::{ParticipantId, ProjectId, SessionId};
use insikt_core::{DocKey, Lang, NewNote};
use insikt_scenarios::sim::{fingerprint, Faults, Network, Node};
use insikt_scenarios::{consenting_participant, start, Device};
use proptest::prelude::*;
use rand::Rng;

const DEVICES: usize = 5;
/// The phone that is away until the end.
const AWAY: usize = DEVICES - 1;

struct Team {
    net: Network,
    project: ProjectId,
    children: Vec<ParticipantId>,
    sessions: Vec<SessionId>,
    _dir: tempfile::TempDir,
}

fn team(seed: u64) -> Team {
    let dir = tempfile::tempdir().unwrap();
    let names = ["coordinator", "phone-a", "phone-b", "tablet", "phone-away"];
    let devices: Vec<Device> = names.iter().map(|n| Device::new(n, dir.path())).collect();
    let lead = &devices[0].store;
    let project = lead
        .create_project("Trygg skolväg", Lang::Sv, "Sara")
        .unwrap();
    for (i, d) in devices.iter().enumerate().skip(1) {
        lead.add_member_with_id(
            &project,
            d.store.me().clone(),
            &format!("Member {i}"),
            MemberRole::Researcher,
        )
        .unwrap();
    }
    let children: Vec<ParticipantId> = (0..3)
        .map(|i| {
            consenting_participant(
                lead,
                &project,
                &format!("P-{i:02}"),
                ParticipantRole::Child,
                AgeBand::From10To12,
            )
        })
        .collect();
    for d in &devices[1..] {
        devices[0].send_all_to(d);
    }
    let nodes = devices
        .into_iter()
        .map(|d| Node::new(d.name, d.store))
        .collect();
    Team {
        net: Network::new(nodes, seed),
        project,
        children,
        sessions: Vec::new(),
        _dir: dir,
    }
}

/// One edit on `node`: a new session, a note, an insight or the canvas.
fn edit(t: &mut Team, node: usize, i: usize) {
    let store = t.net.nodes[node].store().clone();
    let choice = t.net.rng.random_range(0..4);
    let child = t.children[t.net.rng.random_range(0..t.children.len())].clone();
    match choice {
        0 | 1 if !t.sessions.is_empty() || choice == 0 => {
            // A note in a session this device knows (or a new session).
            let known: Vec<SessionId> = t
                .sessions
                .iter()
                .filter(|s| store.project_of_session(s).is_ok())
                .cloned()
                .collect();
            let session = if known.is_empty() || choice == 0 {
                let s = start(
                    &store,
                    &t.project,
                    SessionKind::Interview,
                    &format!("Samtal {i}"),
                    std::slice::from_ref(&child),
                );
                t.sessions.push(s.clone());
                t.net.changed(node, &DocKey::Session(s.clone()));
                s
            } else {
                known[t.net.rng.random_range(0..known.len())].clone()
            };
            let mut note =
                NewNote::new(NoteKind::Observation, format!("Anteckning {i} från {node}"));
            let members = store
                .sessions(&t.project)
                .unwrap()
                .into_iter()
                .find(|s| s.id == session)
                .map(|s| s.participants)
                .unwrap_or_default();
            let about = members.first().cloned();
            note.about = about.clone();
            store.add_note(&session, note).unwrap();
            match about {
                Some(p) => t.net.changed(node, &DocKey::Material(session, p)),
                None => t.net.changed(node, &DocKey::Session(session)),
            }
        }
        2 => {
            store
                .add_insight(&t.project, &format!("Insikt {i} från {node}"), &[], "")
                .unwrap();
            t.net.changed(node, &DocKey::Project(t.project.clone()));
        }
        _ => {
            store
                .set_canvas(
                    &t.project,
                    Some(&format!("Syfte {i} från {node}")),
                    None,
                    None,
                    None,
                )
                .unwrap();
            t.net.changed(node, &DocKey::Project(t.project.clone()));
        }
    }
}

fn run(seed: u64, faults: Faults) {
    let mut t = team(seed);
    // Everyone but the away phone starts connected, in a ring.
    for a in 0..AWAY {
        t.net.connect(a, (a + 1) % AWAY);
    }
    for i in 0..60 {
        // A burst of network activity, then an edit somewhere.
        for _ in 0..t.net.rng.random_range(0..12) {
            t.net.step(faults);
        }
        // The away phone edits offline; never reconnect it during the week.
        for b in 0..DEVICES {
            t.net.disconnect(AWAY, b);
        }
        let node = t.net.rng.random_range(0..DEVICES);
        edit(&mut t, node, i);
    }
    t.net.heal_and_settle();
    let expected = fingerprint(t.net.nodes[0].store());
    assert!(expected.len() > 4, "the team made documents");
    for (i, node) in t.net.nodes.iter().enumerate() {
        assert_eq!(
            fingerprint(node.store()),
            expected,
            "device {i} differs after healing (seed {seed})"
        );
    }
    // And the index follows the documents: every device finds the same notes.
    let notes = |n: usize| {
        t.net.nodes[n]
            .store()
            .search(&t.project, "Anteckning", 10_000)
            .unwrap()
            .len()
    };
    for i in 1..DEVICES {
        assert_eq!(
            notes(i),
            notes(0),
            "device {i} search differs (seed {seed})"
        );
    }
}

#[test]
fn a_reliable_network_converges() {
    run(1, Faults::NONE);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    #[test]
    fn any_bad_network_converges_once_healed(seed in any::<u64>()) {
        run(seed, Faults { drop: 0.05, duplicate: 0.05, reorder: 0.2, partition: 0.03, heal: 0.08 });
    }
}
