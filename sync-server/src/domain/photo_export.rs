//! An export with its photos (issue 20): a grid's visits or receipts sheet (or a date range of it)
//! and the photos its rows name, in one ZIP — `photos/<sha256>.jpg` each, named by its address so
//! anyone can check it (`sha256sum`), the sheet as the plain export writes it (same masking, same
//! audit), and `README.txt` saying so in zh-CN and English with the photos not on the server.
//!
//! Bounded before the first byte goes out: at most `MAX_PHOTOS` photos and `MAX_PHOTO_BYTES` of
//! them (their stored sizes summed), else the export is refused with a request to narrow the dates.
//! Written as a stream, one photo in memory at a time, each hashed again on its way out. Photos are
//! stored, not compressed (JPEG does not shrink), with each entry's sizes in front of its data
//! (`stored_zip`): Java's `ZipInputStream`, and so an Android or desktop tool built on it, cannot
//! read a stored entry whose sizes follow it.

use std::io::{self, Write};

use gridbook_core::photos::photo_sha256;
use gridbook_core::sync::wire::ErrorCode;

use super::error::{DomainError, DomainResult};
use super::spreadsheets::export::Exported;
use super::stored_zip::StoredZipWriter;
use crate::storage::blobs::BlobStore;

/// The most photos one export packs.
pub const MAX_PHOTOS: usize = 5_000;
/// The most photo bytes one export packs (about 3,000 photos of a phone): a ZIP a supervisor can
/// still download and open.
pub const MAX_PHOTO_BYTES: u64 = 1 << 30;

/// What will go into the ZIP: the photos the server holds (with their sizes) and those it does not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhotoPlan {
    pub present: Vec<(String, u64)>,
    pub missing: Vec<String>,
    pub bytes: u64,
}

/// Which of `photos` the server holds and how large they are together; refuses an export beyond
/// the bounds. Without a blob store every photo is missing.
pub fn plan(blobs: Option<&dyn BlobStore>, photos: &[String]) -> DomainResult<PhotoPlan> {
    let too_many = || {
        DomainError::refused(
            ErrorCode::TooLarge,
            format!(
                "照片太多，请缩短日期范围（最多 {MAX_PHOTOS} 张、{} MB）/ too many photos for one export: narrow the dates \
                 (at most {MAX_PHOTOS} photos, {} MB)",
                MAX_PHOTO_BYTES >> 20,
                MAX_PHOTO_BYTES >> 20
            ),
        )
    };
    if photos.len() > MAX_PHOTOS {
        return Err(too_many());
    }
    let mut out = PhotoPlan::default();
    for sha in photos {
        let size = match blobs {
            Some(b) => b.photo_size(sha).map_err(fault)?,
            None => None,
        };
        match size {
            Some(size) => {
                out.bytes = out.bytes.saturating_add(size);
                out.present.push((sha.clone(), size));
            }
            None => out.missing.push(sha.clone()),
        }
        if out.bytes > MAX_PHOTO_BYTES {
            return Err(too_many());
        }
    }
    Ok(out)
}

fn fault(e: io::Error) -> DomainError {
    DomainError::internal(format!("photo storage: {e}"))
}

/// The ZIP's file name for the sheet's: `visits-g1-2026-12-07.csv` → `visits-g1-2026-12-07-photos.zip`.
pub fn zip_name(sheet: &Exported) -> String {
    let stem = sheet.filename.rsplit_once('.').map_or(sheet.filename.as_str(), |(stem, _)| stem);
    format!("{stem}-photos.zip")
}

/// Writes the ZIP to `out`: the sheet, each photo of `plan` that still hashes to its address, and
/// README.txt. Answers how many photos went in. Without a blob store (`plan` then has every photo
/// missing) it is the sheet and the README.
pub fn write_zip<W: Write>(
    out: W,
    sheet: &Exported,
    plan: &PhotoPlan,
    blobs: Option<&dyn BlobStore>,
) -> io::Result<usize> {
    let mut zip = StoredZipWriter::new(out);
    zip.add(&sheet.filename, &sheet.bytes)?;
    let mut missing = plan.missing.clone();
    let mut packed = 0;
    for (sha, _) in &plan.present {
        // a photo that went, or no longer hashes to its address, is listed, never packed
        let bytes = match blobs {
            Some(b) => b.photo(sha)?,
            None => None,
        };
        match bytes {
            Some(bytes) if photo_sha256(&bytes) == *sha => {
                zip.add(&format!("photos/{sha}.jpg"), &bytes)?;
                packed += 1;
            }
            _ => missing.push(sha.clone()),
        }
    }
    zip.add("README.txt", readme(sheet, packed, &missing).as_bytes())?;
    zip.finish()?;
    Ok(packed)
}

fn readme(sheet: &Exported, packed: usize, missing: &[String]) -> String {
    let mut text = format!(
        "{sheet_name}：导出的记录，共 {rows} 行。\r\n\
         photos/：这些记录所附的照片，共 {packed} 张，文件名是照片的 SHA-256，可用 sha256sum 核对。\r\n\
         {sheet_name}: the exported records, {rows} rows.\r\n\
         photos/: the photos they name, {packed}, each named by its SHA-256 (check with sha256sum).\r\n",
        sheet_name = sheet.filename,
        rows = sheet.rows,
    );
    if !missing.is_empty() {
        text.push_str(&format!(
            "\r\n服务器上还没有的照片（上传中或缺失）共 {n} 张 / photos not on the server (on their way or missing): {n}\r\n",
            n = missing.len()
        ));
        for sha in missing {
            text.push_str(sha);
            text.push_str("\r\n");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::storage::blobs::DirBlobStore;

    fn sheet() -> Exported {
        Exported {
            bytes: b"a,b\r\n1,2\r\n".to_vec(),
            filename: "visits-g1-2026-12-07.csv".into(),
            content_type: "text/csv",
            rows: 1,
            photos: Vec::new(),
        }
    }

    fn keep(blobs: &DirBlobStore, bytes: &[u8]) -> String {
        let sha = photo_sha256(bytes);
        blobs.put_chunk(&sha, bytes.len() as u64, 0, bytes).unwrap();
        sha
    }

    #[test]
    fn the_zip_holds_the_sheet_and_each_photo_under_its_hash_and_lists_the_missing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = DirBlobStore::open(dir.path()).unwrap();
        let (a, b) = (keep(&blobs, b"\xFF\xD8\xFF photo a"), keep(&blobs, b"\xFF\xD8\xFF photo b"));
        let away = photo_sha256(b"still on the phone");
        let plan = plan(Some(&blobs), &[a.clone(), away.clone(), b.clone()]).unwrap();
        assert_eq!((plan.present.len(), plan.missing.clone(), plan.bytes), (2, vec![away.clone()], 22));
        let mut out = Vec::new();
        assert_eq!(write_zip(&mut out, &sheet(), &plan, Some(&blobs)).unwrap(), 2);
        // read front to back as Java's ZipInputStream does: sizes in every local header
        let streamed = crate::domain::stored_zip::read_local_headers(&out).unwrap();
        assert_eq!(streamed.len(), 4, "{:?}", streamed.iter().map(|(n, _)| n).collect::<Vec<_>>());
        let mut zip = zip::ZipArchive::new(io::Cursor::new(out)).unwrap();
        let mut names: Vec<String> = zip.file_names().map(str::to_string).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "README.txt".to_string(),
                format!("photos/{a}.jpg"),
                format!("photos/{b}.jpg"),
                "visits-g1-2026-12-07.csv".into()
            ]
        );
        for sha in [&a, &b] {
            let mut bytes = Vec::new();
            zip.by_name(&format!("photos/{sha}.jpg")).unwrap().read_to_end(&mut bytes).unwrap();
            assert_eq!(photo_sha256(&bytes), *sha);
        }
        let mut readme = String::new();
        zip.by_name("README.txt").unwrap().read_to_string(&mut readme).unwrap();
        assert!(readme.contains(&away) && readme.contains("共 2 张"), "{readme}");
    }

    #[test]
    fn too_many_photos_are_refused_before_anything_is_written() {
        let many: Vec<String> = (0..=MAX_PHOTOS).map(|i| photo_sha256(&i.to_le_bytes())).collect();
        let e = plan(None, &many).unwrap_err();
        assert!(e.to_string().contains("narrow the dates"), "{e}");
        assert_eq!(plan(None, &many[..3]).unwrap().missing.len(), 3);
        assert_eq!(zip_name(&sheet()), "visits-g1-2026-12-07-photos.zip");
    }
}
