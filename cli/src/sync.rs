//! `insikt hub`, `insikt enroll`, `insikt sync`.

use insikt_core::sync::HubSyncOptions;
use insikt_core::Error;
use std::path::Path;

use crate::context::Ctx;

/// Serves a hub until the process is stopped.
pub fn serve_hub(data: &Path, listen: &str, tls: Option<(&Path, &Path)>) -> Result<(), Error> {
    insikt_hub::tune_allocator();
    let hub = insikt_hub::Hub::open(data, insikt_hub::HubConfig::default()).map_err(hub_error)?;
    let tls = match tls {
        Some((cert, key)) => Some(insikt_hub::tls::server_config(cert, key).map_err(hub_error)?),
        None => None,
    };
    let rt = tokio::runtime::Runtime::new().map_err(|e| Error::Io(format!("{:?}", e.kind())))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| Error::Io(format!("{:?}", e.kind())))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Io(format!("{:?}", e.kind())))?;
        match tls {
            Some(tls) => {
                println!("insikt hub listening on https://{addr}");
                hub.serve_tls(listener, tls).await.map_err(hub_error)
            }
            None => {
                println!("insikt hub listening on http://{addr} (plain HTTP: put a TLS proxy in front when not on loopback)");
                hub.serve(listener).await.map_err(hub_error)
            }
        }
    })
}

pub fn hub_error(e: insikt_hub::HubError) -> Error {
    match e {
        insikt_hub::HubError::Core(c) => c,
        other => Error::Sync(other.to_string()),
    }
}

pub fn enroll(
    ctx: &Ctx,
    hub: &str,
    code: &str,
    label: &str,
    ca: Option<&Path>,
) -> Result<(), Error> {
    let ca_pem = match ca {
        Some(path) => {
            Some(std::fs::read_to_string(path).map_err(|e| Error::Io(format!("{:?}", e.kind())))?)
        }
        None => None,
    };
    let e = ctx
        .store
        .enroll_with_ca(hub, code, label, ca_pem.as_deref())?;
    println!(
        "enrolled with {} as {} (device {})",
        e.url, e.role, e.device_id
    );
    if let (Some(project), false) = (&e.project, e.role == "participant") {
        println!("on the team of project {project} from the first `insikt sync`");
    }
    Ok(())
}

pub fn sync(ctx: &Ctx, originals: bool) -> Result<(), Error> {
    let bar = indicatif::ProgressBar::new_spinner().with_message("syncing with the hub");
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    let options = HubSyncOptions {
        fetch_originals: originals,
        ..HubSyncOptions::default()
    };
    let report = ctx.store.sync_with_hub(&options);
    bar.finish_and_clear();
    let r = report?;
    println!(
        "synced: {} documents changed here, {} frames / {} bytes sent, {} frames / {} bytes received; {} photos or recordings uploaded, {} downloaded",
        r.documents.changed.len(),
        r.documents.frames_sent,
        r.documents.bytes_sent,
        r.documents.frames_received,
        r.documents.bytes_received,
        r.blobs_uploaded,
        r.blobs_downloaded
    );
    if r.purged > 0 {
        println!(
            "{} documents of projects this device is no longer on the team of were removed",
            r.purged
        );
    }
    for s in &r.set_aside {
        println!(
            "set aside (does not read; kept until a later change mends it): {} — {}",
            s.doc, s.reason
        );
    }
    Ok(())
}
