//! The report export: Markdown and the media consent allows, as bytes the app writes
//! where its platform wants them (a folder, a share sheet).

use insikt_core::ids::ProjectId;

use crate::call::background;
use crate::error::Result;
use crate::media::Attachment;
use crate::project::Lang;
use crate::store::Store;

/// A photo or recording that may leave the app, with its bytes.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ExportedMedia {
    pub attachment: Attachment,
    /// A photo's preview (about 1600 px), or the recording as stored.
    pub bytes: Vec<u8>,
}

/// A project report.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Report {
    /// `report.md`: the challenge, the steps, insights with the quotes consent
    /// allows, questions, ideas and tests.
    pub markdown: String,
    pub media: Vec<ExportedMedia>,
    /// How many quotes, photos and recordings were left out for lack of consent.
    pub withheld: u32,
}

impl From<insikt_core::store::Report> for Report {
    fn from(v: insikt_core::store::Report) -> Self {
        let insikt_core::store::Report {
            markdown,
            media,
            withheld,
        } = v;
        Report {
            markdown,
            media: media
                .into_iter()
                .map(
                    |insikt_core::store::ExportedMedia { attachment, bytes }| ExportedMedia {
                        attachment: attachment.into(),
                        bytes,
                    },
                )
                .collect(),
            withheld: u32::try_from(withheld).unwrap_or(u32::MAX),
        }
    }
}

#[uniffi::export]
impl Store {
    /// A report of the project for people outside the team, containing only what
    /// consent covers now (audited). Coordinators and researchers.
    pub async fn export_report(&self, project: ProjectId, lang: Lang) -> Result<Report> {
        let core = self.core.clone();
        background(move || Ok(core.export_report(&project, lang.into())?.into())).await
    }
}
