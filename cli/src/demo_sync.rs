//! The demo's evening: the team meets its hub. An embedded hub runs on loopback;
//! Sara's phone (the day's store), the team's tablet and the diary-writing young
//! person's own phone enroll with one-time codes, work offline, sync in turn and
//! end up holding the same documents — the young person's phone only their inbox.

use insikt_core::domain::MemberRole;
use insikt_core::ids::{ParticipantId, ProjectId};
use insikt_core::sync::HubSyncOptions;
use insikt_core::{Error, NewDiaryEntry, NewNote, Store, StoreKey};
use insikt_hub::{HubConfig, Role, RunningHub};
use insikt_media::sample::phone_photo;
use std::path::Path;

use crate::sync::hub_error;

/// What the evening showed.
pub struct SyncSummary {
    pub devices: Vec<(&'static str, usize)>,
    pub identical: bool,
    pub youth_holds: Vec<String>,
    pub bytes: u64,
    pub blobs_uploaded: usize,
    pub blobs_downloaded: usize,
    pub revoked_refused: Option<Error>,
    /// Rows in the audit log the hub gathered, and from how many devices.
    pub audit: (usize, usize),
}

pub fn evening(
    sara: &Store,
    dir: &Path,
    project: &ProjectId,
    diarist: &ParticipantId,
) -> Result<SyncSummary, Error> {
    // The evening's other devices and hub are made afresh on every run.
    for sub in ["hub", "team-tablet", "youth-phone"] {
        let p = dir.join(sub);
        if p.exists() {
            std::fs::remove_dir_all(&p).map_err(|e| Error::Io(format!("{:?}", e.kind())))?;
        }
    }
    let hub = RunningHub::start(&dir.join("hub"), HubConfig::default()).map_err(hub_error)?;
    hub.hub.add_org("Malmö stad").map_err(hub_error)?;
    let invite = |role, p: Option<&str>| hub.hub.invite("Malmö stad", role, p).map_err(hub_error);
    let options = HubSyncOptions {
        fetch_originals: true,
        ..HubSyncOptions::default()
    };
    let mut bytes = 0;
    let mut up = 0;
    let mut down = 0;
    let mut sync = |s: &Store| -> Result<(), Error> {
        let r = s.sync_with_hub(&options)?;
        bytes += r.documents.bytes_sent + r.documents.bytes_received;
        up += r.blobs_uploaded;
        down += r.blobs_downloaded;
        Ok(())
    };

    let tablet = Store::open(&dir.join("team-tablet"), &StoreKey::generate())?;
    let youth = Store::open(&dir.join("youth-phone"), &StoreKey::generate())?;
    sara.add_member_with_id(
        project,
        tablet.me().clone(),
        "Teamets surfplatta",
        MemberRole::Reviewer,
    )?;

    sara.enroll(&hub.url, &invite(Role::Coordinator, None)?, "Saras telefon")?;
    sync(sara)?;
    let tablet_device = tablet.enroll(&hub.url, &invite(Role::Reviewer, None)?, "Surfplatta")?;
    sync(&tablet)?;
    youth.enroll(
        &hub.url,
        &invite(Role::Participant, Some(diarist.as_str()))?,
        "P-04:s telefon",
    )?;
    sync(&youth)?;

    // Offline: the young person writes with a photo straight from their phone
    // (GPS and serial number in it), the tablet adds an insight from the workshop,
    // Sara writes up a reflection.
    youth.submit_own_diary_entry(NewDiaryEntry {
        session: None,
        heading: "Efter skolan".into(),
        text: "Jag skrev till min handläggare och fick svar samma dag.".into(),
        rating: Some(5),
        anonymous: false,
        photo: Some((phone_photo(1200, 900, 1), "Min väg hem".into())),
    })?;
    tablet.add_insight(
        project,
        "Unga vill kunna nå sin handläggare på sina egna villkor",
        &[],
        "Kontaktvägar som unga redan använder",
    )?;
    let sessions = sara.sessions(project)?;
    if let Some(first) = sessions.iter().find(|s| s.title == "Intervju med P-01") {
        let mut reflection = NewNote::new(
            insikt_core::domain::NoteKind::Plain,
            "Kvällens reflektion: språket i breven återkommer hos alla.",
        );
        reflection.about = first.participants.first().cloned();
        sara.add_note(&first.id, reflection)?;
    }
    // They meet the hub in turn, then once more so everyone has everything.
    for s in [&youth, &tablet, sara, &youth, &tablet] {
        sync(s)?;
    }

    let team = sara.document_heads()?;
    let identical = tablet.document_heads()? == team && {
        let theirs = youth.document_heads()?;
        theirs.iter().all(|(k, h)| team.get(k) == Some(h))
    };
    let youth_holds: Vec<String> = youth
        .document_keys()?
        .iter()
        .map(|k| k.kind().to_string())
        .collect();

    // The coordinator reads one audit log gathered from every device.
    let log = sara.hub_audit_log(project)?;
    let devices: std::collections::BTreeSet<_> = log.iter().map(|e| e.device.clone()).collect();
    let audit = (log.len(), devices.len());

    // The coordinator revokes the tablet: its next sync is refused.
    hub.hub
        .revoke(&tablet_device.device_id, None)
        .map_err(hub_error)?;
    let revoked_refused = tablet.sync_with_hub(&options).err();

    Ok(SyncSummary {
        devices: vec![
            ("Saras telefon", sara.document_keys()?.len()),
            ("Teamets surfplatta", tablet.document_keys()?.len()),
            ("P-04:s telefon", youth.document_keys()?.len()),
        ],
        identical,
        youth_holds,
        bytes,
        blobs_uploaded: up,
        blobs_downloaded: down,
        revoked_refused,
        audit,
    })
}
