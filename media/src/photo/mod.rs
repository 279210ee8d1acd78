//! Photo ingest: decode any accepted photo, turn it upright, redact, and cut three clean
//! JPEG renditions that carry no metadata at all.
//!
//! Order of work, chosen for speed and memory on a phone:
//! 1. Sniff the real type from magic bytes and read the header; refuse oversize images
//!    before any pixel buffer exists.
//! 2. Decode once, JPEG at the smallest DCT scale (1/8…1) that still covers the largest
//!    rendition needed, so a 48 MP photo never exists at full size unless it must.
//! 3. Apply the EXIF orientation, then redactions, on that one working buffer.
//! 4. Original (≤ 4096 px) from the working buffer, preview from the original, thumbnail
//!    from the preview; each big buffer is dropped as soon as the next is made. The original
//!    is encoded on a second thread while the preview and thumbnail are cut and encoded.
//!
//! A JPEG that is already upright, ≤ 4096 px and not redacted keeps its compressed image
//! data unchanged as the original rendition: only its metadata segments are dropped (see
//! `jpeg.rs`), which is lossless and much faster than re-encoding.

mod jpeg;
mod other;
mod raster;

use image::metadata::Orientation;

use crate::error::{MediaError, Result};
use crate::hash::BlobHash;
use crate::limits::IngestLimits;
use crate::redact::{self, Redaction};
pub(crate) use raster::encode_rgb_jpeg;
use raster::Rgb8;

/// MIME type of every rendition.
pub const RENDITION_MIME: &str = "image/jpeg";

/// Image formats accepted as input, recognised by content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PhotoFormat {
    /// JPEG (baseline, progressive; grey, YCbCr, CMYK/YCCK).
    Jpeg,
    /// PNG (any bit depth, with or without alpha).
    Png,
    /// WebP (lossy or lossless, with or without alpha).
    WebP,
}

impl PhotoFormat {
    /// Recognises the format from magic bytes; file names and declared MIME types are
    /// ignored because they lie.
    pub fn sniff(bytes: &[u8]) -> Result<PhotoFormat> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Ok(PhotoFormat::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Ok(PhotoFormat::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Ok(PhotoFormat::WebP)
        } else {
            Err(MediaError::UnsupportedFormat)
        }
    }
}

/// Which of the three renditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RenditionKind {
    /// Grid and list images, long edge ≤ 320 px.
    Thumbnail,
    /// Full-screen viewing, long edge ≤ 1600 px.
    Preview,
    /// The kept photo, long edge ≤ 4096 px.
    Original,
}

impl RenditionKind {
    /// The longest edge this rendition may have (smaller sources are not upscaled).
    pub const fn max_long_edge(self) -> u32 {
        match self {
            RenditionKind::Thumbnail => 320,
            RenditionKind::Preview => 1600,
            RenditionKind::Original => 4096,
        }
    }

    /// JPEG quality used when this rendition is encoded.
    const fn quality(self) -> u8 {
        match self {
            RenditionKind::Thumbnail => 80,
            RenditionKind::Preview => 85,
            RenditionKind::Original => 90,
        }
    }
}

/// One stored image: clean JPEG bytes and their content hash.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendition {
    /// Which rendition this is.
    pub kind: RenditionKind,
    /// Width in pixels (upright).
    pub width: u32,
    /// Height in pixels (upright).
    pub height: u32,
    /// Always [`RENDITION_MIME`].
    pub mime: &'static str,
    /// The JPEG file.
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`; equal to what [`crate::BlobStore::put`] returns for them.
    pub hash: BlobHash,
}

impl Rendition {
    fn new(kind: RenditionKind, width: u32, height: u32, bytes: Vec<u8>) -> Self {
        Rendition {
            kind,
            width,
            height,
            mime: RENDITION_MIME,
            hash: BlobHash::of(&bytes),
            bytes,
        }
    }

    fn encode(kind: RenditionKind, px: &Rgb8) -> Result<Self> {
        let bytes = px.encode_jpeg(kind.quality())?;
        Ok(Rendition::new(kind, px.width, px.height, bytes))
    }
}

impl std::fmt::Debug for Rendition {
    // The bytes are a participant's photo: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendition")
            .field("kind", &self.kind)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("len", &self.bytes.len())
            .field("hash", &self.hash)
            .finish()
    }
}

/// The three renditions made from one photo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhotoRenditions {
    /// Long edge ≤ 320 px.
    pub thumbnail: Rendition,
    /// Long edge ≤ 1600 px.
    pub preview: Rendition,
    /// Long edge ≤ 4096 px; the copy that is kept (and re-redacted later if needed).
    pub original: Rendition,
    /// What the input was.
    pub source: PhotoInfo,
}

impl PhotoRenditions {
    /// All three, smallest first.
    pub fn iter(&self) -> impl Iterator<Item = &Rendition> {
        [&self.thumbnail, &self.preview, &self.original].into_iter()
    }
}

/// Header facts about an input photo, known without decoding its pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PhotoInfo {
    /// The real format.
    pub format: PhotoFormat,
    /// Width once upright; redaction regions are given in this coordinate space.
    pub width: u32,
    /// Height once upright.
    pub height: u32,
}

/// Reads the format and upright size of a photo without decoding pixels, for example so
/// that the UI can map regions drawn on a preview to the coordinates [`ingest_photo`] wants.
pub fn probe_photo(bytes: &[u8], limits: &IngestLimits) -> Result<PhotoInfo> {
    Ok(Source::open(bytes, limits)?.info)
}

/// Ingests a photo: the one way a photo gets into Insikt.
///
/// Accepts JPEG, PNG and WebP (by content). Applies the EXIF orientation, applies
/// `redactions` (regions in upright pixel coordinates of this input, see [`probe_photo`]) to
/// the pixels before anything is scaled, and returns three JPEG renditions that contain no
/// EXIF, XMP, IPTC, ICC, comments, embedded thumbnails or trailing data. Thumbnail and
/// preview are always re-encoded; the original is re-encoded too, except for an upright,
/// unredacted JPEG of at most 4096 px, whose compressed image data is kept bit for bit
/// behind a fresh bare JFIF header (lossless, and about three times faster).
///
/// Errors: [`MediaError::UnsupportedFormat`], [`MediaError::Truncated`],
/// [`MediaError::Corrupt`], [`MediaError::TooLarge`], [`MediaError::Limits`],
/// [`MediaError::InvalidRegion`]. Never panics on any input.
pub fn ingest_photo(
    bytes: &[u8],
    redactions: &[Redaction],
    limits: &IngestLimits,
) -> Result<PhotoRenditions> {
    let src = Source::open(bytes, limits)?;
    src.validate(redactions, limits)?;
    if let Source {
        kind: SourceKind::Jpeg(layout),
        ..
    } = &src
    {
        let fits = layout.width.max(layout.height) <= RenditionKind::Original.max_long_edge();
        if redactions.is_empty() && fits && layout.copyable() {
            return copy_jpeg_original(bytes, layout, src.info, limits);
        }
    }
    let work = src.decode_upright(bytes, RenditionKind::Original.max_long_edge(), limits)?;
    let original =
        redacted(work, src.info, redactions)?.shrink_to(RenditionKind::Original.max_long_edge())?;
    cut_renditions(original, src.info)
}

/// Redacts an already ingested photo: decodes the kept `original` rendition, redacts it and
/// returns three new renditions with new hashes.
///
/// Regions are in pixel coordinates of that original rendition. `redactions` must not be
/// empty, so the result always differs from the input. The caller then destroys the old
/// blobs — only those whose hashes are not among the new ones.
pub fn redact_photo(
    original: &[u8],
    redactions: &[Redaction],
    limits: &IngestLimits,
) -> Result<PhotoRenditions> {
    if redactions.is_empty() {
        return Err(MediaError::InvalidRegion);
    }
    ingest_photo(original, redactions, limits)
}

/// The thumbnail alone, by the fastest path: a JPEG is decoded at 1/8 scale when that still
/// covers 320 px. Same privacy guarantees as [`ingest_photo`] (orientation and redactions
/// applied, no metadata).
pub fn thumbnail(
    bytes: &[u8],
    redactions: &[Redaction],
    limits: &IngestLimits,
) -> Result<Rendition> {
    let src = Source::open(bytes, limits)?;
    src.validate(redactions, limits)?;
    let long = RenditionKind::Thumbnail.max_long_edge();
    let work = src.decode_upright(bytes, long, limits)?;
    let px = redacted(work, src.info, redactions)?.shrink_to(long)?;
    Rendition::encode(RenditionKind::Thumbnail, &px)
}

/// Lossless path: the stripped file is the original; the preview is decoded from exactly
/// those bytes (which also proves they decode).
fn copy_jpeg_original(
    bytes: &[u8],
    layout: &jpeg::JpegLayout,
    info: PhotoInfo,
    limits: &IngestLimits,
) -> Result<PhotoRenditions> {
    let kept = layout.strip(bytes);
    let preview_long = RenditionKind::Preview.max_long_edge();
    let work = jpeg::decode(&kept, layout, preview_long, limits)?;
    let original = Rendition::new(RenditionKind::Original, layout.width, layout.height, kept);
    let preview_px = work.shrink_to(preview_long)?;
    let (thumbnail, preview) = small_renditions(preview_px)?;
    Ok(PhotoRenditions {
        thumbnail,
        preview,
        original,
        source: info,
    })
}

fn redacted(mut work: Rgb8, info: PhotoInfo, redactions: &[Redaction]) -> Result<Rgb8> {
    if !redactions.is_empty() {
        let scale = f64::from(work.long_edge()) / f64::from(info.width.max(info.height));
        redact::apply(&mut work.data, work.width, work.height, scale, redactions);
    }
    Ok(work)
}

/// Original → preview → thumbnail, each from the previous one. The original is encoded on a
/// second thread while this one cuts and encodes the preview and thumbnail (phones have at
/// least two cores); if no thread can be started, the same work runs here in turn.
fn cut_renditions(original_px: Rgb8, info: PhotoInfo) -> Result<PhotoRenditions> {
    let (w, h) = original_px.fit(RenditionKind::Preview.max_long_edge());
    let encode_original = || Rendition::encode(RenditionKind::Original, &original_px);
    let (original, small) = std::thread::scope(|s| {
        let job = std::thread::Builder::new()
            .name("insikt-media-encode".into())
            .spawn_scoped(s, encode_original);
        let small = original_px.resized(w, h).and_then(small_renditions);
        let original = match job {
            // A panic cannot happen in there (the encoder's are caught), but if one did, it
            // must not cross into the caller.
            Ok(handle) => handle.join().unwrap_or(Err(MediaError::Encode)),
            Err(_) => encode_original(),
        };
        (original, small)
    });
    let (thumbnail, preview) = small?;
    Ok(PhotoRenditions {
        thumbnail,
        preview,
        original: original?,
        source: info,
    })
}

fn small_renditions(preview_px: Rgb8) -> Result<(Rendition, Rendition)> {
    let preview = Rendition::encode(RenditionKind::Preview, &preview_px)?;
    let (w, h) = preview_px.fit(RenditionKind::Thumbnail.max_long_edge());
    let thumb_px = preview_px.resized(w, h)?;
    Ok((
        Rendition::encode(RenditionKind::Thumbnail, &thumb_px)?,
        preview,
    ))
}

/// Refuses declared sizes beyond the limits; called before any pixel buffer exists.
pub(crate) fn check_dimensions(width: u32, height: u32, limits: &IngestLimits) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(MediaError::Corrupt);
    }
    if width > limits.max_dimension
        || height > limits.max_dimension
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(MediaError::TooLarge { width, height });
    }
    Ok(())
}

/// A RIFF file declares its length; fewer bytes than that means a cut-off file (the WebP
/// decoder would only call it malformed).
fn riff_is_cut(bytes: &[u8]) -> bool {
    let declared = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    bytes.len() < declared.saturating_add(8)
}

/// An input whose header has been read and checked.
struct Source {
    info: PhotoInfo,
    kind: SourceKind,
}

enum SourceKind {
    Jpeg(jpeg::JpegLayout),
    Other(Orientation),
}

impl Source {
    fn open(bytes: &[u8], limits: &IngestLimits) -> Result<Source> {
        if bytes.len() > limits.max_input_bytes {
            return Err(MediaError::Limits);
        }
        let format = PhotoFormat::sniff(bytes)?;
        let (w, h, kind) = match format {
            PhotoFormat::Jpeg => {
                let layout = jpeg::JpegLayout::parse(bytes)?;
                (layout.width, layout.height, SourceKind::Jpeg(layout))
            }
            _ => {
                if format == PhotoFormat::WebP && riff_is_cut(bytes) {
                    return Err(MediaError::Truncated);
                }
                let (w, h, o) = other::probe(bytes, format, limits)?;
                (w, h, SourceKind::Other(o))
            }
        };
        check_dimensions(w, h, limits)?;
        let orientation = match &kind {
            SourceKind::Jpeg(l) => l.orientation,
            SourceKind::Other(o) => *o,
        };
        let (width, height) = jpeg::upright_size(w, h, orientation);
        Ok(Source {
            info: PhotoInfo {
                format,
                width,
                height,
            },
            kind,
        })
    }

    fn validate(&self, redactions: &[Redaction], limits: &IngestLimits) -> Result<()> {
        if redactions.len() > limits.max_redactions {
            return Err(MediaError::Limits);
        }
        redact::validate(redactions, self.info.width, self.info.height)
    }

    /// Decodes to an upright RGB buffer whose long edge is at least `min_long_edge` when the
    /// source allows (JPEG may come out smaller than full size; other formats are full size).
    fn decode_upright(
        &self,
        bytes: &[u8],
        min_long_edge: u32,
        limits: &IngestLimits,
    ) -> Result<Rgb8> {
        match &self.kind {
            SourceKind::Jpeg(layout) => {
                let px = jpeg::decode(bytes, layout, min_long_edge, limits)?;
                Ok(px.apply_orientation(layout.orientation))
            }
            SourceKind::Other(_) => {
                let (px, o) = other::decode(bytes, self.info.format, limits)?;
                Ok(px.apply_orientation(o))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_ignores_names_and_rejects_junk() {
        assert_eq!(
            PhotoFormat::sniff(b"\xFF\xD8\xFF\xE0").unwrap(),
            PhotoFormat::Jpeg
        );
        assert_eq!(
            PhotoFormat::sniff(b"\x89PNG\r\n\x1a\nxxxx").unwrap(),
            PhotoFormat::Png
        );
        assert_eq!(
            PhotoFormat::sniff(b"RIFF\0\0\0\0WEBPVP8 ").unwrap(),
            PhotoFormat::WebP
        );
        for junk in [
            &b""[..],
            b"GIF89a",
            b"RIFF\0\0\0\0WAVE",
            b"\0\0\0\x18ftypheic",
        ] {
            assert!(matches!(
                PhotoFormat::sniff(junk),
                Err(MediaError::UnsupportedFormat)
            ));
        }
    }

    #[test]
    fn dimension_checks() {
        let l = IngestLimits::default();
        assert!(check_dimensions(4000, 3000, &l).is_ok());
        assert!(matches!(
            check_dimensions(100_000, 100_000, &l),
            Err(MediaError::TooLarge {
                width: 100_000,
                height: 100_000
            })
        ));
        assert!(matches!(
            check_dimensions(0, 10, &l),
            Err(MediaError::Corrupt)
        ));
    }
}
