//! Every accepted input kind decodes with the right colours; every bad input gets the right
//! typed error and never a panic.

mod common;

use common::*;
use image::{DynamicImage, ImageBuffer, ImageFormat, Rgba};
use insikt_media::{
    ingest_photo, probe_photo, thumbnail, IngestLimits, MediaError, PhotoFormat, RedactStyle,
    Redaction, Region, RenditionKind,
};

fn limits() -> IngestLimits {
    IngestLimits::default()
}

/// A tiny redaction in a corner: forces the full-size re-encode path (the other decoder)
/// without touching the pixels we check.
fn corner() -> [Redaction; 1] {
    [Redaction {
        region: Region::Rect {
            x: 0,
            y: 0,
            w: 4,
            h: 4,
        },
        style: RedactStyle::Pixelate,
    }]
}

/// Runs the three decode paths (lossless copy + scaled preview, full-size re-encode, scaled
/// thumbnail) and checks the quadrant colours in each.
fn check_paths(bytes: &[u8], what: &str) {
    let plain = ingest_photo(bytes, &[], &limits()).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_upright(&decode(&plain.preview.bytes), &format!("{what} preview"));
    assert_upright(&decode(&plain.original.bytes), &format!("{what} original"));
    let redacted = ingest_photo(bytes, &corner(), &limits()).unwrap();
    assert_upright(
        &decode(&redacted.original.bytes),
        &format!("{what} re-encoded original"),
    );
    let t = thumbnail(bytes, &[], &limits()).unwrap();
    assert_upright(&decode(&t.bytes), &format!("{what} thumbnail"));
}

#[test]
fn renditions_have_the_promised_sizes() {
    let r = ingest_photo(&jpeg(&quadrants(4400, 3300)), &[], &limits()).unwrap();
    let sizes: Vec<_> = r
        .iter()
        .map(|x| (x.kind, x.width, x.height, x.mime))
        .collect();
    assert_eq!(
        sizes,
        vec![
            (RenditionKind::Thumbnail, 320, 240, "image/jpeg"),
            (RenditionKind::Preview, 1600, 1200, "image/jpeg"),
            (RenditionKind::Original, 4096, 3072, "image/jpeg"),
        ]
    );
    for x in r.iter() {
        assert_eq!(x.hash, insikt_media::BlobHash::of(&x.bytes));
        assert_eq!(x.hash.to_string().len(), 64);
    }
    // Small sources are not upscaled.
    let small = ingest_photo(&jpeg(&quadrants(200, 100)), &[], &limits()).unwrap();
    assert!(small.iter().all(|x| (x.width, x.height) == (200, 100)));
}

#[test]
fn progressive_jpeg() {
    let img = quadrants(1200, 800);
    check_paths(
        &jpeg_with(
            &img,
            JpegOpts {
                progressive: true,
                ..Default::default()
            },
        ),
        "progressive",
    );
}

#[test]
fn cmyk_and_ycck_jpegs() {
    // Ink per quadrant that gives the canonical colours (approximately).
    let ink = |x: u32, y: u32| -> [u8; 4] {
        let rgb = match (x < 600, y < 400) {
            (true, true) => TL,
            (false, true) => TR,
            (true, false) => BL,
            (false, false) => BR,
        };
        [255 - rgb[0], 255 - rgb[1], 255 - rgb[2], 0]
    };
    check_paths(&cmyk_jpeg(1200, 800, ink, false), "cmyk");
    check_paths(&cmyk_jpeg(1200, 800, ink, true), "ycck");
}

#[test]
fn grayscale_jpeg() {
    let bytes = gray_jpeg(1200, 800, |x, _| if x < 600 { 40 } else { 220 });
    for r in [
        ingest_photo(&bytes, &[], &limits()).unwrap(),
        ingest_photo(&bytes, &corner(), &limits()).unwrap(),
    ] {
        let img = decode(&r.original.bytes);
        assert_colour(&img, 0.25, 0.5, [40, 40, 40], "gray left");
        assert_colour(&img, 0.75, 0.5, [220, 220, 220], "gray right");
    }
}

#[test]
fn png_alpha_is_flattened_on_white_and_16_bit_works() {
    // Left half transparent, right half opaque red.
    let rgba = ImageBuffer::from_fn(400, 300, |x, _| {
        if x < 200 {
            Rgba([0u8, 0, 0, 0])
        } else {
            Rgba([200, 20, 20, 255])
        }
    });
    for (what, img) in [
        ("rgba8", DynamicImage::ImageRgba8(rgba.clone())),
        (
            "rgba16",
            DynamicImage::ImageRgba16(DynamicImage::ImageRgba8(rgba.clone()).to_rgba16()),
        ),
        (
            "la8",
            DynamicImage::ImageLumaA8(DynamicImage::ImageRgba8(rgba.clone()).to_luma_alpha8()),
        ),
    ] {
        let r = ingest_photo(&encode_as(img, ImageFormat::Png), &[], &limits()).unwrap();
        let out = decode(&r.original.bytes);
        assert_colour(
            &out,
            0.25,
            0.5,
            [255, 255, 255],
            &format!("{what} transparent -> white"),
        );
        if what != "la8" {
            assert_colour(
                &out,
                0.75,
                0.5,
                [200, 20, 20],
                &format!("{what} opaque kept"),
            );
        }
    }
    let rgb16 = DynamicImage::ImageRgb16(DynamicImage::ImageRgb8(quadrants(400, 300)).to_rgb16());
    check_paths(&encode_as(rgb16, ImageFormat::Png), "rgb16 png");
    let rgba_webp = DynamicImage::ImageRgba8(rgba);
    let r = ingest_photo(&encode_as(rgba_webp, ImageFormat::WebP), &[], &limits()).unwrap();
    assert_colour(
        &decode(&r.original.bytes),
        0.25,
        0.5,
        [255, 255, 255],
        "webp alpha -> white",
    );
}

#[test]
fn webp_lossy_from_vips_if_available_and_lossless_always() {
    check_paths(
        &encode_as(
            DynamicImage::ImageRgb8(quadrants(600, 400)),
            ImageFormat::WebP,
        ),
        "webp lossless",
    );
    // A lossy WebP (VP8) needs an encoder the image crate lacks; libvips has one.
    let dir = tempfile::tempdir().unwrap();
    let png = write(
        dir.path(),
        "q.png",
        &encode_as(
            DynamicImage::ImageRgb8(quadrants(600, 400)),
            ImageFormat::Png,
        ),
    );
    let out = dir.path().join("q.webp");
    let made = std::process::Command::new("vips")
        .arg("copy")
        .arg(&png)
        .arg(format!("{}[Q=80]", out.display()))
        .status()
        .is_ok_and(|s| s.success());
    if made {
        check_paths(&std::fs::read(&out).unwrap(), "webp lossy");
    } else {
        eprintln!("note: `vips` not found, lossy WebP case skipped (libvips-tools)");
    }
}

#[test]
fn decompression_bombs_are_refused_before_allocation() {
    let bomb = bomb_png(100_000, 100_000);
    assert!(matches!(
        ingest_photo(&bomb, &[], &limits()),
        Err(MediaError::TooLarge {
            width: 100_000,
            height: 100_000
        })
    ));
    assert!(matches!(
        probe_photo(&bomb, &limits()),
        Err(MediaError::TooLarge { .. })
    ));
    let big = huge_jpeg_header(65_000, 65_000);
    assert!(matches!(
        ingest_photo(&big, &[], &limits()),
        Err(MediaError::TooLarge {
            width: 65_000,
            height: 65_000
        })
    ));
    assert!(matches!(
        thumbnail(&big, &[], &limits()),
        Err(MediaError::TooLarge { .. })
    ));
    // Within the pixel limit but over the memory limit: `Limits`, still before allocating.
    let tight = IngestLimits {
        max_alloc_bytes: 8 << 20,
        ..limits()
    };
    assert!(matches!(
        ingest_photo(&bomb_png(4000, 3000), &[], &tight),
        Err(MediaError::Limits)
    ));
    assert!(matches!(
        ingest_photo(&huge_jpeg_header(4000, 3000), &[], &tight),
        Err(MediaError::Limits)
    ));
    // Oversized input files.
    let tiny = IngestLimits {
        max_input_bytes: 100,
        ..limits()
    };
    assert!(matches!(
        ingest_photo(&jpeg(&quadrants(64, 64)), &[], &tiny),
        Err(MediaError::Limits)
    ));
}

#[test]
fn truncated_files_are_reported_as_truncated() {
    let img = quadrants(300, 200);
    let files = [
        ("jpeg", jpeg(&img)),
        (
            "progressive",
            jpeg_with(
                &img,
                JpegOpts {
                    progressive: true,
                    ..Default::default()
                },
            ),
        ),
        (
            "png",
            encode_as(
                DynamicImage::ImageRgb8(noise_image(300, 200, 1)),
                ImageFormat::Png,
            ),
        ),
        (
            "webp",
            encode_as(
                DynamicImage::ImageRgb8(noise_image(300, 200, 2)),
                ImageFormat::WebP,
            ),
        ),
    ];
    for (what, full) in files {
        for cut in [full.len() / 2, full.len() * 9 / 10, 40] {
            let e = ingest_photo(&full[..cut], &[], &limits()).unwrap_err();
            assert!(
                matches!(e, MediaError::Truncated),
                "{what} cut at {cut}/{}: {e:?}",
                full.len()
            );
        }
    }
}

#[test]
fn files_that_lie_about_their_type() {
    let dir = tempfile::tempdir().unwrap();
    // A PNG named .jpg is handled as the PNG it is.
    let png = encode_as(
        DynamicImage::ImageRgb8(quadrants(300, 200)),
        ImageFormat::Png,
    );
    let path = write(dir.path(), "photo.jpg", &png);
    let r = ingest_photo(&std::fs::read(path).unwrap(), &[], &limits()).unwrap();
    assert_eq!(r.source.format, PhotoFormat::Png);
    assert_upright(&decode(&r.original.bytes), "png named jpg");

    type Expect = fn(&MediaError) -> bool;
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        (
            "jpeg magic then png",
            [&[0xFF, 0xD8, 0xFF][..], &png[3..]].concat(),
            |e| matches!(e, MediaError::Corrupt | MediaError::Truncated),
        ),
        (
            "png magic then jpeg",
            [&png[..8], &jpeg(&quadrants(32, 32))[..]].concat(),
            |e| matches!(e, MediaError::Corrupt | MediaError::Truncated),
        ),
        (
            "riff webp header only",
            b"RIFF\x10\0\0\0WEBPVP8 \x04\0\0\0abcd".to_vec(),
            |e| matches!(e, MediaError::Corrupt | MediaError::Truncated),
        ),
        ("wav", b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0".to_vec(), |e| {
            matches!(e, MediaError::UnsupportedFormat)
        }),
        ("gif", b"GIF89a\x01\0\x01\0\0\0\0;".to_vec(), |e| {
            matches!(e, MediaError::UnsupportedFormat)
        }),
        (
            "heic",
            b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec(),
            |e| matches!(e, MediaError::UnsupportedFormat),
        ),
        ("text", b"<html>not a photo</html>".to_vec(), |e| {
            matches!(e, MediaError::UnsupportedFormat)
        }),
        ("empty", Vec::new(), |e| {
            matches!(e, MediaError::UnsupportedFormat)
        }),
        ("random", noise_image(64, 64, 7).into_raw(), |e| {
            matches!(e, MediaError::UnsupportedFormat)
        }),
    ];
    for (what, bytes, ok) in cases {
        let e = ingest_photo(&bytes, &[], &limits()).unwrap_err();
        assert!(ok(&e), "{what}: got {e:?}");
        let e = thumbnail(&bytes, &[], &limits()).unwrap_err();
        assert!(ok(&e), "{what} thumbnail(): got {e:?}");
    }
}

#[test]
fn error_messages_carry_no_content() {
    let msg = ingest_photo(b"secret participant text", &[], &limits())
        .unwrap_err()
        .to_string();
    assert!(
        !msg.contains("secret") && !msg.contains("participant"),
        "{msg}"
    );
}

#[test]
fn bad_regions_are_rejected() {
    let bytes = jpeg(&quadrants(300, 200));
    for region in [
        Region::Rect {
            x: 0,
            y: 0,
            w: 0,
            h: 10,
        },
        Region::Ellipse {
            x: 300,
            y: 0,
            w: 5,
            h: 5,
        },
    ] {
        let r = [Redaction {
            region,
            style: RedactStyle::Blur,
        }];
        assert!(matches!(
            ingest_photo(&bytes, &r, &limits()),
            Err(MediaError::InvalidRegion)
        ));
    }
}
