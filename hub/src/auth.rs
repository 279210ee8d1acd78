//! Organisations, enrollment with one-time invite codes, device tokens (kept only
//! as hashes), roles and revocation.

use rand::Rng;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::{self, now};
use crate::error::{HubError, Result};

/// What a device may do on the hub.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the project: everything, and invites and revokes devices.
    Coordinator,
    /// Works in the field: reads and writes the project's material.
    Researcher,
    /// Reviews material in workshops: reads it, writes the project's synthesis.
    Reviewer,
    /// A young person's own phone: their inbox only.
    Participant,
    /// A remote coach: follows the project's progress (steps, insights, questions,
    /// ideas, tests), never participants' raw material.
    Coach,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Coordinator => "coordinator",
            Role::Researcher => "researcher",
            Role::Reviewer => "reviewer",
            Role::Participant => "participant",
            Role::Coach => "coach",
        }
    }

    pub fn parse(s: &str) -> Result<Role> {
        Ok(match s {
            "coordinator" => Role::Coordinator,
            "researcher" => Role::Researcher,
            "reviewer" => Role::Reviewer,
            "participant" => Role::Participant,
            "coach" => Role::Coach,
            _ => return Err(HubError::Invalid("unknown role")),
        })
    }
}

/// An enrolled device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub id: String,
    pub org: String,
    pub role: Role,
    /// For a participant's phone: whose inbox it holds.
    pub participant: Option<String>,
    pub label: String,
    pub revoked: bool,
    /// The member id the device's store writes under, as it said when enrolling.
    pub member: Option<String>,
    /// The automerge actor (hex) the device's store writes under, as it said when
    /// enrolling.
    pub actor: Option<String>,
}

/// What enrollment hands the device (the token is shown once, then only its hash
/// is kept).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Enrollment {
    pub device_id: String,
    pub token: String,
    pub org: String,
    pub role: Role,
    pub participant: Option<String>,
    /// The project the device joins: a participant's phone's inbox's, or the project
    /// a team invite was for.
    pub project: Option<String>,
}

/// How long an invite code stays valid.
pub const INVITE_VALID_MS: i64 = 7 * 24 * 3600 * 1000;

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.trim().as_bytes()).to_vec()
}

/// Creates an organisation; returns its id.
pub fn add_org(conn: &Connection, name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(HubError::Invalid(
            "an organisation's name is 1-200 characters",
        ));
    }
    let id = uuid_like();
    conn.execute(
        "INSERT INTO orgs (id, name, created_at) VALUES (?1, ?2, ?3)",
        params![id, name, now()],
    )
    .map_err(|_| HubError::Invalid("an organisation with that name exists"))?;
    db::audit(conn, Some(&id), None, "org-add", "")?;
    Ok(id)
}

fn uuid_like() -> String {
    let b: [u8; 16] = rand::rng().random();
    hex::encode(b)
}

/// A one-time invite code for a role in an organisation, valid for a week. Codes are
/// twelve characters from an alphabet without look-alikes (about 60 bits), grouped
/// for reading aloud; only their hash is stored.
pub fn create_invite(
    conn: &Connection,
    org: &str,
    role: Role,
    participant: Option<&str>,
    created_by: Option<&str>,
) -> Result<String> {
    create_invite_into(conn, org, role, participant, None, created_by)
}

/// An invite code as [`create_invite`], for a team role in one project: the device
/// that enrolls with it is on that project's team after its first sync.
pub fn create_invite_into(
    conn: &Connection,
    org: &str,
    role: Role,
    participant: Option<&str>,
    project: Option<&str>,
    created_by: Option<&str>,
) -> Result<String> {
    if (role == Role::Participant) != participant.is_some() {
        return Err(HubError::Invalid(
            "a participant invite names the participant, and only it does",
        ));
    }
    if let Some(project) = project {
        if !matches!(role, Role::Coordinator | Role::Researcher | Role::Reviewer) {
            return Err(HubError::Invalid(
                "a project invite is for a coordinator, researcher or reviewer",
            ));
        }
        if !db::project_open(conn, project, org)? {
            return Err(HubError::NotFound("project on this hub (sync first)"));
        }
    }
    if let Some(p) = participant {
        // The participant must be known to the hub, in a project of this organisation.
        let known: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM documents d JOIN projects p ON p.id = d.project
                 WHERE d.name = ?1 AND p.org = ?2",
                params![format!("participant:{p}"), org],
                |r| r.get(0),
            )
            .optional()?;
        if known.is_none() {
            return Err(HubError::NotFound("participant on this hub (sync first)"));
        }
    }
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let raw: String = (0..12)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    let code = format!("{}-{}-{}", &raw[0..4], &raw[4..8], &raw[8..12]);
    conn.execute(
        "INSERT INTO invites (code_hash, org, role, participant, created_by, created_at, expires_at, project)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![hash(&normalise(&code)), org, role.as_str(), participant, created_by, now(), now() + INVITE_VALID_MS, project],
    )?;
    db::audit(conn, Some(org), created_by, "invite", role.as_str())?;
    Ok(code)
}

fn normalise(code: &str) -> String {
    code.trim().to_ascii_uppercase().replace([' ', '-'], "")
}

/// An invite as stored: organisation, role, participant, expiry, use, project.
type InviteRow = (
    String,
    String,
    Option<String>,
    i64,
    Option<i64>,
    Option<String>,
);

/// What a device says of itself when it enrolls.
#[derive(Clone, Debug, Default)]
pub struct Joining<'a> {
    pub label: &'a str,
    /// The member id its store writes under.
    pub member: Option<&'a str>,
    /// The automerge actor (hex) its store writes under.
    pub actor: Option<&'a str>,
}

/// Redeems an invite code: a new device with a fresh token. A code works once.
pub fn enroll(
    conn: &mut Connection,
    code: &str,
    label: &str,
    member: Option<&str>,
) -> Result<Enrollment> {
    enroll_as(
        conn,
        code,
        &Joining {
            label,
            member,
            actor: None,
        },
    )
}

/// As [`enroll`], with the device's actor: a device invited into a project is
/// written into its team (with that actor) at its first sync.
pub fn enroll_as(conn: &mut Connection, code: &str, me: &Joining<'_>) -> Result<Enrollment> {
    let label: String = me.label.trim().chars().take(100).collect();
    let member: Option<String> = me.member.map(|m| m.trim().chars().take(64).collect());
    let actor: Option<String> = me
        .actor
        .map(|a| a.trim().to_ascii_lowercase())
        .filter(|a| a.len() <= 64 && !a.is_empty() && a.chars().all(|c| c.is_ascii_hexdigit()));
    let tx = conn.transaction()?;
    let found: Option<InviteRow> = tx
        .query_row(
            "SELECT org, role, participant, expires_at, used_at, project FROM invites WHERE code_hash = ?1",
            [hash(&normalise(code))],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .optional()?;
    let Some((org, role, participant, expires_at, used_at, invited_to)) = found else {
        return Err(HubError::Unauthorized);
    };
    if used_at.is_some() || expires_at < now() {
        return Err(HubError::Unauthorized);
    }
    let role = Role::parse(&role)?;
    // A member id is one device's: another device claiming it would be counted on
    // that member's teams.
    if let Some(m) = &member {
        let taken = tx
            .prepare_cached("SELECT 1 FROM devices WHERE member = ?1 AND revoked_at IS NULL")?
            .exists([m])?;
        if taken {
            return Err(HubError::Invalid(
                "another device is enrolled under this device's member id",
            ));
        }
    }
    let project: Option<String> = match &participant {
        Some(p) => tx
            .query_row(
                "SELECT project FROM documents WHERE name = ?1",
                [format!("participant:{p}")],
                |r| r.get(0),
            )
            .optional()?,
        None => invited_to.clone(),
    };
    let device_id = format!("device-{}", uuid_like());
    let token_bytes: [u8; 32] = rand::rng().random();
    let token = format!("ikt_{}", hex::encode(token_bytes));
    tx.execute(
        "INSERT INTO devices (id, org, role, participant, label, token_hash, created_at, member, actor)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            device_id,
            org,
            role.as_str(),
            participant,
            label,
            hash(&token),
            now(),
            member,
            actor
        ],
    )?;
    if let (Some(p), Some(_)) = (&invited_to, &member) {
        // Written into the project's team when the device first connects.
        tx.execute(
            "INSERT OR REPLACE INTO pending_members (device, project, role) VALUES (?1, ?2, ?3)",
            params![device_id, p, role.as_str()],
        )?;
    }
    tx.execute(
        "UPDATE invites SET used_at = ?2, used_by = ?3 WHERE code_hash = ?1",
        params![hash(&normalise(code)), now(), device_id],
    )?;
    db::audit(&tx, Some(&org), Some(&device_id), "enroll", role.as_str())?;
    tx.commit()?;
    Ok(Enrollment {
        device_id,
        token,
        org,
        role,
        participant,
        project,
    })
}

/// Redeems a project invite for a device that is already enrolled (in the invite's
/// organisation): it joins the project's team when it next connects. Returns the
/// project.
pub fn join(conn: &mut Connection, device: &Device, code: &str) -> Result<String> {
    if device.member.is_none() || device.revoked {
        return Err(HubError::Forbidden("this device cannot join a team"));
    }
    let tx = conn.transaction()?;
    let found: Option<InviteRow> = tx
        .query_row(
            "SELECT org, role, participant, expires_at, used_at, project FROM invites WHERE code_hash = ?1",
            [hash(&normalise(code))],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .optional()?;
    let Some((org, role, _, expires_at, used_at, Some(project))) = found else {
        return Err(HubError::Unauthorized);
    };
    if used_at.is_some() || expires_at < now() || org != device.org {
        return Err(HubError::Unauthorized);
    }
    tx.execute(
        "INSERT OR REPLACE INTO pending_members (device, project, role) VALUES (?1, ?2, ?3)",
        params![device.id, project, role],
    )?;
    tx.execute(
        "UPDATE invites SET used_at = ?2, used_by = ?3 WHERE code_hash = ?1",
        params![hash(&normalise(code)), now(), device.id],
    )?;
    db::audit(&tx, Some(&org), Some(&device.id), "join", &role)?;
    tx.commit()?;
    Ok(project)
}

/// The device a token belongs to; revoked devices and unknown tokens are refused.
pub fn authenticate(conn: &Connection, token: &str) -> Result<Device> {
    let device = conn
        .query_row(
            "SELECT id, org, role, participant, label, revoked_at, member, actor FROM devices WHERE token_hash = ?1",
            [hash(token)],
            row_to_device,
        )
        .optional()?
        .ok_or(HubError::Unauthorized)?;
    admit(conn, device)
}

/// The device with this id, refused like a token's when revoked or unknown (for a
/// one-time ticket issued to it).
pub fn authenticate_id(conn: &Connection, id: &str) -> Result<Device> {
    match device(conn, id) {
        Ok(d) => admit(conn, d),
        Err(_) => Err(HubError::Unauthorized),
    }
}

/// A device found by its credentials, unless it was revoked.
fn admit(conn: &Connection, device: Device) -> Result<Device> {
    if device.revoked {
        // A participant's phone learns that its participant was erased, so that it
        // destroys what it holds of them too.
        if let Some(p) = &device.participant {
            let erased = conn
                .prepare_cached(
                    "SELECT 1 FROM erased_participants WHERE participant = ?1 AND org = ?2",
                )?
                .exists([p, &device.org])?;
            if erased {
                return Err(HubError::Gone);
            }
        }
        return Err(HubError::Unauthorized);
    }
    Ok(device)
}

fn row_to_device(r: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    let role: String = r.get(2)?;
    Ok(Device {
        id: r.get(0)?,
        org: r.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Coach),
        participant: r.get(3)?,
        label: r.get(4)?,
        revoked: r.get::<_, Option<i64>>(5)?.is_some(),
        member: r.get(6)?,
        actor: r.get(7)?,
    })
}

/// A device by id.
pub fn device(conn: &Connection, id: &str) -> Result<Device> {
    conn.query_row(
        "SELECT id, org, role, participant, label, revoked_at, member, actor FROM devices WHERE id = ?1",
        [id],
        row_to_device,
    )
    .optional()?
    .ok_or(HubError::NotFound("device"))
}

/// The devices of an organisation.
pub fn devices(conn: &Connection, org: &str) -> Result<Vec<Device>> {
    let mut stmt = conn.prepare(
        "SELECT id, org, role, participant, label, revoked_at, member, actor FROM devices WHERE org = ?1 ORDER BY created_at",
    )?;
    let rows = stmt.query_map([org], row_to_device)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Revokes a device: its token stops working at once.
pub fn revoke(conn: &Connection, id: &str, by: Option<&str>) -> Result<Device> {
    let d = device(conn, id)?;
    conn.execute(
        "UPDATE devices SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, now()],
    )?;
    db::audit(conn, Some(&d.org), by, "revoke", id)?;
    Ok(Device { revoked: true, ..d })
}

/// Whether a device is revoked (or gone).
pub fn is_revoked(conn: &Connection, id: &str) -> bool {
    conn.query_row(
        "SELECT revoked_at IS NOT NULL FROM devices WHERE id = ?1",
        [id],
        |r| r.get::<_, bool>(0),
    )
    .unwrap_or(true)
}
