//! The money controls of the back office (issue 18, docs/money.md): receipts paged with their
//! flags — over-collection (more than the account owed when the receipt arrived) and an
//! `owed_before` that differs from the account — and the cash hand-in (交款): a manager's cash
//! receipts handed in to the business hall, each receipt once, the sum checked in fen. The rules
//! are here, the same on every backend; sqlite/money.rs and postgres/money.rs read and write.

use std::collections::{BTreeMap, HashSet};

use gridbook_core::sync::wire::ErrorCode;
use serde::{Deserialize, Serialize};

use super::error::{StorageError, StorageResult};
use crate::storage::evidence::local_day;

/// The most receipts one hand-in may carry.
pub const MAX_HAND_IN_RECEIPTS: usize = 500;
/// The longest note on a hand-in.
pub const MAX_HAND_IN_NOTE: usize = 200;

/// The flag of a receipt for more than its account owed when it arrived.
pub const FLAG_OVER_COLLECTED: &str = "over_collected";
/// The flag of a receipt whose `owed_before_fen` is not what its account owed when it arrived.
pub const FLAG_OWED_BEFORE_DIFFERS: &str = "owed_before_differs";

/// A receipt as the money pages list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MoneyReceipt {
    pub id: String,
    pub receipt_no: String,
    pub grid_id: String,
    pub account_id: String,
    pub household_id: String,
    /// The debt the phone showed before this payment.
    pub owed_before_fen: i64,
    pub amount_fen: i64,
    pub cash_received_fen: i64,
    pub change_fen: i64,
    pub method: String,
    pub collected_at_ms: i64,
    pub zone_offset_min: i64,
    pub collector_id: String,
    pub collector_name: Option<String>,
    pub device_id: String,
    pub signed: bool,
    /// What the server's account owed when the receipt arrived, before the receipt lowered it;
    /// None when the server held no such account or the receipt came before this was kept.
    pub owed_at_arrival_fen: Option<i64>,
    /// "pending", "approved" or "refused" when a void was requested (an approved one first).
    pub void_status: Option<String>,
    /// The hand-in that carried this receipt's cash.
    pub hand_in_id: Option<String>,
    /// [`FLAG_OVER_COLLECTED`], [`FLAG_OWED_BEFORE_DIFFERS`].
    pub flags: Vec<&'static str>,
}

impl MoneyReceipt {
    /// The receipt's flags from the account's figure at arrival (none without one).
    pub fn with_flags(mut self) -> Self {
        self.flags = flags(self.amount_fen, self.owed_before_fen, self.owed_at_arrival_fen);
        self
    }
}

/// The flags of a receipt: paid more than the account owed when it arrived; showed the customer
/// another debt than the account's.
pub fn flags(amount_fen: i64, owed_before_fen: i64, owed_at_arrival_fen: Option<i64>) -> Vec<&'static str> {
    let Some(owed) = owed_at_arrival_fen else { return vec![] };
    let mut out = vec![];
    if amount_fen > owed {
        out.push(FLAG_OVER_COLLECTED);
    }
    if owed_before_fen != owed {
        out.push(FLAG_OWED_BEFORE_DIFFERS);
    }
    out
}

/// Which receipts a page of the money list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct MoneyQuery {
    /// Only receipts with a flag.
    #[serde(default)]
    pub flagged: bool,
    /// Only this manager's.
    #[serde(default)]
    pub collector: Option<String>,
    /// Only cash not handed in yet (and not voided): what a hand-in may carry.
    #[serde(default)]
    pub not_handed_in: bool,
    /// Only this receipt number.
    #[serde(default)]
    pub receipt_no: Option<String>,
    #[serde(default)]
    pub offset: u32,
    #[serde(default)]
    pub limit: u32,
    /// Only receipts of these grids (a supervisor's: `workbench::Visible`); None: every grid.
    /// Never from the query string: the session decides it.
    #[serde(skip)]
    pub grids: Option<Vec<String>>,
}

/// A page of receipts, newest first, with the count and sum of all that match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MoneyPage {
    /// Receipts that match, on every page.
    pub total: i64,
    /// Their amount, voids approved left out.
    pub total_fen: i64,
    pub offset: u32,
    pub receipts: Vec<MoneyReceipt>,
}

/// A hand-in as the back office records it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HandInRequest {
    /// The manager whose cash it is.
    pub manager_id: String,
    /// The receipts whose cash is handed in.
    pub receipt_ids: Vec<String>,
    /// The cash counted at the counter, fen: must be the receipts' sum.
    pub amount_fen: i64,
    #[serde(default)]
    pub note: String,
}

/// A recorded hand-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandInRow {
    pub id: String,
    pub manager_id: String,
    pub manager_name: Option<String>,
    pub amount_fen: i64,
    pub receipt_count: i64,
    /// The staff member who received the cash.
    pub received_by: String,
    pub handed_in_at_ms: i64,
    pub note: String,
}

/// A receipt as a hand-in checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandInCandidate {
    pub id: String,
    pub receipt_no: String,
    pub collector_id: String,
    pub method: String,
    pub amount_fen: i64,
    pub void_approved: bool,
    pub handed_in: bool,
}

/// A cash receipt as the day's account of cash reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashLine {
    /// The grid the receipt was collected in (a supervisor sees their grids' cash only).
    pub grid_id: String,
    pub collector_id: String,
    pub collector_name: Option<String>,
    pub amount_fen: i64,
    pub collected_at_ms: i64,
    pub zone_offset_min: i64,
    pub handed_in: bool,
}

/// A manager's cash of one day (the phone's calendar): collected, handed in, still out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CashDay {
    pub manager_id: String,
    pub manager_name: Option<String>,
    pub day: String,
    pub collected_count: i64,
    pub collected_fen: i64,
    pub handed_in_fen: i64,
    /// Collected and not handed in.
    pub outstanding_count: i64,
    pub outstanding_fen: i64,
}

pub trait MoneyStorage: Send + Sync + 'static {
    /// Receipts that match `q`, newest first, `q.limit` (1–500) from `q.offset`.
    fn money_receipts(&self, q: &MoneyQuery) -> StorageResult<MoneyPage>;
    /// Records a hand-in (checked by [`check_hand_in`]) with an audit row, in one transaction.
    fn record_hand_in(&self, id: &str, request: &HandInRequest, by: &str, now_ms: i64) -> StorageResult<HandInRow>;
    /// One page of the hand-ins of `page.managers` (every manager's when `page.grids` is None),
    /// newest first, with the count of all of them.
    fn hand_ins(&self, page: &crate::storage::ListPage) -> StorageResult<(u64, Vec<HandInRow>)>;
    /// Cash receipts collected from `since_ms` on, voids approved left out.
    fn cash_lines(&self, since_ms: i64) -> StorageResult<Vec<CashLine>>;
    /// What each collector of grid `grid_id` collected in [start_ms, end_ms) and has handed in,
    /// fen, by collector id: the home page's "handed in", summed where the rows are rather than
    /// every handed-in receipt of the grid read on each load. A sum beyond 64 bits is an error.
    fn handed_in_fen(&self, grid_id: &str, start_ms: i64, end_ms: i64) -> StorageResult<Vec<(String, i64)>>;
}

/// The page bounds a query asks for: at least one row, at most 500.
pub fn page_limit(q: &MoneyQuery) -> i64 {
    i64::from(q.limit.clamp(1, 500))
}

/// Checks a hand-in against its receipts as stored: the request is bounded, every receipt exists,
/// is cash, is the manager's, is not voided and not handed in; the declared amount is their sum.
/// Answers the sum.
pub fn check_hand_in(request: &HandInRequest, found: &[HandInCandidate]) -> StorageResult<i64> {
    if request.manager_id.trim().is_empty() {
        return Err(StorageError::invalid("manager_id: 请选择经理 choose the manager"));
    }
    if request.receipt_ids.is_empty() || request.receipt_ids.len() > MAX_HAND_IN_RECEIPTS {
        return Err(StorageError::invalid(format!(
            "receipt_ids: 选择 1 至 {MAX_HAND_IN_RECEIPTS} 张收据 choose 1 to {MAX_HAND_IN_RECEIPTS} receipts"
        )));
    }
    if request.note.chars().count() > MAX_HAND_IN_NOTE {
        return Err(StorageError::invalid(format!(
            "note: 最多 {MAX_HAND_IN_NOTE} 字 at most {MAX_HAND_IN_NOTE} characters"
        )));
    }
    let mut seen = HashSet::new();
    let mut sum: i64 = 0;
    for id in &request.receipt_ids {
        if !seen.insert(id.as_str()) {
            return Err(StorageError::invalid(format!("receipt_ids: 收据 {id} 重复 listed twice")));
        }
        let r = found
            .iter()
            .find(|r| &r.id == id)
            .ok_or_else(|| StorageError::not_found(format!("没有此收据 no receipt {id}")))?;
        if r.collector_id != request.manager_id {
            return Err(StorageError::invalid(format!(
                "收据 {} 不是该经理收的款 receipt {} was collected by another manager",
                r.receipt_no, r.receipt_no
            )));
        }
        if r.method != "cash" {
            return Err(StorageError::invalid(format!(
                "收据 {} 不是现金收款 receipt {} was not paid in cash: no cash to hand in",
                r.receipt_no, r.receipt_no
            )));
        }
        if r.void_approved {
            return Err(StorageError::conflict(
                ErrorCode::AlreadyVoided,
                format!("收据 {} 已作废 receipt {} is voided", r.receipt_no, r.receipt_no),
            ));
        }
        if r.handed_in {
            return Err(StorageError::conflict(
                ErrorCode::AlreadyHandedIn,
                format!("收据 {} 的现金已交 receipt {} was handed in already", r.receipt_no, r.receipt_no),
            ));
        }
        sum = sum
            .checked_add(r.amount_fen)
            .ok_or_else(|| StorageError::invalid("amount_fen: 金额过大 the receipts' sum is too large"))?;
    }
    if request.amount_fen != sum {
        return Err(StorageError::invalid(format!(
            "amount_fen: 交款金额 {} 分与收据合计 {sum} 分不符 the cash counted, {} fen, is not the receipts' sum, {sum} fen",
            request.amount_fen, request.amount_fen
        )));
    }
    Ok(sum)
}

/// Each manager's cash per day from `since_day` (YYYY-MM-DD) on, newest day first, then by manager.
pub fn cash_days(lines: &[CashLine], since_day: &str) -> StorageResult<Vec<CashDay>> {
    let mut days: BTreeMap<(String, String), CashDay> = BTreeMap::new();
    let overflow = || StorageError::internal("a day's cash overflows 64 bits");
    for l in lines {
        let Some(day) = local_day(l.collected_at_ms, l.zone_offset_min) else { continue };
        if day.as_str() < since_day {
            continue;
        }
        let d = days.entry((day.clone(), l.collector_id.clone())).or_insert_with(|| CashDay {
            manager_id: l.collector_id.clone(),
            manager_name: l.collector_name.clone(),
            day,
            collected_count: 0,
            collected_fen: 0,
            handed_in_fen: 0,
            outstanding_count: 0,
            outstanding_fen: 0,
        });
        d.collected_count += 1;
        d.collected_fen = d.collected_fen.checked_add(l.amount_fen).ok_or_else(overflow)?;
        if l.handed_in {
            d.handed_in_fen = d.handed_in_fen.checked_add(l.amount_fen).ok_or_else(overflow)?;
        } else {
            d.outstanding_count += 1;
            d.outstanding_fen = d.outstanding_fen.checked_add(l.amount_fen).ok_or_else(overflow)?;
        }
    }
    let mut out: Vec<CashDay> = days.into_values().collect();
    out.sort_by(|a, b| b.day.cmp(&a.day).then_with(|| a.manager_id.cmp(&b.manager_id)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: &str, amount_fen: i64) -> HandInCandidate {
        HandInCandidate {
            id: id.into(),
            receipt_no: format!("SJ-{id}"),
            collector_id: "m1".into(),
            method: "cash".into(),
            amount_fen,
            void_approved: false,
            handed_in: false,
        }
    }

    fn request(ids: &[&str], amount_fen: i64) -> HandInRequest {
        HandInRequest {
            manager_id: "m1".into(),
            receipt_ids: ids.iter().map(|s| s.to_string()).collect(),
            amount_fen,
            note: String::new(),
        }
    }

    #[test]
    fn a_hand_in_is_the_exact_sum_of_the_managers_cash_receipts_each_once() {
        let found = [candidate("a", 12_800), candidate("b", 5_001)];
        assert_eq!(check_hand_in(&request(&["a", "b"], 17_801), &found).unwrap(), 17_801);
        let short = check_hand_in(&request(&["a", "b"], 17_800), &found).unwrap_err();
        assert_eq!(short.code(), ErrorCode::Invalid);
        assert!(short.to_string().contains("17801"), "{short}");
        assert_eq!(check_hand_in(&request(&["a", "a"], 25_600), &found).unwrap_err().code(), ErrorCode::Invalid);
        assert_eq!(check_hand_in(&request(&["zz"], 1), &found).unwrap_err().code(), ErrorCode::NotFound);
        assert_eq!(check_hand_in(&request(&[], 0), &found).unwrap_err().code(), ErrorCode::Invalid);

        let mut other = found.clone();
        other[0].handed_in = true;
        assert_eq!(check_hand_in(&request(&["a"], 12_800), &other).unwrap_err().code(), ErrorCode::AlreadyHandedIn);
        other[0] = HandInCandidate { void_approved: true, ..candidate("a", 12_800) };
        assert_eq!(check_hand_in(&request(&["a"], 12_800), &other).unwrap_err().code(), ErrorCode::AlreadyVoided);
        other[0] = HandInCandidate { method: "wechat".into(), ..candidate("a", 12_800) };
        assert_eq!(check_hand_in(&request(&["a"], 12_800), &other).unwrap_err().code(), ErrorCode::Invalid);
        other[0] = HandInCandidate { collector_id: "m2".into(), ..candidate("a", 12_800) };
        assert_eq!(check_hand_in(&request(&["a"], 12_800), &other).unwrap_err().code(), ErrorCode::Invalid);
        let huge = [candidate("a", i64::MAX), candidate("b", 1)];
        assert_eq!(check_hand_in(&request(&["a", "b"], 0), &huge).unwrap_err().code(), ErrorCode::Invalid);
    }

    #[test]
    fn receipts_are_flagged_against_the_account_at_arrival() {
        assert_eq!(flags(58_139, 58_139, Some(58_139)), Vec::<&str>::new());
        assert_eq!(flags(138_139, 58_139, Some(58_139)), vec![FLAG_OVER_COLLECTED]);
        assert_eq!(flags(10_000, 58_139, Some(40_000)), vec![FLAG_OWED_BEFORE_DIFFERS]);
        assert_eq!(flags(50_000, 58_139, Some(40_000)), vec![FLAG_OVER_COLLECTED, FLAG_OWED_BEFORE_DIFFERS]);
        assert_eq!(flags(50_000, 1, None), Vec::<&str>::new(), "no account figure, no flag");
    }

    #[test]
    fn cash_is_counted_per_manager_and_phone_day() {
        // 2024-05-01 17:30 UTC is 2024-05-02 01:30 in Beijing
        let at = 1_714_584_600_000;
        let line = |who: &str, fen: i64, at: i64, handed_in: bool| CashLine {
            grid_id: "g1".into(),
            collector_id: who.into(),
            collector_name: None,
            amount_fen: fen,
            collected_at_ms: at,
            zone_offset_min: 480,
            handed_in,
        };
        let lines = [
            line("m1", 100, at, true),
            line("m1", 250, at, false),
            line("m2", 7, at, false),
            line("m1", 1_000, at - 86_400_000, false),
            line("m1", 5, at - 3 * 86_400_000, false),
        ];
        let days = cash_days(&lines, "2024-05-01").unwrap();
        let got: Vec<_> = days
            .iter()
            .map(|d| (d.day.as_str(), d.manager_id.as_str(), d.collected_fen, d.handed_in_fen, d.outstanding_fen))
            .collect();
        assert_eq!(
            got,
            [("2024-05-02", "m1", 350, 100, 250), ("2024-05-02", "m2", 7, 0, 7), ("2024-05-01", "m1", 1_000, 0, 1_000)]
        );
        assert_eq!(days[0].outstanding_count, 1);
    }
}
