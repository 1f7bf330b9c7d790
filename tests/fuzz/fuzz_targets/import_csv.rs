//! The back office's CSV import (`sheet::read`, then a dry-run import of each sheet kind into one
//! grid): any bytes are read or refused with a typed reason, within the bounds the import promises
//! (rows, columns), and a dry run never panics. Run with `-rss_limit_mb` to hold memory to a bound.
#![no_main]

use gridbook_fuzz::spreadsheets::{check_import, Kind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check_import(data, Kind::Csv);
});
