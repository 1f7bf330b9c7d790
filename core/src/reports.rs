//! Read-only views over the archive: a household's history, the grid's arrears list, and the grid
//! summary (网格信息档案汇总).

use std::collections::HashMap;

use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::entity_table;
use crate::error::Result;
use crate::model::{ArrearsAccount, ArrearsNotice, Receipt, Visit};
use crate::store::Store;

/// One event in a household's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HistoryEntry {
    Visit(Visit),
    Notice(ArrearsNotice),
    Receipt { receipt: Receipt, voided: bool },
}

impl HistoryEntry {
    pub fn at_ms(&self) -> i64 {
        match self {
            HistoryEntry::Visit(v) => v.arrived_at_ms,
            HistoryEntry::Notice(n) => n.given_at_ms,
            HistoryEntry::Receipt { receipt, .. } => receipt.collected_at_ms,
        }
    }
}

/// A line of the grid's arrears list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrearsLine {
    pub account: ArrearsAccount,
    pub customer_name: String,
    pub address: String,
    /// Collected on this phone and not yet acknowledged by the server.
    pub collected_unsynced_fen: i64,
    /// Last known debt minus what this phone collected since (never below zero).
    pub remaining_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductCount {
    /// Our product (broadband, fixed, mobile, bundle …) or the other operator's name.
    pub name: String,
    pub households: i64,
    /// Households using it per 10,000 households (basis points): 占有率.
    pub penetration_bp: i64,
}

/// 网格信息档案汇总.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridSummary {
    pub grid_id: String,
    pub households: i64,
    pub buildings: i64,
    pub bungalows: i64,
    pub shops: i64,
    /// Households with none of our services (prospects).
    pub prospects: i64,
    pub own_products: Vec<ProductCount>,
    pub competitors: Vec<ProductCount>,
}

fn penetration(users: i64, households: i64) -> i64 {
    if households == 0 {
        0
    } else {
        users * 10_000 / households
    }
}

impl Store {
    /// Visits, notices and receipts of one household, oldest first.
    pub fn household_history(&self, household_id: &str) -> Result<Vec<HistoryEntry>> {
        self.read(|c| {
            let mut out: Vec<HistoryEntry> = Vec::new();
            let visits: Vec<Visit> = entity_table::query(c, "household_id = ?1 ORDER BY arrived_at_ms", [household_id])?;
            out.extend(visits.into_iter().map(HistoryEntry::Visit));
            let notices: Vec<ArrearsNotice> = entity_table::query(c, "household_id = ?1 ORDER BY given_at_ms", [household_id])?;
            out.extend(notices.into_iter().map(HistoryEntry::Notice));
            let receipts: Vec<Receipt> = entity_table::query(c, "household_id = ?1 ORDER BY collected_at_ms", [household_id])?;
            let mut voided = c.prepare_cached("SELECT 1 FROM receipt_voids WHERE receipt_id = ?1 LIMIT 1")?;
            for receipt in receipts {
                let is_voided = voided.exists([&receipt.id])?;
                out.push(HistoryEntry::Receipt { receipt, voided: is_voided });
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
            // money collected on this phone and not yet acknowledged, per account, in one pass
            // (the outbox is not indexed by entity: schema.rs version 5)
            let unsynced: HashMap<String, i64> = c
                .prepare_cached(
                    "SELECT r.account_id, sum(r.amount_fen) FROM receipts r
                     WHERE r.id IN (SELECT entity_id FROM outbox WHERE kind = 'receipt')
                       AND NOT EXISTS (SELECT 1 FROM receipt_voids v WHERE v.receipt_id = r.id)
                     GROUP BY r.account_id",
                )?
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut lines = Vec::with_capacity(accounts.len());
            for account in accounts {
                let (customer_name, address) = household
                    .query_row([&account.household_id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap_or_default();
                let collected = unsynced.get(&account.id).copied().unwrap_or(0);
                lines.push(ArrearsLine {
                    remaining_fen: (account.owed_fen - collected).max(0),
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
            let households: i64 =
                c.query_row(&format!("SELECT count(*) FROM households WHERE {LIVE}"), [grid_id], |r| r.get(0))?;
            let premises = |kind: &str| -> Result<i64> {
                Ok(c.query_row(
                    &format!("SELECT count(*) FROM premises WHERE {LIVE} AND premises_type = ?2"),
                    params![grid_id, kind],
                    |r| r.get(0),
                )?)
            };
            let counts = |json_col: &str, key: &str| -> Result<Vec<ProductCount>> {
                let sql = format!(
                    "SELECT json_extract(j.value, '$.{key}') AS name, count(DISTINCT h.id) FROM households h, json_each(h.{json_col}) j
                     WHERE h.grid_id = ?1 AND coalesce(h.deleted, 0) = 0 GROUP BY name ORDER BY count(DISTINCT h.id) DESC, name"
                );
                let mut stmt = c.prepare_cached(&sql)?;
                let rows = stmt.query_map([grid_id], |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?)))?;
                let mut out = Vec::new();
                for row in rows {
                    let (name, n) = row?;
                    out.push(ProductCount { name: name.unwrap_or_default(), households: n, penetration_bp: penetration(n, households) });
                }
                Ok(out)
            };
            let prospects: i64 = c.query_row(
                &format!("SELECT count(*) FROM households WHERE {LIVE} AND coalesce(json_array_length(services), 0) = 0"),
                [grid_id],
                |r| r.get(0),
            )?;
            Ok(GridSummary {
                grid_id: grid_id.to_string(),
                households,
                buildings: premises("building")?,
                bungalows: premises("bungalow")?,
                shops: premises("shop")?,
                prospects,
                own_products: counts("services", "product")?,
                competitors: counts("competitor_services", "operator")?,
            })
        })
    }
}
