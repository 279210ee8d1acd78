//! Fixture builders and the exiftool oracle shared by the integration tests. Every fixture
//! is generated at test time into a temp dir; nothing binary is checked in.
#![allow(dead_code)]

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

/// Canonical upright test picture colours: each quadrant distinct, so any wrong rotation or
/// mirror shows up.
pub const TL: [u8; 3] = [230, 30, 30];
pub const TR: [u8; 3] = [30, 200, 30];
pub const BL: [u8; 3] = [30, 30, 220];
pub const BR: [u8; 3] = [240, 230, 40];

/// Upright picture `w`×`h` with four coloured quadrants.
pub fn quadrants(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb(match (x < w / 2, y < h / 2) {
            (true, true) => TL,
            (false, true) => TR,
            (true, false) => BL,
            (false, false) => BR,
        })
    })
}

/// Deterministic noise, for regions that must look like detail.
pub fn noise_image(w: u32, h: u32, seed: u32) -> RgbImage {
    let mut s = seed.wrapping_mul(2_654_435_761) | 1;
    RgbImage::from_fn(w, h, |_, _| {
        let mut c = [0u8; 3];
        for v in &mut c {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            *v = (s >> 24) as u8;
        }
        Rgb(c)
    })
}

pub struct JpegOpts {
    pub quality: u8,
    pub progressive: bool,
}

impl Default for JpegOpts {
    fn default() -> Self {
        JpegOpts {
            quality: 92,
            progressive: false,
        }
    }
}

pub fn jpeg_with(img: &RgbImage, o: JpegOpts) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, o.quality);
    enc.set_progressive(o.progressive);
    enc.encode(
        img.as_raw(),
        img.width() as u16,
        img.height() as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .unwrap();
    out
}

pub fn jpeg(img: &RgbImage) -> Vec<u8> {
    jpeg_with(img, JpegOpts::default())
}

/// Raw 4-channel ink values (C, M, Y, K) encoded the way Photoshop does (Adobe APP14,
/// inverted), or as YCCK.
pub fn cmyk_jpeg(w: u32, h: u32, ink: impl Fn(u32, u32) -> [u8; 4], ycck: bool) -> Vec<u8> {
    let data: Vec<u8> = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .flat_map(|(x, y)| ink(x, y))
        .collect();
    let mut out = Vec::new();
    let ct = if ycck {
        jpeg_encoder::ColorType::CmykAsYcck
    } else {
        jpeg_encoder::ColorType::Cmyk
    };
    jpeg_encoder::Encoder::new(&mut out, 92)
        .encode(&data, w as u16, h as u16, ct)
        .unwrap();
    out
}

pub fn gray_jpeg(w: u32, h: u32, f: impl Fn(u32, u32) -> u8) -> Vec<u8> {
    let data: Vec<u8> = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| f(x, y))
        .collect();
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 92)
        .encode(&data, w as u16, h as u16, jpeg_encoder::ColorType::Luma)
        .unwrap();
    out
}

pub fn encode_as(img: DynamicImage, fmt: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, fmt).unwrap();
    out.into_inner()
}

/// Decodes a rendition (always JPEG) to packed RGB.
pub fn decode(jpeg: &[u8]) -> RgbImage {
    let mut d = jpeg_decoder::Decoder::new(jpeg);
    let px = d.decode().expect("rendition decodes");
    let info = d.info().unwrap();
    let rgb = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => px,
        jpeg_decoder::PixelFormat::L8 => px.iter().flat_map(|&l| [l, l, l]).collect(),
        f => panic!("unexpected rendition pixel format {f:?}"),
    };
    RgbImage::from_raw(u32::from(info.width), u32::from(info.height), rgb).unwrap()
}

/// Asserts that the pixel at fractional position (fx, fy) is close to `want`.
pub fn assert_colour(img: &RgbImage, fx: f32, fy: f32, want: [u8; 3], what: &str) {
    let x = ((img.width() as f32 * fx) as u32).min(img.width() - 1);
    let y = ((img.height() as f32 * fy) as u32).min(img.height() - 1);
    let got = img.get_pixel(x, y).0;
    let close = got
        .iter()
        .zip(want)
        .all(|(&g, w)| (i32::from(g) - i32::from(w)).abs() <= 40);
    assert!(
        close,
        "{what}: pixel at ({fx},{fy}) is {got:?}, expected about {want:?}"
    );
}

/// The four quadrant centres must show the canonical colours (i.e. the image is upright).
pub fn assert_upright(img: &RgbImage, what: &str) {
    assert_colour(img, 0.25, 0.25, TL, what);
    assert_colour(img, 0.75, 0.25, TR, what);
    assert_colour(img, 0.25, 0.75, BL, what);
    assert_colour(img, 0.75, 0.75, BR, what);
}

// ---- exiftool -------------------------------------------------------------------------

/// Panics with an actionable message when exiftool is missing: the privacy tests must
/// never pass silently without their oracle.
pub fn require_exiftool() {
    let ok = Command::new("exiftool")
        .arg("-ver")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "exiftool is required by the insikt-media privacy tests but was not found on PATH; \
         install it with `apt-get install -y libimage-exiftool-perl`"
    );
}

/// Runs exiftool with `args` on `file` (in place), failing the test on error.
pub fn exiftool_write(file: &Path, args: &[&str]) {
    require_exiftool();
    let out = Command::new("exiftool")
        .args(["-q", "-q", "-overwrite_original"])
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "exiftool {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `exiftool -j -a -G1` of `bytes`, as (group, tag) → value pairs.
pub fn exif_tags(bytes: &[u8], dir: &Path) -> Vec<(String, String, serde_json::Value)> {
    require_exiftool();
    let path = dir.join(format!("probe-{}.jpg", rand_suffix()));
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("exiftool")
        .args(["-j", "-a", "-G1", "-b"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "exiftool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let obj = v[0].as_object().unwrap().clone();
    obj.into_iter()
        .map(|(k, v)| match k.split_once(':') {
            Some((g, t)) => (g.to_string(), t.to_string(), v),
            None => (String::new(), k, v),
        })
        .collect()
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Writes `bytes` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

// ---- hand-built PNGs -------------------------------------------------------------------

pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut v = (data.len() as u32).to_be_bytes().to_vec();
    let body = [&kind[..], data].concat();
    v.extend_from_slice(&body);
    v.extend_from_slice(&crc32(&body).to_be_bytes());
    v
}

/// A PNG that declares `w`×`h` RGB pixels but carries only a tiny (empty) zlib stream.
pub fn bomb_png(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut f = b"\x89PNG\r\n\x1a\n".to_vec();
    f.extend(png_chunk(b"IHDR", &ihdr));
    f.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    f.extend(png_chunk(b"IEND", &[]));
    f
}

/// A baseline JPEG header declaring `w`×`h`, with tables and a scan of a few bytes.
pub fn huge_jpeg_header(w: u16, h: u16) -> Vec<u8> {
    let small = jpeg(&quadrants(16, 16));
    // Patch the SOF0 dimensions of a real file: tables and scan stay valid.
    let mut f = small.clone();
    let sof = f.windows(2).position(|p| p == [0xFF, 0xC0]).unwrap();
    f[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    f[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    f
}

/// Inserts an EXIF APP1 holding only an orientation tag right after SOI (no exiftool
/// needed for tests that are about pixels, not metadata).
pub fn with_exif_orientation(jpeg: &[u8], n: u16) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01".to_vec();
    tiff.extend_from_slice(&n.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let payload = [&b"Exif\0\0"[..], &tiff].concat();
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}
