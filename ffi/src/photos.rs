//! Photos for the apps: a picture from the camera or the gallery prepared into a watermarked field
//! photo (upright, at most 1600 px, JPEG, no EXIF or GPS) and kept in the store, encrypted with it,
//! until the sync uploads it; what still waits; a photo to show. The app names the photos of a visit
//! or a receipt by the `sha256` it gets back (`Visit.photos`, `Receipt.photos`), before signing.

use gridbook_core::photos::{prepare_photo, Fix, PhotoError, Stamp};
use gridbook_core::store::photos::PhotoOrigin;

use crate::error::{invalid, Result};
use crate::store::GridbookStore;

/// What the watermark says. No position (all three `None`) is stamped "无定位 no fix".
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PhotoStamp {
    /// When the photo was taken, UTC ms (stamped in China time).
    pub taken_at_ms: i64,
    /// The manager's name as it should read on the photo.
    pub manager: String,
    pub grid: String,
    /// The household's or premises' address.
    pub address: String,
    /// WGS-84 degrees and accuracy in metres, when the phone had a fix.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
}

/// A photo prepared and kept: its address for the record, its size.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct KeptPhoto {
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
}

/// A photo taken here that the server does not hold whole yet.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct WaitingPhoto {
    pub sha256: String,
    pub bytes: u64,
    pub added_at_ms: i64,
}

fn photo_error(e: PhotoError) -> crate::GridbookError {
    let field = if matches!(e, PhotoError::Font(_)) { "font" } else { "photo" };
    invalid(field, e.to_string())
}

#[uniffi::export]
impl GridbookStore {
    /// Prepares `raw` (JPEG or PNG as the camera or gallery gave it) with the watermark `stamp`
    /// drawn in `font` (a CJK font, as for the receipt image) and keeps it in the store until it is
    /// uploaded. Invalid "photo" for a file over 20 MB or 50 megapixels, or not a picture;
    /// Invalid "font" for a font without Chinese.
    pub fn prepare_photo(&self, raw: Vec<u8>, stamp: PhotoStamp, font: Vec<u8>) -> Result<KeptPhoto> {
        // a locked or wiped store refuses first, before any work on the picture
        let store = self.store()?;
        let fix = match (stamp.lat, stamp.lon, stamp.accuracy_m) {
            (Some(lat), Some(lon), Some(accuracy_m)) => Some(Fix { lat, lon, accuracy_m }),
            _ => None,
        };
        let stamp = Stamp {
            taken_at_ms: stamp.taken_at_ms,
            manager: stamp.manager,
            grid: stamp.grid,
            address: stamp.address,
            fix,
        };
        let prepared = prepare_photo(&raw, &stamp, &font).map_err(photo_error)?;
        let sha256 = store.keep_photo(&prepared.jpeg, PhotoOrigin::Taken)?;
        Ok(KeptPhoto { sha256, width: prepared.width, height: prepared.height, bytes: prepared.jpeg.len() as u64 })
    }

    /// Photos taken here that still wait to be uploaded, oldest first.
    pub fn photos_waiting(&self) -> Result<Vec<WaitingPhoto>> {
        Ok(self
            .store()?
            .photos_waiting()?
            .into_iter()
            .map(|w| WaitingPhoto { sha256: w.sha256, bytes: w.size, added_at_ms: w.added_at_ms })
            .collect())
    }

    /// A photo on this phone (taken here or fetched before), or `None`; `GridbookSync.open_photo`
    /// fetches one that is not.
    pub fn photo(&self, sha256: String) -> Result<Option<Vec<u8>>> {
        Ok(self.store()?.photo(&sha256)?)
    }

    /// Removes uploaded photos kept longer than the server's photo policy says and fetched ones
    /// beyond `cache_max_bytes` (least recently opened first); never a photo still waiting. The
    /// sync trims by itself too, with the core's cache size. Returns how many went.
    pub fn trim_photos(&self, cache_max_bytes: u64) -> Result<u32> {
        Ok(self.store()?.trim_photos_by_policy(cache_max_bytes)?.removed)
    }
}
