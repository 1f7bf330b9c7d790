//! `GET /admin/api/export/{visits|receipts}/photos?grid=G&format=csv|xlsx[&from=D&to=D][&full=true]`
//! (issue 20): the sheet the plain export gives the same staff member — same grids, same masking,
//! same audit — and the photos its rows name, in one ZIP (`domain::photo_export`). Bounded and
//! audited before the first byte goes out; then streamed as it is written, from a blocking task
//! through a small channel, so a large export holds one photo in memory, not the ZIP.

use std::io::{self, Write};

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use tokio::sync::mpsc;

use super::api::query;
use super::spreadsheets::{download_headers, scoped_export, FileQuery};
use super::staff_session::StaffSession;
use crate::domain::now_ms;
use crate::domain::photo_export::{plan, write_zip, zip_name};
use crate::domain::spreadsheets::export::Dataset;
use crate::http::error::{AppError, AppResult};
use crate::http::state::AppState;

/// Bytes per piece of the streamed body.
const PIECE: usize = 64 * 1024;
/// Pieces written ahead of the client at most.
const AHEAD: usize = 8;

pub(super) async fn export_with_photos(
    State(state): State<AppState>,
    StaffSession(staff): StaffSession,
    Path(dataset): Path<String>,
    q: Result<Query<FileQuery>, QueryRejection>,
) -> AppResult<Response> {
    let q = query(q)?;
    let dataset = match Dataset::parse(&dataset) {
        Some(d @ (Dataset::Visits | Dataset::Receipts)) => d,
        _ => return Err(AppError::not_found("exports with photos: visits or receipts")),
    };
    let blobs = state.photos.clone();
    let (actor, planned_blobs, grid) = (staff.id.clone(), blobs.clone(), q.grid.trim().to_string());
    let (sheet, plan) = scoped_export(&state, &staff, dataset, q, move |storage, sheet| {
        let plan = plan(planned_blobs.as_deref(), &sheet.photos)?;
        // the sheet's own line is written; this one says the photos went with it
        let detail = format!(
            "{} with photos: {} photos, {} bytes, {} not on the server",
            sheet.filename,
            plan.present.len(),
            plan.bytes,
            plan.missing.len()
        );
        storage.record_audit(&actor, "export_photos", &grid, &detail, now_ms())?;
        Ok((sheet, plan))
    })
    .await?;
    tracing::info!(
        staff = %staff.id, export = dataset.as_str(), rows = sheet.rows, photos = plan.present.len(),
        bytes = plan.bytes, "back-office export with photos"
    );
    let name = zip_name(&sheet);
    let (tx, mut rx) = mpsc::channel::<io::Result<Bytes>>(AHEAD);
    tokio::task::spawn_blocking(move || {
        let mut out = Pieces { tx: tx.clone(), buf: Vec::with_capacity(PIECE) };
        let written = write_zip(&mut out, &sheet, &plan, blobs.as_deref()).and_then(|_| out.flush());
        if let Err(e) = written {
            // the client went away, or storage failed: the body ends in an error, never a short ZIP
            tracing::warn!(error = %e, "export with photos cut");
            let _ = tx.blocking_send(Err(e));
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut response = Response::new(Body::from_stream(stream));
    download_headers(&mut response, &name, "application/zip");
    Ok(response)
}

/// The ZIP's bytes, in pieces of `PIECE` onto the channel the body reads.
struct Pieces {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl Pieces {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(PIECE)));
        self.tx.blocking_send(Ok(piece)).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for Pieces {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= PIECE {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}
