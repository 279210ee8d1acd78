//! Audio recordings: recognised by content and stored as recorded (no re-encoding, which
//! would cost quality and battery for nothing).
//!
//! M4A files can carry a location (`©xyz` in `moov/udta`, Apple's `moov/meta` keys) and
//! creation times. [`scrub_m4a`] removes those in place without moving a byte: metadata boxes
//! are renamed to `free` and zeroed, and header timestamps are zeroed. Because sizes and
//! offsets stay the same, the sample tables remain valid and the file plays as before.
//! Ogg Opus and WAV from phone recorders carry no location; they are left as they are.

use crate::error::{MediaError, Result};

/// Accepted audio container formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AudioFormat {
    /// MPEG-4 audio (`.m4a`, AAC inside an ISO BMFF container; iOS and Android recorders).
    M4a,
    /// Raw AAC in ADTS frames (`.aac`; some Android recorders).
    AacAdts,
    /// Opus in an Ogg container (`.ogg`/`.opus`).
    OggOpus,
    /// RIFF WAVE (`.wav`).
    Wav,
}

impl AudioFormat {
    /// The MIME type to store with the blob.
    pub const fn mime(self) -> &'static str {
        match self {
            AudioFormat::M4a => "audio/mp4",
            AudioFormat::AacAdts => "audio/aac",
            AudioFormat::OggOpus => "audio/ogg; codecs=opus",
            AudioFormat::Wav => "audio/wav",
        }
    }

    /// A conventional file extension, for exports.
    pub const fn extension(self) -> &'static str {
        match self {
            AudioFormat::M4a => "m4a",
            AudioFormat::AacAdts => "aac",
            AudioFormat::OggOpus => "opus",
            AudioFormat::Wav => "wav",
        }
    }
}

/// Recognises an audio recording by its content. Anything else, including video in an MP4
/// container, is [`MediaError::UnsupportedFormat`]; a cut-off M4A is
/// [`MediaError::Truncated`].
pub fn sniff_audio(bytes: &[u8]) -> Result<AudioFormat> {
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        check_m4a(bytes)?;
        Ok(AudioFormat::M4a)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE" {
        Ok(AudioFormat::Wav)
    } else if is_ogg_opus(bytes) {
        Ok(AudioFormat::OggOpus)
    } else if is_adts(bytes) {
        Ok(AudioFormat::AacAdts)
    } else {
        Err(MediaError::UnsupportedFormat)
    }
}

/// First Ogg page: capture pattern, version 0, beginning-of-stream flag, and a first packet
/// that is an Opus identification header.
fn is_ogg_opus(b: &[u8]) -> bool {
    if b.len() < 27 || &b[..4] != b"OggS" || b[4] != 0 || b[5] & 0x02 == 0 {
        return false;
    }
    let packet = 27 + usize::from(b[26]);
    b.get(packet..packet + 8) == Some(b"OpusHead")
}

/// An ADTS header (sync word, layer 0, valid sample-rate index, sane frame length) followed
/// by a second one where the first frame ends, when the file is long enough to have one.
fn is_adts(b: &[u8]) -> bool {
    let frame = |at: usize| -> Option<usize> {
        let h = b.get(at..at + 7)?;
        let sync = h[0] == 0xFF && h[1] & 0xF6 == 0xF0;
        let rate_ok = (h[2] >> 2) & 0x0F < 13;
        let len =
            (usize::from(h[3] & 0x03) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
        (sync && rate_ok && len >= 7).then_some(len)
    };
    match frame(0) {
        Some(len) if b.len() > len + 7 => frame(len).is_some(),
        Some(_) => true,
        None => false,
    }
}

/// One ISO BMFF box: its type and the byte ranges of the whole box and of its payload.
struct Mp4Box {
    kind: [u8; 4],
    start: usize,
    payload: usize,
    end: usize,
}

/// The boxes directly inside `b[from..to]`.
fn boxes(b: &[u8], from: usize, to: usize) -> Result<Vec<Mp4Box>> {
    let mut out = Vec::new();
    let mut pos = from;
    while pos < to {
        let head = b.get(pos..pos + 8).ok_or(MediaError::Truncated)?;
        let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let kind = [head[4], head[5], head[6], head[7]];
        let (size, header) = match size32 {
            0 => (to - pos, 8),
            1 => {
                let l = b.get(pos + 8..pos + 16).ok_or(MediaError::Truncated)?;
                let l = u64::from_be_bytes(l.try_into().map_err(|_| MediaError::Corrupt)?);
                (usize::try_from(l).map_err(|_| MediaError::Corrupt)?, 16)
            }
            n => (n as usize, 8),
        };
        if size < header {
            return Err(MediaError::Corrupt);
        }
        let end = pos.checked_add(size).ok_or(MediaError::Corrupt)?;
        if end > to {
            return Err(MediaError::Truncated);
        }
        out.push(Mp4Box {
            kind,
            start: pos,
            payload: pos + header,
            end,
        });
        pos = end;
    }
    Ok(out)
}

fn child<'a>(list: &'a [Mp4Box], kind: &[u8; 4]) -> Option<&'a Mp4Box> {
    list.iter().find(|x| &x.kind == kind)
}

/// An MP4 is audio when its tracks include sound and no video.
fn check_m4a(b: &[u8]) -> Result<()> {
    let top = boxes(b, 0, b.len())?;
    let moov = child(&top, b"moov").ok_or(MediaError::Truncated)?;
    let (mut sound, mut video) = (false, false);
    for trak in boxes(b, moov.payload, moov.end)?
        .iter()
        .filter(|x| &x.kind == b"trak")
    {
        let inner = boxes(b, trak.payload, trak.end)?;
        let Some(mdia) = child(&inner, b"mdia") else {
            continue;
        };
        let Some(hdlr) = child(&boxes(b, mdia.payload, mdia.end)?, b"hdlr").map(|h| h.payload)
        else {
            continue;
        };
        match b.get(hdlr + 8..hdlr + 12) {
            Some(b"soun") => sound = true,
            Some(b"vide") => video = true,
            _ => {}
        }
    }
    if sound && !video {
        Ok(())
    } else {
        Err(MediaError::UnsupportedFormat)
    }
}

/// Removes location and time metadata from an M4A file in place (same length, same
/// offsets): `udta`, `meta` and `uuid` boxes (top level, in `moov` and in each track) become
/// zero-filled `free` boxes, and the creation/modification times in `mvhd`, `tkhd` and
/// `mdhd` are set to zero.
pub fn scrub_m4a(bytes: &mut [u8]) -> Result<()> {
    if sniff_audio(bytes)? != AudioFormat::M4a {
        return Err(MediaError::UnsupportedFormat);
    }
    let top = boxes(bytes, 0, bytes.len())?;
    for b in &top {
        match &b.kind {
            b"udta" | b"meta" | b"uuid" => free(bytes, b),
            b"moov" => scrub_container(bytes, b)?,
            _ => {}
        }
    }
    Ok(())
}

fn scrub_container(bytes: &mut [u8], parent: &Mp4Box) -> Result<()> {
    for b in boxes(bytes, parent.payload, parent.end)? {
        match &b.kind {
            b"udta" | b"meta" | b"uuid" => free(bytes, &b),
            b"trak" | b"mdia" => scrub_container(bytes, &b)?,
            b"mvhd" | b"tkhd" | b"mdhd" => zero_times(bytes, &b),
            _ => {}
        }
    }
    Ok(())
}

fn free(bytes: &mut [u8], b: &Mp4Box) {
    bytes[b.start + 4..b.start + 8].copy_from_slice(b"free");
    bytes[b.payload..b.end].fill(0);
}

/// Full-box header: version (1 byte), flags (3), then creation and modification times,
/// 32-bit in version 0 and 64-bit in version 1.
fn zero_times(bytes: &mut [u8], b: &Mp4Box) {
    let Some(&version) = bytes.get(b.payload) else {
        return;
    };
    let n = if version == 1 { 16 } else { 8 };
    let (from, to) = (b.payload + 4, b.payload + 4 + n);
    if to <= b.end {
        bytes[from..to].fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(payload);
        v
    }

    fn m4a(handler: &[u8; 4]) -> Vec<u8> {
        let hdlr = mp4_box(b"hdlr", &[&[0u8; 8][..], handler, &[0u8; 12]].concat());
        let mdhd = mp4_box(
            b"mdhd",
            &[&[0u8, 0, 0, 0][..], &[0xAA; 8], &[0u8; 12]].concat(),
        );
        let mdia = mp4_box(b"mdia", &[mdhd, hdlr].concat());
        let trak = mp4_box(b"trak", &mdia);
        let xyz = mp4_box(b"\xA9xyz", b"\0\x0c\x15\xc7+59.3293+018.0686/");
        let udta = mp4_box(b"udta", &xyz);
        let mvhd = mp4_box(
            b"mvhd",
            &[&[0u8, 0, 0, 0][..], &[0xBB; 8], &[0u8; 88]].concat(),
        );
        let moov = mp4_box(b"moov", &[mvhd, trak, udta].concat());
        let ftyp = mp4_box(b"ftyp", b"M4A \0\0\0\0M4A isom");
        [ftyp, moov, mp4_box(b"mdat", &[1, 2, 3])].concat()
    }

    #[test]
    fn sniffs_each_format() {
        assert_eq!(sniff_audio(&m4a(b"soun")).unwrap(), AudioFormat::M4a);
        assert_eq!(
            sniff_audio(b"RIFF\x24\0\0\0WAVEfmt ").unwrap(),
            AudioFormat::Wav
        );
        let mut ogg = b"OggS\0\x02".to_vec();
        ogg.extend_from_slice(&[0; 20]);
        ogg.push(1); // one segment
        ogg.push(19); // of 19 bytes
        ogg.extend_from_slice(b"OpusHead\x01\x01\x38\x01\x80\xbb\0\0\0\0\0");
        assert_eq!(sniff_audio(&ogg).unwrap(), AudioFormat::OggOpus);
        let adts = [0xFF, 0xF1, 0x50, 0x80, 0x01, 0x1F, 0xFC];
        assert_eq!(sniff_audio(&adts).unwrap(), AudioFormat::AacAdts);
    }

    #[test]
    fn rejects_video_junk_and_truncation() {
        assert!(matches!(
            sniff_audio(&m4a(b"vide")),
            Err(MediaError::UnsupportedFormat)
        ));
        assert!(matches!(
            sniff_audio(b"ID3\x04\0\0\0\0"),
            Err(MediaError::UnsupportedFormat)
        ));
        assert!(matches!(
            sniff_audio(b""),
            Err(MediaError::UnsupportedFormat)
        ));
        assert!(matches!(
            sniff_audio(b"OggS\0\x02\0\0"),
            Err(MediaError::UnsupportedFormat)
        ));
        let f = m4a(b"soun");
        assert!(matches!(
            sniff_audio(&f[..f.len() - 10]),
            Err(MediaError::Truncated)
        ));
    }

    #[test]
    fn scrub_removes_location_and_times_in_place() {
        let mut f = m4a(b"soun");
        let len = f.len();
        scrub_m4a(&mut f).unwrap();
        assert_eq!(f.len(), len);
        let s = String::from_utf8_lossy(&f);
        assert!(!s.contains("59.3293") && !s.contains("udta") && !s.contains("\u{a9}xyz"));
        assert!(!f.windows(8).any(|w| w == [0xAA; 8] || w == [0xBB; 8]));
        assert_eq!(
            sniff_audio(&f).unwrap(),
            AudioFormat::M4a,
            "still a valid m4a"
        );
        assert!(f.ends_with(b"mdat\x01\x02\x03"), "media data untouched");
    }
}
