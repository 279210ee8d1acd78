//! Redacted regions cannot be recovered from any rendition; everything else is kept.

mod common;

use common::*;
use image::imageops::{self, FilterType};
use image::{DynamicImage, GenericImageView, RgbImage};
use insikt_media::{
    ingest_photo, redact_photo, thumbnail, IngestLimits, MediaError, PhotoRenditions, RedactStyle,
    Redaction, Region,
};

const W: u32 = 1200;
const H: u32 = 900;
/// The "face": a noise patch, i.e. maximal detail.
const FACE: (u32, u32, u32, u32) = (300, 200, 400, 400);
/// A second detailed patch that is *not* redacted, as a control.
const CONTROL: (u32, u32, u32, u32) = (800, 450, 300, 300);

/// Random detail in blocks of `block` px, coarse enough to survive downscaling to the
/// thumbnail, so the same measurement that shows a redacted area is gone shows that an
/// unredacted one is still there in every rendition.
fn detail(w: u32, h: u32, seed: u32, block: u32) -> RgbImage {
    let small = noise_image(w.div_ceil(block), h.div_ceil(block), seed);
    RgbImage::from_fn(w, h, |x, y| *small.get_pixel(x / block, y / block))
}

fn scene() -> RgbImage {
    let mut img = quadrants(W, H);
    imageops::replace(
        &mut img,
        &detail(FACE.2, FACE.3, 1, 8),
        i64::from(FACE.0),
        i64::from(FACE.1),
    );
    imageops::replace(
        &mut img,
        &detail(CONTROL.2, CONTROL.3, 2, 8),
        i64::from(CONTROL.0),
        i64::from(CONTROL.1),
    );
    img
}

fn luma(img: &RgbImage) -> Vec<f64> {
    img.pixels()
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
        .collect()
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    if va == 0.0 || vb == 0.0 {
        0.0
    } else {
        cov / (va * vb).sqrt()
    }
}

/// Correlation between the rendition's view of `area` and the source's, at rendition scale,
/// over the inner 60 % of the area (inside an ellipse too; the rim blends with the
/// surroundings by design).
fn area_correlation(source: &RgbImage, rendition: &RgbImage, area: (u32, u32, u32, u32)) -> f64 {
    let s = f64::from(rendition.width()) / f64::from(source.width());
    let (x, y, w, h) = area;
    let (ix, iy, iw, ih) = (x + w / 5, y + h / 5, w * 3 / 5, h * 3 / 5);
    let src = source.view(ix, iy, iw, ih).to_image();
    let (rx, ry) = ((f64::from(ix) * s) as u32, (f64::from(iy) * s) as u32);
    let (rw, rh) = (
        ((f64::from(iw) * s) as u32).max(2),
        ((f64::from(ih) * s) as u32).max(2),
    );
    let out = rendition.view(rx, ry, rw, rh).to_image();
    let src = imageops::resize(&src, rw, rh, FilterType::Triangle);
    correlation(&luma(&src), &luma(&out))
}

fn assert_face_gone(
    source: &RgbImage,
    r: &PhotoRenditions,
    face: (u32, u32, u32, u32),
    control: Option<(u32, u32, u32, u32)>,
    what: &str,
) {
    for rendition in r.iter() {
        let img = decode(&rendition.bytes);
        // What survives a redaction is at most the ~6×6 block averages of the area, which
        // correlate weakly with the source; the detail (which identifies a face) is gone.
        // Unredacted detail correlates > 0.7 under the same measurement.
        let c = area_correlation(source, &img, face);
        assert!(
            c.abs() < 0.25,
            "{what} {:?}: redacted area still correlates ({c:.3})",
            rendition.kind
        );
        if let Some(control) = control {
            let c = area_correlation(source, &img, control);
            assert!(
                c > 0.7,
                "{what} {:?}: unredacted control area lost its detail ({c:.3})",
                rendition.kind
            );
        }
    }
}

fn face(style: RedactStyle, ellipse: bool) -> Redaction {
    let (x, y, w, h) = FACE;
    let region = if ellipse {
        Region::Ellipse { x, y, w, h }
    } else {
        Region::Rect { x, y, w, h }
    };
    Redaction { region, style }
}

#[test]
fn every_style_and_shape_destroys_the_region_in_every_rendition() {
    let src = scene();
    let bytes = jpeg(&src);
    for style in [RedactStyle::Blur, RedactStyle::Pixelate] {
        for ellipse in [false, true] {
            let what = format!("{style:?} ellipse={ellipse}");
            let r =
                ingest_photo(&bytes, &[face(style, ellipse)], &IngestLimits::default()).unwrap();
            assert_face_gone(&src, &r, FACE, Some(CONTROL), &what);
            let original = decode(&r.original.bytes);
            // The rest of the picture is untouched.
            assert_colour(&original, 0.05, 0.05, TL, &what);
            assert_colour(&original, 0.95, 0.05, TR, &what);
            assert_colour(&original, 0.05, 0.95, BL, &what);
            let t = thumbnail(&bytes, &[face(style, ellipse)], &IngestLimits::default()).unwrap();
            let c = area_correlation(&src, &decode(&t.bytes), FACE);
            assert!(c.abs() < 0.25, "{what} thumbnail(): {c:.3}");
        }
    }
}

#[test]
fn regions_are_in_upright_coordinates() {
    // Store the scene rotated, tagged with orientation 6: the region drawn on the upright
    // picture must hit the face, not some other part of the stored pixels.
    let src = scene();
    let mut stored = DynamicImage::ImageRgb8(src.clone());
    stored.apply_orientation(image::metadata::Orientation::Rotate270);
    let bytes = with_exif_orientation(&jpeg(&stored.to_rgb8()), 6);
    let r = ingest_photo(
        &bytes,
        &[face(RedactStyle::Blur, true)],
        &IngestLimits::default(),
    )
    .unwrap();
    assert_eq!((r.original.width, r.original.height), (W, H));
    assert_face_gone(&src, &r, FACE, Some(CONTROL), "orientation 6");
}

#[test]
fn redaction_after_ingest_yields_new_clean_renditions() {
    let src = scene();
    let limits = IngestLimits::default();
    let first = ingest_photo(&jpeg(&src), &[], &limits).unwrap();
    let again = redact_photo(
        &first.original.bytes,
        &[face(RedactStyle::Pixelate, false)],
        &limits,
    )
    .unwrap();
    for (old, new) in first.iter().zip(again.iter()) {
        assert_ne!(old.hash, new.hash, "{:?} must get a new hash", old.kind);
    }
    assert_face_gone(&src, &again, FACE, Some(CONTROL), "redact_photo");
    assert!(matches!(
        redact_photo(&first.original.bytes, &[], &limits),
        Err(MediaError::InvalidRegion)
    ));
}

#[test]
fn large_photo_redaction_uses_full_resolution_coordinates() {
    // 6000 px wide: decoded below full size, so regions must be scaled to the working buffer.
    let (w, h) = (6000u32, 4000u32);
    let mut src = quadrants(w, h);
    let face = (2000u32, 1000u32, 1200u32, 1200u32);
    imageops::replace(&mut src, &detail(face.2, face.3, 3, 40), 2000, 1000);
    let control = (4400u32, 2400u32, 1000u32, 1000u32);
    imageops::replace(&mut src, &detail(control.2, control.3, 4, 40), 4400, 2400);
    let red = Redaction {
        region: Region::Rect {
            x: face.0,
            y: face.1,
            w: face.2,
            h: face.3,
        },
        style: RedactStyle::Blur,
    };
    let r = ingest_photo(&jpeg(&src), &[red], &IngestLimits::default()).unwrap();
    assert_eq!(r.original.width, 4096);
    assert_face_gone(&src, &r, face, Some(control), "6000 px");
}
