//! Bombs are refused with bounded memory: measured with a counting allocator (this test
//! binary's global allocator), not assumed.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use common::*;
use insikt_media::{ingest_photo, thumbnail, IngestLimits, MediaError};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Tests in this binary run on several threads; measure one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static A: Counting = Counting;

fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let _g = SERIAL.lock().unwrap();
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let r = f();
    (r, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

const MB: usize = 1 << 20;

#[test]
fn png_bomb_costs_almost_nothing() {
    let bomb = bomb_png(100_000, 100_000);
    let (r, peak) = peak_of(|| ingest_photo(&bomb, &[], &IngestLimits::default()));
    assert!(matches!(
        r,
        Err(MediaError::TooLarge {
            width: 100_000,
            height: 100_000
        })
    ));
    assert!(peak < 4 * MB, "refusing a bomb allocated {peak} bytes");
}

#[test]
fn jpeg_header_bomb_costs_almost_nothing() {
    let big = huge_jpeg_header(65_000, 65_000);
    let (r, peak) = peak_of(|| thumbnail(&big, &[], &IngestLimits::default()));
    assert!(matches!(r, Err(MediaError::TooLarge { .. })));
    assert!(peak < MB, "refusing a bomb allocated {peak} bytes");
}

#[test]
fn a_bomb_within_the_pixel_limit_stays_within_the_memory_limit() {
    // 9,000 × 9,000 declared (81 MP, allowed) with no real data: decoding fails, but
    // never allocates beyond the configured bound.
    let limits = IngestLimits {
        max_alloc_bytes: 300 * MB as u64,
        ..IngestLimits::default()
    };
    let (r, peak) = peak_of(|| ingest_photo(&bomb_png(9_000, 9_000), &[], &limits));
    assert!(r.is_err());
    assert!(peak <= 300 * MB, "allocated {} MB", peak / MB);
    // The JPEG decoders are lenient: missing scan data decodes as grey. Either way the
    // memory stays bounded (decoded at 1/2 scale, since 4,500 px still covers 4,096).
    let (_, peak) = peak_of(|| ingest_photo(&huge_jpeg_header(9_000, 9_000), &[], &limits));
    assert!(peak <= 300 * MB, "allocated {} MB", peak / MB);
}
