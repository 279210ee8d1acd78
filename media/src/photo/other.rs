//! PNG and WebP decoding through `image`, with its allocation limits.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError};

use super::raster::{flatten_rgba_on_white, Rgb8};
use super::{check_dimensions, PhotoFormat};
use crate::error::{MediaError, Result};
use crate::limits::IngestLimits;

/// Creates a decoder (which reads only the header and ancillary chunks).
fn decoder<'a>(
    bytes: &'a [u8],
    format: PhotoFormat,
    limits: &IngestLimits,
) -> Result<Box<dyn ImageDecoder + 'a>> {
    let fmt = match format {
        PhotoFormat::Png => image::ImageFormat::Png,
        PhotoFormat::WebP => image::ImageFormat::WebP,
        PhotoFormat::Jpeg => return Err(MediaError::UnsupportedFormat),
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), fmt);
    // Dimensions are checked by us (to report `TooLarge`); `image` enforces the allocation cap.
    let mut l = image::Limits::no_limits();
    l.max_alloc = Some(limits.max_alloc_bytes);
    reader.limits(l);
    let dec = guard(|| reader.into_decoder().map_err(map_err))?;
    Ok(Box::new(dec))
}

/// Header facts: declared size and orientation.
pub(crate) fn probe(
    bytes: &[u8],
    format: PhotoFormat,
    limits: &IngestLimits,
) -> Result<(u32, u32, Orientation)> {
    let mut dec = decoder(bytes, format, limits)?;
    let (w, h) = dec.dimensions();
    let o = dec.orientation().unwrap_or(Orientation::NoTransforms);
    Ok((w, h, o))
}

/// Decodes to RGB (alpha flattened on white), returning the stored orientation.
pub(crate) fn decode(
    bytes: &[u8],
    format: PhotoFormat,
    limits: &IngestLimits,
) -> Result<(Rgb8, Orientation)> {
    let mut dec = decoder(bytes, format, limits)?;
    let (w, h) = dec.dimensions();
    check_dimensions(w, h, limits)?;
    let orientation = dec.orientation().unwrap_or(Orientation::NoTransforms);
    // Raw buffer, an 8-bit RGBA copy for deep or alpha images, and the RGB result.
    let px = u64::from(w) * u64::from(h);
    if dec.total_bytes().saturating_add(px * 7) > limits.max_alloc_bytes {
        return Err(MediaError::Limits);
    }
    let img = guard(|| DynamicImage::from_decoder(dec).map_err(map_err))?;
    let rgb = match img {
        DynamicImage::ImageRgb8(b) => b.into_raw(),
        DynamicImage::ImageRgba8(b) => flatten_rgba_on_white(b.as_raw()),
        other if other.color().has_alpha() => flatten_rgba_on_white(other.to_rgba8().as_raw()),
        other => other.to_rgb8().into_raw(),
    };
    Ok((Rgb8::new(w, h, rgb), orientation))
}

/// Third-party decoders must never take the process down through the FFI.
fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(Err(MediaError::Corrupt))
}

fn map_err(e: ImageError) -> MediaError {
    match e {
        ImageError::Limits(_) => MediaError::Limits,
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            MediaError::Truncated
        }
        ImageError::Unsupported(_) => MediaError::UnsupportedFormat,
        _ => MediaError::Corrupt,
    }
}
