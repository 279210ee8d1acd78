//! `insikt-hub`: run the hub, and administer organisations, invites and devices.

use clap::{Parser, Subcommand};
use insikt_hub::{Hub, HubConfig, Role};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "insikt-hub",
    version,
    about = "The Insikt hub: enrollment, roles and sync for a team's devices"
)]
struct Cli {
    /// Where the hub keeps its database, key and blobs.
    #[arg(long, env = "INSIKT_HUB_DATA", default_value = "insikt-hub-data")]
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serves devices over HTTP on ADDR (put a TLS proxy in front when not on loopback).
    Serve {
        #[arg(long, default_value = "127.0.0.1:7878")]
        listen: String,
        /// Serve HTTPS with this certificate chain (PEM)…
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// …and this private key (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Organisations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Makes a one-time invite code for a role (valid for a week).
    Invite {
        #[arg(long)]
        org: String,
        /// coordinator, researcher, reviewer, participant or coach
        #[arg(long)]
        role: String,
        /// For a participant's phone: the participant's id.
        #[arg(long)]
        participant: Option<String>,
        /// For a team device: the project whose team it joins.
        #[arg(long)]
        project: Option<String>,
    },
    /// Devices.
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// Opens a project to another organisation.
    ShareProject {
        project: String,
        #[arg(long)]
        org: String,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Adds an organisation.
    Add { name: String },
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// Lists an organisation's devices.
    List {
        #[arg(long)]
        org: String,
    },
    /// Revokes a device; a running hub closes its connections within a second.
    Revoke { id: String },
}

fn main() -> ExitCode {
    insikt_hub::tune_allocator();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("insikt-hub: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> insikt_hub::Result<()> {
    let hub = Hub::open(&cli.data, HubConfig::default())?;
    match cli.command {
        Command::Serve {
            listen,
            tls_cert,
            tls_key,
        } => {
            let tls = match (tls_cert, tls_key) {
                (Some(c), Some(k)) => Some(insikt_hub::tls::server_config(&c, &k)?),
                _ => None,
            };
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(&listen).await?;
                let addr = listener.local_addr()?;
                match tls {
                    Some(tls) => {
                        println!("insikt-hub listening on https://{addr}");
                        hub.serve_tls(listener, tls).await
                    }
                    None => {
                        println!("insikt-hub listening on http://{addr} (plain HTTP: put a TLS proxy in front when not on loopback)");
                        hub.serve(listener).await
                    }
                }
            })
        }
        Command::Org {
            command: OrgCommand::Add { name },
        } => {
            let id = hub.add_org(&name)?;
            println!("{id}");
            Ok(())
        }
        Command::Invite {
            org,
            role,
            participant,
            project,
        } => {
            let code = match project {
                Some(p) => hub.invite_to_project(&org, &p, Role::parse(&role)?)?,
                None => hub.invite(&org, Role::parse(&role)?, participant.as_deref())?,
            };
            println!("{code}");
            Ok(())
        }
        Command::Device {
            command: DeviceCommand::List { org },
        } => {
            let devices = hub.admin(|c| {
                let org = insikt_hub::db::org_id(c, &org)?;
                insikt_hub::auth::devices(c, &org)
            })?;
            for d in devices {
                let state = if d.revoked { "revoked" } else { "active" };
                println!("{}  {:<12} {:<8} {}", d.id, d.role.as_str(), state, d.label);
            }
            Ok(())
        }
        Command::Device {
            command: DeviceCommand::Revoke { id },
        } => hub.revoke(&id, None),
        Command::ShareProject { project, org } => hub.share_project(&project, &org),
    }
}
