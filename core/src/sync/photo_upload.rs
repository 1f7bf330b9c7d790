//! The phone's side of the photo channel (docs/sync-protocol.md, "Photos"): after the op push,
//! each photo waiting in the store is sent in chunks, starting from what the server says it
//! lacks, so a cut anywhere (network, app killed, server killed) costs at most the chunk in
//! flight; and a photo another phone took is fetched when opened, checked against its address
//! and kept in the store's cache.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::photos::{is_photo_sha256, photo_sha256};
use crate::store::photos::PhotoOrigin;
use crate::sync::client::SyncEngine;
use crate::sync::wire::{PhotoStatus, MAX_PHOTO_BYTES, PATH_PHOTOS};

/// What one upload round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoUploadReport {
    /// Photos the server now holds whole.
    pub uploaded: u64,
    /// Chunks sent.
    pub chunks_sent: u64,
    /// Photo bytes sent in chunk bodies.
    pub bytes_sent: u64,
    /// Photos the server refused as not matching their address (`hash_mismatch`): damaged on this
    /// phone; they stay waiting and are reported, never sent in a loop.
    pub refused: Vec<String>,
}

impl SyncEngine {
    /// Sends every photo waiting on this phone, oldest first, each resumed from the chunks the
    /// server lacks. Stops at the first failure that is not the photo's own (network, server).
    pub async fn upload_photos(&self) -> Result<PhotoUploadReport> {
        let mut report = PhotoUploadReport::default();
        self.upload_photos_into(&mut report).await?;
        Ok(report)
    }

    /// `upload_photos`, adding to `report` as it goes, so that a round cut short still tells what
    /// it sent (chunk bytes are counted when sent, answered or not).
    pub async fn upload_photos_into(&self, report: &mut PhotoUploadReport) -> Result<()> {
        for waiting in self.store().photos_waiting()? {
            let status = self.photo_status(&waiting.sha256, waiting.size).await?;
            let mut done = status.complete;
            for index in status.missing() {
                let chunk = self.store().photo_chunk(&waiting.sha256, index)?.ok_or_else(|| {
                    Error::Corrupt(format!("chunk {index} of photo {} is missing on this phone", waiting.sha256))
                })?;
                report.chunks_sent += 1;
                report.bytes_sent += chunk.len() as u64;
                match self.put_chunk(&waiting.sha256, waiting.size, index, chunk).await {
                    Ok(after) => done = after.complete,
                    Err(Error::Server { code, .. }) if code == "hash_mismatch" => {
                        report.refused.push(waiting.sha256.clone());
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            if done {
                self.store().mark_photo_uploaded(&waiting.sha256)?;
                report.uploaded += 1;
            }
        }
        Ok(())
    }

    /// A photo to show: from the store when it is here, otherwise fetched from the server (at most
    /// `MAX_PHOTO_BYTES`), checked against its address and kept in the cache.
    pub async fn open_photo(&self, sha256: &str) -> Result<Vec<u8>> {
        if !is_photo_sha256(sha256) {
            return Err(Error::Invalid(crate::error::ValidationError::new("sha256", "not a photo address")));
        }
        if let Some(bytes) = self.store().photo(sha256)? {
            return Ok(bytes);
        }
        let config = self.config();
        let url = format!("{}{}/{sha256}", config.server_url, PATH_PHOTOS);
        let body = self.exchange_bytes(self.device_request(self.http().get(url), &config), MAX_PHOTO_BYTES).await?;
        if body.len() as u64 > MAX_PHOTO_BYTES || photo_sha256(&body) != sha256 {
            return Err(Error::Server {
                status: 200,
                code: "hash_mismatch".into(),
                message: "照片内容与其哈希不符 / the photo fetched does not match its address".into(),
            });
        }
        self.store().keep_photo(&body, PhotoOrigin::Fetched)?;
        Ok(body)
    }

    async fn photo_status(&self, sha256: &str, size: u64) -> Result<PhotoStatus> {
        let config = self.config();
        let url = format!("{}{}/{sha256}/status?size={size}", config.server_url, PATH_PHOTOS);
        self.exchange(self.device_request(self.http().get(url), &config)).await
    }

    async fn put_chunk(&self, sha256: &str, size: u64, index: u32, chunk: Vec<u8>) -> Result<PhotoStatus> {
        let config = self.config();
        let url = format!("{}{}/{sha256}/chunks/{index}?size={size}", config.server_url, PATH_PHOTOS);
        let req = self
            .device_request(self.http().put(url), &config)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(chunk);
        self.exchange(req).await
    }
}
