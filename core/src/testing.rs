//! Sample records for tests, benchmarks and the demo city. Not part of the app's API.

use serde_json::{Map, Value};

use crate::model::*;
use crate::sync::wire::{Op, OpAction};
use crate::{Hlc, Store};

/// The fields of a record as an op carries them (without its id).
/// Which crypto seals store pages from now on: SQLCipher's OpenSSL provider or Gridbook's own
/// (the default; `store/cipher_provider.rs`) — benchmarks compare the two in one run.
#[cfg(feature = "sqlcipher")]
pub use crate::store::cipher_provider::{use_openssl_provider, use_rust_provider};

pub fn fields_of<R: Record>(record: &R) -> crate::Result<Map<String, Value>> {
    crate::store::entity_table::fields_of(record)
}

/// An arrears account as the back office sends it (a phone never creates one), applied to the
/// store as a remote op. Returns the account's id.
pub fn seed_account(store: &Store, grid: &str, household_id: &str, owed_fen: i64) -> crate::Result<String> {
    seed_this_account(store, &account(grid, household_id, owed_fen))
}

/// As [`seed_account`], an account given in full (its months overdue, its number …).
pub fn seed_this_account(store: &Store, account: &ArrearsAccount) -> crate::Result<String> {
    let id = crate::new_id();
    let op = Op {
        id: uuid::Uuid::now_v7(),
        kind: EntityKind::ArrearsAccount,
        entity: id.clone(),
        grid: account.grid_id.clone(),
        action: OpAction::Create,
        fields: fields_of(account)?,
        hlc: Hlc::new(1_700_000_000_000, 0, "backoffice"),
    };
    let report = store.apply_remote_ops(&[op])?;
    if report.applied != 1 {
        return Err(crate::Error::Corrupt(format!("the seeded account was not applied: {report:?}")));
    }
    Ok(id)
}

/// A valid resident ID number (correct check digit) made from a sequence number.
pub fn resident_id(seq: u64) -> String {
    let base = format!("110105{}{:03}", 19_800_101 + (seq % 28), seq % 1000);
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = base.chars().zip(WEIGHTS).map(|(c, w)| c.to_digit(10).unwrap_or(0) * w).sum();
    format!("{base}{}", CHECK[(sum % 11) as usize])
}

const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"];
const GIVEN: &[&str] = &["芳", "伟", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "艳"];

pub fn name(seq: u64) -> String {
    format!("{}{}", SURNAMES[(seq % 10) as usize], GIVEN[((seq / 10) % 12) as usize])
}

pub fn premises(grid: &str, n: u64) -> Premises {
    Premises {
        id: String::new(),
        grid_id: grid.into(),
        premises_type: PremisesType::Building,
        name: format!("{n}号楼"),
        community: "幸福里小区".into(),
        street: "人民路".into(),
        address: format!("人民路88号幸福里小区{n}号楼"),
        floors: Some(18),
        notes: String::new(),
    }
}

pub fn household(grid: &str) -> Household {
    household_n(grid, 1)
}

/// The device store's connection settings, for a raw connection measured against the store
/// (sync-bench's physical limit).
pub fn configure_like_store(conn: &rusqlite::Connection) -> crate::Result<()> {
    crate::store::schema::configure(conn)
}

/// Benchmark (a)'s baseline: a plain connection (WAL, synchronous=NORMAL) to a visits table with
/// the store's columns and indexes, for `plain_insert_visit`. One definition for the criterion
/// bench and the callgrind example, so both measure against the same thing.
pub fn plain_visits(path: &std::path::Path) -> crate::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(
        "CREATE TABLE visits (id TEXT PRIMARY KEY, base_hlc TEXT, clocks TEXT NOT NULL DEFAULT '{}',
            grid_id TEXT, household_id TEXT, appointment_at_ms INTEGER, arrived_at_ms INTEGER,
            zone_offset_min INTEGER, lat_e6 INTEGER, lon_e6 INTEGER, purpose TEXT, outcome TEXT,
            needs TEXT, competitor_info TEXT, opinions TEXT, open_question TEXT, follow_up TEXT,
            follow_up_due TEXT, signature_id TEXT, manager_id TEXT);
         CREATE INDEX visits_by_household ON visits (household_id, arrived_at_ms);
         CREATE INDEX visits_by_follow_up ON visits (grid_id, follow_up_due) WHERE follow_up_due <> '';",
    )?;
    Ok(conn)
}

/// The same visit row as the store writes, inserted plainly in its own transaction (a new id).
pub fn plain_insert_visit(conn: &rusqlite::Connection, v: &Visit) -> crate::Result<()> {
    let tx = conn.unchecked_transaction()?;
    tx.prepare_cached(
        "INSERT INTO visits (id, grid_id, household_id, appointment_at_ms, arrived_at_ms, zone_offset_min, lat_e6,
         lon_e6, purpose, outcome, needs, competitor_info, opinions, open_question, follow_up, follow_up_due,
         signature_id, manager_id) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)",
    )?
    .execute(rusqlite::params![
        crate::new_id(),
        v.grid_id,
        v.household_id,
        v.appointment_at_ms,
        v.arrived_at_ms,
        v.zone_offset_min,
        v.lat_e6,
        v.lon_e6,
        v.purpose.as_str(),
        v.outcome,
        v.needs,
        v.competitor_info,
        v.opinions,
        v.open_question,
        v.follow_up,
        v.follow_up_due,
        v.signature_id,
        v.manager_id
    ])?;
    tx.commit()?;
    Ok(())
}

pub fn household_n(grid: &str, seq: u64) -> Household {
    Household {
        id: String::new(),
        grid_id: grid.into(),
        premises_id: None,
        unit: format!("{}单元", seq % 3 + 1),
        floor: Some((seq % 18) as i64 + 1),
        room: format!("{}{:02}", seq % 18 + 1, seq % 4 + 1),
        address: format!(
            "人民路88号幸福里小区{}号楼{}单元{}{:02}",
            seq % 9 + 1,
            seq % 3 + 1,
            seq % 18 + 1,
            seq % 4 + 1
        ),
        customer_name: name(seq),
        landline: String::new(),
        mobile: format!("138{:08}", seq % 100_000_000),
        other_contact: String::new(),
        id_type: Some(IdType::ResidentId),
        id_number: resident_id(seq),
        work_unit: "市第一中学".into(),
        services: vec![OwnService {
            product: if seq.is_multiple_of(3) { "mobile".into() } else { "broadband".into() },
            service_number: format!("0731-{:08}", seq),
            contract_number: format!("HT{seq:06}"),
            plan: "融合套餐129元".into(),
            completed_on: "2024-03-01".into(),
        }],
        competitor_services: if seq.is_multiple_of(4) {
            vec![CompetitorService { operator: "china_mobile".into(), product: "mobile".into(), notes: String::new() }]
        } else {
            vec![]
        },
        area: Some(Area::Urban),
        segment: Some(Segment::Resident),
        tier: None,
        opinions: String::new(),
        birthday: "1980-01-01".into(),
        notes: String::new(),
    }
}

pub fn account(grid: &str, household_id: &str, owed_fen: i64) -> ArrearsAccount {
    ArrearsAccount {
        id: String::new(),
        grid_id: grid.into(),
        household_id: household_id.into(),
        account_no: format!("ACC-{}", &household_id[..household_id.len().min(8)]),
        service_number: "0731-00000001".into(),
        payment_type: PaymentType::Postpaid,
        owed_fen,
        months_overdue: 2,
        balance_fen: None,
        as_of_ms: 1_700_000_000_000,
    }
}

pub fn visit(grid: &str, household_id: &str) -> Visit {
    Visit {
        id: String::new(),
        grid_id: grid.into(),
        household_id: household_id.into(),
        appointment_at_ms: Some(1_700_000_000_000),
        arrived_at_ms: 1_700_000_300_000,
        zone_offset_min: 480,
        lat_e6: Some(28_228_000),
        lon_e6: Some(112_938_800),
        purpose: VisitPurpose::Survey,
        outcome: "完成普查建档".into(),
        needs: "想提速到千兆宽带".into(),
        competitor_info: "移动在小区推129元融合".into(),
        opinions: String::new(),
        open_question: String::new(),
        follow_up: String::new(),
        follow_up_due: String::new(),
        signature_id: None,
        manager_id: "mgr-1".into(),
        location: None,
        photos: Vec::new(),
    }
}

pub fn receipt(grid: &str, account_id: &str, household_id: &str, number: &str) -> Receipt {
    Receipt {
        id: String::new(),
        grid_id: grid.into(),
        receipt_no: number.into(),
        account_id: account_id.into(),
        household_id: household_id.into(),
        owed_before_fen: 12_800,
        amount_fen: 12_800,
        cash_received_fen: 20_000,
        change_fen: 7_200,
        method: PaymentMethod::Cash,
        collected_at_ms: 1_700_000_400_000,
        zone_offset_min: 480,
        collector_id: "mgr-1".into(),
        device_id: String::new(),
        lat_e6: None,
        lon_e6: None,
        signature_id: None,
        payment_ref: String::new(),
        location: None,
        photos: Vec::new(),
        billing_months: String::new(),
        collector_name: String::new(),
        collector_staff_no: String::new(),
    }
}

/// A plausible handwritten signature on a 300×120 pad: three strokes over about 1.4 s.
pub fn signature_strokes() -> crate::evidence::Signature {
    use crate::evidence::{Point, Signature, Stroke};
    let stroke = |x0: f32, y0: f32, dx: f32, dy: f32, n: u32, t0: u32| Stroke {
        points: (0..n)
            .map(|i| Point { x: x0 + dx * i as f32, y: y0 + dy * i as f32, t_ms: t0 + 25 * i, pressure: Some(0.5) })
            .collect(),
    };
    Signature {
        width: 300,
        height: 120,
        strokes: vec![
            stroke(30.0, 40.0, 8.0, 1.5, 20, 0),
            stroke(120.0, 20.0, 0.5, 4.0, 18, 600),
            stroke(180.0, 60.0, 6.0, -1.0, 16, 1_100),
        ],
    }
}

/// The customer's signature as the pad gives it, with a name and relation.
pub fn capture(signer_name: &str) -> crate::field::receipts::SignatureCapture {
    crate::field::receipts::SignatureCapture {
        strokes: signature_strokes(),
        signer_name: signer_name.into(),
        relation: crate::evidence::Relation::Householder,
    }
}

/// A signature record of the right shape (not a valid seal): for shape checks only.
pub fn customer_signature(grid: &str, document_id: &str) -> CustomerSignature {
    CustomerSignature {
        id: String::new(),
        grid_id: grid.into(),
        document_kind: SignedDocument::Receipt,
        document_id: document_id.into(),
        document_hash: "00".repeat(32),
        strokes: signature_strokes(),
        strokes_hash: "00".repeat(32),
        signer_name: "王芳".into(),
        relation: "householder".into(),
        hlc: "018f2a3b00000000-dev1".into(),
        device_id: "dev1".into(),
        device_signature: "00".repeat(64),
        flags: vec![],
    }
}

/// A receipt book, as the server would issue it.
pub fn receipt_block(prefix: &str) -> crate::sync::wire::ReceiptBlock {
    crate::sync::wire::ReceiptBlock { prefix: prefix.into(), first: 1, last: 100, issued_at_ms: 1_700_000_000_000 }
}

/// An appointment booked for `household_id` at `agreed_at_ms` (Beijing time).
pub fn appointment(grid: &str, household_id: &str, agreed_at_ms: i64) -> Appointment {
    Appointment {
        id: String::new(),
        grid_id: grid.into(),
        household_id: household_id.into(),
        manager_id: "mgr-1".into(),
        agreed_at_ms,
        zone_offset_min: 480,
        purpose: VisitPurpose::Sale,
        status: AppointmentStatus::Booked,
        note: "客户说晚饭后在家".into(),
        visit_id: None,
    }
}

pub fn sign_in(grid: &str, manager_id: &str, at_ms: i64) -> SignIn {
    SignIn {
        id: String::new(),
        grid_id: grid.into(),
        manager_id: manager_id.into(),
        at_ms,
        zone_offset_min: 480,
        lat_e6: Some(28_228_000),
        lon_e6: Some(112_938_800),
        note: "营业部早会后出发".into(),
        location: None,
    }
}

/// A complaint taken at the door, reply promised by `promised_reply_by` (YYYY-MM-DD).
pub fn ticket(grid: &str, household_id: &str, promised_reply_by: &str) -> Ticket {
    Ticket {
        id: String::new(),
        grid_id: grid.into(),
        household_id: household_id.into(),
        owner_manager_id: "mgr-1".into(),
        taken_at_ms: 1_700_000_000_000,
        channel: TicketChannel::InPerson,
        kind: TicketKind::Complaint,
        text: "宽带晚上八点后经常掉线".into(),
        promised_reply_by: promised_reply_by.into(),
        status: TicketStatus::Open,
        escalated_to: String::new(),
        reply: String::new(),
        closed_at_ms: None,
        closure_confirmed_by_customer: false,
    }
}

/// A submitted day summary with a few of everything.
pub fn day_summary(grid: &str, manager_id: &str, date: &str) -> DaySummary {
    DaySummary {
        id: String::new(),
        grid_id: grid.into(),
        manager_id: manager_id.into(),
        date: date.into(),
        zone_offset_min: 480,
        made_at_ms: 1_700_000_000_000,
        signed_in_at_ms: Some(1_699_990_000_000),
        visits: 12,
        appointments_kept: 5,
        appointments_on_time: 4,
        appointments_missed: 1,
        households_created: 3,
        households_updated: 7,
        receipts: 2,
        collected_fen: 25_600,
        notices: 1,
        open_promises: 2,
        open_tickets: 1,
        note: "明天重点走访5号楼".into(),
    }
}

/// Billing figures for a mobile service: no contract end, spend level with the months before.
pub fn billing_profile(grid: &str, household_id: &str, period: &str) -> BillingProfile {
    BillingProfile {
        id: String::new(),
        grid_id: grid.into(),
        household_id: household_id.into(),
        service_number: "13912345678".into(),
        product: "mobile".into(),
        contract_end: String::new(),
        plan_end: String::new(),
        period: period.into(),
        spend_fen: 12_900,
        baseline_fen: 12_900,
        suspension_risk: false,
        suspended: false,
        as_of_ms: 1_700_000_000_000,
    }
}

/// A reminder closed after a call.
pub fn reminder_outcome(grid: &str, household_id: &str, key: &str) -> ReminderOutcome {
    ReminderOutcome {
        id: String::new(),
        grid_id: grid.into(),
        household_id: household_id.into(),
        reminder_key: key.into(),
        kind: ReminderKind::Birthday,
        outcome: ReminderResolution::Greeted,
        note: "上门送了生日贺卡".into(),
        closed_at_ms: 1_700_000_000_000,
        zone_offset_min: 480,
        manager_id: "mgr-1".into(),
    }
}

/// A back-office op creating `record` (what the server sends phones for billing figures and
/// arrears), stamped by node "backoffice" at `millis`.
pub fn backoffice_create<R: Record>(record: &R, grid: &str, millis: u64) -> crate::Result<Op> {
    Ok(Op {
        id: uuid::Uuid::now_v7(),
        kind: R::KIND,
        entity: record.id().to_string(),
        grid: grid.into(),
        action: OpAction::Create,
        fields: fields_of(record)?,
        hlc: Hlc::new(millis, 0, "backoffice"),
    })
}

/// Records a change of any kind through the store's one write path, as an app that skipped its
/// own checks would (e.g. a phone writing billing figures): for tests of the server's refusals.
pub fn record_local_create<R: Record>(store: &Store, record: &R, grid: &str) -> crate::Result<Op> {
    let fields = fields_of(record)?;
    store
        .write(|tx, clock| crate::store::record_change(tx, clock, R::KIND, record.id(), grid, OpAction::Create, fields))
}

/// A phone's create op for a new visit with these fields (what benches and server tests push).
pub fn visit_op(fields: Map<String, Value>, hlc: Hlc) -> Op {
    Op {
        id: uuid::Uuid::now_v7(),
        kind: EntityKind::Visit,
        entity: uuid::Uuid::now_v7().to_string(),
        grid: fields.get("grid_id").and_then(Value::as_str).unwrap_or_default().to_string(),
        action: OpAction::Create,
        fields,
        hlc,
    }
}

/// The id of the `i`-th household of the benchmarks' workload (`workload_households`); their
/// visits name households `hh-00000000` to `hh-00004999`.
pub fn workload_household_id(i: usize) -> String {
    format!("hh-{:08}", i % 5000)
}

/// Back-office creates of the 5,000 households the benchmarks' visits name, in `grid`: a pushed
/// visit names a household the server holds (docs/sync-protocol.md, "References").
pub fn workload_households(grid: &str) -> crate::Result<Vec<Op>> {
    (0..5000u64)
        .map(|i| {
            let op = backoffice_create(&household_n(grid, i), grid, 1_600_000_000_000 + i)?;
            Ok(Op { entity: workload_household_id(i as usize), ..op })
        })
        .collect()
}

/// A back-office create of a household with this id in `grid`: what a server test seeds before
/// it pushes visits naming it (a pushed record names one the server holds).
pub fn household_op(grid: &str, id: &str) -> crate::Result<Op> {
    Ok(Op { entity: id.into(), ..backoffice_create(&household(grid), grid, 1_600_000_000_000)? })
}

/// A 3×2 red PNG with an alpha channel, as a company's seal image would be.
pub fn seal_png() -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, 3, 2);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().expect("a PNG header in memory");
    w.write_image_data(&[200, 0, 0, 255].repeat(6)).expect("a PNG in memory");
    w.finish().expect("a PNG in memory");
    out
}
