//! The soak benchmark's smoke run (issue 21): the `soak` tool against the server binary with a few
//! phones for a few seconds, time compressed hard. It must run to the end, write its time series
//! and summary, and see no error at all; what it measures is not asserted (no timing here).

use std::process::Command;

use gridbook_tests::server_binary;
use serde_json::Value;

#[test]
fn a_short_soak_runs_writes_its_series_and_sees_no_error() {
    let out = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_soak"))
        .args(["--devices", "3", "--minutes", "0.15", "--compress", "600", "--households-per-grid", "24"])
        .args(["--sample-s", "0.5", "--warmup-min", "0"])
        .arg("--server")
        .arg(server_binary())
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "soak failed:\n{stderr}");

    let series = std::fs::read_to_string(out.path().join("series.csv")).unwrap();
    let mut lines = series.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name}"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.len() >= 3, "a sample every half second over ~9 s of field work:\n{series}");
    for row in &rows {
        let rss: f64 = row[col("rss_mib")].parse().unwrap();
        let fds: u64 = row[col("fds")].parse().unwrap();
        assert!(rss > 1.0 && fds > 3, "the server's memory and descriptors read from /proc: {row:?}");
    }
    assert!(rows.iter().any(|r| r[col("phase")] == "field"), "samples taken while the phones work");
    assert!(
        rows.iter().any(|r| r[col("sqlite_heap_mib")].parse::<f64>().unwrap() > 0.0),
        "SQLite's heap read from the server's /metrics"
    );

    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("summary.json")).unwrap()).unwrap();
    for zero in ["errors", "sync_errors", "rejected_ops"] {
        assert_eq!(summary[zero], 0, "{zero} in {summary:#}\n{stderr}");
    }
    assert!(summary["visits"].as_u64().unwrap() > 0, "the phones visited: {summary:#}");
    assert!(summary["acknowledged_ops"].as_u64().unwrap() >= summary["visits"].as_u64().unwrap());
    for endpoint in ["/v1/enrol", "/v1/push", "/v1/pull"] {
        let e = &summary["endpoints"][endpoint];
        assert!(e["requests"].as_u64().unwrap_or(0) > 0, "{endpoint} timed: {summary:#}");
        assert!(e["p99_ms"].as_f64().unwrap() >= e["p50_ms"].as_f64().unwrap());
    }
    assert!(summary["rss_steady_median_mib"].as_f64().unwrap() > 0.0);
    assert!(out.path().join("smaps_rollup.txt").exists(), "the server's mappings kept for the accounting");
}
