//! Nothing private survives ingest: planted EXIF/XMP/IPTC/ICC/comment/thumbnail values are
//! absent from every rendition (checked with exiftool and by raw bytes), and every EXIF
//! orientation comes out upright (checked by pixels).

mod common;

use common::*;
use image::metadata::Orientation;
use image::{DynamicImage, ImageFormat};
use insikt_media::{ingest_photo, thumbnail, IngestLimits, PhotoFormat, PhotoRenditions};

/// Strings planted in the fixtures; none may appear in any output, in any form.
const SECRETS: &[&str] = &[
    "SN-SECRET-4711",
    "LENS-SECRET-99",
    "Owner Secretname",
    "Artist Secretname",
    "SecretMake",
    "SecretModel",
    "XMP-SECRET-DESC",
    "IPTC-SECRET-CITY",
    "IPTC-SECRET-BYLINE",
    "COMMENT-SECRET",
    "PNG-TEXT-SECRET",
];

/// Groups exiftool may report for a clean JPEG: the file system, the file itself and the
/// bare JFIF header. Anything else (GPS, IFD0, ExifIFD, IFD1, XMP-*, IPTC, ICC-*, MPF,
/// Photoshop, MakerNotes, Composite GPS…) means metadata leaked.
const ALLOWED_GROUPS: &[&str] = &["", "ExifTool", "System", "File", "JFIF", "Composite"];

fn plant_everything(path: &std::path::Path, dir: &std::path::Path) {
    let thumb = write(dir, "embedded-thumb.jpg", &jpeg(&quadrants(64, 48)));
    let thumb_arg = format!("-ThumbnailImage<={}", thumb.display());
    let mut args = vec![
        "-GPSLatitude=59.329323",
        "-GPSLatitudeRef=N",
        "-GPSLongitude=18.068581",
        "-GPSLongitudeRef=E",
        "-GPSAltitude=28",
        "-SerialNumber=SN-SECRET-4711",
        "-LensSerialNumber=LENS-SECRET-99",
        "-OwnerName=Owner Secretname",
        "-Artist=Artist Secretname",
        "-Make=SecretMake",
        "-Model=SecretModel",
        "-DateTimeOriginal=2024:05:17 10:11:12",
        "-XMP-dc:Description=XMP-SECRET-DESC",
        "-XMP-exif:GPSLatitude=59.329323",
        "-IPTC:City=IPTC-SECRET-CITY",
        "-IPTC:By-line=IPTC-SECRET-BYLINE",
        "-Comment=COMMENT-SECRET",
        thumb_arg.as_str(),
    ];
    let icc = "/usr/share/color/icc/ghostscript/srgb.icc";
    let icc_arg = format!("-ICC_Profile<={icc}");
    if std::path::Path::new(icc).exists() {
        args.push(icc_arg.as_str());
    }
    exiftool_write(path, &args);
}

/// Checks one rendition with exiftool and by scanning its bytes.
fn assert_clean(bytes: &[u8], dir: &std::path::Path, what: &str) {
    for (group, tag, value) in exif_tags(bytes, dir) {
        assert!(
            ALLOWED_GROUPS.contains(&group.as_str()),
            "{what}: metadata group {group}:{tag} = {value} survived"
        );
        assert!(!tag.contains("GPS"), "{what}: {group}:{tag} survived");
        assert!(
            tag != "Comment" && tag != "ThumbnailImage",
            "{what}: {group}:{tag} survived"
        );
        let v = value.to_string();
        for s in SECRETS {
            assert!(!v.contains(s), "{what}: {group}:{tag} carries {s}");
        }
    }
    let raw = String::from_utf8_lossy(bytes);
    for s in SECRETS.iter().chain(&[
        "Exif\0\0",
        "http://ns.adobe.com",
        "Photoshop 3.0",
        "ICC_PROFILE",
        "MPF\0",
    ]) {
        assert!(!raw.contains(s), "{what}: raw bytes contain {s:?}");
    }
    // Exactly one SOI and the image ends at its EOI: nothing appended.
    assert!(
        bytes.starts_with(&[0xFF, 0xD8]) && bytes.ends_with(&[0xFF, 0xD9]),
        "{what}"
    );
}

fn assert_all_clean(r: &PhotoRenditions, dir: &std::path::Path, what: &str) {
    for rendition in r.iter() {
        assert_clean(
            &rendition.bytes,
            dir,
            &format!("{what} {:?}", rendition.kind),
        );
    }
}

#[test]
fn planted_metadata_never_survives_jpeg_ingest() {
    require_exiftool();
    let dir = tempfile::tempdir().unwrap();
    let limits = IngestLimits::default();
    for (name, progressive, w) in [
        ("baseline", false, 800),
        ("progressive", true, 800),
        ("big", false, 4400),
    ] {
        let img = quadrants(w, w * 3 / 4);
        let path = write(
            dir.path(),
            &format!("{name}.jpg"),
            &jpeg_with(
                &img,
                JpegOpts {
                    progressive,
                    ..Default::default()
                },
            ),
        );
        plant_everything(&path, dir.path());
        let planted = std::fs::read(&path).unwrap();
        // The fixture really carries what we claim to remove.
        let before = exif_tags(&planted, dir.path());
        for want in [
            "GPSLatitude",
            "SerialNumber",
            "OwnerName",
            "Description",
            "City",
            "Comment",
            "ThumbnailImage",
        ] {
            assert!(
                before.iter().any(|(_, t, _)| t == want),
                "fixture lacks {want}"
            );
        }
        let r = ingest_photo(&planted, &[], &limits).unwrap();
        assert_all_clean(&r, dir.path(), name);
        assert_upright(&decode(&r.original.bytes), name);
        let t = thumbnail(&planted, &[], &limits).unwrap();
        assert_clean(&t.bytes, dir.path(), &format!("{name} thumbnail()"));
    }
}

#[test]
fn planted_metadata_never_survives_png_and_webp_ingest() {
    require_exiftool();
    let dir = tempfile::tempdir().unwrap();
    let img = DynamicImage::ImageRgb8(quadrants(600, 400));
    for (fmt, ext) in [(ImageFormat::Png, "png"), (ImageFormat::WebP, "webp")] {
        let path = write(
            dir.path(),
            &format!("planted.{ext}"),
            &encode_as(img.clone(), fmt),
        );
        let mut args = vec![
            "-EXIF:GPSLatitude=59.329323",
            "-EXIF:GPSLatitudeRef=N",
            "-EXIF:SerialNumber=SN-SECRET-4711",
            "-EXIF:OwnerName=Owner Secretname",
            "-XMP-dc:Description=XMP-SECRET-DESC",
        ];
        if ext == "png" {
            args.push("-PNG:Comment=PNG-TEXT-SECRET");
        }
        exiftool_write(&path, &args);
        let planted = std::fs::read(&path).unwrap();
        assert!(
            String::from_utf8_lossy(&planted).contains("XMP-SECRET-DESC"),
            "{ext} fixture"
        );
        let r = ingest_photo(&planted, &[], &IngestLimits::default()).unwrap();
        assert_eq!(
            r.source.format,
            if ext == "png" {
                PhotoFormat::Png
            } else {
                PhotoFormat::WebP
            }
        );
        assert_all_clean(&r, dir.path(), ext);
        assert_upright(&decode(&r.original.bytes), ext);
    }
}

/// The stored (sideways) pixels for EXIF orientation `n`: the inverse of what a viewer
/// applies, built with `image` so it is independent of the code under test.
fn stored_for(n: u8, upright: &image::RgbImage) -> image::RgbImage {
    let inverse = match n {
        6 => 8,
        8 => 6,
        other => other,
    };
    let mut img = DynamicImage::ImageRgb8(upright.clone());
    img.apply_orientation(Orientation::from_exif(inverse).unwrap());
    img.to_rgb8()
}

#[test]
fn every_exif_orientation_comes_out_upright() {
    require_exiftool();
    let dir = tempfile::tempdir().unwrap();
    let limits = IngestLimits::default();
    let upright = quadrants(480, 320);
    for n in 1..=8u8 {
        let stored = stored_for(n, &upright);
        let path = write(dir.path(), &format!("o{n}.jpg"), &jpeg(&stored));
        exiftool_write(&path, &["-n", &format!("-Orientation={n}")]);
        let bytes = std::fs::read(&path).unwrap();
        let r = ingest_photo(&bytes, &[], &limits).unwrap();
        assert_eq!(
            (r.source.width, r.source.height),
            (480, 320),
            "orientation {n}"
        );
        for rendition in r.iter() {
            let img = decode(&rendition.bytes);
            assert_eq!(
                (img.width(), img.height()),
                (rendition.width, rendition.height)
            );
            assert!(
                img.width() > img.height(),
                "orientation {n} {:?}: not landscape",
                rendition.kind
            );
            assert_upright(&img, &format!("orientation {n} {:?}", rendition.kind));
        }
        let t = thumbnail(&bytes, &[], &limits).unwrap();
        assert_upright(&decode(&t.bytes), &format!("orientation {n} thumbnail()"));
        assert_clean(&r.original.bytes, dir.path(), &format!("orientation {n}"));
    }
}

#[test]
fn png_and_webp_orientation_is_applied() {
    require_exiftool();
    let dir = tempfile::tempdir().unwrap();
    let upright = quadrants(480, 320);
    for (fmt, ext) in [(ImageFormat::Png, "png"), (ImageFormat::WebP, "webp")] {
        for n in [3u8, 6, 8] {
            let stored = DynamicImage::ImageRgb8(stored_for(n, &upright));
            let path = write(dir.path(), &format!("o{n}.{ext}"), &encode_as(stored, fmt));
            exiftool_write(&path, &["-n", &format!("-EXIF:Orientation={n}")]);
            let r = ingest_photo(
                &std::fs::read(&path).unwrap(),
                &[],
                &IngestLimits::default(),
            )
            .unwrap();
            assert_upright(&decode(&r.preview.bytes), &format!("{ext} orientation {n}"));
        }
    }
}
