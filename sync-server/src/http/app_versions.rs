//! App versions on the device endpoints (docs/sync-protocol.md, "App versions"): the minimum
//! version checked on every request that names one (`x-gridbook-app-version`, and a push's facts),
//! the update offer added to push answers and pull pages, and `GET /v1/app/releases/{sha256}`,
//! which serves a published build to an enrolled device, resumable with `Range: bytes=N-`.

use std::io::SeekFrom;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use gridbook_core::sync::wire::{AppUpdate, ErrorBody, ErrorCode, HEADER_APP_VERSION};
use tokio::io::AsyncSeekExt;

use super::error::{AppError, AppResult};
use super::state::AppState;
use crate::domain::app_versions::VersionPolicy;
use crate::domain::auth::DeviceAuth;

/// The content type of an Android package.
pub const APK_CONTENT_TYPE: &str = "application/vnd.android.package-archive";

/// The app version a device named in its request's header, if it named one. A text that is not
/// a version (too long, not ASCII) is still one named: it meets no minimum.
pub fn header_version(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(HEADER_APP_VERSION)?;
    let v = v.to_str().map(str::trim).unwrap_or("?");
    (!v.is_empty()).then_some(v)
}

/// The builds and the minimum now: the copy in memory, or read from storage on a blocking thread.
pub async fn policy(state: &AppState) -> AppResult<Arc<VersionPolicy>> {
    if let Some(policy) = state.app_versions.cached() {
        return Ok(policy);
    }
    let versions = state.app_versions.clone();
    Ok(tokio::task::spawn_blocking(move || versions.policy()).await??)
}

/// Refuses an app below the minimum (426 `upgrade_required`, with the build to install); answers
/// the build to offer an app that may sync. `app_version`: what the device named, if anything.
pub async fn check(state: &AppState, device: &DeviceAuth, app_version: Option<&str>) -> AppResult<Option<AppUpdate>> {
    let Some(version) = app_version else { return Ok(None) };
    let policy = policy(state).await?;
    refusal(&policy, device, version)?;
    Ok(policy.offer(device, version))
}

/// `upgrade_required` for an app below the minimum.
pub fn refusal(policy: &VersionPolicy, device: &DeviceAuth, app_version: &str) -> AppResult<()> {
    if policy.admits(app_version) {
        return Ok(());
    }
    let min = policy.min_app_version.as_deref().unwrap_or_default();
    Err(AppError::upgrade_required(min, policy.offer(device, app_version)))
}

/// GET /v1/app/releases/{sha256}: a published build, to an enrolled device.
#[utoipa::path(
    get,
    path = "/v1/app/releases/{sha256}",
    tag = "sync",
    security(("device_token" = [])),
    params(("sha256" = String, Path, description = "The build's SHA-256, 64 lowercase hex digits, as offered in `update.url`")),
    responses(
        (status = 200, description = "The whole file", content_type = "application/vnd.android.package-archive", body = Vec<u8>),
        (status = 206, description = "The rest of the file from the `Range: bytes=N-` asked (a download resumed)",
            content_type = "application/vnd.android.package-archive", body = Vec<u8>),
        (status = 401, description = "Missing, unknown or revoked device token", body = ErrorBody),
        (status = 410, description = "`wipe_ordered`: the back office ordered the device wiped (`wipe`); it may only push and report its wipe", body = ErrorBody),
        (status = 404, description = "No such build, or it was withdrawn", body = ErrorBody),
        (status = 416, description = "The range starts past the end of the file", body = ErrorBody),
        (status = 429, description = "The device's request budget is spent; wait `Retry-After`", body = ErrorBody),
    )
)]
pub async fn download(
    State(state): State<AppState>,
    _device: DeviceAuth,
    Path(sha256): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let not_found = || AppError::not_found(format!("没有这个安装包 / no published build {sha256:.64}"));
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(not_found());
    }
    let policy = policy(&state).await?;
    let Some(release) = policy.releases.iter().find(|r| r.sha256 == sha256) else { return Err(not_found()) };
    let Some(dir) = state.app_versions.storage().releases_dir() else { return Err(not_found()) };
    let path = dir.join(format!("{sha256}.apk"));
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
        Err(e) => return Err(AppError::internal(format!("{}: {e}", path.display()))),
    };
    let total = release.bytes;
    let from = match range_start(&headers) {
        Some(from) if from >= total => {
            let mut refusal = axum::response::IntoResponse::into_response(AppError::new(
                ErrorCode::RangeNotSatisfiable,
                format!("Range 起点超出文件 / the range starts past the end of the file ({total} bytes)"),
            ));
            refusal
                .headers_mut()
                .insert(header::CONTENT_RANGE, HeaderValue::from_str(&format!("bytes */{total}")).map_err(internal)?);
            return Ok(refusal);
        }
        Some(from) => {
            file.seek(SeekFrom::Start(from)).await.map_err(internal)?;
            Some(from)
        }
        None => None,
    };
    let start = from.unwrap_or(0);
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
        tokio::io::AsyncReadExt::take(file, total - start),
        64 * 1024,
    ));
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(APK_CONTENT_TYPE));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(total - start));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(from) = from {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        let range = format!("bytes {from}-{}/{total}", total - 1);
        response.headers_mut().insert(header::CONTENT_RANGE, HeaderValue::from_str(&range).map_err(internal)?);
    }
    Ok(response)
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::internal(e.to_string())
}

/// N of `Range: bytes=N-`, the form a download manager resumes with; any other range is ignored
/// and the whole file sent (RFC 9110 allows a server to).
fn range_start(headers: &HeaderMap) -> Option<u64> {
    let v = headers.get(header::RANGE)?.to_str().ok()?.trim();
    v.strip_prefix("bytes=")?.strip_suffix('-')?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridbook_core::sync::app_version::MAX_VERSION_LEN;

    #[test]
    fn only_an_open_ended_byte_range_is_read() {
        let mut h = HeaderMap::new();
        assert_eq!(range_start(&h), None);
        h.insert(header::RANGE, HeaderValue::from_static("bytes=1024-"));
        assert_eq!(range_start(&h), Some(1024));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=0-99"));
        assert_eq!(range_start(&h), None, "a closed range gets the whole file");
        h.insert(header::RANGE, HeaderValue::from_static("bytes=-500"));
        assert_eq!(range_start(&h), None);
    }

    #[test]
    fn a_version_header_is_read_only_when_short_and_present() {
        let mut h = HeaderMap::new();
        assert_eq!(header_version(&h), None);
        h.insert(HEADER_APP_VERSION, HeaderValue::from_static(" 1.4.0 "));
        assert_eq!(header_version(&h), Some("1.4.0"));
        let long = "9".repeat(MAX_VERSION_LEN + 1);
        h.insert(HEADER_APP_VERSION, HeaderValue::from_str(&long).unwrap());
        assert_eq!(header_version(&h), Some(long.as_str()), "named, and no version: it meets no minimum");
        h.insert(HEADER_APP_VERSION, HeaderValue::from_bytes(b"1.\xff").unwrap());
        assert_eq!(header_version(&h), Some("?"));
    }
}
