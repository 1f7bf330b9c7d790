//! `GET /v1/pull` as the phone reads it: the answer decodes as a `PullPage` or is refused, what
//! decodes round-trips, and applying it to a store never panics; whatever the page held, every
//! record the store then holds reads back (no phone may store a record it cannot read), and the
//! cursor moves to the page's.
#![no_main]

use gridbook_core::model::EntityKind;
use gridbook_core::sync::readable;
use gridbook_core::sync::wire::PullPage;
use gridbook_core::Store;
use gridbook_fuzz::decode_roundtrip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(page) = decode_roundtrip::<PullPage>(data) else { return };
    let store = match Store::open(":memory:") {
        Ok(store) => store,
        Err(e) => panic!("an in-memory store does not open: {e}"),
    };
    let Ok(_report) = store.apply_pull_page(&page) else { return };
    assert_eq!(store.pull_cursor().ok(), Some(page.next_cursor), "the cursor did not move to the page's");
    for kind in EntityKind::ALL {
        let states = match store.all_states(kind) {
            Ok(states) => states,
            Err(e) => panic!("stored {} records no longer load: {e}", kind.as_str()),
        };
        for state in &states {
            if let Err(e) = readable::check(state) {
                panic!("stored a {} it cannot read ({}): {e}", kind.as_str(), state.id);
            }
        }
    }
});
