//! The calendar the back office reports in: days in China Standard Time (UTC+8), whatever the
//! server's own zone. Dashboards, exports and the workflow lists all count days this way.

/// The time zone the back office reports days in: China Standard Time (UTC+8).
pub const REPORT_ZONE_OFFSET_MIN: i64 = 480;

/// Today's date (YYYY-MM-DD) in the report zone, `days_back` days ago.
pub fn report_day(now_ms: i64, days_back: i64) -> String {
    let local = now_ms + REPORT_ZONE_OFFSET_MIN * 60_000 - days_back * 86_400_000;
    chrono::DateTime::from_timestamp_millis(local).map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn report_days_are_in_china_time() {
        // 2026-03-01 17:00 UTC is already 2 March in Beijing
        let t = chrono::DateTime::parse_from_rfc3339("2026-03-01T17:00:00Z").unwrap().timestamp_millis();
        assert_eq!(super::report_day(t, 0), "2026-03-02");
        assert_eq!(super::report_day(t, 1), "2026-03-01");
    }
}
