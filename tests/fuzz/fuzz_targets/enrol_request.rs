//! `POST /v1/enrol` as the server reads it: the body decodes as an `EnrolRequest` or is refused,
//! what decodes round-trips, and the device id rule agrees with the clock stamp's: an id the
//! server would enrol makes stamps that parse back equal, any other makes stamps that never parse
//! (a device once enrolled with a dashed id had every later push refused).
#![no_main]

use gridbook_core::sync::hlc::{is_valid_node_id, Hlc};
use gridbook_core::sync::wire::EnrolRequest;
use gridbook_fuzz::decode_roundtrip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(request) = decode_roundtrip::<EnrolRequest>(data) else { return };
    let stamp = Hlc::new(0x0190_0000_0000, 7, request.device_id.clone());
    let parsed = stamp.to_string().parse::<Hlc>();
    if is_valid_node_id(&request.device_id) {
        assert_eq!(parsed.as_ref().ok(), Some(&stamp), "a valid device id makes a stamp that does not parse back");
    } else {
        assert!(parsed.is_err(), "an id the server refuses makes a stamp that parses: {:?}", request.device_id);
    }
});
