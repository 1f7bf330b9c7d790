//! Prometheus metrics at /metrics, in the plain text exposition format (version 0.0.4), written
//! by hand: requests and their latency are counted in this process by a middleware; sync totals
//! (pushes, pulls, ops, rejections, conflicts) are read from the database, so they survive a
//! restart; devices are counted by state as the back office classifies them. No label carries a
//! device, a person or a record: the label values are routes, methods, status codes and states.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gridbook_core::sync::wire::{PATH_ENROL, PATH_PULL, PATH_PUSH};

use super::error::AppError;
use crate::domain::device_health::DeviceState;
use crate::domain::now_ms;
use crate::http::state::AppState;

pub const PATH_METRICS: &str = "/metrics";

/// Upper bounds of the latency buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Debug, Clone, Default)]
struct Histogram {
    /// Observations at or below each bound (not yet cumulative).
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| seconds <= *b) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, n) in LATENCY_BUCKETS.iter().zip(self.buckets) {
            cumulative += n;
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {}", self.count);
        let trimmed = labels.trim_end_matches(',');
        let braces = if trimmed.is_empty() { String::new() } else { format!("{{{trimmed}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

#[derive(Default)]
struct Counters {
    /// (route, method, status) → requests
    requests: BTreeMap<(String, &'static str, u16), u64>,
    by_route: BTreeMap<String, Histogram>,
    sync: BTreeMap<&'static str, Histogram>,
}

/// What this process has counted since it started.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

fn sync_direction(route: &str) -> Option<&'static str> {
    match route {
        PATH_PUSH => Some("push"),
        PATH_PULL => Some("pull"),
        PATH_ENROL => Some("enrol"),
        _ => None,
    }
}

impl Metrics {
    pub fn observe(&self, route: &str, method: &Method, status: StatusCode, seconds: f64) {
        let mut c = lock(&self.counters);
        *c.requests.entry((route.to_string(), method_label(method), status.as_u16())).or_default() += 1;
        c.by_route.entry(route.to_string()).or_default().observe(seconds);
        if let Some(direction) = sync_direction(route) {
            c.sync.entry(direction).or_default().observe(seconds);
        }
    }

    /// The in-process part of the exposition.
    pub fn write_process(&self, out: &mut String) {
        let c = lock(&self.counters);
        out.push_str("# HELP gridbook_http_requests_total HTTP requests answered, by route, method and status.\n");
        out.push_str("# TYPE gridbook_http_requests_total counter\n");
        for ((route, method, status), n) in &c.requests {
            let _ = writeln!(
                out,
                "gridbook_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str("# HELP gridbook_http_request_duration_seconds Time to answer a request, by route.\n");
        out.push_str("# TYPE gridbook_http_request_duration_seconds histogram\n");
        for (route, h) in &c.by_route {
            h.write(out, "gridbook_http_request_duration_seconds", &format!("route=\"{}\",", escape(route)));
        }
        out.push_str("# HELP gridbook_sync_duration_seconds Time to answer a phone's sync request, by direction.\n");
        out.push_str("# TYPE gridbook_sync_duration_seconds histogram\n");
        for direction in ["push", "pull", "enrol"] {
            let h = c.sync.get(direction).cloned().unwrap_or_default();
            h.write(out, "gridbook_sync_duration_seconds", &format!("direction=\"{direction}\","));
        }
    }
}

/// Label values: backslash, double quote and line feed are escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Middleware: counts every request under its route pattern (never the raw path, so a scan of
/// random URLs cannot blow up the label set).
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route =
        request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.observe(&route, &method, response.status(), started.elapsed().as_secs_f64());
    response
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// GET /metrics
pub async fn exposition(State(state): State<AppState>) -> Response {
    let mut out = String::with_capacity(8 * 1024);
    state.backoffice.metrics.write_process(&mut out);
    let (sqlite_heap, sqlite_heap_peak) = crate::storage::sqlite::heap_bytes();
    family(&mut out, "gridbook_sqlite_heap_bytes", "gauge", "Bytes on SQLite's heap (page caches, statements).");
    let _ = writeln!(out, "gridbook_sqlite_heap_bytes {sqlite_heap}");
    family(&mut out, "gridbook_sqlite_heap_peak_bytes", "gauge", "The most SQLite's heap has held.");
    let _ = writeln!(out, "gridbook_sqlite_heap_peak_bytes {sqlite_heap_peak}");
    family(&mut out, "gridbook_changes_waiting", "gauge", "Phones waiting on /v1/changes on this replica.");
    let _ = writeln!(out, "gridbook_changes_waiting {}", state.changes.waiting());

    let storage = state.storage.clone();
    let monitoring = state.backoffice.monitoring.clone();
    let thresholds = state.backoffice.thresholds;
    let throttle = state.login_throttle.clone();
    let db = tokio::task::spawn_blocking(move || {
        let devices = storage.devices()?;
        let slowed = throttle.slowed(now_ms())?;
        Ok::<_, AppError>((devices, monitoring.totals()?, slowed))
    })
    .await;
    state
        .login_throttle
        .write_metrics(&mut out, db.as_ref().ok().and_then(|r| r.as_ref().ok()).map(|(_, _, slowed)| *slowed));
    match db {
        Ok(Ok((devices, t, _))) => {
            family(&mut out, "gridbook_database_up", "gauge", "1 when the database answered this scrape.");
            out.push_str("gridbook_database_up 1\n");
            family(
                &mut out,
                "gridbook_sync_requests_total",
                "counter",
                "Completed syncs recorded in the database, by direction.",
            );
            let _ = writeln!(out, "gridbook_sync_requests_total{{direction=\"push\"}} {}", t.pushes);
            let _ = writeln!(out, "gridbook_sync_requests_total{{direction=\"pull\"}} {}", t.pulls);
            family(
                &mut out,
                "gridbook_sync_ops_total",
                "counter",
                "Ops pushed by phones and entity changes pulled by them.",
            );
            let _ = writeln!(out, "gridbook_sync_ops_total{{direction=\"push\"}} {}", t.ops_pushed);
            let _ = writeln!(out, "gridbook_sync_ops_total{{direction=\"pull\"}} {}", t.ops_pulled);
            family(&mut out, "gridbook_ops_rejected_total", "counter", "Pushed ops the server rejected for good.");
            let _ = writeln!(out, "gridbook_ops_rejected_total {}", t.ops_rejected);
            family(&mut out, "gridbook_rejections", "gauge", "Rejected ops kept in the dead-letter table.");
            let _ = writeln!(out, "gridbook_rejections {}", t.rejections_stored);
            family(
                &mut out,
                "gridbook_conflicts_total",
                "counter",
                "Field values overwritten by another device's later edit.",
            );
            let _ = writeln!(out, "gridbook_conflicts_total {}", t.conflicts);
            let now = now_ms();
            let mut by_state: BTreeMap<&'static str, u64> = DeviceState::ALL.iter().map(|s| (s.as_str(), 0)).collect();
            let (mut skewed, mut pending, mut fen) = (0u64, 0i64, 0i64);
            for d in &devices {
                let h = thresholds.classify(d, now);
                *by_state.entry(h.state.as_str()).or_default() += 1;
                skewed += u64::from(h.skewed);
                if d.revoked_at_ms.is_none() {
                    // phones' own figures: a sum over many saturates, never overflows
                    pending = pending.saturating_add(d.pending_count);
                    fen = fen.saturating_add(d.unsynced_receipts_fen);
                }
            }
            family(
                &mut out,
                "gridbook_devices",
                "gauge",
                "Enrolled devices by state (ok, stuck, stale, never_synced, revoked).",
            );
            for (s, n) in by_state {
                let _ = writeln!(out, "gridbook_devices{{state=\"{s}\"}} {n}");
            }
            family(
                &mut out,
                "gridbook_devices_clock_skewed",
                "gauge",
                "Devices whose clock was measured off by more than the threshold.",
            );
            let _ = writeln!(out, "gridbook_devices_clock_skewed {skewed}");
            family(
                &mut out,
                "gridbook_devices_rate_limited",
                "gauge",
                "Devices refused for going over their request budget within the last hour.",
            );
            let _ = writeln!(out, "gridbook_devices_rate_limited {}", state.device_budget.refused_lately(now).len());
            family(
                &mut out,
                "gridbook_device_pending_ops",
                "gauge",
                "Ops waiting on phones, as the phones last reported.",
            );
            let _ = writeln!(out, "gridbook_device_pending_ops {pending}");
            family(
                &mut out,
                "gridbook_receipts_on_phones_fen",
                "gauge",
                "Money collected on phones whose receipts have not reached the server, in fen.",
            );
            let _ = writeln!(out, "gridbook_receipts_on_phones_fen {fen}");
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: the database did not answer");
            family(&mut out, "gridbook_database_up", "gauge", "1 when the database answered this scrape.");
            out.push_str("gridbook_database_up 0\n");
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: worker failed");
            family(&mut out, "gridbook_database_up", "gauge", "1 when the database answered this scrape.");
            out.push_str("gridbook_database_up 0\n");
        }
    }
    let mut response = out.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut h = Histogram::default();
        for s in [0.001, 0.02, 0.02, 3.0, 100.0] {
            h.observe(s);
        }
        let mut out = String::new();
        h.write(&mut out, "x", "route=\"/a\",");
        assert!(out.contains("x_bucket{route=\"/a\",le=\"0.005\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{route=\"/a\",le=\"0.025\"} 3\n"), "{out}");
        assert!(out.contains("x_bucket{route=\"/a\",le=\"5\"} 4\n"), "{out}");
        assert!(out.contains("x_bucket{route=\"/a\",le=\"30\"} 4\n"), "{out}");
        assert!(out.contains("x_bucket{route=\"/a\",le=\"+Inf\"} 5\n"), "{out}");
        assert!(out.contains("x_count{route=\"/a\"} 5\n"), "{out}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
