//! Each reminder rule at its boundaries, closure and the period in the key, masking, the day
//! plan, and the indexes behind the queries — on a real SQLite file.

use super::*;
use crate::model::{ArrearsAccount, Household, PaymentType};
use crate::testing::{self, backoffice_create, household_n};

const TODAY: &str = "2026-11-22";

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

struct Phone {
    _dir: tempfile::TempDir,
    store: Store,
    stamp: u64,
}

impl Phone {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("phone.db")).unwrap();
        Self { _dir: dir, store, stamp: 1_790_000_000_000 }
    }

    /// A household of g1 with no birthday (so that only the rule under test speaks).
    fn household(&self, seq: u64, name: &str) -> Household {
        let mut h = household_n("g1", seq);
        h.customer_name = name.into();
        h.birthday = String::new();
        self.store.create_household(h).unwrap()
    }

    /// Applies a record as the back office sends it.
    fn write_as_backoffice<R: crate::model::Record>(&mut self, record: &R) {
        self.stamp += 1;
        let report = self.store.apply_remote_ops(&[backoffice_create(record, "g1", self.stamp).unwrap()]).unwrap();
        assert_eq!(report.applied, 1, "{report:?}");
    }

    fn profile(&mut self, household_id: &str, service: &str, edit: impl FnOnce(&mut BillingProfile)) -> BillingProfile {
        let mut p = testing::billing_profile("g1", household_id, "2026-11");
        p.id = new_id();
        p.service_number = service.into();
        edit(&mut p);
        self.write_as_backoffice(&p);
        p
    }

    fn account(&mut self, household_id: &str, edit: impl FnOnce(&mut ArrearsAccount)) -> ArrearsAccount {
        let mut a = testing::account("g1", household_id, 0);
        a.id = new_id();
        edit(&mut a);
        self.write_as_backoffice(&a);
        a
    }

    /// (kind, customer name) of today's reminders, in the order given.
    fn listed(&self, today: &str) -> Vec<(ReminderKind, String)> {
        self.store.reminders("g1", today).unwrap().into_iter().map(|r| (r.kind, r.customer_name)).collect()
    }
}

#[test]
fn spend_drop_stages_meet_at_exactly_thirty_percent() {
    assert_eq!(spend_drop(6_999, 10_000), Some(ReminderKind::SpendDropStage1), "30.01 % is more than 30 %");
    assert_eq!(spend_drop(7_000, 10_000), Some(ReminderKind::SpendDropStage2), "exactly 30 % is stage 2");
    assert_eq!(spend_drop(9_999, 10_000), Some(ReminderKind::SpendDropStage2));
    assert_eq!(spend_drop(10_000, 10_000), None, "no fall, no reminder");
    assert_eq!(spend_drop(12_000, 10_000), None);
    assert_eq!(spend_drop(0, 100), Some(ReminderKind::SpendDropStage1));
    assert_eq!(spend_drop(0, 0), None, "no baseline to fall from");
    assert_eq!(spend_drop(i64::MAX - 1, i64::MAX), Some(ReminderKind::SpendDropStage2), "no overflow");
}

#[test]
fn expiry_is_warned_two_calendar_months_ahead() {
    assert_eq!(expiry_horizon(day("2026-11-22")), day("2027-01-22"));
    assert_eq!(
        expiry_horizon(day("2026-12-31")),
        day("2027-02-28"),
        "the month's last day when the date does not exist"
    );
}

#[test]
fn birthdays_within_the_coming_week() {
    let today = day("2026-11-22");
    assert_eq!(upcoming_birthday("1980-11-22", today), Some(day("2026-11-22")));
    assert_eq!(upcoming_birthday("1980-11-28", today), Some(day("2026-11-28")), "the seventh day of the window");
    assert_eq!(upcoming_birthday("1980-11-29", today), None);
    assert_eq!(upcoming_birthday("1980-11-21", today), None, "yesterday's has passed");
    assert_eq!(upcoming_birthday("1990-01-02", day("2026-12-28")), Some(day("2027-01-02")), "across New Year");
    assert_eq!(
        upcoming_birthday("1988-02-29", day("2027-02-25")),
        Some(day("2027-02-28")),
        "29 February in a common year"
    );
    assert_eq!(upcoming_birthday("1988-02-29", day("2028-02-25")), Some(day("2028-02-29")));
    assert_eq!(upcoming_birthday("", today), None);
}

#[test]
fn each_rule_speaks_at_its_boundary_and_not_past_it() {
    let mut p = Phone::new();
    // contract and plan ends: exactly two months ahead is in, a day later is out, today is in,
    // yesterday is out
    let h = p.household(1, "合同两月").id;
    p.profile(&h, "13900000001", |b| b.contract_end = "2027-01-22".into());
    let h = p.household(2, "合同两月加一天").id;
    p.profile(&h, "13900000002", |b| b.contract_end = "2027-01-23".into());
    let h = p.household(3, "套餐今天到期").id;
    p.profile(&h, "13900000003", |b| b.plan_end = TODAY.into());
    let h = p.household(4, "套餐昨天到期").id;
    p.profile(&h, "13900000004", |b| b.plan_end = "2026-11-21".into());
    // spend: down 30.01 %, exactly 30 %, level
    let h = p.household(5, "话务降一级").id;
    p.profile(&h, "13900000005", |b| (b.spend_fen, b.baseline_fen) = (6_999, 10_000));
    let h = p.household(6, "话务降二级").id;
    p.profile(&h, "13900000006", |b| (b.spend_fen, b.baseline_fen) = (7_000, 10_000));
    let h = p.household(7, "话务持平").id;
    p.profile(&h, "13900000007", |b| (b.spend_fen, b.baseline_fen) = (10_000, 10_000));
    // prepaid balances 999 and 1000 fen
    let h = p.household(8, "余额九块九").id;
    p.account(&h, |a| (a.payment_type, a.balance_fen) = (PaymentType::Prepaid, Some(999)));
    let h = p.household(9, "余额十块").id;
    p.account(&h, |a| (a.payment_type, a.balance_fen) = (PaymentType::Prepaid, Some(1_000)));
    // postpaid unpaid one and two months
    let h = p.household(10, "欠费一月").id;
    p.account(&h, |a| (a.owed_fen, a.months_overdue) = (5_000, 1));
    let h = p.household(11, "欠费两月").id;
    p.account(&h, |a| (a.owed_fen, a.months_overdue) = (5_000, 2));
    let h = p.household(12, "两月已结清").id;
    p.account(&h, |a| (a.owed_fen, a.months_overdue) = (0, 2));
    // suspension: at risk, suspended
    let h = p.household(13, "停机风险").id;
    p.profile(&h, "13900000013", |b| b.suspension_risk = true);
    let h = p.household(14, "已停机").id;
    p.profile(&h, "13900000014", |b| b.suspended = true);
    // birthdays: today, the window's last day, the day after it
    for (seq, name, birthday) in
        [(15, "今天生日", "1975-11-22"), (16, "六天后生日", "1975-11-28"), (17, "七天后生日", "1975-11-29")]
    {
        let mut hh = household_n("g1", seq);
        hh.customer_name = name.into();
        hh.birthday = birthday.into();
        p.store.create_household(hh).unwrap();
    }
    // a deleted household and one of another grid say nothing
    let gone = p.household(18, "已删除");
    p.profile(&gone.id, "13900000018", |b| b.suspended = true);
    p.store.delete_household(&gone.id).unwrap();
    let mut elsewhere = household_n("g2", 19);
    elsewhere.birthday = "1975-11-22".into();
    p.store.create_household(elsewhere).unwrap();

    use ReminderKind::*;
    let expected: Vec<(ReminderKind, String)> = vec![
        (SuspensionRisk, "停机风险"),
        (SuspensionRisk, "已停机"),
        (PostpaidOverdue, "欠费两月"),
        (LowBalance, "余额九块九"),
        (SpendDropStage1, "话务降一级"),
        (ContractExpiry, "合同两月"),
        (PlanExpiry, "套餐今天到期"),
        (SpendDropStage2, "话务降二级"),
        (Birthday, "今天生日"),
        (Birthday, "六天后生日"),
    ]
    .into_iter()
    .map(|(k, n)| (k, n.to_string()))
    .collect();
    let mut got = p.listed(TODAY);
    // same urgency and date: ordered by household id; compare as sets within a kind
    got.sort_by_key(|(k, n)| (k.urgency(), n.clone()));
    let mut want = expected.clone();
    want.sort_by_key(|(k, n)| (k.urgency(), n.clone()));
    assert_eq!(got, want);

    let all = p.store.reminders("g1", TODAY).unwrap();
    let drop1 = all.iter().find(|r| r.kind == SpendDropStage1).unwrap();
    assert_eq!((drop1.amount_fen, drop1.baseline_fen, drop1.drop_percent), (Some(6_999), Some(10_000), Some(30)));
    let overdue = all.iter().find(|r| r.kind == PostpaidOverdue).unwrap();
    assert_eq!((overdue.amount_fen, overdue.months_overdue), (Some(5_000), Some(2)));
    assert!(all.iter().find(|r| r.customer_name == "已停机").unwrap().suspended);
    assert_eq!(all.iter().find(|r| r.kind == ContractExpiry).unwrap().date, "2027-01-22");
    assert!(all.windows(2).all(|w| w[0].kind.urgency() <= w[1].kind.urgency()), "most urgent first");

    // the same rules over the records themselves, as the back office runs them on what it holds,
    // give the very list the phone gives, a closed one left out by both
    let first = all[0].key.clone();
    p.store.close_reminder("g1", TODAY, &first, ReminderResolution::Contacted, "", "m1", 480).unwrap();
    let listed = p.store.reminders("g1", TODAY).unwrap();
    assert_eq!(listed.len(), all.len() - 1);
    let live = "coalesce(deleted, 0) = 0";
    let (households, profiles, accounts, closed) = p
        .store
        .read(|c| {
            let closed: HashSet<String> =
                entity_table::query::<ReminderOutcome>(c, "1", [])?.into_iter().map(|o| o.reminder_key).collect();
            Ok((
                entity_table::query::<Household>(c, live, [])?,
                entity_table::query::<BillingProfile>(c, live, [])?,
                entity_table::query::<ArrearsAccount>(c, live, [])?,
                closed,
            ))
        })
        .unwrap();
    assert_eq!(open_reminders_of("g1", day(TODAY), &households, &profiles, &accounts, &closed), listed);
}

#[test]
fn a_closed_reminder_is_gone_everywhere_and_comes_back_next_period() {
    let mut p = Phone::new();
    let mut h = household_n("g1", 1);
    h.birthday = "1980-11-25".into();
    let h = p.store.create_household(h).unwrap();
    let profile = p.profile(&h.id, "13912345678", |b| (b.spend_fen, b.baseline_fen) = (5_000, 10_000));

    let open = p.store.reminders("g1", TODAY).unwrap();
    let birthday = open.iter().find(|r| r.kind == ReminderKind::Birthday).unwrap().clone();
    assert_eq!(birthday.key, format!("birthday:{}:2026", h.id));
    let drop = open.iter().find(|r| r.kind == ReminderKind::SpendDropStage1).unwrap().clone();
    assert_eq!(drop.key, format!("spend_drop_stage1:{}:2026-11", profile.id));

    let closed = p
        .store
        .close_reminder("g1", TODAY, &birthday.key, ReminderResolution::Greeted, " 送了贺卡 ", "mgr-1", 480)
        .unwrap();
    assert_eq!(
        (closed.kind, closed.household_id.as_str(), closed.note.as_str()),
        (ReminderKind::Birthday, h.id.as_str(), "送了贺卡")
    );
    p.store.close_reminder("g1", TODAY, &drop.key, ReminderResolution::Retained, "", "mgr-1", 480).unwrap();
    assert!(p.store.reminders("g1", TODAY).unwrap().is_empty(), "both closed");
    assert_eq!(p.store.reminder_outcomes("g1").unwrap().len(), 2);
    let pending: Vec<EntityKind> = p.store.pending_ops(100).unwrap().into_iter().map(|o| o.kind).collect();
    assert_eq!(pending.iter().filter(|k| **k == EntityKind::ReminderOutcome).count(), 2, "closures sync");

    // closing again, or a key that is not open, is refused
    let again = p.store.close_reminder("g1", TODAY, &birthday.key, ReminderResolution::Greeted, "", "mgr-1", 480);
    assert!(matches!(again, Err(Error::NotFound { .. })), "{again:?}");
    let unknown =
        p.store.close_reminder("g1", TODAY, "birthday:nobody:2026", ReminderResolution::Greeted, "", "mgr-1", 480);
    assert!(matches!(unknown, Err(Error::NotFound { .. })));
    assert!(p.store.reminders("g1", "22/11/2026").is_err());

    // next year's birthday, and next month's drop, are new reminders
    let next_year = p.store.reminders("g1", "2027-11-22").unwrap();
    assert_eq!(next_year.iter().map(|r| r.key.clone()).collect::<Vec<_>>(), vec![format!("birthday:{}:2027", h.id)]);
    let mut december = profile.clone();
    december.period = "2026-12".into();
    p.write_as_backoffice(&december);
    let keys: Vec<String> = p.store.reminders("g1", TODAY).unwrap().into_iter().map(|r| r.key).collect();
    assert_eq!(keys, vec![format!("spend_drop_stage1:{}:2026-12", profile.id)]);
}

#[test]
fn closures_pulled_from_another_phone_close_the_reminder_here() {
    let mut a = Phone::new();
    let mut h = household_n("g1", 1);
    h.birthday = "1980-11-25".into();
    let h = a.store.create_household(h).unwrap();
    let key = format!("birthday:{}:2026", h.id);
    // the closure as another phone recorded it
    let mut other = testing::reminder_outcome("g1", &h.id, &key);
    other.id = new_id();
    a.write_as_backoffice(&other);
    assert!(a.store.reminders("g1", TODAY).unwrap().is_empty());
}

#[test]
fn reminders_show_personal_data_masked() {
    let mut p = Phone::new();
    let mut h = household_n("g1", 1);
    h.birthday = "1980-11-25".into();
    let h = p.store.create_household(h).unwrap();
    p.profile(&h.id, "13912345678", |b| b.suspension_risk = true);
    p.account(&h.id, |a| {
        (a.payment_type, a.balance_fen, a.service_number) = (PaymentType::Prepaid, Some(500), "0731-88886666".into())
    });
    let all = p.store.reminders("g1", TODAY).unwrap();
    assert_eq!(all.len(), 3);
    let text = serde_json::to_string(&all).unwrap();
    for secret in ["13912345678", "0731-88886666", "88886666", "1980", &h.id_number, &h.mobile] {
        assert!(!text.contains(secret), "{secret} shown in full: {text}");
    }
    assert_eq!(all[0].service_number, "139****5678");
    assert_eq!(all.iter().find(|r| r.kind == ReminderKind::Birthday).unwrap().date, "2026-11-25", "no birth year");
}

#[test]
fn the_day_plan_carries_the_days_reminders_at_their_doors() {
    let mut p = Phone::new();
    let h = p.household(1, "王芳");
    p.profile(&h.id, "13912345678", |b| b.contract_end = "2026-12-31".into());
    let plan = p.store.day_plan("g1", TODAY, 480).unwrap();
    assert_eq!(plan.stops.len(), 1);
    assert_eq!(plan.stops[0].household_id, h.id);
    match &plan.stops[0].items[..] {
        [crate::field::workday::PlanItem::ReminderItem { reminder: r }] => {
            assert_eq!(r.kind, ReminderKind::ContractExpiry)
        }
        other => panic!("expected one reminder, got {other:?}"),
    }
}

#[test]
fn every_reminder_query_reads_through_an_index() {
    let p = Phone::new();
    let plans: Vec<String> = p
        .store
        .read(|c| {
            let plan = |sql: &str| -> Result<String> {
                let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                let rows: Vec<String> = stmt.query_map([], |r| r.get::<_, String>(3))?.collect::<std::result::Result<_, _>>()?;
                Ok(rows.join(" | "))
            };
            Ok(vec![
                plan("SELECT * FROM billing_profiles WHERE grid_id = 'g1' AND contract_end >= '2026-11-22' AND contract_end <= '2027-01-22' AND coalesce(deleted, 0) = 0")?,
                plan("SELECT * FROM billing_profiles WHERE grid_id = 'g1' AND plan_end >= '2026-11-22' AND plan_end <= '2027-01-22' AND coalesce(deleted, 0) = 0")?,
                plan("SELECT * FROM billing_profiles WHERE grid_id = 'g1' AND spend_fen < baseline_fen AND coalesce(deleted, 0) = 0")?,
                plan("SELECT * FROM billing_profiles WHERE grid_id = 'g1' AND (suspension_risk = 1 OR suspended = 1) AND coalesce(deleted, 0) = 0")?,
                plan("SELECT * FROM arrears_accounts WHERE grid_id = 'g1' AND payment_type = 'prepaid' AND balance_fen < 1000 AND coalesce(deleted, 0) = 0")?,
                plan("SELECT * FROM arrears_accounts WHERE grid_id = 'g1' AND owed_fen > 0 AND payment_type = 'postpaid' AND months_overdue >= 2 AND coalesce(deleted, 0) = 0")?,
                plan("SELECT id FROM households WHERE grid_id = 'g1' AND birthday <> '' AND substr(birthday, 6) IN ('11-22', '11-23') AND coalesce(deleted, 0) = 0")?,
                plan("SELECT reminder_key FROM reminder_outcomes WHERE grid_id = 'g1'")?,
            ])
        })
        .unwrap();
    let indexes = [
        "billing_by_contract_end",
        "billing_by_plan_end",
        "billing_spend_drops",
        "billing_at_risk",
        "arrears_prepaid_balance",
        "arrears_by_grid",
        "households_by_birthday",
        "reminder_outcomes_by_key",
    ];
    for (plan, index) in plans.iter().zip(indexes) {
        assert!(plan.contains(index), "expected {index}: {plan}");
    }
}
