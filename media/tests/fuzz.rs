//! Property tests: no input makes the photo or audio paths panic.

mod common;

use common::*;
use insikt_media::audio::{scrub_m4a, sniff_audio};
use insikt_media::{ingest_photo, thumbnail, IngestLimits};
use proptest::prelude::*;

fn small_limits() -> IngestLimits {
    // Keep each case cheap: mutated headers may declare large sizes.
    IngestLimits {
        max_pixels: 4_000_000,
        max_alloc_bytes: 64 << 20,
        ..IngestLimits::default()
    }
}

fn seeds() -> Vec<Vec<u8>> {
    use image::{DynamicImage, ImageFormat};
    let img = quadrants(48, 32);
    vec![
        jpeg(&img),
        jpeg_with(
            &img,
            JpegOpts {
                progressive: true,
                ..Default::default()
            },
        ),
        with_exif_orientation(&jpeg(&img), 6),
        encode_as(DynamicImage::ImageRgb8(img.clone()), ImageFormat::Png),
        encode_as(
            DynamicImage::ImageRgba8(DynamicImage::ImageRgb8(img).to_rgba8()),
            ImageFormat::WebP,
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = ingest_photo(&bytes, &[], &small_limits());
        let _ = sniff_audio(&bytes);
        let mut b = bytes.clone();
        let _ = scrub_m4a(&mut b);
    }

    #[test]
    fn arbitrary_bytes_behind_real_magic_never_panic(
        magic in prop::sample::select(vec![
            b"\xFF\xD8\xFF".to_vec(), b"\x89PNG\r\n\x1a\n".to_vec(), b"RIFF\0\0\0\0WEBP".to_vec(),
            b"\0\0\0\x14ftypM4A ".to_vec(), b"OggS\0\x02".to_vec(),
        ]),
        tail in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let bytes = [magic, tail].concat();
        let _ = ingest_photo(&bytes, &[], &small_limits());
        let _ = thumbnail(&bytes, &[], &small_limits());
        let _ = sniff_audio(&bytes);
    }

    #[test]
    fn mutated_real_photos_never_panic(
        which in 0usize..5,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = seeds()[which].clone();
        for (at, v) in edits {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        let len = bytes.len();
        let _ = ingest_photo(&bytes, &[], &small_limits());
        let _ = ingest_photo(&bytes[..cut.index(len).max(1)], &[], &small_limits());
    }
}
