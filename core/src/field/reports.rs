//! Read-only views over the archive: a household's history, the grid's arrears list, and the grid
//! summary (网格信息档案汇总).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::{ArrearsAccount, ArrearsNotice, Household, Premises, PremisesType, Receipt, Visit};
use crate::store::entity_table;
use crate::store::Store;

/// One event in a household's history. The variants are not named after the records they carry,
/// and their fields are named: in Kotlin a variant is a class nested in the enum's, and one named
/// `Visit` would hide the record `Visit` (so the bindings export this enum as it is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum HistoryEntry {
    /// A visit.
    VisitEntry {
        /// The visit recorded.
        visit: Visit,
    },
    /// An arrears notice given.
    NoticeEntry {
        /// The notice recorded.
        notice: ArrearsNotice,
    },
    /// Money collected.
    ReceiptEntry {
        /// The receipt.
        receipt: Receipt,
        /// Whether it was voided since.
        voided: bool,
    },
}

impl HistoryEntry {
    pub fn at_ms(&self) -> i64 {
        match self {
            HistoryEntry::VisitEntry { visit } => visit.arrived_at_ms,
            HistoryEntry::NoticeEntry { notice } => notice.given_at_ms,
            HistoryEntry::ReceiptEntry { receipt, .. } => receipt.collected_at_ms,
        }
    }
}

/// A line of the grid's arrears list, largest debt first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ArrearsLine {
    /// The account as last known from the back office.
    pub account: ArrearsAccount,
    /// The household's customer name.
    pub customer_name: String,
    /// The household's address.
    pub address: String,
    /// Collected on this phone and not yet acknowledged by the server, fen.
    pub collected_unsynced_fen: i64,
    /// Last known debt minus what this phone collected since (never below zero), fen.
    pub remaining_fen: i64,
}

/// Households using one product (ours, or another operator's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ProductCount {
    /// Our product (broadband, fixed, mobile, bundle …) or the other operator's name.
    pub name: String,
    /// Households using it.
    pub households: i64,
    /// Households using it per 10,000 households (basis points): 占有率.
    pub penetration_bp: i64,
}

/// 网格信息档案汇总: the grid in numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct GridSummary {
    /// The grid.
    pub grid_id: String,
    /// Household archives.
    pub households: i64,
    /// 楼宇
    pub buildings: i64,
    /// 平房
    pub bungalows: i64,
    /// 商铺
    pub shops: i64,
    /// Households with none of our services (prospects).
    pub prospects: i64,
    /// Our products, most used first.
    pub own_products: Vec<ProductCount>,
    /// Other operators, most used first.
    pub competitors: Vec<ProductCount>,
}

/// Users per 10,000 households, rounded half up (not truncated): 33.197 % is 3,320 bp, shown
/// 33.20 %.
fn penetration(users: i64, households: i64) -> i64 {
    if households <= 0 {
        0
    } else {
        (users.saturating_mul(20_000).saturating_add(households)) / households.saturating_mul(2)
    }
}

impl GridSummary {
    /// 网格信息档案汇总 of live (not deleted) premises and households: the one computation, used by
    /// the phone (`Store::grid_summary`) and by the back office's export (per grid and per building).
    pub fn of(grid_id: &str, premises: &[Premises], households: &[Household]) -> GridSummary {
        let total = households.len() as i64;
        let of_type = |t: PremisesType| premises.iter().filter(|p| p.premises_type == t).count() as i64;
        // each household counts once per product name, however many lines it holds of it
        let count = |names: &dyn Fn(&Household) -> Vec<&str>| -> Vec<ProductCount> {
            let mut users: BTreeMap<&str, i64> = BTreeMap::new();
            for h in households {
                for name in names(h).into_iter().collect::<BTreeSet<_>>() {
                    *users.entry(name).or_default() += 1;
                }
            }
            let mut out: Vec<ProductCount> = users
                .into_iter()
                .map(|(name, n)| ProductCount {
                    name: name.to_string(),
                    households: n,
                    penetration_bp: penetration(n, total),
                })
                .collect();
            out.sort_by(|a, b| b.households.cmp(&a.households).then_with(|| a.name.cmp(&b.name)));
            out
        };
        GridSummary {
            grid_id: grid_id.to_string(),
            households: total,
            buildings: of_type(PremisesType::Building),
            bungalows: of_type(PremisesType::Bungalow),
            shops: of_type(PremisesType::Shop),
            prospects: households.iter().filter(|h| h.services.is_empty()).count() as i64,
            own_products: count(&|h| h.services.iter().map(|s| s.product.as_str()).collect()),
            competitors: count(&|h| h.competitor_services.iter().map(|s| s.operator.as_str()).collect()),
        }
    }
}

/// Money collected on this phone and not yet acknowledged by the server, per account (of one
/// account when given), voided receipts left out. The server lowers an account's `owed_fen` by
/// each receipt it accepts, and the phone pulls that, so what is still owed is `owed_fen` less
/// these. One pass over the outbox (it is not indexed by entity: store/schema.rs version 5).
pub(crate) fn collected_unsynced(c: &rusqlite::Connection, account_id: Option<&str>) -> Result<HashMap<String, i64>> {
    Ok(c.prepare_cached(
        "SELECT r.account_id, coalesce(sum(CASE WHEN r.amount_fen BETWEEN -10000000000 AND 10000000000 THEN r.amount_fen END), 0) FROM receipts r
         WHERE r.id IN (SELECT entity_id FROM outbox WHERE kind = 'receipt')
           AND (?1 IS NULL OR r.account_id = ?1)
           AND NOT EXISTS (SELECT 1 FROM receipt_voids v WHERE v.receipt_id = r.id)
         GROUP BY r.account_id",
    )?
    .query_map([account_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
    .collect::<rusqlite::Result<_>>()?)
}

/// What is still owed on an account after what this phone collected and has not synced yet.
pub(crate) fn remaining(owed_fen: i64, collected_unsynced_fen: i64) -> i64 {
    owed_fen.saturating_sub(collected_unsynced_fen).max(0)
}

impl Store {
    /// Visits, notices and receipts of one household, oldest first.
    pub fn household_history(&self, household_id: &str) -> Result<Vec<HistoryEntry>> {
        self.read(|c| {
            let mut out: Vec<HistoryEntry> = Vec::new();
            let visits: Vec<Visit> =
                entity_table::query(c, "household_id = ?1 ORDER BY arrived_at_ms", [household_id])?;
            out.extend(visits.into_iter().map(|visit| HistoryEntry::VisitEntry { visit }));
            let notices: Vec<ArrearsNotice> =
                entity_table::query(c, "household_id = ?1 ORDER BY given_at_ms", [household_id])?;
            out.extend(notices.into_iter().map(|notice| HistoryEntry::NoticeEntry { notice }));
            let receipts: Vec<Receipt> =
                entity_table::query(c, "household_id = ?1 ORDER BY collected_at_ms", [household_id])?;
            let mut voided = c.prepare_cached("SELECT 1 FROM receipt_voids WHERE receipt_id = ?1 LIMIT 1")?;
            for receipt in receipts {
                let is_voided = voided.exists([&receipt.id])?;
                out.push(HistoryEntry::ReceiptEntry { receipt, voided: is_voided });
            }
            // each list is index-ordered; a stable sort merges them
            out.sort_by_key(HistoryEntry::at_ms);
            Ok(out)
        })
    }

    /// The grid's arrears, largest debt first, then longest overdue, with what this phone has
    /// collected and not yet synced.
    pub fn grid_arrears(&self, grid_id: &str) -> Result<Vec<ArrearsLine>> {
        self.read(|c| {
            let accounts: Vec<ArrearsAccount> = entity_table::query(
                c,
                "grid_id = ?1 AND owed_fen > 0 AND coalesce(deleted, 0) = 0 ORDER BY owed_fen DESC, months_overdue DESC",
                [grid_id],
            )?;
            let mut household = c.prepare_cached("SELECT coalesce(customer_name, ''), coalesce(address, '') FROM households WHERE id = ?1")?;
            let unsynced = collected_unsynced(c, None)?;
            let mut lines = Vec::with_capacity(accounts.len());
            for account in accounts {
                let (customer_name, address) = household
                    .query_row([&account.household_id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap_or_default();
                let collected = unsynced.get(&account.id).copied().unwrap_or(0);
                lines.push(ArrearsLine {
                    remaining_fen: remaining(account.owed_fen, collected),
                    collected_unsynced_fen: collected,
                    customer_name,
                    address,
                    account,
                });
            }
            Ok(lines)
        })
    }

    pub fn grid_summary(&self, grid_id: &str) -> Result<GridSummary> {
        self.read(|c| {
            const LIVE: &str = "grid_id = ?1 AND coalesce(deleted, 0) = 0";
            let premises: Vec<Premises> = entity_table::query(c, LIVE, [grid_id])?;
            let households: Vec<Household> = entity_table::query(c, LIVE, [grid_id])?;
            Ok(GridSummary::of(grid_id, &premises, &households))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CompetitorService, OwnService};
    use crate::testing;

    #[test]
    fn the_summary_counts_each_household_once_per_product() {
        let mut two_lines = testing::household("g1");
        two_lines.services = vec![
            OwnService { product: "mobile".into(), service_number: "13800000001".into(), ..Default::default() },
            OwnService { product: "mobile".into(), service_number: "13800000002".into(), ..Default::default() },
        ];
        two_lines.competitor_services =
            vec![CompetitorService { operator: "china_mobile".into(), product: "mobile".into(), notes: String::new() }];
        let mut prospect = testing::household("g1");
        prospect.services.clear();
        prospect.competitor_services.clear();
        let mut shop = testing::premises("g1", 2);
        shop.premises_type = PremisesType::Shop;
        let s = GridSummary::of("g1", &[testing::premises("g1", 1), shop], &[two_lines, prospect.clone(), prospect]);
        assert_eq!((s.households, s.buildings, s.shops, s.bungalows, s.prospects), (3, 1, 1, 0, 2));
        assert_eq!(s.own_products, vec![ProductCount { name: "mobile".into(), households: 1, penetration_bp: 3_333 }]);
        assert_eq!(s.competitors[0].households, 1);
        assert_eq!(GridSummary::of("g1", &[], &[]).households, 0, "no division by zero");
    }

    #[test]
    fn shares_round_half_up_not_down() {
        // 2 of 3 is 66.666… %: 6,667 bp, not 6,666; 33.197 % (1,241 of 3,738) is 3,320 bp
        assert_eq!((penetration(2, 3), penetration(1, 3), penetration(1_241, 3_738)), (6_667, 3_333, 3_320));
        assert_eq!((penetration(1, 8), penetration(3, 3), penetration(0, 0)), (1_250, 10_000, 0));
    }
}
