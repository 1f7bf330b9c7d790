//! `POST /v1/push` as the server reads it: the body decodes as a `PushRequest` or is refused, what
//! decodes round-trips, and the work done on each op before storage (`prepare`) never panics and
//! gives an op it does not take back as it came (a create's
//! null fields aside).
#![no_main]

use gridbook_core::sync::wire::PushRequest;
use gridbook_core::validate;
use gridbook_fuzz::decode_roundtrip;
use gridbook_sync_server::domain::prepared::prepare;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(request) = decode_roundtrip::<PushRequest>(data) else { return };
    for mut op in request.ops {
        let checked = validate::fields(op.kind, &op.fields);
        let before = op.clone();
        match prepare(&mut op) {
            // a fact taken whole: its fields passed the field rules
            Some(_) => assert!(checked.is_ok(), "prepared an op whose fields break a rule: {checked:?}"),
            // judged the long way, with what it came with: a create's null fields may go, as a
            // field a create leaves out is null (docs/sync-protocol.md)
            None => {
                let mut expected = before;
                if op.fields.len() != expected.fields.len() {
                    expected.fields.retain(|_, v| !v.is_null());
                }
                assert_eq!(op, expected, "prepare changed an op it did not take");
            }
        }
    }
});
