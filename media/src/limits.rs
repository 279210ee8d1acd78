//! [`IngestLimits`]: how much work and memory one photo may cost.

/// Bounds for decoding untrusted images. Checked from headers *before* pixel buffers are
/// allocated, so a decompression bomb is refused with bounded memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestLimits {
    /// Largest input file accepted, in bytes.
    pub max_input_bytes: usize,
    /// Largest declared pixel count (width × height) accepted.
    pub max_pixels: u64,
    /// Largest declared width or height accepted.
    pub max_dimension: u32,
    /// Upper bound on the memory a single decode may plan to allocate (decoder planes,
    /// pixel buffers, conversion copies).
    pub max_alloc_bytes: u64,
    /// Most redaction regions accepted in one call.
    pub max_redactions: usize,
}

impl Default for IngestLimits {
    /// Sized for a phone: 64 MiB files, 100 megapixels, 30,000 px a side and at most
    /// 512 MiB planned for one decode (a whole 48 MP ingest peaks at about 260 MB).
    fn default() -> Self {
        IngestLimits {
            max_input_bytes: 64 << 20,
            max_pixels: 100_000_000,
            max_dimension: 30_000,
            max_alloc_bytes: 512 << 20,
            max_redactions: 256,
        }
    }
}
