use fast_image_resize as fir;
use insikt_media::{ingest_photo, IngestLimits, RedactStyle, Redaction, Region};
use std::time::Instant;

include!("/tmp/prof/photo_like.rs");

fn enc(px: &[u8], w: u32, h: u32, q: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(px.len() / 8);
    let mut e = jpeg_encoder::Encoder::new(&mut out, q);
    e.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    e.encode(px, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}
fn with_orientation(jpeg: &[u8], o: u16) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01".to_vec();
    tiff.extend_from_slice(&o.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let payload = [&b"Exif\0\0"[..], &tiff].concat();
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}
fn t<T>(name: &str, n: usize, mut f: impl FnMut() -> T) -> T {
    let mut v = Vec::new();
    let mut r = None;
    for _ in 0..n {
        let s = Instant::now();
        r = Some(std::hint::black_box(f()));
        v.push(s.elapsed().as_secs_f64() * 1e3);
    }
    v.sort_by(f64::total_cmp);
    println!("{name:40} min {:7.1} med {:7.1} ms", v[0], v[v.len() / 2]);
    r.unwrap()
}
fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let (w, h) = (4000u32, 3000u32);
    let px = photo_like(w, h, 1);
    let jpg = enc(&px, w, h, 90);
    let mode = std::env::var("MODE").unwrap_or_default();
    let limits = IngestLimits::default();
    let rot = with_orientation(&jpg, 6);
    let face = [Redaction {
        region: Region::Ellipse {
            x: 1500,
            y: 800,
            w: 600,
            h: 800,
        },
        style: RedactStyle::Blur,
    }];
    if mode == "rot" {
        for _ in 0..30 {
            std::hint::black_box(ingest_photo(&rot, &[], &limits).unwrap());
        }
        return;
    }
    if mode == "red" {
        for _ in 0..30 {
            std::hint::black_box(ingest_photo(&jpg, &face, &limits).unwrap());
        }
        return;
    }
    let n = 7;
    t("ingest rotated", n, || {
        ingest_photo(&rot, &[], &limits).unwrap()
    });
    t("ingest redacted", n, || {
        ingest_photo(&jpg, &face, &limits).unwrap()
    });
    t("ingest upright", n, || {
        ingest_photo(&jpg, &[], &limits).unwrap()
    });
    let dec = t("zune decode full", n, || {
        let opts = zune_core::options::DecoderOptions::default()
            .jpeg_set_out_colorspace(zune_core::colorspace::ColorSpace::RGB);
        let mut d = zune_jpeg::JpegDecoder::new_with_options(
            zune_core::bytestream::ZCursor::new(&jpg[..]),
            opts,
        );
        d.decode().unwrap()
    });
    for q in [90u8, 88, 85] {
        let o = t(&format!("encode 4000x3000 q{q}"), n, || enc(&dec, w, h, q));
        println!("   size {:.2} MB", o.len() as f64 / 1e6);
    }
    let small = t("resize 4000x3000->1600x1200", n, || {
        let src = fir::images::ImageRef::new(w, h, &dec, fir::PixelType::U8x3).unwrap();
        let mut dst = fir::images::Image::new(1600, 1200, fir::PixelType::U8x3);
        let opts = fir::ResizeOptions::new()
            .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::CatmullRom));
        fir::Resizer::new().resize(&src, &mut dst, &opts).unwrap();
        dst.into_vec()
    });
    println!("   fir cpu ext: {:?}", fir::Resizer::new().cpu_extensions());
    t("encode 1600x1200 q85", n, || enc(&small, 1600, 1200, 85));
}
