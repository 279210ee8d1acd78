//! `insikt photo …` and `insikt audio …`.

use insikt_core::domain::AttachmentKind;
use insikt_core::ids::{AttachmentId, ProjectId, SessionId};
use insikt_core::{Error, NewPhoto, NewRecording, RedactStyle, Redaction, Region};
use std::path::Path;

use crate::args::{AudioCmd, PhotoCmd};
use crate::context::Ctx;

/// Reads `x,y,w,h`, `ellipse:x,y,w,h` and either with `:pixelate` after it.
pub fn parse_region(s: &str) -> Result<Redaction, Error> {
    let bad = Error::InvalidInput("a region is x,y,w,h, optionally ellipse:x,y,w,h and :pixelate");
    let mut rest = s.trim();
    let ellipse = rest.strip_prefix("ellipse:").map(|r| rest = r).is_some();
    let style = match rest.strip_suffix(":pixelate") {
        Some(r) => {
            rest = r;
            RedactStyle::Pixelate
        }
        None => RedactStyle::Blur,
    };
    let n: Vec<u32> = rest
        .split(',')
        .map(|p| p.trim().parse())
        .collect::<Result<_, _>>()
        .map_err(|_| bad.clone())?;
    let [x, y, w, h] = n[..] else { return Err(bad) };
    let region = if ellipse {
        Region::Ellipse { x, y, w, h }
    } else {
        Region::Rect { x, y, w, h }
    };
    Ok(Redaction { region, style })
}

fn read_file(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::InvalidInput("no such file"),
        _ => Error::from(e),
    })
}

fn project_of(ctx: &Ctx, session: &SessionId) -> Result<ProjectId, Error> {
    ctx.store.project_of_session(session)
}

pub fn photo(ctx: &Ctx, c: &PhotoCmd) -> Result<(), Error> {
    match c {
        PhotoCmd::Add {
            file,
            session,
            caption,
            appears,
            redact,
        } => {
            let session: SessionId = session.parse()?;
            let project = project_of(ctx, &session)?;
            let appears = appears
                .iter()
                .map(|a| ctx.participant(&project, a))
                .collect::<Result<Vec<_>, _>>()?;
            let redactions = redact
                .iter()
                .map(|r| parse_region(r))
                .collect::<Result<Vec<_>, _>>()?;
            let bytes = read_file(file)?;
            let input = NewPhoto {
                caption: caption.clone(),
                appears,
                redactions,
            };
            println!("{}", ctx.store.add_photo(&session, &bytes, input)?);
        }
        PhotoCmd::List { session } => {
            for a in ctx.store.attachments(&session.parse()?)? {
                let size = match a.kind {
                    AttachmentKind::Photo => format!("{}×{}", a.original.width, a.original.height),
                    AttachmentKind::Audio => format!("{} kB", a.original.bytes / 1024),
                };
                let redacted = if a.redacted { " (redacted)" } else { "" };
                println!(
                    "{}  {:<16} {:<10} {}{}",
                    a.id,
                    a.kind.label(ctx.lang),
                    size,
                    a.caption.as_str(),
                    redacted
                );
            }
        }
        PhotoCmd::Export { id, out } => {
            let (_, a) = ctx.store.attachment(&id.parse::<AttachmentId>()?)?;
            std::fs::create_dir_all(out)?;
            let parts = [
                ("thumbnail", &a.thumbnail),
                ("preview", &a.preview),
                ("original", &Some(a.original.clone())),
            ];
            for (name, blob) in parts {
                let Some(blob) = blob else { continue };
                let ext = if a.kind == AttachmentKind::Photo {
                    "jpg"
                } else {
                    "bin"
                };
                let path = out.join(format!("{}-{name}.{ext}", a.id));
                std::fs::write(&path, ctx.store.blob(&blob.hash)?)?;
                println!("{}", path.display());
            }
        }
        PhotoCmd::Redact { id, redact } => {
            let redactions = redact
                .iter()
                .map(|r| parse_region(r))
                .collect::<Result<Vec<_>, _>>()?;
            ctx.store.redact_photo(&id.parse()?, &redactions)?;
        }
    }
    Ok(())
}

pub fn audio(ctx: &Ctx, c: &AudioCmd) -> Result<(), Error> {
    match c {
        AudioCmd::Add {
            file,
            session,
            caption,
            speakers,
        } => {
            let session: SessionId = session.parse()?;
            let project = project_of(ctx, &session)?;
            let speakers = if speakers.is_empty() {
                None
            } else {
                Some(
                    speakers
                        .iter()
                        .map(|s| ctx.participant(&project, s))
                        .collect::<Result<Vec<_>, _>>()?,
                )
            };
            let bytes = read_file(file)?;
            let input = NewRecording {
                caption: caption.clone(),
                speakers,
            };
            println!("{}", ctx.store.add_recording(&session, &bytes, input)?);
        }
        AudioCmd::Transcript {
            recording,
            session,
            start,
            end,
            speaker,
            text,
        } => {
            let session: SessionId = session.parse()?;
            let project = project_of(ctx, &session)?;
            let speaker = speaker
                .as_deref()
                .map(|s| ctx.participant(&project, s))
                .transpose()?;
            let id = ctx.store.add_transcript_segment(
                &session,
                &recording.parse()?,
                (*start, *end),
                speaker,
                text,
            )?;
            println!("{id}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_parse() {
        assert_eq!(
            parse_region("1,2,3,4").unwrap().region,
            Region::Rect {
                x: 1,
                y: 2,
                w: 3,
                h: 4
            }
        );
        let r = parse_region("ellipse:10,20,30,40:pixelate").unwrap();
        assert_eq!(
            (r.region, r.style),
            (
                Region::Ellipse {
                    x: 10,
                    y: 20,
                    w: 30,
                    h: 40
                },
                RedactStyle::Pixelate
            )
        );
        assert!(parse_region("1,2,3").is_err());
        assert!(parse_region("a,b,c,d").is_err());
    }
}
