//! Protocol version 1 pinned byte for byte, the device's side: what the core sends serialises to
//! exactly the files in tests/golden/v1, and what a v1 server answers parses to the values the
//! device expects (and back to the same bytes). tests/golden/README.md says why those files never
//! change; sync-server/tests/it/golden_v1.rs checks the server answers them byte for byte.

use std::fmt::Debug;
use std::path::PathBuf;

use gridbook_core::evidence::{self, seal, DeviceKey, DeviceSigner, Point, Relation, Signature, Stroke};
use gridbook_core::field::receipts;
use gridbook_core::sync::wire::{
    DeviceFacts, DevicePolicy, EnrolRequest, EnrolResponse, ErrorBody, OpOutcome, OpResult, PullPage, PushRequest,
    PushResponse, ReceiptBlock, ReceiptBlockRequest, ReceiptBlockResponse, RejectCode, ServerGeneration, StoredState,
    WipeMode, WipeOrder, WipeReport, WipeReportRequest, WipeReportResponse,
};
use gridbook_core::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use uuid::Uuid;

// The scenario (tests/golden/README.md tells it): manager 张伟 (zhangwei) of grid yuelu-01 enrols
// phone zhangwei_p1, takes a receipt book, works a morning offline and syncs at 11:00 Beijing time.

const GRID: &str = "yuelu-01";
/// A grid that exists on the server and is not zhangwei's.
const OTHER_GRID: &str = "yuelu-02";
const MANAGER: &str = "zhangwei";
const DEVICE: &str = "zhangwei_p1";
const APP_VERSION: &str = "1.0.0";
/// The enrolment code as the golden request carries it (the server issues its own; its test swaps it in).
const CODE: &str = "K3M9Q-7TZ2D";
/// The device key's secret: fixed, so that its Ed25519 signatures (deterministic) are too.
const KEY_SEED: [u8; 32] = [0x5a; 32];

/// 2026-11-02 16:00 Beijing: the back office imports the archive and the arrears.
const IMPORTED_MS: u64 = 1_793_606_400_000;
/// 2026-11-03 08:00 Beijing: the phone enrols, then gets its receipt book a minute later.
const BLOCK_ISSUED_MS: i64 = 1_793_664_060_000;
/// 2026-11-03 09:00 Beijing: the phone's first edit of the morning, offline.
const MORNING_MS: u64 = 1_793_667_600_000;
/// 2026-11-03 10:00 Beijing: the back office corrects a household's notes.
const CORRECTED_MS: u64 = 1_793_671_200_000;
/// 2026-11-03 11:00 Beijing: the phone's wall clock when it pushes.
const PHONE_PUSH_WALL_MS: i64 = 1_793_674_800_000;
/// The server's receive time of the push (5 s after the phone's clock) and of the pull.
const SERVER_PUSH_MS: i64 = 1_793_674_805_000;
const SERVER_PULL_MS: i64 = 1_793_674_806_000;
/// 2026-11-03 11:30 Beijing: the manager leaves; the back office orders his phone wiped (retire).
const WIPE_ORDERED_MS: i64 = 1_793_676_600_000;
/// 11:31 on the phone's clock: its next sync, the push that tells it (and the server's receive time).
const PHONE_WIPE_PUSH_WALL_MS: i64 = 1_793_676_660_000;
const SERVER_WIPE_PUSH_MS: i64 = 1_793_676_665_000;
/// 11:31:10 on the phone's clock: its store destroyed; the server records the report 5 s later.
const PHONE_WIPED_MS: i64 = 1_793_676_670_000;
const SERVER_WIPE_REPORT_MS: i64 = 1_793_676_675_000;
/// The server's generation in the wipe's answer (random; the server test swaps its own in).
const GENERATION_ID: &str = "9f2c41d07ab35e18";

fn golden_dir() -> PathBuf {
    // this crate sits in the workspace root, beside tests/
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    root.parent().map(|p| p.join("tests").join("golden").join("v1")).unwrap_or(root)
}

fn golden(name: &str) -> Vec<u8> {
    let path = golden_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `expected` serialises to exactly the golden bytes, and the golden bytes parse to `expected`.
fn pinned<T: Serialize + DeserializeOwned + PartialEq + Debug>(name: &str, expected: &T) {
    let ours = serde_json::to_vec(expected).unwrap();
    let bytes = golden(name);
    assert!(
        ours == bytes,
        "{name}: the core now writes\n{}\nwhere protocol v1 is\n{}",
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&bytes)
    );
    let read: T = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(&read, expected, "{name} parses to other values");
}

/// A UUIDv7-shaped id made at `ms`, numbered `n`: fixed, unlike `new_id()`.
fn id(ms: u64, n: u16) -> String {
    format!("{:08x}-{:04x}-7{n:03x}-8{n:03x}-{:012x}", ms >> 16, ms & 0xffff, n)
}

fn op_id(ms: u64, n: u16) -> Uuid {
    Uuid::parse_str(&id(ms, n)).unwrap()
}

fn phone_stamp(ms: u64, counter: u16) -> Hlc {
    Hlc::new(ms, counter, DEVICE)
}

fn fields<R: Record>(record: &R) -> Map<String, Value> {
    gridbook_core::testing::fields_of(record).unwrap()
}

fn map(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap()
}

fn op(n: u16, at: &Hlc, kind: EntityKind, entity: &str, grid: &str, action: OpAction, f: Map<String, Value>) -> Op {
    Op { id: op_id(at.millis, n), kind, entity: entity.into(), grid: grid.into(), action, fields: f, hlc: at.clone() }
}

// ---- the records ---------------------------------------------------------------------------

/// Households: 0 imported by the back office, 1 found at the door, 2 a duplicate of 0 made by
/// mistake and deleted, 3 in a grid that is not the manager's.
fn household_id(n: u16) -> String {
    id(if n == 0 { IMPORTED_MS } else { MORNING_MS }, 0x100 + n)
}
const ACCOUNT: u16 = 0x200;
const VISIT: u16 = 0x300;
const SIGNATURE: u16 = 0x400;
const RECEIPT: u16 = 0x500;

fn household(n: u16, grid: &str, name: &str, room: &str, mobile: &str, id_number: &str) -> Household {
    Household {
        id: household_id(n),
        grid_id: grid.into(),
        premises_id: None,
        unit: "2单元".into(),
        floor: Some(5),
        room: room.into(),
        address: format!("岳麓区人民路88号幸福里小区3号楼2单元{room}"),
        customer_name: name.into(),
        landline: String::new(),
        mobile: mobile.into(),
        other_contact: String::new(),
        id_type: if id_number.is_empty() { None } else { Some(IdType::ResidentId) },
        id_number: id_number.into(),
        work_unit: String::new(),
        services: vec![OwnService {
            product: "broadband".into(),
            service_number: "0731-88120501".into(),
            contract_number: "HT2024-0501".into(),
            plan: "融合套餐129元".into(),
            completed_on: "2024-03-01".into(),
        }],
        competitor_services: vec![],
        area: Some(Area::Urban),
        segment: Some(Segment::Resident),
        tier: None,
        opinions: String::new(),
        birthday: "1980-01-01".into(),
        notes: String::new(),
    }
}

fn account() -> ArrearsAccount {
    ArrearsAccount {
        id: id(IMPORTED_MS, ACCOUNT),
        grid_id: GRID.into(),
        household_id: household_id(0),
        account_no: "ACC-0731-0501".into(),
        service_number: "0731-88120501".into(),
        payment_type: PaymentType::Postpaid,
        owed_fen: 12_800,
        months_overdue: 2,
        balance_fen: None,
        as_of_ms: IMPORTED_MS as i64,
    }
}

fn visit() -> Visit {
    Visit {
        id: id(MORNING_MS, VISIT),
        grid_id: GRID.into(),
        household_id: household_id(0),
        appointment_at_ms: None,
        arrived_at_ms: MORNING_MS as i64 + 20 * 60_000,
        zone_offset_min: 480,
        lat_e6: Some(28_228_000),
        lon_e6: Some(112_938_800),
        purpose: VisitPurpose::Arrears,
        outcome: "客户当场缴清欠费".into(),
        needs: "想提速到千兆宽带".into(),
        competitor_info: String::new(),
        opinions: String::new(),
        open_question: String::new(),
        follow_up: String::new(),
        follow_up_due: String::new(),
        signature_id: None,
        manager_id: MANAGER.into(),
        location: None,
        photos: Vec::new(),
    }
}

fn receipt() -> Receipt {
    Receipt {
        id: id(MORNING_MS, RECEIPT),
        grid_id: GRID.into(),
        receipt_no: "SJ000001-001".into(),
        account_id: id(IMPORTED_MS, ACCOUNT),
        household_id: household_id(0),
        owed_before_fen: 12_800,
        amount_fen: 12_800,
        cash_received_fen: 20_000,
        change_fen: 7_200,
        payment_ref: String::new(),
        method: PaymentMethod::Cash,
        collected_at_ms: MORNING_MS as i64 + 30 * 60_000,
        zone_offset_min: 480,
        collector_id: MANAGER.into(),
        device_id: DEVICE.into(),
        lat_e6: Some(28_228_000),
        lon_e6: Some(112_938_800),
        signature_id: Some(id(MORNING_MS, SIGNATURE)),
        location: None,
        photos: Vec::new(),
        billing_months: String::new(),
        collector_name: String::new(),
        collector_staff_no: String::new(),
    }
}

/// The customer's signature on the receipt, sealed as `Store::record_signed_receipt` seals it:
/// canonical strokes, the receipt document's hash, the device key over both.
fn signature(sealed_at: &Hlc) -> CustomerSignature {
    let stroke = |x0: f32, y0: f32, dx: f32, dy: f32, t0: u32| Stroke {
        points: (0..6)
            .map(|i| Point { x: x0 + dx * i as f32, y: y0 + dy * i as f32, t_ms: t0 + 40 * i, pressure: Some(0.5) })
            .collect(),
    };
    let drawn = Signature {
        width: 300,
        height: 120,
        strokes: vec![stroke(30.0, 40.0, 12.5, 2.0, 0), stroke(120.0, 20.0, 1.5, 12.0, 500)],
    };
    let strokes = receipts::canonical_strokes(&drawn).unwrap();
    let key = DeviceKey::from_bytes(&KEY_SEED);
    let record = seal::seal(
        receipts::receipt_document(&receipt()).hash(),
        strokes.hash().unwrap(),
        "王芳",
        Relation::Householder,
        &sealed_at.to_string(),
        DEVICE,
        &key,
    )
    .unwrap();
    CustomerSignature {
        id: id(MORNING_MS, SIGNATURE),
        grid_id: GRID.into(),
        document_kind: SignedDocument::Receipt,
        document_id: id(MORNING_MS, RECEIPT),
        document_hash: evidence::to_hex(&record.document_hash),
        flags: strokes.flags(),
        strokes,
        strokes_hash: evidence::to_hex(&record.strokes_hash),
        signer_name: record.signer_name.clone(),
        relation: record.signer_relation.code(),
        hlc: record.hlc.clone(),
        device_id: DEVICE.into(),
        device_signature: evidence::to_hex(&record.device_signature),
    }
}

// ---- the exchanges -------------------------------------------------------------------------

/// What the back office holds before the phone enrols (tests/golden/v1/setup-backoffice-ops.json):
/// household 0 and its arrears account, imported the day before, and a correction of the
/// household's notes at 10:00, later than the phone's own edit of them.
fn setup_ops() -> Vec<Op> {
    let imported = Hlc::new(IMPORTED_MS, 0, "backoffice");
    let corrected = Hlc::new(CORRECTED_MS, 0, "backoffice");
    let h0 = household(0, GRID, "王芳", "501", "13807310001", &gridbook_core::testing::resident_id(501));
    vec![
        op(1, &imported, EntityKind::Household, &h0.id, GRID, OpAction::Create, fields(&h0)),
        op(2, &imported, EntityKind::ArrearsAccount, &account().id, GRID, OpAction::Create, fields(&account())),
        op(
            1,
            &corrected,
            EntityKind::Household,
            &h0.id,
            GRID,
            OpAction::Update,
            map(json!({"notes": "户主白天上班，晚上七点后在家"})),
        ),
    ]
}

fn enrol_request() -> EnrolRequest {
    EnrolRequest {
        protocol: 1,
        code: CODE.into(),
        device_id: DEVICE.into(),
        app_version: APP_VERSION.into(),
        public_key: Some(evidence::to_hex(&DeviceKey::from_bytes(&KEY_SEED).public_key_bytes())),
    }
}

fn block_request() -> ReceiptBlockRequest {
    ReceiptBlockRequest { protocol: 1, request_id: op_id(BLOCK_ISSUED_MS as u64, 0x600), numbers_left: 0 }
}

fn block() -> ReceiptBlock {
    ReceiptBlock { prefix: "SJ000001-".into(), first: 1, last: 100, issued_at_ms: BLOCK_ISSUED_MS }
}

/// The morning's outbox, one op of each kind of change, and what the server says of each.
fn push_exchange() -> (PushRequest, Vec<OpOutcome>) {
    use OpAction::{Create, Update};
    let h1 = household(1, GRID, "李娜", "502", "13807310002", "");
    let h2 = household(2, GRID, "王芳", "501", "13807310001", "");
    let h3 = household(3, OTHER_GRID, "赵强", "101", "13807310003", "");
    let at = |minutes: u64, counter: u16| phone_stamp(MORNING_MS + minutes * 60_000, counter);
    let v = visit();
    let visit_op = op(6, &at(20, 0), EntityKind::Visit, &v.id, GRID, Create, fields(&v));
    let sealed_at = at(30, 0);
    let sig = signature(&sealed_at);
    let ops = vec![
        // a household found at the door, then its mobile corrected: a create and a field write
        op(1, &at(0, 0), EntityKind::Household, &h1.id, GRID, Create, fields(&h1)),
        op(2, &at(2, 0), EntityKind::Household, &h1.id, GRID, Update, map(json!({"mobile": "13907310022"}))),
        // an edit the back office's 10:00 correction overrides
        op(3, &at(5, 0), EntityKind::Household, &household_id(0), GRID, Update, map(json!({"notes": "晚上在家"}))),
        // a duplicate of household 0 made by mistake, then deleted (a tombstone)
        op(4, &at(10, 0), EntityKind::Household, &h2.id, GRID, Create, fields(&h2)),
        op(5, &at(11, 0), EntityKind::Household, &h2.id, GRID, Update, map(json!({"deleted": true}))),
        // facts: a visit, then the customer's signature and the receipt it seals
        visit_op.clone(),
        op(7, &at(30, 1), EntityKind::Signature, &sig.id, GRID, Create, fields(&sig)),
        op(8, &at(30, 2), EntityKind::Receipt, &receipt().id, GRID, Create, fields(&receipt())),
        // the visit again, as a retried batch carries it
        visit_op,
        // an edit of a fact, and a household of someone else's grid: both refused for good
        op(10, &at(40, 0), EntityKind::Visit, &v.id, GRID, Update, map(json!({"outcome": "改过的结果"}))),
        op(11, &at(45, 0), EntityKind::Household, &h3.id, OTHER_GRID, Create, fields(&h3)),
    ];
    let request = PushRequest {
        protocol: 1,
        facts: DeviceFacts {
            app_version: APP_VERSION.into(),
            pending_count: ops.len() as u64,
            oldest_pending_age_s: Some(7_200),
            rejected_count: 0,
            db_size_bytes: 1_212_416,
            wall_clock_ms: PHONE_PUSH_WALL_MS,
            zone_offset_min: 480,
            unsynced_receipts_fen: 12_800,
            unsynced_receipts_count: 1,
            last_error: Some("网络不可用 network unreachable".into()),
            removed_handovers: vec![],
            // an app of protocol 1 before the phone's own facts (issue 17): they are optional
            ..Default::default()
        },
        ops,
    };
    use OpOutcome::{AlreadyHad, Applied, Superseded};
    let rejected = |code, reason: &str| OpOutcome::Rejected { code, reason: reason.into() };
    let outcomes = vec![
        Applied,
        Applied,
        Superseded,
        Applied,
        Applied,
        Applied,
        Applied,
        Applied,
        AlreadyHad,
        rejected(RejectCode::Immutable, "a visit is recorded once and never edited"),
        rejected(RejectCode::OutsideGrids, "grid yuelu-02 is not assigned to this device's manager"),
    ];
    (request, outcomes)
}

/// The server's own write after a receipt: the account's debt less the amount, stamped by the
/// server at its receive time (sync-server's `signed::adjust_owed`).
fn account_paid() -> Op {
    let at = Hlc::new(SERVER_PUSH_MS as u64, 0, "backoffice");
    let f = map(json!({"owed_fen": 0, "as_of_ms": SERVER_PUSH_MS}));
    // its op id is the server's and never sent; the state is what the page carries
    op(0, &at, EntityKind::ArrearsAccount, &account().id, GRID, OpAction::Update, f)
}

/// The first page of a pull from cursor 0 after the push: every record of the grid once, in
/// the order of its last change, merged by the one merge rule.
fn expected_page() -> PullPage {
    let (push, outcomes) = push_exchange();
    let accepted = push.ops.iter().zip(&outcomes).filter(|(_, o)| !matches!(o, OpOutcome::Rejected { .. }));
    let mut states: Vec<EntityState> = Vec::new();
    let mut changes = 0u64;
    for op in setup_ops().iter().chain(accepted.map(|(op, _)| op)).chain([&account_paid()]) {
        let at = states.iter().position(|s| s.kind == op.kind && s.id == op.entity);
        let mut state = at.map(|i| states.remove(i)).unwrap_or_else(|| EntityState::empty(op.kind, op.entity.clone()));
        if state.apply(op).outcome == sync::merge::MergeOutcome::Applied {
            changes += 1;
            states.push(state); // a change moves the record to the end of the log
        } else {
            states.insert(at.unwrap_or(states.len()), state);
        }
    }
    PullPage {
        protocol: 1,
        changes: states,
        removals: vec![],
        handovers_complete: vec![],
        next_cursor: changes,
        has_more: false,
        remaining: 0,
        server_time_ms: SERVER_PULL_MS,
        // a v1 answer as the first servers sent it: no generation (servers since add one)
        generation: None,
        update: None,
        policy: None,
        receipt: None,
    }
}

/// The page as the server writes it: stored JSON spliced in (`StoredState`).
fn as_stored(page: &PullPage) -> PullPage<StoredState> {
    let raw = |v: String| RawValue::from_string(v).unwrap();
    PullPage {
        protocol: page.protocol,
        changes: page
            .changes
            .iter()
            .map(|s| StoredState {
                kind: s.kind,
                id: s.id.clone(),
                values: raw(serde_json::to_string(&s.values).unwrap()),
                base: s.base.as_ref().map(Hlc::to_string),
                clocks: raw(serde_json::to_string(&s.clocks).unwrap()),
            })
            .collect(),
        removals: page.removals.clone(),
        handovers_complete: page.handovers_complete.clone(),
        next_cursor: page.next_cursor,
        has_more: page.has_more,
        remaining: page.remaining,
        server_time_ms: page.server_time_ms,
        generation: page.generation.clone(),
        update: page.update.clone(),
        policy: None,
        receipt: None,
    }
}

// ---- the tests -----------------------------------------------------------------------------

#[test]
fn the_back_office_setup_is_pinned() {
    pinned("setup-backoffice-ops.json", &setup_ops());
}

#[test]
fn an_enrolment_is_pinned() {
    pinned("enrol-request.json", &enrol_request());
    pinned(
        "enrol-response.json",
        &EnrolResponse {
            protocol: 1,
            device_id: DEVICE.into(),
            token: "5e1f0c2b9a7d4e6f8a3b1c0d2e4f6a8b9c7d5e3f1a2b4c6d8e0f1a3b5c7d9e2f".into(),
            manager_id: MANAGER.into(),
            manager_name: "张伟".into(),
            grids: vec![GRID.into()],
        },
    );
}

#[test]
fn a_receipt_block_exchange_is_pinned() {
    pinned("receipt-blocks-request.json", &block_request());
    pinned("receipt-blocks-response.json", &ReceiptBlockResponse { protocol: 1, block: block() });
    // the device takes the book and numbers its first receipt from it
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("phone.db")).unwrap();
    let read: ReceiptBlockResponse = serde_json::from_slice(&golden("receipt-blocks-response.json")).unwrap();
    store.add_receipt_block(&read.block).unwrap();
    assert_eq!(store.next_receipt_no().unwrap().as_deref(), Some(receipt().receipt_no.as_str()));
}

#[test]
fn a_push_is_pinned() {
    let (request, outcomes) = push_exchange();
    pinned("push-request.json", &request);
    let results = request
        .ops
        .iter()
        .zip(outcomes)
        .map(|(op, outcome)| OpResult { op_id: op.id, outcome, clamped_to: None })
        .collect();
    pinned(
        "push-response.json",
        &PushResponse {
            protocol: 1,
            results,
            server_time_ms: SERVER_PUSH_MS,
            clock_offset_ms: PHONE_PUSH_WALL_MS - SERVER_PUSH_MS,
            generation: None,
            update: None,
            policy: None,
            receipt: None,
            wipe: None,
        },
    );
}

#[test]
fn the_pushed_receipt_is_sealed_by_the_enrolled_key() {
    // the server checks exactly this on push; a change to the canonical encodings would break
    // every receipt sealed by a phone already in the field
    let (request, _) = push_exchange();
    fn sent<R: Record + DeserializeOwned>(request: &PushRequest) -> R {
        let op = request.ops.iter().find(|o| o.kind == R::KIND).unwrap();
        let mut fields = op.fields.clone();
        fields.insert("id".into(), Value::String(op.entity.clone()));
        serde_json::from_value(Value::Object(fields)).unwrap()
    }
    let (sig, r): (CustomerSignature, Receipt) = (sent(&request), sent(&request));
    let key = evidence::from_hex::<32>(enrol_request().public_key.as_deref().unwrap()).unwrap();
    assert_eq!(receipts::check_receipt_signature(&r, &sig, &key), Ok(()));
    let mut altered = r.clone();
    altered.amount_fen -= 100;
    altered.change_fen += 100;
    assert!(receipts::check_receipt_signature(&altered, &sig, &key).is_err());
}

#[test]
fn a_pull_page_is_pinned_and_a_fresh_store_takes_it() {
    let expected = expected_page();
    let bytes = golden("pull-response.json");
    let read: PullPage = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(read, expected, "the page parses to other values");
    let written = serde_json::to_vec(&as_stored(&expected)).unwrap();
    assert!(
        written == bytes,
        "the server's page type now writes\n{}\nwhere protocol v1 is\n{}",
        String::from_utf8_lossy(&written),
        String::from_utf8_lossy(&bytes)
    );
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("phone.db")).unwrap();
    let report = store.apply_pull_page(&read).unwrap();
    assert_eq!((report.applied, report.invalid.len()), (expected.changes.len() as u64, 0));
    assert_eq!(store.pull_cursor().unwrap(), expected.next_cursor);
    for state in &expected.changes {
        assert_eq!(store.entity_state(state.kind, &state.id).unwrap().as_ref(), Some(state), "{}", state.id);
    }
}

#[test]
fn an_error_body_is_pinned() {
    pinned(
        "error-code-used.json",
        &ErrorBody {
            code: "code_used".into(),
            message: "this enrolment code was already used; ask the back office for a new one".into(),
            retry_after_ms: None,
            min_app_version: None,
            update: None,
            wipe: None,
        },
    );
}

/// The remote wipe (added to v1 since: new exchanges, and new fields only in answers to a device
/// with an order). At 11:30 the back office orders zhangwei_p1 wiped as its manager leaves; at
/// 11:31 the phone syncs with nothing pending: its push is answered with the order, its pull is
/// refused with it; the phone wipes itself and reports, signed with its key, the two ops the
/// server refused at 11:00 as set aside and nothing lost.
#[test]
fn the_remote_wipe_is_pinned_and_its_report_verifies_under_the_enrolled_key() {
    let order = WipeOrder { mode: WipeMode::Retire, ordered_at_ms: WIPE_ORDERED_MS };
    pinned(
        "wipe-push-request.json",
        &PushRequest {
            protocol: 1,
            facts: DeviceFacts {
                app_version: APP_VERSION.into(),
                pending_count: 0,
                oldest_pending_age_s: None,
                rejected_count: 2,
                db_size_bytes: 1_236_992,
                wall_clock_ms: PHONE_WIPE_PUSH_WALL_MS,
                zone_offset_min: 480,
                ..Default::default()
            },
            ops: vec![],
        },
    );
    pinned(
        "wipe-push-response.json",
        &PushResponse {
            protocol: 1,
            results: vec![],
            server_time_ms: SERVER_WIPE_PUSH_MS,
            clock_offset_ms: PHONE_WIPE_PUSH_WALL_MS - SERVER_WIPE_PUSH_MS,
            generation: Some(ServerGeneration {
                id: GENERATION_ID.into(),
                restored_from_ms: 0,
                restored_cursor: 0,
                keep_acked_days: ServerGeneration::KEEP_ACKED_DAYS,
            }),
            update: None,
            policy: Some(DevicePolicy::default()),
            receipt: None,
            wipe: Some(order),
        },
    );
    pinned(
        "error-wipe-ordered.json",
        &ErrorBody {
            code: "wipe_ordered".into(),
            message:
                "后台已下令清除本机数据（离职交回）：请上传后清除并报告 / the back office ordered this device wiped \
                      (retire): push, wipe, then report"
                    .into(),
            retry_after_ms: None,
            min_app_version: None,
            update: None,
            wipe: Some(order),
        },
    );
    let report = WipeReport {
        device_id: DEVICE.into(),
        mode: WipeMode::Retire,
        ordered_at_ms: WIPE_ORDERED_MS,
        wiped_at_ms: PHONE_WIPED_MS,
        ops_uploaded: 0,
        receipts_uploaded: 0,
        receipts_uploaded_fen: 0,
        ops_rejected: 2,
        ops_lost: 0,
        receipts_lost: 0,
        receipts_lost_fen: 0,
    };
    assert_eq!(report.check(), Ok(()));
    let key = DeviceKey::from_bytes(&KEY_SEED);
    let signature = key.sign(&report.signed_message()).unwrap();
    let request = WipeReportRequest { protocol: 1, report: report.clone(), signature: evidence::to_hex(&signature) };
    pinned("wipe-report-request.json", &request);
    pinned("wipe-report-response.json", &WipeReportResponse { protocol: 1, recorded_at_ms: SERVER_WIPE_REPORT_MS });
    // the signed text, as docs/sync-protocol.md spells it, under the key the phone enrolled with
    let text = String::from_utf8(report.signed_message()).unwrap();
    assert!(text.starts_with("gridbook wipe report v1\ndevice_id=zhangwei_p1\nmode=retire\n"), "{text}");
    assert!(text.ends_with("\nreceipts_lost_fen=0\n"), "{text}");
    let enrolled = evidence::from_hex::<32>(enrol_request().public_key.as_deref().unwrap()).unwrap();
    assert_eq!(evidence::verify_message(&enrolled, &report.signed_message(), &signature), Ok(()));
    let altered = WipeReport { ops_lost: 1, ..report };
    assert!(evidence::verify_message(&enrolled, &altered.signed_message(), &signature).is_err());
}

/// Where the phone was (issue 20), as an app that knows it sends it: the morning's visit with a
/// fix, and a sign-in with "no fix within 30 s". Within protocol v1: the fields are new and
/// optional, so a server from before them stores them like any field and an app from before them
/// sends none (the push above parses with `location` None, and its bytes are unchanged).
#[test]
fn located_facts_are_pinned_and_old_facts_have_no_location() {
    use gridbook_core::location::{LocationFix, LocationProvider, Position};
    let fix = LocationFix {
        lat_e6: 28_228_000,
        lon_e6: 112_938_800,
        accuracy_m: 12,
        age_ms: 3_000,
        provider: LocationProvider::Gps,
        mock: false,
    };
    let v = Visit { location: Some(Position::Fix(fix)), ..visit() };
    let at = phone_stamp(MORNING_MS + 20 * 60_000, 0);
    let mut sign_in = gridbook_core::testing::sign_in(GRID, MANAGER, MORNING_MS as i64 - 60 * 60_000);
    sign_in.id = id(MORNING_MS, 0x700);
    sign_in.lat_e6 = None;
    sign_in.lon_e6 = None;
    sign_in.location = Some(Position::no_fix());
    let early = phone_stamp(MORNING_MS - 60 * 60_000, 0);
    let ops = vec![
        op(6, &at, EntityKind::Visit, &v.id, GRID, OpAction::Create, fields(&v)),
        op(7, &early, EntityKind::SignIn, &sign_in.id, GRID, OpAction::Create, fields(&sign_in)),
    ];
    pinned("located-ops.json", &ops);
    // the same checks the store and the server make
    gridbook_core::validate::visit(&v).unwrap();
    gridbook_core::validate::sign_in(&sign_in).unwrap();
    let (request, _) = push_exchange();
    let old: PushRequest = serde_json::from_slice(&golden("push-request.json")).unwrap();
    assert_eq!(old, request);
    let visit_op = old.ops.iter().find(|op| op.kind == EntityKind::Visit).unwrap();
    assert!(!visit_op.fields.contains_key("location"));
}

/// The photo policy a server states (issue 20) and the facts of a phone that reports its day's
/// traffic and its photos waiting. Within protocol v1: both are new optional fields, so an app
/// from before them reads the policy without `photos` (and uses the defaults), and a server from
/// before them stores the facts it knows.
#[test]
fn the_photo_policy_and_traffic_facts_are_pinned() {
    use gridbook_core::sync::wire::{DayTraffic, PhotoPolicy};
    let policy = DevicePolicy {
        photos: Some(PhotoPolicy { over_mobile: false, mobile_bytes_per_day: 20 * 1024 * 1024, keep_days: 3 }),
        ..DevicePolicy::default()
    };
    pinned("photo-policy.json", &policy);
    // a server before photo policies: the phone's defaults
    let old: PushResponse = serde_json::from_slice(&golden("wipe-push-response.json")).unwrap();
    let old_policy = old.policy.unwrap();
    assert_eq!(old_policy.photos, None);
    assert_eq!(old_policy.photos(), PhotoPolicy::default());
    assert!(old_policy.photos().over_mobile);
    // a policy naming only some photo fields takes the defaults for the rest
    let partial: DevicePolicy = serde_json::from_str(r#"{"photos":{"over_mobile":false}}"#).unwrap();
    assert_eq!(partial.photos(), PhotoPolicy { over_mobile: false, ..PhotoPolicy::default() });

    let facts = DeviceFacts {
        app_version: APP_VERSION.into(),
        pending_count: 0,
        oldest_pending_age_s: None,
        rejected_count: 0,
        db_size_bytes: 1_236_992,
        wall_clock_ms: MORNING_MS as i64,
        zone_offset_min: 480,
        traffic: Some(DayTraffic {
            day: "2026-11-03".into(),
            bytes_sent: 1_845_210,
            bytes_received: 96_311,
            photo_mobile_bytes: 1_310_720,
        }),
        photos_waiting: Some(2),
        photo_bytes_waiting: Some(618_402),
        ..Default::default()
    };
    pinned("photo-facts.json", &facts);
    // the facts of an app before them carry none
    let (request, _) = push_exchange();
    assert_eq!((request.facts.traffic, request.facts.photos_waiting), (None, None));
}

/// The receipt profile a server sends with every push answer and pull page (issue 18). Within
/// protocol v1: a new optional field, so an app from before it reads past it, and a phone reading
/// an answer from a server before it finds none and keeps what it holds.
#[test]
fn the_receipt_profile_is_pinned() {
    use gridbook_core::sync::wire::ReceiptProfile;
    let profile = ReceiptProfile {
        company_name: "中国电信 幸福里营业部".into(),
        verify_base_url: Some("https://check.gridbook.example".into()),
        seal_sha256: Some("3f9a".repeat(16)),
        collector_name: "张伟".into(),
        collector_staff_no: "HN0731".into(),
    };
    pinned("receipt-profile.json", &profile);
    // answers of servers before it carry none
    let old: PushResponse = serde_json::from_slice(&golden("wipe-push-response.json")).unwrap();
    assert_eq!(old.receipt, None);
    let first: PushResponse = serde_json::from_slice(&golden("push-response.json")).unwrap();
    assert_eq!(first.receipt, None);
    // a profile without seal or check address: no seal, the enrolled server's check
    let bare: ReceiptProfile = serde_json::from_str(r#"{"company_name":"中国电信","collector_name":"张伟"}"#).unwrap();
    assert_eq!((bare.seal_sha256, bare.verify_base_url, bare.collector_staff_no.as_str()), (None, None, ""));
}

#[test]
fn the_live_change_answers_are_pinned_and_the_page_one_applies_to_a_fresh_store() {
    use gridbook_core::sync::wire::ChangesResponse;
    // the bare signal, as every server answers a phone that does not ask for the page
    pinned("changes-response.json", &ChangesResponse::<EntityState> { changed: true, page: None });
    // with `limit`: the pull page itself rides the wake-up (docs/sync-protocol.md, "Live changes")
    let expected = ChangesResponse { changed: true, page: Some(expected_page()) };
    let bytes = golden("changes-response-page.json");
    let read: ChangesResponse = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(read, expected, "the answer parses to other values");
    let stored = ChangesResponse { changed: true, page: expected.page.as_ref().map(as_stored) };
    let written = serde_json::to_vec(&stored).unwrap();
    assert!(
        written == bytes,
        "the server's answer type now writes\n{}\nwhere the file is\n{}",
        String::from_utf8_lossy(&written),
        String::from_utf8_lossy(&bytes)
    );
    // a phone from before the page reads past it: the signal alone
    #[derive(serde::Deserialize)]
    struct BeforeThePage {
        changed: bool,
    }
    assert!(serde_json::from_slice::<BeforeThePage>(&bytes).unwrap().changed);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("phone.db")).unwrap();
    let page = read.page.unwrap();
    let report = store.apply_pull_page(&page).unwrap();
    assert_eq!(report.applied, page.changes.len() as u64);
    assert_eq!(store.pull_cursor().unwrap(), page.next_cursor);
}
