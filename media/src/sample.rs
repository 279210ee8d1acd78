//! A synthetic phone photo for demos and tests: a drawing-like picture carrying the
//! metadata a real phone writes (GPS position, camera serial number, owner name), so
//! that anyone can watch ingest remove it.

/// The GPS latitude planted by [`phone_photo`], in degrees (a spot in Stockholm).
pub const PLANTED_LATITUDE: (u32, u32, u32) = (59, 19, 45);
/// The camera serial number planted by [`phone_photo`].
pub const PLANTED_SERIAL: &str = "SN-4471-PHONE";
/// The owner name planted by [`phone_photo`].
pub const PLANTED_OWNER: &str = "Anna Andersson";

/// A `width` × `height` JPEG with EXIF (GPS, serial number, owner) as a phone would
/// write it, tagged with `orientation` (1–8).
pub fn phone_photo(width: u32, height: u32, orientation: u16) -> Vec<u8> {
    let (w, h) = (
        width.clamp(16, 8192) as usize,
        height.clamp(16, 8192) as usize,
    );
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            // A child's drawing: sky, grass, a sun and a house, each a flat colour with
            // a little texture.
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            let noise = ((x * 31 + y * 17) % 13) as u8;
            let px = if (fx - 0.8).powi(2) + (fy - 0.2).powi(2) < 0.01 {
                [250, 210, 40]
            } else if (0.3..0.6).contains(&fx) && (0.45..0.75).contains(&fy) {
                [190, 60, 50]
            } else if fy > 0.75 {
                [60, 150 + noise, 60]
            } else {
                [120, 170, 230 - noise]
            };
            rgb.extend_from_slice(&px);
        }
    }
    // Sizes are clamped above, so encoding cannot fail; if it ever did, the empty result is
    // simply refused by ingest.
    let jpeg = crate::photo::encode_rgb_jpeg(&rgb, w as u32, h as u32, 88).unwrap_or_default();
    let Some(rest) = jpeg.get(2..) else {
        return Vec::new();
    };
    // SOI, then the EXIF APP1 a phone writes, then the encoder's JFIF header and image.
    let app1 = exif(orientation);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(rest);
    out
}

/// A little-endian EXIF block: IFD0 with orientation, owner (Artist), serial
/// (in an ImageDescription-like tag readers show) and a GPS IFD with latitude.
fn exif(orientation: u16) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(b"II*\0");
    t.extend_from_slice(&8u32.to_le_bytes());
    let owner = format!("{PLANTED_OWNER}\0");
    let serial = format!("{PLANTED_SERIAL}\0");
    // IFD0: 4 entries, then next-IFD offset 0.
    let ifd0_len = 2 + 4 * 12 + 4;
    let data_start = 8 + ifd0_len;
    let owner_off = data_start;
    let serial_off = owner_off + owner.len();
    let gps_off = serial_off + serial.len();
    let entry = |t: &mut Vec<u8>, tag: u16, typ: u16, count: u32, value: u32| {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&typ.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value.to_le_bytes());
    };
    t.extend_from_slice(&4u16.to_le_bytes());
    entry(&mut t, 0x0112, 3, 1, u32::from(orientation.clamp(1, 8)));
    entry(&mut t, 0x013B, 2, owner.len() as u32, owner_off as u32);
    entry(&mut t, 0xA431, 2, serial.len() as u32, serial_off as u32);
    entry(&mut t, 0x8825, 4, 1, gps_off as u32);
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(owner.as_bytes());
    t.extend_from_slice(serial.as_bytes());
    // GPS IFD: LatitudeRef 'N', Latitude (3 rationals), then next-IFD 0.
    let gps_len = 2 + 2 * 12 + 4;
    let lat_off = gps_off + gps_len;
    t.extend_from_slice(&2u16.to_le_bytes());
    entry(&mut t, 0x0001, 2, 2, u32::from_le_bytes([b'N', 0, 0, 0]));
    entry(&mut t, 0x0002, 5, 3, lat_off as u32);
    t.extend_from_slice(&0u32.to_le_bytes());
    let (d, m, s) = PLANTED_LATITUDE;
    for v in [d, m, s] {
        t.extend_from_slice(&v.to_le_bytes());
        t.extend_from_slice(&1u32.to_le_bytes());
    }
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&t);
    app1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_carries_what_a_phone_writes_and_ingest_removes_it() {
        let photo = phone_photo(640, 480, 6);
        let hay = String::from_utf8_lossy(&photo);
        assert!(
            hay.contains(PLANTED_SERIAL) && hay.contains(PLANTED_OWNER) && hay.contains("Exif")
        );
        let r = crate::ingest_photo(&photo, &[], &crate::IngestLimits::default()).unwrap();
        assert_eq!(
            (r.original.width, r.original.height),
            (480, 640),
            "orientation 6 applied"
        );
        for rendition in r.iter() {
            let hay = String::from_utf8_lossy(&rendition.bytes);
            assert!(
                !hay.contains(PLANTED_SERIAL)
                    && !hay.contains(PLANTED_OWNER)
                    && !hay.contains("Exif")
            );
        }
    }
}
