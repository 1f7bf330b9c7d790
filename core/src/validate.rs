//! Input rules. Every failure names the field and the rule, so the app can point at the box to fix
//! and the server can return a typed rejection.

use serde_json::{Map, Value};

use crate::error::ValidationError;
use crate::location::Position;
use crate::model::{
    Appointment, AppointmentStatus, ArrearsAccount, ArrearsNotice, BillingProfile, DaySummary, EntityKind, FieldType,
    Household, IdType, PaymentMethod, Premises, Receipt, ReceiptVoid, ReminderOutcome, SignIn, Ticket, TicketStatus,
    Visit,
};

type Check = Result<(), ValidationError>;

fn rule(field: &str, rule: &str) -> Check {
    Err(ValidationError::new(field, rule))
}

fn required(field: &str, value: &str) -> Check {
    if value.trim().is_empty() {
        return rule(field, "must not be empty");
    }
    Ok(())
}

fn max_len(field: &str, value: &str, max: usize) -> Check {
    if value.chars().count() > max {
        return Err(ValidationError::new(field, format!("must be at most {max} characters")));
    }
    Ok(())
}

/// 居民身份证号码: 17 digits, then a check digit (0-9 or X) by ISO 7064 MOD 11-2, with a real
/// birth date in positions 7–14.
pub fn resident_id(number: &str) -> Check {
    const FIELD: &str = "id_number";
    let chars: Vec<char> = number.chars().collect();
    if chars.len() != 18 {
        return rule(FIELD, "a resident ID number has 18 characters");
    }
    if !chars[..17].iter().all(|c| c.is_ascii_digit()) {
        return rule(FIELD, "the first 17 characters of a resident ID number are digits");
    }
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = chars[..17].iter().zip(WEIGHTS).map(|(c, w)| c.to_digit(10).unwrap_or(0) * w).sum();
    if chars[17].to_ascii_uppercase() != CHECK[(sum % 11) as usize] {
        return rule(FIELD, "the check digit of the resident ID number is wrong");
    }
    let birth: String = chars[6..14].iter().collect();
    if chrono::NaiveDate::parse_from_str(&birth, "%Y%m%d").is_err() {
        return rule(FIELD, "the birth date inside the resident ID number is not a real date");
    }
    Ok(())
}

/// The form a resident ID number is stored in: its check character written `X`, however it was
/// typed (issue 21, defect 12). Some(canonical) when that differs from `number`. Applied where an
/// archive is saved on the phone (field/archive.rs) and where an op is merged on the server, before
/// `household` checks it, so lookups and the duplicate check see one form.
pub fn canonical_id_number(id_type: Option<IdType>, number: &str) -> Option<String> {
    (id_type == Some(IdType::ResidentId) && number.ends_with('x')).then(|| number.to_ascii_uppercase())
}

/// 手机: 11 digits starting with 1.
pub fn mobile(field: &str, number: &str) -> Check {
    if number.is_empty() {
        return Ok(());
    }
    if number.len() != 11 || !number.starts_with('1') || !number.bytes().all(|b| b.is_ascii_digit()) {
        return rule(field, "a mobile number has 11 digits and starts with 1");
    }
    Ok(())
}

/// 固话: area code and number, digits with an optional dash, 7 to 13 digits in all.
pub fn landline(field: &str, number: &str) -> Check {
    if number.is_empty() {
        return Ok(());
    }
    let digits = number.bytes().filter(|b| b.is_ascii_digit()).count();
    if !number.bytes().all(|b| b.is_ascii_digit() || b == b'-') || !(7..=13).contains(&digits) {
        return rule(field, "a landline is 7 to 13 digits, optionally with a dash after the area code");
    }
    Ok(())
}

fn date(field: &str, value: &str) -> Check {
    if value.is_empty() || chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok() {
        return Ok(());
    }
    rule(field, "must be a date written YYYY-MM-DD")
}

fn zone_offset(value: i64) -> Check {
    if !(-14 * 60..=14 * 60).contains(&value) {
        return rule("zone_offset_min", "must be between -840 and 840 minutes");
    }
    Ok(())
}

/// The money bound lives with the records (`model`), which the wire types also read.
pub use crate::model::MAX_FEN;

/// A money field: at most `MAX_FEN` either way.
pub fn money(field: &str, value: i64) -> Check {
    if value.checked_abs().is_none_or(|v| v > MAX_FEN) {
        return Err(ValidationError::new(field, format!("must be at most {MAX_FEN} fen (1 亿元) either way")));
    }
    Ok(())
}

/// Money that is not negative and at most `MAX_FEN`.
fn amount(field: &str, value: i64) -> Check {
    non_negative(field, value)?;
    money(field, value)
}

fn non_negative(field: &str, value: i64) -> Check {
    if value < 0 {
        return rule(field, "must not be negative");
    }
    Ok(())
}

fn coordinates(lat: Option<i64>, lon: Option<i64>) -> Check {
    match (lat, lon) {
        (None, None) => Ok(()),
        (Some(lat), Some(lon)) if lat.abs() <= 90_000_000 && lon.abs() <= 180_000_000 => Ok(()),
        (Some(_), Some(_)) => rule("lat_e6", "a GPS fix is latitude ±90° and longitude ±180°"),
        _ => rule("lat_e6", "a GPS fix has both latitude and longitude"),
    }
}

/// Where the phone was: within its bounds, and `lat_e6`/`lon_e6` are the fix's (none with "no
/// fix"), so the two never tell different stories.
fn location(lat: Option<i64>, lon: Option<i64>, position: Option<&Position>) -> Check {
    let Some(position) = position else { return Ok(()) };
    if let Err(e) = position.check() {
        return Err(ValidationError::new("location", format!("{}: {e}", e.field())));
    }
    let same = match position.fix() {
        Some(f) => lat == Some(f.lat_e6) && lon == Some(f.lon_e6),
        None => lat.is_none() && lon.is_none(),
    };
    if !same {
        return rule("lat_e6", "must be the location's fix (none when there is no fix)");
    }
    Ok(())
}

pub fn premises(p: &Premises) -> Check {
    required("grid_id", &p.grid_id)?;
    required("name", &p.name)?;
    max_len("name", &p.name, 100)?;
    if let Some(floors) = p.floors {
        if !(1..=200).contains(&floors) {
            return rule("floors", "must be between 1 and 200");
        }
    }
    Ok(())
}

pub fn household(h: &Household) -> Check {
    required("grid_id", &h.grid_id)?;
    required("customer_name", &h.customer_name)?;
    max_len("customer_name", &h.customer_name, 100)?;
    max_len("address", &h.address, 300)?;
    mobile("mobile", &h.mobile)?;
    landline("landline", &h.landline)?;
    if h.id_type == Some(IdType::ResidentId) && !h.id_number.is_empty() {
        resident_id(&h.id_number)?;
    }
    if !h.id_number.is_empty() && h.id_type.is_none() {
        return rule("id_type", "must be given with an ID number");
    }
    date("birthday", &h.birthday)?;
    for (n, s) in h.services.iter().enumerate() {
        if s.product.trim().is_empty() {
            return Err(ValidationError::new("services", format!("service {} has no product", n + 1)));
        }
        date("services", &s.completed_on)?;
    }
    if let Some(floor) = h.floor {
        if !(-10..=200).contains(&floor) {
            return rule("floor", "must be between -10 and 200");
        }
    }
    Ok(())
}

/// 欠费: an account number, and a debt and months overdue that are not negative (a prepaid
/// balance may be, when the line is overdrawn).
pub fn arrears_account(a: &ArrearsAccount) -> Check {
    required("grid_id", &a.grid_id)?;
    required("account_no", &a.account_no)?;
    max_len("account_no", &a.account_no, 64)?;
    amount("owed_fen", a.owed_fen)?;
    if let Some(balance) = a.balance_fen {
        money("balance_fen", balance)?;
    }
    non_negative("months_overdue", a.months_overdue)?;
    if a.months_overdue > 1200 {
        return rule("months_overdue", "must be at most 1200");
    }
    Ok(())
}

pub fn visit(v: &Visit) -> Check {
    required("grid_id", &v.grid_id)?;
    required("household_id", &v.household_id)?;
    non_negative("arrived_at_ms", v.arrived_at_ms)?;
    zone_offset(v.zone_offset_min)?;
    coordinates(v.lat_e6, v.lon_e6)?;
    location(v.lat_e6, v.lon_e6, v.location.as_ref())?;
    date("follow_up_due", &v.follow_up_due)?;
    if !v.follow_up_due.is_empty() && v.follow_up.trim().is_empty() {
        return rule("follow_up", "a due date needs the promise it is for");
    }
    photos(&v.photos)
}

/// A fact's photos: photo addresses (lower-case hex SHA-256), none twice, at most
/// `evidence::document::MAX_DOCUMENT_PHOTOS` (they are lines of the signed document).
pub fn photos(list: &[String]) -> Check {
    match crate::photos::photo_list_problem(list, crate::evidence::document::MAX_DOCUMENT_PHOTOS) {
        Some(problem) => rule("photos", &problem),
        None => Ok(()),
    }
}

pub fn notice(n: &ArrearsNotice) -> Check {
    required("grid_id", &n.grid_id)?;
    required("account_id", &n.account_id)?;
    non_negative("given_at_ms", n.given_at_ms)?;
    zone_offset(n.zone_offset_min)
}

/// 唱收唱付: the cash received covers the amount, and the change is exactly the difference.
pub fn receipt(r: &Receipt) -> Check {
    required("grid_id", &r.grid_id)?;
    required("receipt_no", &r.receipt_no)?;
    required("account_id", &r.account_id)?;
    amount("amount_fen", r.amount_fen)?;
    if r.amount_fen == 0 {
        return rule("amount_fen", "must be more than zero");
    }
    amount("cash_received_fen", r.cash_received_fen)?;
    amount("change_fen", r.change_fen)?;
    amount("owed_before_fen", r.owed_before_fen)?;
    if r.cash_received_fen < r.amount_fen {
        return rule("cash_received_fen", "must cover the amount paid");
    }
    if r.change_fen > r.cash_received_fen {
        return rule("change_fen", "must not be larger than the cash received");
    }
    if r.cash_received_fen - r.amount_fen != r.change_fen {
        return rule("change_fen", "must equal the cash received minus the amount paid");
    }
    payment_ref(r.method, &r.payment_ref)?;
    photos(&r.photos)?;
    if let Some(crate::evidence::DocumentError::BadField { field, rule: why }) =
        crate::evidence::document::receipt_copy_problem(&r.billing_months, &r.collector_name, &r.collector_staff_no)
    {
        return rule(field, &why);
    }
    zone_offset(r.zone_offset_min)?;
    coordinates(r.lat_e6, r.lon_e6)?;
    location(r.lat_e6, r.lon_e6, r.location.as_ref())
}

/// 交易单号: optional; never on cash; otherwise 4 to 64 ASCII letters, digits, '-' or '_' (WeChat
/// Pay's and Alipay's numbers are 28–32 digits, merchants' order numbers add letters and dashes;
/// 4 allows the last digits when that is all the customer's screen shows).
pub fn payment_ref(method: PaymentMethod, reference: &str) -> Check {
    const FIELD: &str = "payment_ref";
    if reference.is_empty() {
        return Ok(());
    }
    if method == PaymentMethod::Cash {
        return rule(FIELD, "a cash payment has no payment reference");
    }
    if !(4..=64).contains(&reference.len()) {
        return rule(FIELD, "must be 4 to 64 characters");
    }
    if !reference.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return rule(FIELD, "only letters, digits, '-' and '_', as the payment screen shows it");
    }
    Ok(())
}

pub fn receipt_void(v: &ReceiptVoid) -> Check {
    required("receipt_id", &v.receipt_id)?;
    required("reason", &v.reason)?;
    max_len("reason", &v.reason, 500)
}

/// 预约. Rules that hold whatever order concurrent edits merge in: a field set together with the
/// status (`visit_id` with `done`) is never cleared afterwards.
pub fn appointment(a: &Appointment) -> Check {
    required("grid_id", &a.grid_id)?;
    required("household_id", &a.household_id)?;
    required("manager_id", &a.manager_id)?;
    non_negative("agreed_at_ms", a.agreed_at_ms)?;
    zone_offset(a.zone_offset_min)?;
    max_len("note", &a.note, 500)?;
    if a.status == AppointmentStatus::Done && a.visit_id.as_deref().is_none_or(|v| v.trim().is_empty()) {
        return rule("visit_id", "a done appointment names the visit that kept it");
    }
    Ok(())
}

/// 签到.
pub fn sign_in(s: &SignIn) -> Check {
    required("grid_id", &s.grid_id)?;
    required("manager_id", &s.manager_id)?;
    non_negative("at_ms", s.at_ms)?;
    zone_offset(s.zone_offset_min)?;
    coordinates(s.lat_e6, s.lon_e6)?;
    location(s.lat_e6, s.lon_e6, s.location.as_ref())?;
    max_len("note", &s.note, 500)
}

/// 首问负责制: the issue in words, a reply date promised; escalated to someone; closed only with
/// the customer's confirmation.
pub fn ticket(t: &Ticket) -> Check {
    required("grid_id", &t.grid_id)?;
    required("owner_manager_id", &t.owner_manager_id)?;
    non_negative("taken_at_ms", t.taken_at_ms)?;
    required("text", &t.text)?;
    max_len("text", &t.text, 2000)?;
    max_len("reply", &t.reply, 2000)?;
    required("promised_reply_by", &t.promised_reply_by)?;
    date("promised_reply_by", &t.promised_reply_by)?;
    if t.status == TicketStatus::Escalated && t.escalated_to.trim().is_empty() {
        return rule("escalated_to", "an escalated ticket names who it was escalated to");
    }
    if t.status == TicketStatus::Closed {
        if !t.closure_confirmed_by_customer {
            return rule(
                "closure_confirmed_by_customer",
                "a ticket is closed only when the customer confirms it (闭环)",
            );
        }
        if t.closed_at_ms.is_none() {
            return rule("closed_at_ms", "a closed ticket says when it was closed");
        }
    }
    Ok(())
}

/// 日工作总结: a real date, and counts that are counts.
pub fn day_summary(d: &DaySummary) -> Check {
    required("grid_id", &d.grid_id)?;
    required("manager_id", &d.manager_id)?;
    required("date", &d.date)?;
    date("date", &d.date)?;
    zone_offset(d.zone_offset_min)?;
    non_negative("made_at_ms", d.made_at_ms)?;
    for (field, n) in [
        ("visits", d.visits),
        ("appointments_kept", d.appointments_kept),
        ("appointments_on_time", d.appointments_on_time),
        ("appointments_missed", d.appointments_missed),
        ("households_created", d.households_created),
        ("households_updated", d.households_updated),
        ("receipts", d.receipts),
        ("collected_fen", d.collected_fen),
        ("notices", d.notices),
        ("open_promises", d.open_promises),
        ("open_tickets", d.open_tickets),
    ] {
        non_negative(field, n)?;
    }
    money("collected_fen", d.collected_fen)?;
    if d.appointments_on_time > d.appointments_kept {
        return rule("appointments_on_time", "must not be more than the appointments kept");
    }
    max_len("note", &d.note, 2000)
}

/// A billing month, YYYY-MM.
fn month(field: &str, value: &str) -> Check {
    if chrono::NaiveDate::parse_from_str(&format!("{value}-01"), "%Y-%m-%d").is_ok() && value.len() == 7 {
        return Ok(());
    }
    rule(field, "must be a month written YYYY-MM")
}

/// The back office's billing figures: real dates, a real month, money that is not negative.
pub fn billing_profile(p: &BillingProfile) -> Check {
    required("grid_id", &p.grid_id)?;
    required("household_id", &p.household_id)?;
    required("service_number", &p.service_number)?;
    max_len("service_number", &p.service_number, 40)?;
    max_len("product", &p.product, 40)?;
    date("contract_end", &p.contract_end)?;
    date("plan_end", &p.plan_end)?;
    month("period", &p.period)?;
    amount("spend_fen", p.spend_fen)?;
    amount("baseline_fen", p.baseline_fen)?;
    non_negative("as_of_ms", p.as_of_ms)
}

/// A reminder closed: which one (its key), by whom, when, and how.
pub fn reminder_outcome(o: &ReminderOutcome) -> Check {
    required("grid_id", &o.grid_id)?;
    required("household_id", &o.household_id)?;
    required("reminder_key", &o.reminder_key)?;
    max_len("reminder_key", &o.reminder_key, 200)?;
    if !o.reminder_key.starts_with(&format!("{}:", o.kind.as_str())) {
        return rule("reminder_key", "must start with the reminder's kind");
    }
    required("manager_id", &o.manager_id)?;
    non_negative("closed_at_ms", o.closed_at_ms)?;
    zone_offset(o.zone_offset_min)?;
    max_len("note", &o.note, 500)
}

/// The shape of a change that arrived from elsewhere: known fields, values of the right type.
pub fn fields(kind: EntityKind, fields: &Map<String, Value>) -> Check {
    for (name, value) in fields {
        let Some(spec) = kind.field(name) else {
            return Err(ValidationError::new(name, format!("is not a field of {}", kind.as_str())));
        };
        let ok = match (spec.ty, value) {
            (_, Value::Null) => true,
            (FieldType::Text, Value::String(s)) => s.len() <= 10_000,
            // every money field is bounded, so that no sum of them can overflow
            (FieldType::Int, Value::Number(n)) if name.ends_with("_fen") => {
                n.as_i64().is_some_and(|v| money(name, v).is_ok())
            }
            (FieldType::Int, Value::Number(n)) => n.is_i64(),
            (FieldType::Bool, Value::Bool(_)) => true,
            (FieldType::Json, Value::Array(_) | Value::Object(_)) => true,
            _ => false,
        };
        if !ok {
            let expected = match spec.ty {
                FieldType::Text => "text (at most 10,000 bytes)",
                FieldType::Int if name.ends_with("_fen") => "a whole number of fen, at most 10^10 either way",
                FieldType::Int => "a whole number",
                FieldType::Bool => "true or false",
                FieldType::Json => "a list or an object",
            };
            return Err(ValidationError::new(name, format!("must be {expected}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_id_check_digit() {
        assert!(resident_id("11010519491231002X").is_ok());
        assert!(resident_id("11010519491231002x").is_ok());
        assert!(resident_id("110105194912310021").is_err());
        assert!(resident_id("1101051949123100").is_err());
        let err = resident_id("11010519491331002X").unwrap_err();
        assert_eq!(err.field, "id_number");
    }

    #[test]
    fn a_bad_birth_date_inside_a_valid_checksum_is_refused() {
        // 1949-13-31 with a check digit computed for it
        let base = "11010519491331002";
        const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = base.chars().zip(WEIGHTS).map(|(c, w)| c.to_digit(10).unwrap() * w).sum();
        let check = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize];
        let err = resident_id(&format!("{base}{check}")).unwrap_err();
        assert!(err.rule.contains("birth date"), "{err}");
    }

    #[test]
    fn phones() {
        assert!(mobile("mobile", "13812345678").is_ok());
        assert!(mobile("mobile", "23812345678").is_err());
        assert!(mobile("mobile", "1381234567").is_err());
        assert!(landline("landline", "010-62345678").is_ok());
        assert!(landline("landline", "010 6234").is_err());
    }

    #[test]
    fn change_must_be_cash_minus_amount() {
        let mut r = crate::testing::receipt("g", "a", "h", "R1");
        r.amount_fen = 5_000;
        r.cash_received_fen = 10_000;
        r.change_fen = 5_000;
        assert!(receipt(&r).is_ok());
        r.change_fen = 12_000;
        assert_eq!(receipt(&r).unwrap_err().rule, "must not be larger than the cash received");
        r.change_fen = 4_000;
        assert_eq!(receipt(&r).unwrap_err().field, "change_fen");
        r.amount_fen = -1;
        assert_eq!(receipt(&r).unwrap_err().rule, "must not be negative");
    }

    #[test]
    fn every_money_field_is_bounded_so_that_sums_cannot_overflow() {
        let mut r = crate::testing::receipt("g", "a", "h", "R1");
        r.amount_fen = MAX_FEN;
        r.cash_received_fen = MAX_FEN;
        r.change_fen = 0;
        assert!(receipt(&r).is_ok(), "the bound itself is allowed");
        // two receipts of 2^62 fen once overflowed every sum of the back office and the phone
        r.amount_fen = 1 << 62;
        r.cash_received_fen = 1 << 62;
        assert_eq!(receipt(&r).unwrap_err().field, "amount_fen");
        let huge = Map::from_iter([("amount_fen".to_string(), Value::from(1i64 << 62))]);
        assert_eq!(fields(EntityKind::Receipt, &huge).unwrap_err().field, "amount_fen");
        let overdrawn = Map::from_iter([("balance_fen".to_string(), Value::from(i64::MIN))]);
        assert_eq!(fields(EntityKind::ArrearsAccount, &overdrawn).unwrap_err().field, "balance_fen");
        let fine = Map::from_iter([("balance_fen".to_string(), Value::from(-MAX_FEN))]);
        assert!(fields(EntityKind::ArrearsAccount, &fine).is_ok());
        // the bound leaves room for a billion amounts in one i64 sum
        assert!(MAX_FEN.checked_mul(920_000_000).is_some());
    }

    #[test]
    fn workflow_rules_name_the_field() {
        let mut a = crate::testing::appointment("g", "h", 1_700_000_000_000);
        assert!(appointment(&a).is_ok());
        a.status = AppointmentStatus::Done;
        assert_eq!(appointment(&a).unwrap_err().field, "visit_id");
        a.visit_id = Some("v1".into());
        assert!(appointment(&a).is_ok());
        a.zone_offset_min = 900;
        assert_eq!(appointment(&a).unwrap_err().field, "zone_offset_min");

        let mut s = crate::testing::sign_in("g", "m", 1);
        assert!(sign_in(&s).is_ok());
        s.lon_e6 = None;
        assert_eq!(sign_in(&s).unwrap_err().rule, "a GPS fix has both latitude and longitude");

        let mut t = crate::testing::ticket("g", "h", "2026-11-25");
        assert!(ticket(&t).is_ok());
        t.promised_reply_by = "25/11/2026".into();
        assert_eq!(ticket(&t).unwrap_err().field, "promised_reply_by");
        t.promised_reply_by = "2026-11-25".into();
        t.status = TicketStatus::Escalated;
        assert_eq!(ticket(&t).unwrap_err().field, "escalated_to");
        t.status = TicketStatus::Closed;
        t.closed_at_ms = Some(1);
        assert_eq!(ticket(&t).unwrap_err().field, "closure_confirmed_by_customer");
        t.closure_confirmed_by_customer = true;
        assert!(ticket(&t).is_ok());

        let mut d = crate::testing::day_summary("g", "m", "2026-11-23");
        assert!(day_summary(&d).is_ok());
        d.collected_fen = -1;
        assert_eq!(day_summary(&d).unwrap_err().field, "collected_fen");
        d.collected_fen = 0;
        d.appointments_on_time = d.appointments_kept + 1;
        assert_eq!(day_summary(&d).unwrap_err().field, "appointments_on_time");
    }

    #[test]
    fn billing_figures_and_closed_reminders_name_the_field() {
        let mut p = crate::testing::billing_profile("g", "h", "2026-11");
        assert!(billing_profile(&p).is_ok());
        p.period = "2026-13".into();
        assert_eq!(billing_profile(&p).unwrap_err().to_string(), "period: must be a month written YYYY-MM");
        p.period = "2026-1".into();
        assert_eq!(billing_profile(&p).unwrap_err().field, "period");
        p.period = "2026-11".into();
        p.contract_end = "2027/01/01".into();
        assert_eq!(billing_profile(&p).unwrap_err().field, "contract_end");
        p.contract_end = "2027-01-01".into();
        p.spend_fen = -1;
        assert_eq!(billing_profile(&p).unwrap_err().field, "spend_fen");

        let mut o = crate::testing::reminder_outcome("g", "h", "birthday:h:2026");
        assert!(reminder_outcome(&o).is_ok());
        o.reminder_key = "low_balance:a1:2026-11".into();
        assert_eq!(reminder_outcome(&o).unwrap_err().rule, "must start with the reminder's kind");
        o.reminder_key = "birthday:h:2026".into();
        o.manager_id = " ".into();
        assert_eq!(reminder_outcome(&o).unwrap_err().field, "manager_id");
    }

    #[test]
    fn remote_fields_are_type_checked() {
        let ok = serde_json::json!({"customer_name": "王", "floor": 3, "deleted": false});
        assert!(fields(EntityKind::Household, ok.as_object().unwrap()).is_ok());
        let unknown = serde_json::json!({"salary": 1});
        assert!(fields(EntityKind::Household, unknown.as_object().unwrap()).is_err());
        let wrong = serde_json::json!({"floor": "three"});
        assert_eq!(fields(EntityKind::Household, wrong.as_object().unwrap()).unwrap_err().field, "floor");
        let float = serde_json::json!({"owed_fen": 1.5});
        assert!(fields(EntityKind::ArrearsAccount, float.as_object().unwrap()).is_err());
    }
}
