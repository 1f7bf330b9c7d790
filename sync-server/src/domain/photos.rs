//! Photos in the back office (issue 20): where each photo a visit or a receipt names stands — here,
//! on its way, or missing (not here `missing_after_ms` after the fact was recorded on the phone;
//! the device that recorded the fact owes it) — the thumbnails, made once by the server of the
//! whole photo and kept beside it, and the list of missing photos per device.
//!
//! Why the fact's own time and not the time it reached the server: a fact carries its time, and a
//! photo is uploaded right after its fact by the same phone; a phone offline for days shows its
//! photos missing sooner than it uploads them, which is what a supervisor should see then.

use std::io;

use gridbook_core::model::{EntityKind, Receipt, Visit};
use gridbook_core::sync::wire::EntityState;
use serde::Serialize;

use super::spreadsheets::archives::record;
use crate::storage::blobs::BlobStore;
use crate::storage::records::RecordStorage;

/// How long after its fact a photo is "on its way" before it is "missing" (`serve
/// --photo-missing-after-h`).
pub const DEFAULT_MISSING_AFTER_MS: i64 = 24 * 3_600_000;
/// The longest side of a thumbnail, pixels.
pub const THUMBNAIL_PX: u32 = 240;
/// The most missing photos one listing answers with.
pub const MAX_MISSING_ROWS: usize = 2000;

/// Where a photo named by a fact stands on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoState {
    /// Whole, its hash checked.
    Arrived,
    /// Not here yet, within the time a phone has to send it (照片上传中).
    OnItsWay,
    /// Not here long after its fact (照片缺失): `owed_by` has not sent it.
    Missing,
}

/// One photo a fact names, with where it stands and the device that owes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhotoRef {
    pub sha256: String,
    pub state: PhotoState,
    /// The device that recorded the fact (and so holds the photo).
    pub owed_by: String,
}

/// The device that recorded a fact: the node of its first stamp (facts are insert-only).
pub fn recording_device(state: &EntityState) -> String {
    state.base.as_ref().map(|h| h.node.clone()).unwrap_or_default()
}

/// The photos of a fact before `settle` says where they stand (on their way until then).
pub fn unsettled(photos: &[String], device: &str) -> Vec<PhotoRef> {
    photos
        .iter()
        .map(|p| PhotoRef { sha256: p.clone(), state: PhotoState::OnItsWay, owed_by: device.to_string() })
        .collect()
}

/// Says where each photo of a household's history stands (its fact's time is the line's).
pub fn settle(
    history: &mut [crate::domain::drilldown::HistoryLine],
    blobs: Option<&dyn BlobStore>,
    now_ms: i64,
    missing_after_ms: i64,
) -> io::Result<()> {
    for line in history.iter_mut().filter(|l| !l.photos.is_empty()) {
        let shas: Vec<String> = line.photos.iter().map(|p| p.sha256.clone()).collect();
        let device = line.photos[0].owed_by.clone();
        line.photos = photo_refs(blobs, &shas, &device, line.at_ms, now_ms, missing_after_ms)?;
    }
    Ok(())
}

/// Where each of `photos` stands, for a fact recorded at `recorded_at_ms` by `device`.
pub fn photo_refs(
    blobs: Option<&dyn BlobStore>,
    photos: &[String],
    device: &str,
    recorded_at_ms: i64,
    now_ms: i64,
    missing_after_ms: i64,
) -> io::Result<Vec<PhotoRef>> {
    photos
        .iter()
        .map(|sha| {
            let here = match blobs {
                Some(b) => b.has_photo(sha)?,
                None => false,
            };
            let state = if here {
                PhotoState::Arrived
            } else if now_ms.saturating_sub(recorded_at_ms) > missing_after_ms {
                PhotoState::Missing
            } else {
                PhotoState::OnItsWay
            };
            Ok(PhotoRef { sha256: sha.clone(), state, owed_by: device.to_string() })
        })
        .collect()
}

/// A photo's thumbnail: the one kept, or made now of the whole photo and kept (made once). None:
/// the photo is not here. A photo the server cannot decode is an `InvalidData` error.
pub fn thumbnail(blobs: &dyn BlobStore, sha256: &str) -> io::Result<Option<Vec<u8>>> {
    if let Some(kept) = blobs.thumbnail(sha256)? {
        return Ok(Some(kept));
    }
    let Some(photo) = blobs.photo(sha256)? else { return Ok(None) };
    let small = make_thumbnail(&photo)?;
    blobs.put_thumbnail(sha256, &small)?;
    Ok(Some(small))
}

/// A JPEG at most `THUMBNAIL_PX` on its longest side of a photo (JPEG or PNG).
pub fn make_thumbnail(photo: &[u8]) -> io::Result<Vec<u8>> {
    let image = image::load_from_memory(photo).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let small = image.thumbnail(THUMBNAIL_PX, THUMBNAIL_PX).to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 75)
        .encode_image(&small)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(out)
}

/// Which fact of `grid_id` names the photo: (kind, fact id, household id). None: no visit or
/// receipt of that grid names it (so staff of that grid may not see it).
pub fn naming_fact(
    storage: &(impl RecordStorage + ?Sized),
    grid_id: &str,
    sha256: &str,
) -> crate::storage::error::StorageResult<Option<(&'static str, String, String)>> {
    let named = |photos: &[String]| photos.iter().any(|p| p == sha256);
    for (state, visit) in facts::<Visit>(storage.grid_records(EntityKind::Visit, grid_id)?) {
        if named(&visit.photos) {
            return Ok(Some(("visit", state.id, visit.household_id)));
        }
    }
    for (state, receipt) in facts::<Receipt>(storage.grid_records(EntityKind::Receipt, grid_id)?) {
        if named(&receipt.photos) {
            return Ok(Some(("receipt", state.id, receipt.household_id)));
        }
    }
    Ok(None)
}

pub(crate) fn facts<R: gridbook_core::model::Record>(states: Vec<EntityState>) -> Vec<(EntityState, R)> {
    states
        .into_iter()
        .filter(|s| !s.deleted())
        .filter_map(|s| Some((record::<R>(&s)?, s)))
        .map(|(r, s)| (s, r))
        .collect()
}

/// A photo that has not arrived long after its fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingPhoto {
    pub owed_by: String,
    pub grid_id: String,
    /// "visit" or "receipt".
    pub kind: &'static str,
    pub fact_id: String,
    pub household_id: String,
    pub recorded_at_ms: i64,
    pub sha256: String,
}

/// Every photo of `grids`' visits and receipts that is missing, by device then time; at most
/// `MAX_MISSING_ROWS` (the second value says whether more were left off).
pub fn missing_photos(
    storage: &(impl RecordStorage + ?Sized),
    blobs: Option<&dyn BlobStore>,
    grids: &[String],
    now_ms: i64,
    missing_after_ms: i64,
) -> Result<(Vec<MissingPhoto>, bool), crate::domain::error::DomainError> {
    let mut out = Vec::new();
    let mut push = |grid: &str, kind, id: &str, household: &str, device: String, at: i64, photos: &[String]| {
        for r in photo_refs(blobs, photos, &device, at, now_ms, missing_after_ms)? {
            if r.state == PhotoState::Missing {
                out.push(MissingPhoto {
                    owed_by: r.owed_by,
                    grid_id: grid.to_string(),
                    kind,
                    fact_id: id.to_string(),
                    household_id: household.to_string(),
                    recorded_at_ms: at,
                    sha256: r.sha256,
                });
            }
        }
        Ok::<_, io::Error>(())
    };
    for grid in grids {
        for (s, v) in facts::<Visit>(storage.grid_records(EntityKind::Visit, grid)?) {
            push(grid, "visit", &s.id, &v.household_id, recording_device(&s), v.arrived_at_ms, &v.photos)
                .map_err(io_fault)?;
        }
        for (s, r) in facts::<Receipt>(storage.grid_records(EntityKind::Receipt, grid)?) {
            let device = if r.device_id.is_empty() { recording_device(&s) } else { r.device_id.clone() };
            push(grid, "receipt", &s.id, &r.household_id, device, r.collected_at_ms, &r.photos).map_err(io_fault)?;
        }
    }
    out.sort_by(|a, b| (&a.owed_by, a.recorded_at_ms, &a.sha256).cmp(&(&b.owed_by, b.recorded_at_ms, &b.sha256)));
    let more = out.len() > MAX_MISSING_ROWS;
    out.truncate(MAX_MISSING_ROWS);
    Ok((out, more))
}

fn io_fault(e: io::Error) -> crate::domain::error::DomainError {
    crate::domain::error::DomainError::internal(format!("photo storage: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn state_of(recorded_at_ms: i64, now_ms: i64) -> PhotoState {
        let refs = photo_refs(None, &["ab".repeat(32)], "dev-1", recorded_at_ms, now_ms, DEFAULT_MISSING_AFTER_MS);
        refs.unwrap()[0].state
    }

    /// "Photo missing" counts from when the fact was recorded on the phone, not from when it
    /// reached the server: a visit made two days ago by a phone that was offline since is missing
    /// its photo the moment the visit arrives, and one made an hour ago is on its way.
    #[test]
    fn a_photo_is_missing_a_day_after_its_fact_was_recorded_on_the_phone() {
        let now = 1_700_000_000_000;
        assert_eq!(state_of(now - 48 * HOUR, now), PhotoState::Missing);
        assert_eq!(state_of(now - 24 * HOUR - 1, now), PhotoState::Missing);
        assert_eq!(state_of(now - 24 * HOUR, now), PhotoState::OnItsWay);
        assert_eq!(state_of(now - HOUR, now), PhotoState::OnItsWay);
        // a phone whose clock runs ahead records facts "in the future": on its way, never a panic
        assert_eq!(state_of(now + HOUR, now), PhotoState::OnItsWay);
        assert_eq!(state_of(i64::MIN, now), PhotoState::Missing);
    }
}
