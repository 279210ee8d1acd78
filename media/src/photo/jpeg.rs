//! JPEG specifics: a marker walker that reads what we need (frame header, EXIF orientation,
//! Adobe transform) and can rebuild the file with only its image-data segments, plus scaled
//! decoding through `jpeg-decoder`.
//!
//! The walker works on a whitelist: a rebuilt file holds the frame, tables and scans and
//! stops at EOI, so APPn segments (EXIF, XMP, ICC, IPTC, MPF), comments, segments hidden
//! between progressive scans and anything appended after EOI (MPF preview images, vendor
//! trailers) are all gone.

use std::ops::Range;

use image::metadata::Orientation;

use super::raster::Rgb8;
use crate::error::{MediaError, Result};
use crate::limits::IngestLimits;

/// What the walker learned about a JPEG file.
pub(crate) struct JpegLayout {
    pub width: u32,
    pub height: u32,
    pub frame: Frame,
    pub orientation: Orientation,
    /// Transform byte of an Adobe APP14 segment (0 = none/CMYK/RGB, 1 = YCbCr, 2 = YCCK).
    pub adobe_transform: Option<u8>,
    /// Any marker outside the usual baseline/progressive set (DNL, arithmetic coding,
    /// hierarchical frames…): such files are only ever re-encoded, never copied.
    pub exotic: bool,
    /// Byte ranges to copy when stripping: tables, the frame header and scans with their
    /// entropy-coded data, in file order.
    keep: Vec<Range<usize>>,
}

/// The frame header (SOF) fields we use.
pub(crate) struct Frame {
    /// SOF marker (0xC0 baseline, 0xC1 extended, 0xC2 progressive, others exotic).
    pub marker: u8,
    pub precision: u8,
    /// `(id, h, v)` per component.
    pub components: Vec<(u8, u8, u8)>,
}

impl JpegLayout {
    /// Walks the marker structure of `b`. Fails with `Truncated` when the file ends before EOI.
    pub fn parse(b: &[u8]) -> Result<JpegLayout> {
        if b.len() < 4 || b[0] != 0xFF || b[1] != 0xD8 {
            return Err(MediaError::UnsupportedFormat);
        }
        let mut w = Walker {
            b,
            pos: 2,
            frame: None,
            size: (0, 0),
            orientation: None,
            adobe_transform: None,
            exotic: false,
            keep: Vec::new(),
        };
        w.run()?;
        let frame = w.frame.ok_or(MediaError::Corrupt)?;
        Ok(JpegLayout {
            width: w.size.0,
            height: w.size.1,
            frame,
            orientation: w.orientation.unwrap_or(Orientation::NoTransforms),
            adobe_transform: w.adobe_transform,
            exotic: w.exotic,
            keep: w.keep,
        })
    }

    /// True when copying the image data unchanged gives an upright, correctly coloured JPEG
    /// that any decoder reads the same way without the dropped segments: 8-bit YCbCr or
    /// grey, baseline or progressive Huffman, no Adobe marker (its transform flag would be
    /// lost), no component IDs that mean RGB, and no rotation to apply.
    pub fn copyable(&self) -> bool {
        let f = &self.frame;
        let ids: Vec<u8> = f.components.iter().map(|c| c.0).collect();
        let rgb_ids = ids == b"RGB" || ids == b"rgb";
        matches!(f.marker, 0xC0..=0xC2)
            && f.precision == 8
            && (f.components.len() == 1 || (f.components.len() == 3 && !rgb_ids))
            && self.adobe_transform.is_none()
            && !self.exotic
            && self.orientation == Orientation::NoTransforms
    }

    /// The file rebuilt from its image data only, behind a fresh minimal JFIF header.
    pub fn strip(&self, b: &[u8]) -> Vec<u8> {
        let total: usize = self.keep.iter().map(|r| r.len()).sum();
        let mut out = Vec::with_capacity(total + JFIF_APP0.len() + 4);
        out.extend_from_slice(&[0xFF, 0xD8]);
        out.extend_from_slice(JFIF_APP0);
        for r in &self.keep {
            out.extend_from_slice(&b[r.clone()]);
        }
        out.extend_from_slice(&[0xFF, 0xD9]);
        out
    }

    /// A conservative estimate of the peak bytes `jpeg-decoder` allocates when decoding at
    /// `1/denom` scale: the component planes, the output, our RGB conversion and, for
    /// progressive files, the full-size coefficient store it keeps between scans.
    fn decode_bytes(&self, denom: u32) -> u64 {
        let f = &self.frame;
        let hmax = f.components.iter().map(|c| c.1).max().unwrap_or(1).max(1) as u64;
        let vmax = f.components.iter().map(|c| c.2).max().unwrap_or(1).max(1) as u64;
        let mcus_x = u64::from(self.width).div_ceil(8 * hmax);
        let mcus_y = u64::from(self.height).div_ceil(8 * vmax);
        let idct = u64::from(8 / denom);
        let mut planes = 0u64;
        let mut coeffs = 0u64;
        for &(_, h, v) in &f.components {
            let blocks = mcus_x * u64::from(h) * mcus_y * u64::from(v);
            planes += blocks * idct * idct;
            coeffs += blocks * 64 * 2;
        }
        let (w, h) = (
            u64::from(self.width.div_ceil(denom)),
            u64::from(self.height.div_ceil(denom)),
        );
        let out = w * h * f.components.len() as u64;
        let rgb = if f.components.len() == 3 {
            0
        } else {
            w * h * 3
        };
        let progressive = if f.marker == 0xC2 { coeffs } else { 0 };
        planes + out + rgb + progressive
    }
}

/// Width and height after applying `o`.
pub(crate) fn upright_size(w: u32, h: u32, o: Orientation) -> (u32, u32) {
    match o {
        Orientation::Rotate90
        | Orientation::Rotate270
        | Orientation::Rotate90FlipH
        | Orientation::Rotate270FlipH => (h, w),
        _ => (w, h),
    }
}

/// JFIF 1.01, aspect 1:1, no thumbnail: the least a JPEG needs to say it is YCbCr.
const JFIF_APP0: &[u8] = &[
    0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01,
    0x00, 0x00,
];

struct Walker<'a> {
    b: &'a [u8],
    pos: usize,
    frame: Option<Frame>,
    size: (u32, u32),
    orientation: Option<Orientation>,
    adobe_transform: Option<u8>,
    exotic: bool,
    keep: Vec<Range<usize>>,
}

impl Walker<'_> {
    fn byte(&self, at: usize) -> Result<u8> {
        self.b.get(at).copied().ok_or(MediaError::Truncated)
    }

    fn run(&mut self) -> Result<()> {
        loop {
            if self.byte(self.pos)? != 0xFF {
                return Err(MediaError::Corrupt);
            }
            // Any number of 0xFF fill bytes may precede a marker.
            while self.byte(self.pos)? == 0xFF {
                self.pos += 1;
            }
            let start = self.pos - 1;
            let marker = self.byte(self.pos)?;
            self.pos += 1;
            match marker {
                0xD9 => return Ok(()),
                0xD8 | 0x00 => return Err(MediaError::Corrupt),
                // Standalone markers without a length.
                0x01 | 0xD0..=0xD7 => continue,
                _ => {}
            }
            let len = usize::from(u16::from_be_bytes([
                self.byte(self.pos)?,
                self.byte(self.pos + 1)?,
            ]));
            if len < 2 {
                return Err(MediaError::Corrupt);
            }
            let end = self.pos + len;
            if end > self.b.len() {
                return Err(MediaError::Truncated);
            }
            let payload = &self.b[self.pos + 2..end];
            self.pos = end;
            self.segment(marker, payload, start..end)?;
        }
    }

    fn segment(&mut self, marker: u8, payload: &[u8], range: Range<usize>) -> Result<()> {
        match marker {
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                if self.frame.is_some() {
                    // A second frame: hierarchical JPEG.
                    self.exotic = true;
                    return Ok(());
                }
                self.frame(marker, payload)?;
                self.keep.push(range);
            }
            0xC4 | 0xDB | 0xDD => self.keep.push(range),
            0xDA => {
                if self.frame.is_none() {
                    return Err(MediaError::Corrupt);
                }
                let data_end = self.skip_entropy()?;
                self.keep.push(range.start..data_end);
            }
            0xE1 if self.orientation.is_none() => {
                if let Some(tiff) = payload.strip_prefix(b"Exif\0\0") {
                    self.orientation = Orientation::from_exif_chunk(tiff);
                }
            }
            0xEE => {
                if payload.starts_with(b"Adobe") && payload.len() >= 12 {
                    self.adobe_transform = Some(payload[11]);
                }
            }
            // Other APPn and COM: metadata, dropped.
            0xE0..=0xEF | 0xFE => {}
            // DAC, DNL, DHP, EXP, JPGn, reserved: legal but rare; never copied.
            _ => self.exotic = true,
        }
        Ok(())
    }

    fn frame(&mut self, marker: u8, p: &[u8]) -> Result<()> {
        if p.len() < 6 {
            return Err(MediaError::Corrupt);
        }
        let precision = p[0];
        let height = u32::from(u16::from_be_bytes([p[1], p[2]]));
        let width = u32::from(u16::from_be_bytes([p[3], p[4]]));
        let n = usize::from(p[5]);
        if width == 0 || height == 0 || !(n == 1 || n == 3 || n == 4) || p.len() < 6 + 3 * n {
            return Err(MediaError::Corrupt);
        }
        let components = p[6..6 + 3 * n]
            .chunks_exact(3)
            .map(|c| (c[0], c[1] >> 4, c[1] & 0x0F))
            .collect::<Vec<_>>();
        if components
            .iter()
            .any(|&(_, h, v)| !(1..=4).contains(&h) || !(1..=4).contains(&v))
        {
            return Err(MediaError::Corrupt);
        }
        self.size = (width, height);
        self.frame = Some(Frame {
            marker,
            precision,
            components,
        });
        Ok(())
    }

    /// Moves past entropy-coded data to the next real marker and returns where it starts.
    /// Inside scans, `FF 00` is a stuffed byte and `FF D0..D7` are restart markers.
    fn skip_entropy(&mut self) -> Result<usize> {
        let b = self.b;
        let mut i = self.pos;
        loop {
            let ff = b[i..]
                .iter()
                .position(|&x| x == 0xFF)
                .ok_or(MediaError::Truncated)?;
            i += ff;
            let next = *b.get(i + 1).ok_or(MediaError::Truncated)?;
            match next {
                0x00 | 0xD0..=0xD7 => i += 2,
                // A fill byte: the marker starts at the next 0xFF.
                0xFF => i += 1,
                _ => {
                    self.pos = i;
                    return Ok(i);
                }
            }
        }
    }
}

/// Decodes `bytes` (already parsed into `layout`) at the smallest DCT scale whose long edge
/// is still at least `min_long_edge` (or full size), and converts to RGB.
pub(crate) fn decode(
    bytes: &[u8],
    layout: &JpegLayout,
    min_long_edge: u32,
    limits: &IngestLimits,
) -> Result<Rgb8> {
    let long = layout.width.max(layout.height);
    let denom = [8u32, 4, 2]
        .into_iter()
        .find(|&d| long.div_ceil(d) >= min_long_edge)
        .unwrap_or(1);
    if layout.decode_bytes(denom) > limits.max_alloc_bytes {
        return Err(MediaError::Limits);
    }
    if denom == 1 {
        return decode_full(bytes, layout);
    }
    let run = || -> Result<Rgb8> {
        let mut dec = jpeg_decoder::Decoder::new(bytes);
        dec.set_max_decoding_buffer_size(
            usize::try_from(limits.max_alloc_bytes).unwrap_or(usize::MAX),
        );
        let req = |v: u32| v.div_ceil(denom).min(u32::from(u16::MAX)) as u16;
        let (w, h) = dec
            .scale(req(layout.width), req(layout.height))
            .map_err(map_err)?;
        let info = dec.info().ok_or(MediaError::Corrupt)?;
        let px = dec.decode().map_err(map_err)?;
        let (w, h) = (u32::from(w), u32::from(h));
        let expect = w as usize * h as usize * info.pixel_format.pixel_bytes();
        if px.len() != expect {
            // Only multi-component lossless files with more than 8 bits get here.
            return Err(MediaError::UnsupportedFormat);
        }
        let rgb = match info.pixel_format {
            jpeg_decoder::PixelFormat::RGB24 => px,
            jpeg_decoder::PixelFormat::L8 => px.iter().flat_map(|&l| [l, l, l]).collect(),
            jpeg_decoder::PixelFormat::L16 => {
                // Lossless 9–16 bit grey: native-endian samples of `precision` bits.
                let shift = layout.frame.precision.saturating_sub(8);
                px.chunks_exact(2)
                    .flat_map(|c| {
                        let l = (u16::from_ne_bytes([c[0], c[1]]) >> shift) as u8;
                        [l, l, l]
                    })
                    .collect()
            }
            jpeg_decoder::PixelFormat::CMYK32 => cmyk_to_rgb(&px),
        };
        Ok(Rgb8::new(w, h, rgb))
    };
    // jpeg-decoder has `panic!`s on paths we believe unreachable for files the walker
    // accepted; a panic must still never cross the FFI, so contain it.
    std::panic::catch_unwind(run).unwrap_or(Err(MediaError::Corrupt))
}

/// Full-size decode with zune-jpeg, which converts grey, CMYK and YCCK to RGB itself.
fn decode_full(bytes: &[u8], layout: &JpegLayout) -> Result<Rgb8> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;

    let opts = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(layout.width as usize)
        .set_max_height(layout.height as usize);
    let run = || -> Result<Rgb8> {
        let mut dec = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), opts);
        let px = dec.decode().map_err(|e| match e {
            zune_jpeg::errors::DecodeErrors::LargeDimensions(_) => MediaError::Limits,
            zune_jpeg::errors::DecodeErrors::Unsupported(_) => MediaError::UnsupportedFormat,
            _ => MediaError::Corrupt,
        })?;
        let (w, h) = dec.dimensions().ok_or(MediaError::Corrupt)?;
        if dec.output_colorspace() != Some(ColorSpace::RGB) || px.len() != w * h * 3 {
            return Err(MediaError::UnsupportedFormat);
        }
        Ok(Rgb8::new(w as u32, h as u32, px))
    };
    std::panic::catch_unwind(run).unwrap_or(Err(MediaError::Corrupt))
}

/// `jpeg-decoder` returns ink amounts (0 = no ink) for both Adobe CMYK and YCCK files;
/// a naive subtractive model is enough for photos (no colour management here).
fn cmyk_to_rgb(px: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(px.len() / 4 * 3);
    for p in px.chunks_exact(4) {
        let white_k = 255 - u32::from(p[3]);
        for &c in &p[..3] {
            let white_c = 255 - u32::from(c);
            out.push(((white_c * white_k + 127) / 255) as u8);
        }
    }
    out
}

fn map_err(e: jpeg_decoder::Error) -> MediaError {
    match e {
        jpeg_decoder::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            MediaError::Truncated
        }
        jpeg_decoder::Error::Unsupported(_) => MediaError::UnsupportedFormat,
        jpeg_decoder::Error::Format(msg) if msg.contains("exceeds maximum") => MediaError::Limits,
        _ => MediaError::Corrupt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, marker];
        v.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn walker_keeps_only_image_segments_and_stops_at_eoi() {
        let mut f = vec![0xFF, 0xD8];
        f.extend(seg(
            0xE1,
            b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0",
        ));
        f.extend(seg(0xFE, b"secret comment"));
        f.extend(seg(0xDB, &[0u8; 65]));
        f.extend(seg(0xC0, &[8, 0, 2, 0, 3, 1, 1, 0x11, 0]));
        f.extend(seg(0xDA, &[1, 1, 0, 0, 63, 0]));
        f.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        f.extend(seg(0xE2, b"between scans"));
        f.extend_from_slice(&[0xFF, 0xD9]);
        f.extend_from_slice(b"appended trailer");
        let l = JpegLayout::parse(&f).unwrap();
        assert_eq!((l.width, l.height), (3, 2));
        assert_eq!(l.orientation, Orientation::Rotate90);
        assert_eq!(upright_size(l.width, l.height, l.orientation), (2, 3));
        let out = l.strip(&f);
        let s = String::from_utf8_lossy(&out);
        assert!(!s.contains("secret") && !s.contains("between") && !s.contains("trailer"));
        assert!(!s.contains("Exif"));
        assert!(out.ends_with(&[0x56, 0xFF, 0xD9]));
        assert!(!l.copyable(), "rotated files must be re-encoded");
    }

    #[test]
    fn walker_reports_truncation() {
        let mut f = vec![0xFF, 0xD8];
        f.extend(seg(0xC0, &[8, 0, 2, 0, 3, 1, 1, 0x11, 0]));
        f.extend(seg(0xDA, &[1, 1, 0, 0, 63, 0]));
        f.extend_from_slice(&[1, 2, 3]);
        assert!(matches!(JpegLayout::parse(&f), Err(MediaError::Truncated)));
        assert!(matches!(
            JpegLayout::parse(&f[..5]),
            Err(MediaError::Truncated)
        ));
    }

    #[test]
    fn cmyk_conversion() {
        assert_eq!(cmyk_to_rgb(&[0, 255, 255, 0]), vec![255, 0, 0]);
        assert_eq!(cmyk_to_rgb(&[0, 0, 0, 255]), vec![0, 0, 0]);
        assert_eq!(cmyk_to_rgb(&[255, 0, 0, 0]), vec![0, 255, 255]);
    }
}
