//! Irreversible redaction of image regions (for example a child's face).
//!
//! Regions are given in pixel coordinates of the *upright* image at its full decoded size
//! (after the EXIF orientation is applied), which is what a person drawing a box on screen
//! sees. Redaction runs on the working pixel buffer before any rendition is cut from it, so
//! no rendition ever contains the original pixels of a region.
//!
//! Both styles first average the region into a coarse grid of blocks (about six across its
//! short side). Averaging throws information away for good: a 6×6 mosaic of a face cannot be
//! turned back into that face, unlike a mild Gaussian blur which can be partly deconvolved.
//! `Blur` then smooths the blocks with a wide box blur so the result looks like a blur rather
//! than a mosaic; it only mixes the block averages, so it adds nothing back.

use crate::error::{MediaError, Result};

/// An area to redact, in pixels of the upright full-size image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Region {
    /// Axis-aligned rectangle with top-left corner `(x, y)`.
    Rect {
        /// Left edge.
        x: u32,
        /// Top edge.
        y: u32,
        /// Width (must be > 0).
        w: u32,
        /// Height (must be > 0).
        h: u32,
    },
    /// Ellipse inscribed in the rectangle `(x, y, w, h)`; faces fit ellipses better.
    Ellipse {
        /// Left edge of the bounding box.
        x: u32,
        /// Top edge of the bounding box.
        y: u32,
        /// Width of the bounding box (must be > 0).
        w: u32,
        /// Height of the bounding box (must be > 0).
        h: u32,
    },
}

impl Region {
    /// Bounding box `(x, y, w, h)`.
    pub fn bounds(&self) -> (u32, u32, u32, u32) {
        match *self {
            Region::Rect { x, y, w, h } | Region::Ellipse { x, y, w, h } => (x, y, w, h),
        }
    }
}

/// How a region is made unrecognisable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum RedactStyle {
    /// Coarse mosaic, then a wide blur: a soft smudge.
    #[default]
    Blur,
    /// Coarse mosaic of big flat blocks.
    Pixelate,
}

/// One region and the style to redact it with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Redaction {
    /// Where.
    pub region: Region,
    /// How.
    pub style: RedactStyle,
}

/// Blocks across the short side of a region. Six leaves a face as a handful of skin tones.
const BLOCKS_ACROSS: u32 = 6;
/// Smallest block edge in full-size pixels, so tiny regions still lose all their detail.
const MIN_BLOCK: u32 = 8;

/// Checks regions against the upright full-size image before any work is done, so a bad
/// request fails fast and never yields a half-redacted photo.
pub(crate) fn validate(redactions: &[Redaction], width: u32, height: u32) -> Result<()> {
    for r in redactions {
        let (x, y, w, h) = r.region.bounds();
        if w == 0 || h == 0 || x >= width || y >= height {
            return Err(MediaError::InvalidRegion);
        }
    }
    Ok(())
}

/// Redacts `pixels` (packed RGB, `width`×`height`) in place. `scale` maps full-size upright
/// coordinates to this buffer (`buffer_long_edge / full_long_edge`, ≤ 1).
pub(crate) fn apply(
    pixels: &mut [u8],
    width: u32,
    height: u32,
    scale: f64,
    redactions: &[Redaction],
) {
    for r in redactions {
        if let Some(area) = Area::scaled(r.region, scale, width, height) {
            let (_, _, fw, fh) = r.region.bounds();
            let short = fw.min(fh);
            let block_full = short.div_ceil(BLOCKS_ACROSS).max(short.min(MIN_BLOCK));
            let block = ((f64::from(block_full) * scale).round() as u32).max(1);
            let mut img = View {
                px: pixels,
                width: width as usize,
            };
            pixelate(&mut img, &area, block as usize);
            if r.style == RedactStyle::Blur {
                // Radius of one block: the mosaic edges melt into a smooth smudge.
                box_blur(&mut img, &area, block as usize);
            }
        }
    }
}

struct View<'a> {
    px: &'a mut [u8],
    width: usize,
}

/// A region mapped into buffer coordinates: a clipped bounding box plus the shape test.
struct Area {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
    ellipse: Option<(f64, f64, f64, f64)>,
}

impl Area {
    fn scaled(region: Region, scale: f64, width: u32, height: u32) -> Option<Area> {
        let (x, y, w, h) = region.bounds();
        let (x, y, w, h) = (f64::from(x), f64::from(y), f64::from(w), f64::from(h));
        // Round outwards so the redacted area always covers the requested one.
        let x0 = (x * scale).floor().max(0.0) as usize;
        let y0 = (y * scale).floor().max(0.0) as usize;
        let x1 = (((x + w) * scale).ceil() as usize).min(width as usize);
        let y1 = (((y + h) * scale).ceil() as usize).min(height as usize);
        if x0 >= x1 || y0 >= y1 {
            return None;
        }
        let ellipse = match region {
            Region::Rect { .. } => None,
            Region::Ellipse { .. } => Some((
                (x + w / 2.0) * scale,
                (y + h / 2.0) * scale,
                (w / 2.0 * scale).max(0.5),
                (h / 2.0 * scale).max(0.5),
            )),
        };
        Some(Area {
            x0,
            y0,
            x1,
            y1,
            ellipse,
        })
    }

    /// Whether pixel `(x, y)` (its centre) is inside the shape.
    fn contains(&self, x: usize, y: usize) -> bool {
        match self.ellipse {
            None => true,
            Some((cx, cy, rx, ry)) => {
                let dx = (x as f64 + 0.5 - cx) / rx;
                let dy = (y as f64 + 0.5 - cy) / ry;
                // A half-pixel margin so the rim pixels are covered too.
                dx * dx + dy * dy <= 1.0 + 1.0 / rx.min(ry)
            }
        }
    }
}

/// Replaces every in-shape pixel by the mean of its block (the mean taken over the whole
/// block of the bounding box).
fn pixelate(img: &mut View<'_>, a: &Area, block: usize) {
    for by in (a.y0..a.y1).step_by(block) {
        let by1 = (by + block).min(a.y1);
        for bx in (a.x0..a.x1).step_by(block) {
            let bx1 = (bx + block).min(a.x1);
            let mut sum = [0u64; 3];
            for y in by..by1 {
                let row = &img.px[(y * img.width + bx) * 3..(y * img.width + bx1) * 3];
                for p in row.chunks_exact(3) {
                    sum[0] += u64::from(p[0]);
                    sum[1] += u64::from(p[1]);
                    sum[2] += u64::from(p[2]);
                }
            }
            let n = ((by1 - by) * (bx1 - bx)) as u64;
            let mean = sum.map(|s| ((s + n / 2) / n) as u8);
            for y in by..by1 {
                for x in bx..bx1 {
                    if a.contains(x, y) {
                        let i = (y * img.width + x) * 3;
                        img.px[i..i + 3].copy_from_slice(&mean);
                    }
                }
            }
        }
    }
}

/// Three passes of a separable box blur (≈ Gaussian) over the bounding box, written back only
/// inside the shape. Edges clamp to the box, so nothing outside it is pulled in.
fn box_blur(img: &mut View<'_>, a: &Area, radius: usize) {
    let (w, h) = (a.x1 - a.x0, a.y1 - a.y0);
    let mut buf: Vec<u8> = Vec::with_capacity(w * h * 3);
    for y in a.y0..a.y1 {
        buf.extend_from_slice(&img.px[(y * img.width + a.x0) * 3..(y * img.width + a.x1) * 3]);
    }
    let mut line = Vec::new();
    for _ in 0..3 {
        for y in 0..h {
            blur_line(&mut buf, y * w * 3, 3, w, radius, &mut line);
        }
        for x in 0..w {
            blur_line(&mut buf, x * 3, w * 3, h, radius, &mut line);
        }
    }
    for y in a.y0..a.y1 {
        for x in a.x0..a.x1 {
            if a.contains(x, y) {
                let s = ((y - a.y0) * w + (x - a.x0)) * 3;
                let d = (y * img.width + x) * 3;
                img.px[d..d + 3].copy_from_slice(&buf[s..s + 3]);
            }
        }
    }
}

/// Running-sum box filter along one line of `n` RGB pixels starting at `start`, `stride`
/// bytes apart, with clamped edges. `line` is scratch space: the line padded with `r` copies
/// of its first pixel before and `r + 1` of its last after, so the loop needs no clamping.
fn blur_line(
    buf: &mut [u8],
    start: usize,
    stride: usize,
    n: usize,
    r: usize,
    line: &mut Vec<[u32; 3]>,
) {
    let Some(tail) = buf.get_mut(start..) else {
        return;
    };
    let pixel = |c: &[u8]| [u32::from(c[0]), u32::from(c[1]), u32::from(c[2])];
    line.clear();
    line.extend(tail.chunks(stride).take(n).map(pixel));
    let (Some(&first), Some(&last)) = (line.first(), line.last()) else {
        return;
    };
    if line.len() < n {
        return; // never: callers pass lines inside the buffer
    }
    line.splice(0..0, std::iter::repeat_n(first, r));
    line.extend(std::iter::repeat_n(last, r + 1));
    let win = (2 * r + 1) as u32;
    let mut sum = [0u32; 3];
    for p in &line[..2 * r + 1] {
        for c in 0..3 {
            sum[c] += p[c];
        }
    }
    let out = tail.chunks_mut(stride).take(n);
    for ((dst, add), sub) in out.zip(&line[2 * r + 1..]).zip(line.iter()) {
        for c in 0..3 {
            dst[c] = ((sum[c] + win / 2) / win) as u8;
            sum[c] = sum[c] + add[c] - sub[c];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(w: usize, h: usize) -> Vec<u8> {
        let mut s: u32 = 12345;
        (0..w * h * 3)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn blur_line_equals_a_plain_clamped_box_filter() {
        let (w, h) = (37usize, 23usize);
        let orig = noise(w, h);
        for r in [0usize, 1, 4, 30] {
            for (start, stride, n) in [(5 * w * 3, 3, w), (7 * 3, w * 3, h)] {
                let mut px = orig.clone();
                blur_line(&mut px, start, stride, n, r, &mut Vec::new());
                let at = |i: isize, c: usize| -> u32 {
                    let i = i.clamp(0, n as isize - 1) as usize;
                    u32::from(orig[start + i * stride + c])
                };
                let win = (2 * r + 1) as u32;
                for i in 0..n {
                    for c in 0..3 {
                        let sum: u32 = (i as isize - r as isize..=i as isize + r as isize)
                            .map(|j| at(j, c))
                            .sum();
                        assert_eq!(
                            u32::from(px[start + i * stride + c]),
                            (sum + win / 2) / win,
                            "r {r} stride {stride} i {i} c {c}"
                        );
                    }
                }
            }
        }
    }

    fn rect(x: u32, y: u32, w: u32, h: u32, style: RedactStyle) -> Redaction {
        Redaction {
            region: Region::Rect { x, y, w, h },
            style,
        }
    }

    #[test]
    fn pixelate_leaves_at_most_one_colour_per_block_and_touches_nothing_outside() {
        let (w, h) = (120usize, 90usize);
        let orig = noise(w, h);
        let mut px = orig.clone();
        apply(
            &mut px,
            w as u32,
            h as u32,
            1.0,
            &[rect(30, 30, 60, 48, RedactStyle::Pixelate)],
        );
        // Outside untouched.
        for y in 0..h {
            for x in 0..w {
                let inside = (30..90).contains(&x) && (30..78).contains(&y);
                let i = (y * w + x) * 3;
                if !inside {
                    assert_eq!(px[i..i + 3], orig[i..i + 3]);
                }
            }
        }
        // Inside: blocks of 8 (48/6) are flat.
        let distinct: std::collections::HashSet<_> = (30..78)
            .flat_map(|y| (30..90).map(move |x| (y, x)))
            .map(|(y, x)| {
                let i = (y * w + x) * 3;
                [px[i], px[i + 1], px[i + 2]]
            })
            .collect();
        assert!(distinct.len() <= 8 * 6, "{} colours", distinct.len());
    }

    #[test]
    fn blur_is_smooth() {
        let (w, h) = (100usize, 100usize);
        let mut px = noise(w, h);
        apply(
            &mut px,
            100,
            100,
            1.0,
            &[rect(0, 0, 100, 100, RedactStyle::Blur)],
        );
        // Neighbouring pixels differ only a little after the wide blur.
        let max_step = (0..h)
            .flat_map(|y| (1..w).map(move |x| (y, x)))
            .map(|(y, x)| {
                let a = px[(y * w + x) * 3] as i32;
                let b = px[(y * w + x - 1) * 3] as i32;
                (a - b).abs()
            })
            .max()
            .unwrap();
        assert!(max_step <= 6, "max step {max_step}");
    }

    #[test]
    fn ellipse_keeps_corners() {
        let (w, h) = (64usize, 64usize);
        let orig = noise(w, h);
        let mut px = orig.clone();
        let r = Redaction {
            region: Region::Ellipse {
                x: 0,
                y: 0,
                w: 64,
                h: 64,
            },
            style: RedactStyle::Pixelate,
        };
        apply(&mut px, 64, 64, 1.0, &[r]);
        assert_eq!(px[..3], orig[..3], "corner outside the ellipse is kept");
        let c = (32 * w + 32) * 3;
        assert_ne!(px[c..c + 3], orig[c..c + 3]);
    }

    #[test]
    fn validation() {
        assert!(validate(&[rect(0, 0, 1, 1, RedactStyle::Blur)], 10, 10).is_ok());
        assert!(validate(&[rect(5, 5, 100, 100, RedactStyle::Blur)], 10, 10).is_ok());
        assert!(matches!(
            validate(&[rect(0, 0, 0, 1, RedactStyle::Blur)], 10, 10),
            Err(MediaError::InvalidRegion)
        ));
        assert!(matches!(
            validate(&[rect(10, 0, 1, 1, RedactStyle::Blur)], 10, 10),
            Err(MediaError::InvalidRegion)
        ));
    }
}
