//! An owned 8-bit RGB pixel buffer and the few operations ingest needs on it:
//! orientation, resizing and JPEG encoding. Every output passes through [`Rgb8::encode_jpeg`],
//! which writes pixels and a bare JFIF header and nothing else.

use fast_image_resize as fir;
use image::metadata::Orientation;

use crate::error::{MediaError, Result};

/// Packed RGB, 3 bytes a pixel, rows without padding.
pub(crate) struct Rgb8 {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl Rgb8 {
    pub fn new(width: u32, height: u32, data: Vec<u8>) -> Self {
        debug_assert_eq!(data.len(), width as usize * height as usize * 3);
        Rgb8 {
            width,
            height,
            data,
        }
    }

    pub fn long_edge(&self) -> u32 {
        self.width.max(self.height)
    }

    /// Turns the pixels upright. Runs on the working buffer before redaction, because
    /// redaction regions are given in upright coordinates.
    pub fn apply_orientation(self, o: Orientation) -> Self {
        match o {
            Orientation::NoTransforms => self,
            Orientation::FlipHorizontal => self.remap(false, true, false),
            Orientation::FlipVertical => self.remap(false, false, true),
            Orientation::Rotate180 => self.remap(false, true, true),
            // Rotate 90 clockwise: dst(x, y) = src(y, H-1-x), i.e. transpose then mirror.
            Orientation::Rotate90 => self.remap(true, true, false),
            Orientation::Rotate270 => self.remap(true, false, true),
            // EXIF 5: transpose (mirror across the main diagonal).
            Orientation::Rotate90FlipH => self.remap(true, false, false),
            // EXIF 7: transverse (mirror across the anti-diagonal).
            Orientation::Rotate270FlipH => self.remap(true, true, true),
        }
    }

    /// General dihedral remap: optionally transpose, then mirror columns and/or rows of the
    /// result. Flips move whole rows; transposes walk 32×32 tiles so both the strided reads
    /// and the sequential writes stay in cache on big photos. The destination rows are split
    /// between this thread and a second one (a 12 MP turn costs about 25 ms on one core).
    fn remap(self, transpose: bool, mirror_x: bool, mirror_y: bool) -> Self {
        let (sw, sh) = (self.width as usize, self.height as usize);
        let (dw, dh) = if transpose { (sh, sw) } else { (sw, sh) };
        let (src, _) = self.data.as_chunks::<3>();
        let mut out = vec![[0u8; 3]; sw * sh];
        // Fills destination rows `first_row..` (as many as `rows` holds).
        let fill = |rows: &mut [[u8; 3]], first_row: usize| {
            if !transpose {
                for (dy, row) in (first_row..).zip(rows.chunks_exact_mut(dw)) {
                    let sy = if mirror_y { dh - 1 - dy } else { dy };
                    row.copy_from_slice(&src[sy * sw..(sy + 1) * sw]);
                    if mirror_x {
                        row.reverse();
                    }
                }
                return;
            }
            const TILE: usize = 32;
            let end_row = first_row + rows.len() / dw;
            for ty in (first_row..end_row).step_by(TILE) {
                for tx in (0..dw).step_by(TILE) {
                    let tx_end = (tx + TILE).min(dw);
                    for dy in ty..(ty + TILE).min(end_row) {
                        // Before mirroring, destination (x, y) holds source (y, x).
                        let sx = if mirror_y { dh - 1 - dy } else { dy };
                        let at = (dy - first_row) * dw;
                        let row = &mut rows[at + tx..at + tx_end];
                        for (px, dx) in row.iter_mut().zip(tx..tx_end) {
                            let sy = if mirror_x { dw - 1 - dx } else { dx };
                            *px = src[sy * sw + sx];
                        }
                    }
                }
            }
        };
        // Small images are not worth a thread.
        if sw * sh < 1 << 20 {
            fill(&mut out, 0);
        } else {
            let split = dh / 2;
            let (top, bottom) = out.split_at_mut(split * dw);
            let fill = &fill;
            let helped = std::thread::scope(|s| {
                let helper = std::thread::Builder::new()
                    .name("insikt-media-remap".into())
                    .spawn_scoped(s, move || fill(top, 0));
                fill(bottom, split);
                helper.is_ok_and(|h| h.join().is_ok())
            });
            if !helped {
                // The helper could not start (or died): its rows are done here instead.
                fill(&mut out[..split * dw], 0);
            }
        }
        Rgb8::new(dw as u32, dh as u32, out.into_flattened())
    }

    /// Size that fits `long_edge` on the longer side, keeping aspect; never upscales.
    pub fn fit(&self, long_edge: u32) -> (u32, u32) {
        fit_within(self.width, self.height, long_edge)
    }

    /// A resized copy. Catmull-Rom: sharp, and measured 40 % faster than Lanczos3 here.
    /// Returns a plain copy when the size does not change, so callers stay simple.
    pub fn resized(&self, width: u32, height: u32) -> Result<Rgb8> {
        if (width, height) == (self.width, self.height) {
            return Ok(Rgb8::new(width, height, self.data.clone()));
        }
        let src =
            fir::images::ImageRef::new(self.width, self.height, &self.data, fir::PixelType::U8x3)
                .map_err(|_| MediaError::Encode)?;
        let mut dst = fir::images::Image::new(width, height, fir::PixelType::U8x3);
        let opts = fir::ResizeOptions::new()
            .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::CatmullRom));
        fir::Resizer::new()
            .resize(&src, &mut dst, &opts)
            .map_err(|_| MediaError::Encode)?;
        Ok(Rgb8::new(width, height, dst.into_vec()))
    }

    /// Shrinks in place of `self` when larger than `long_edge` (frees the big buffer early).
    pub fn shrink_to(self, long_edge: u32) -> Result<Rgb8> {
        let (w, h) = self.fit(long_edge);
        if (w, h) == (self.width, self.height) {
            Ok(self)
        } else {
            self.resized(w, h)
        }
    }

    /// Baseline JPEG, 4:2:0, JFIF APP0 only: no EXIF, XMP, ICC, comment or thumbnail can be
    /// written because none is given to the encoder (libjpeg-turbo through `turbojpeg`,
    /// which only ever sees pixels we made).
    pub fn encode_jpeg(&self, quality: u8) -> Result<Vec<u8>> {
        encode_rgb_jpeg(&self.data, self.width, self.height, quality)
    }
}

/// Encodes packed RGB (`width * height * 3` bytes) as a baseline 4:2:0 JPEG with a bare JFIF
/// header. Checks the buffer size itself, so the encoder's own asserts can never fire.
pub(crate) fn encode_rgb_jpeg(rgb: &[u8], width: u32, height: u32, quality: u8) -> Result<Vec<u8>> {
    let (w, h) = (width as usize, height as usize);
    if w == 0
        || h == 0
        || width > u32::from(u16::MAX)
        || height > u32::from(u16::MAX)
        || w.checked_mul(h).and_then(|n| n.checked_mul(3)) != Some(rgb.len())
    {
        return Err(MediaError::Encode);
    }
    let image = turbojpeg::Image {
        pixels: rgb,
        width: w,
        pitch: w * 3,
        height: h,
        format: turbojpeg::PixelFormat::RGB,
    };
    let run = || -> std::result::Result<Vec<u8>, turbojpeg::Error> {
        let mut c = turbojpeg::Compressor::new()?;
        c.set_quality(i32::from(quality.clamp(1, 100)))?;
        c.set_subsamp(turbojpeg::Subsamp::Sub2x2)?;
        c.compress_to_vec(image)
    };
    // The wrapper has asserts (checked above) and the allocator could fail; neither may
    // unwind into the caller.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(Ok(bytes)) => Ok(bytes),
        _ => Err(MediaError::Encode),
    }
}

/// Largest size with the same aspect ratio whose long edge is at most `long_edge`
/// (never larger than the source, never zero).
pub(crate) fn fit_within(width: u32, height: u32, long_edge: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= long_edge {
        return (width, height);
    }
    let scale = |v: u32| -> u32 {
        let scaled = (u64::from(v) * u64::from(long_edge) + u64::from(long) / 2) / u64::from(long);
        (scaled as u32).max(1)
    };
    (scale(width), scale(height))
}

/// Composites straight (non-premultiplied) RGBA over white, writing RGB.
pub(crate) fn flatten_rgba_on_white(rgba: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rgba.len() / 4 * 3);
    for px in rgba.chunks_exact(4) {
        let a = u32::from(px[3]);
        for &c in &px[..3] {
            // c*a + 255*(255-a), divided by 255 with rounding.
            let v = u32::from(c) * a + 255 * (255 - a);
            out.push(((v + 127) / 255) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3x2 image whose pixels are numbered 0..6 in the red channel.
    fn numbered() -> Rgb8 {
        let data = (0u8..6).flat_map(|i| [i, 0, 0]).collect();
        Rgb8::new(3, 2, data)
    }

    fn reds(img: &Rgb8) -> Vec<u8> {
        img.data.chunks(3).map(|p| p[0]).collect()
    }

    #[test]
    fn every_orientation_matches_the_exif_definition() {
        // Source:  0 1 2
        //          3 4 5
        let cases = [
            (Orientation::NoTransforms, (3, 2), vec![0, 1, 2, 3, 4, 5]),
            (Orientation::FlipHorizontal, (3, 2), vec![2, 1, 0, 5, 4, 3]),
            (Orientation::Rotate180, (3, 2), vec![5, 4, 3, 2, 1, 0]),
            (Orientation::FlipVertical, (3, 2), vec![3, 4, 5, 0, 1, 2]),
            (Orientation::Rotate90FlipH, (2, 3), vec![0, 3, 1, 4, 2, 5]),
            (Orientation::Rotate90, (2, 3), vec![3, 0, 4, 1, 5, 2]),
            (Orientation::Rotate270FlipH, (2, 3), vec![5, 2, 4, 1, 3, 0]),
            (Orientation::Rotate270, (2, 3), vec![2, 5, 1, 4, 0, 3]),
        ];
        for (o, dims, want) in cases {
            let out = numbered().apply_orientation(o);
            assert_eq!((out.width, out.height), dims, "{o:?}");
            assert_eq!(reds(&out), want, "{o:?}");
        }
    }

    #[test]
    fn big_images_turned_on_two_threads_match_the_exif_definition() {
        // Over 1 MP, so the rows are split between two threads; odd sizes on purpose.
        let (w, h) = (1201usize, 901usize);
        let code = |x: usize, y: usize| {
            [
                (x % 256) as u8,
                (y % 256) as u8,
                (x / 256 + y / 256 * 8) as u8,
            ]
        };
        let data = (0..h)
            .flat_map(|y| (0..w).flat_map(move |x| code(x, y)))
            .collect();
        let img = Rgb8::new(w as u32, h as u32, data);
        // Destination (x, y) comes from this source pixel.
        type From = fn(usize, usize, usize, usize) -> (usize, usize);
        let cases: [(Orientation, From); 8] = [
            (Orientation::NoTransforms, |x, y, _, _| (x, y)),
            (Orientation::FlipHorizontal, |x, y, w, _| (w - 1 - x, y)),
            (Orientation::Rotate180, |x, y, w, h| (w - 1 - x, h - 1 - y)),
            (Orientation::FlipVertical, |x, y, _, h| (x, h - 1 - y)),
            (Orientation::Rotate90FlipH, |x, y, _, _| (y, x)),
            (Orientation::Rotate90, |x, y, _, h| (y, h - 1 - x)),
            (Orientation::Rotate270FlipH, |x, y, w, h| {
                (w - 1 - y, h - 1 - x)
            }),
            (Orientation::Rotate270, |x, y, w, _| (w - 1 - y, x)),
        ];
        for (o, from) in cases {
            let copy = Rgb8::new(img.width, img.height, img.data.clone());
            let out = copy.apply_orientation(o);
            assert_eq!(
                (out.width as usize, out.height as usize),
                if matches!(
                    o,
                    Orientation::NoTransforms
                        | Orientation::FlipHorizontal
                        | Orientation::Rotate180
                        | Orientation::FlipVertical
                ) {
                    (w, h)
                } else {
                    (h, w)
                },
                "{o:?}"
            );
            for (i, px) in out.data.chunks_exact(3).enumerate() {
                let (x, y) = (i % out.width as usize, i / out.width as usize);
                let (sx, sy) = from(x, y, w, h);
                assert_eq!(px, code(sx, sy), "{o:?} at ({x}, {y})");
            }
        }
    }

    #[test]
    fn fit_keeps_aspect_and_never_upscales() {
        assert_eq!(fit_within(4000, 3000, 1600), (1600, 1200));
        assert_eq!(fit_within(3000, 4000, 320), (240, 320));
        assert_eq!(fit_within(100, 50, 320), (100, 50));
        assert_eq!(fit_within(10000, 1, 320), (320, 1));
    }

    #[test]
    fn flatten_uses_white() {
        assert_eq!(flatten_rgba_on_white(&[0, 0, 0, 0]), vec![255, 255, 255]);
        assert_eq!(flatten_rgba_on_white(&[10, 20, 30, 255]), vec![10, 20, 30]);
        assert_eq!(flatten_rgba_on_white(&[0, 0, 0, 128]), vec![127, 127, 127]);
    }
}
