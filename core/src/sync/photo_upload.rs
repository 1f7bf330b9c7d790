//! The phone's side of the photo channel (docs/sync-protocol.md, "Photos"): after the op push,
//! each photo waiting in the store is sent in chunks, starting from what the server says it
//! lacks, so a cut anywhere (network, app killed, server killed) costs at most the chunk in
//! flight (a few photos go at once, `PHOTOS_IN_FLIGHT`, each its chunks in order); and a photo
//! another phone took is fetched when opened, checked against its address and kept in the
//! store's cache.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::photos::{is_photo_sha256, photo_sha256};
use crate::store::photos::{PhotoOrigin, WaitingPhoto};
use crate::sync::client::SyncEngine;
use crate::sync::traffic::NetworkKind;
use crate::sync::wire::{PhotoPolicy, PhotoStatus, MAX_PHOTO_BYTES, PATH_PHOTOS};

/// What one upload round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoUploadReport {
    /// Photos the server now holds whole.
    pub uploaded: u64,
    /// Chunks sent.
    pub chunks_sent: u64,
    /// Photo bytes sent in chunk bodies.
    pub bytes_sent: u64,
    /// Photos the server refused as not matching their address (`hash_mismatch`) or as not a JPEG
    /// (`unsupported_media_type`): damaged on this phone; they stay waiting and are reported,
    /// never sent in a loop.
    pub refused: Vec<String>,
    /// Why photos still waiting were not sent (Wi-Fi only on mobile data, the day's mobile cap
    /// spent, no network): they go in a later round.
    pub held_back: Option<String>,
}

/// Why the photo policy holds photos back on `network` having spent `spent` of today's mobile
/// bytes, before sending `next` more; `None` when they may go.
pub fn held_back(policy: &PhotoPolicy, network: NetworkKind, spent: u64, next: u64) -> Option<String> {
    match network {
        NetworkKind::Wifi => None,
        NetworkKind::None => Some("无网络，照片稍后上传 / no network: photos upload later".into()),
        NetworkKind::Mobile if !policy.over_mobile => {
            Some("照片仅在 Wi-Fi 下上传 / photos upload on Wi-Fi only (server policy)".into())
        }
        NetworkKind::Mobile => {
            let cap = policy.mobile_bytes_per_day;
            (cap > 0 && spent.saturating_add(next) > cap).then(|| {
                format!(
                    "今日移动数据照片额度已用 {spent}/{cap} 字节，其余照片在 Wi-Fi 下或明天上传 / today's mobile-data \
                     photo cap is spent ({spent} of {cap} bytes): the rest go on Wi-Fi or tomorrow"
                )
            })
        }
    }
}

/// Photos sent at once in one round on Wi-Fi (`upload_photos`, one lane each; one on mobile
/// data): each keeps its chunks in order and acknowledged one by one; six (a browser's
/// connections per host) keep the server's disk busy while the other lanes' requests are read,
/// checked and answered: 100 photos took 0.23–0.34 s on the quiet machine against 0.31–0.45 s
/// with three (docs/benchmarks.md, "Photos (issue 20)"), while a failed round costs at most one
/// unacknowledged chunk per photo in flight.
pub const PHOTOS_IN_FLIGHT: usize = 6;
const _: () = assert!(PHOTOS_IN_FLIGHT >= 1, "at least one lane sends");

/// What the lanes of one upload round share.
struct Lanes<'r> {
    queue: Mutex<std::vec::IntoIter<WaitingPhoto>>,
    report: Mutex<&'r mut PhotoUploadReport>,
    /// Set by the first failure or hold-back: no lane sends another chunk.
    stop: AtomicBool,
    network: NetworkKind,
    policy: PhotoPolicy,
}

impl Lanes<'_> {
    fn next(&self) -> Option<WaitingPhoto> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner).next()
    }

    fn with_report(&self, f: impl FnOnce(&mut PhotoUploadReport)) {
        f(&mut self.report.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn hold_back(&self, why: String) {
        self.stop.store(true, Ordering::Relaxed);
        self.with_report(|r| r.held_back = Some(why));
    }
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
    /// Follows the server's photo policy on the network the app said (`set_network`): on mobile
    /// data only when it allows, and never past the day's cap (China time): a chunk that would
    /// pass it is not sent and `held_back` says why.
    pub async fn upload_photos_into(&self, report: &mut PhotoUploadReport) -> Result<()> {
        let result = self.upload_waiting(report).await;
        self.flush_traffic();
        result
    }

    /// The waiting photos, oldest first, shared by `PHOTOS_IN_FLIGHT` lanes: each lane sends one
    /// photo at a time, chunk after acknowledged chunk; the lanes overlap one photo's round trips
    /// and the server's durable writes with the others'. The first failure stops every lane before
    /// its next chunk (what is in flight finishes, so a cut costs only the chunk it cut).
    async fn upload_waiting(&self, report: &mut PhotoUploadReport) -> Result<()> {
        let lanes = Lanes {
            queue: Mutex::new(self.store().photos_waiting()?.into_iter()),
            report: Mutex::new(report),
            stop: AtomicBool::new(false),
            network: self.network(),
            policy: self.store().policy().photos(),
        };
        // as many lanes as photos in flight, polled together on this task (they borrow the
        // engine and the shared queue, so no spawned task); the first error is the round's
        let results = futures_util::future::join_all((0..PHOTOS_IN_FLIGHT).map(|nth| self.lane(&lanes, nth))).await;
        results.into_iter().collect()
    }

    async fn lane(&self, lanes: &Lanes<'_>, nth: usize) -> Result<()> {
        // On mobile data one photo at a time: the day's cap is spent on whole photos in order,
        // never on the first halves of three (and it is not the case to hurry for).
        if nth > 0 && lanes.network == NetworkKind::Mobile {
            return Ok(());
        }
        loop {
            if lanes.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let Some(waiting) = lanes.next() else { return Ok(()) };
            if let Err(e) = self.upload_one(&waiting, lanes).await {
                lanes.stop.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
    }

    /// Sends the chunks of one photo the server lacks. Stops (without error) when the policy holds
    /// photos back or another lane failed.
    async fn upload_one(&self, waiting: &WaitingPhoto, lanes: &Lanes<'_>) -> Result<()> {
        let (network, policy) = (lanes.network, &lanes.policy);
        // the status asks cost bytes too: not one when nothing may go
        let spent = self.store().day_traffic()?.photo_mobile_bytes;
        if let Some(why) = held_back(policy, network, spent, 1) {
            lanes.hold_back(why);
            return Ok(());
        }
        // A photo not started yet goes without asking the server first: each chunk's answer is the
        // status, and the next chunk sent is the first one it says is missing after it (a photo
        // held already answers `complete` at chunk 0). A started photo (cut, app killed, an
        // earlier round) asks first, so that it resumes with only what the server lacks: a cut
        // costs at most the chunk in flight. Noting the start is a store write before chunk 0;
        // a photo of one chunk needs none: a lost answer costs that one chunk again, the most a
        // cut costs anyway.
        let (mut done, mut next) = if waiting.chunks <= 1 || !waiting.started {
            if waiting.chunks > 1 {
                self.store().mark_photo_started(&waiting.sha256)?;
            }
            (false, Some(0))
        } else {
            let status = self.photo_status(&waiting.sha256, waiting.size).await?;
            (status.complete, status.missing().first().copied())
        };
        // each chunk at most once a round: a server that keeps saying a chunk is missing cannot
        // keep a lane sending; what is left goes next round, after asking
        let mut budget = waiting.chunks;
        while let Some(index) = next.filter(|_| !done && budget > 0) {
            budget -= 1;
            if lanes.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let chunk = self.store().photo_chunk(&waiting.sha256, index)?.ok_or_else(|| {
                Error::Corrupt(format!("chunk {index} of photo {} is missing on this phone", waiting.sha256))
            })?;
            let n = chunk.len() as u64;
            if network == NetworkKind::Mobile {
                let spent = self.store().day_traffic()?.photo_mobile_bytes;
                if let Some(why) = held_back(policy, network, spent, n) {
                    lanes.hold_back(why);
                    return Ok(());
                }
                // counted as it goes out, answered or not: the bytes were spent either way
                self.store().add_traffic(0, 0, n)?;
            }
            self.count_sent(n);
            lanes.with_report(|r| {
                r.chunks_sent += 1;
                r.bytes_sent += n;
            });
            match self.put_chunk(&waiting.sha256, waiting.size, index, chunk).await {
                Ok(after) => {
                    done = after.complete;
                    next = after.missing().into_iter().find(|&i| i > index);
                }
                Err(Error::Server { code, .. }) if code == "hash_mismatch" || code == "unsupported_media_type" => {
                    lanes.with_report(|r| r.refused.push(waiting.sha256.clone()));
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        if done {
            self.store().mark_photo_uploaded(&waiting.sha256)?;
            lanes.with_report(|r| r.uploaded += 1);
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
        // the cache stays within its bytes: what was opened longest ago goes
        self.trim_photos()?;
        self.flush_traffic();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_holds_photos_back_by_network_and_the_days_mobile_cap() {
        let policy = PhotoPolicy { over_mobile: true, mobile_bytes_per_day: 1000, keep_days: 7 };
        assert_eq!(held_back(&policy, NetworkKind::Wifi, 5000, 5000), None, "no cap on Wi-Fi");
        assert_eq!(held_back(&policy, NetworkKind::Mobile, 400, 600), None, "up to the cap");
        let over = held_back(&policy, NetworkKind::Mobile, 400, 601).unwrap();
        assert!(over.contains("400 of 1000") && over.contains("额度"), "{over}");
        assert!(held_back(&policy, NetworkKind::None, 0, 1).unwrap().contains("no network"));
        let wifi_only = PhotoPolicy { over_mobile: false, ..policy };
        assert!(held_back(&wifi_only, NetworkKind::Mobile, 0, 1).unwrap().contains("Wi-Fi only"));
        assert_eq!(held_back(&wifi_only, NetworkKind::Wifi, 0, 1), None);
        let uncapped = PhotoPolicy { mobile_bytes_per_day: 0, ..policy };
        assert_eq!(held_back(&uncapped, NetworkKind::Mobile, u64::MAX, u64::MAX), None, "0: no cap");
    }
}
