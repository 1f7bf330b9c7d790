//! Exports of one grid as CSV or XLSX: the household archives (in the import template's columns),
//! visits and receipts (by local day, optionally within a date range) and the grid summary
//! (网格信息档案汇总, per grid and per building, computed by core's `GridSummary::of` like the
//! phone's). Personal data is masked exactly as the household pages mask it for the same role
//! (drilldown::mask_household) unless an admin asks for full values, and every unmasked export
//! leaves a line in the audit trail.

use std::collections::HashMap;

use gridbook_core::field::reports::{GridSummary, ProductCount};
use gridbook_core::field::workday::natural_cmp;
use gridbook_core::model::{ArrearsAccount, EntityKind, Household, Premises, Receipt, ReceiptVoid, Visit};
use gridbook_core::sync::wire::ErrorCode;

use super::archives::{self, record};
use super::import::GridIndex;
use super::labels;
use super::sheet::{self, Cell, Format};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::privacy::{mask_digit_runs, mask_name};
use crate::storage::SyncStorage;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    Archives,
    Visits,
    Receipts,
    Summary,
}

impl Dataset {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "archives" => Some(Dataset::Archives),
            "visits" => Some(Dataset::Visits),
            "receipts" => Some(Dataset::Receipts),
            "summary" => Some(Dataset::Summary),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Dataset::Archives => "archives",
            Dataset::Visits => "visits",
            Dataset::Receipts => "receipts",
            Dataset::Summary => "summary",
        }
    }
    /// The sheet's name in the workbook.
    fn sheet_name(self) -> &'static str {
        match self {
            Dataset::Archives => "客户档案",
            Dataset::Visits => "走访记录",
            Dataset::Receipts => "收据",
            Dataset::Summary => "网格信息档案汇总",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub dataset: Dataset,
    pub grid: String,
    pub format: Format,
    /// First and last local day (YYYY-MM-DD), both included; visits and receipts only.
    pub from: Option<String>,
    pub to: Option<String>,
    /// ID and phone numbers in full (admins only; audited).
    pub full: bool,
}

pub struct Exported {
    pub bytes: Vec<u8>,
    pub filename: String,
    pub content_type: &'static str,
    pub rows: usize,
    /// The photos the exported visits or receipts name, each once, in the rows' order (an export
    /// with its photos packs them beside the sheet: `domain::photo_export`).
    pub photos: Vec<String>,
}

fn day_arg(name: &str, value: &Option<String>) -> DomainResult<Option<String>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(|_| Some(d.to_string()))
            .map_err(|_| DomainError::refused(ErrorCode::BadQuery, format!("{name}: a date written YYYY-MM-DD"))),
    }
}

/// "YYYY-MM-DD HH:MM" of an instant in the zone it was recorded in.
fn local_time(at_ms: i64, zone_offset_min: i64) -> String {
    chrono::DateTime::from_timestamp_millis(at_ms + zone_offset_min * 60_000)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn in_range(local: &str, from: &Option<String>, to: &Option<String>) -> bool {
    let day = local.get(..10).unwrap_or("");
    from.as_deref().is_none_or(|f| day >= f) && to.as_deref().is_none_or(|t| day <= t)
}

fn text(s: impl Into<String>) -> Cell {
    let s = s.into();
    if s.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(s)
    }
}

/// Records of a kind in the grid that read as their type, tombstones left out.
fn records<R: gridbook_core::model::Record>(
    storage: &dyn SyncStorage,
    kind: EntityKind,
    grid: &str,
) -> DomainResult<Vec<R>> {
    Ok(storage.grid_records(kind, grid)?.iter().filter(|s| !s.deleted()).filter_map(record).collect())
}

pub fn export(storage: &dyn SyncStorage, req: &ExportRequest, actor: &str, now_ms: i64) -> DomainResult<Exported> {
    let from = day_arg("from", &req.from)?;
    let to = day_arg("to", &req.to)?;
    let index = GridIndex::load(storage, &req.grid)?;
    // the visits and receipts name the customer as the screens do (the surname) unless the export
    // is an admin's audited full one: one masking rule for the same role on screen and on paper
    let names: HashMap<&str, (String, &str)> = index
        .households
        .values()
        .map(|h| {
            let v = |f: &str| h.values.get(f).and_then(serde_json::Value::as_str).unwrap_or("");
            let name = if req.full { v("customer_name").to_string() } else { mask_name(v("customer_name")) };
            (h.id.as_str(), (name, v("address")))
        })
        .collect();
    let masked = |s: &str| if req.full { s.to_string() } else { mask_digit_runs(s) };
    let (mut photos, mut seen): (Vec<String>, std::collections::HashSet<String>) = Default::default();
    let mut named = |shas: &[String]| {
        for sha in shas {
            if seen.insert(sha.clone()) {
                photos.push(sha.clone());
            }
        }
    };
    let (headers, rows): (Vec<String>, Vec<Vec<Cell>>) = match req.dataset {
        Dataset::Archives => {
            // masked exactly as the household pages mask (drilldown::mask_household): the
            // surname only, phone and ID numbers masked, digit runs in free text masked
            let rows = archives::households(&index)
                .into_iter()
                .map(|h| if req.full { h } else { crate::domain::drilldown::mask_household(h) })
                .map(|h| archives::row(&h, &index, true))
                .collect();
            (archives::headers().into_iter().map(str::to_string).collect(), rows)
        }
        Dataset::Visits => {
            let mut visits: Vec<Visit> = records(storage, EntityKind::Visit, &req.grid)?;
            visits.sort_by_key(|v| v.arrived_at_ms);
            let headers = [
                "到达时间",
                "档案编号",
                "客户名称",
                "地址",
                "目的",
                "结果",
                "需求",
                "竞争信息",
                "意见",
                "未答问题",
                "承诺回复",
                "承诺回复时限",
                "预约时间",
                "客户签字",
                "客户经理",
                "照片",
            ];
            let rows = visits
                .iter()
                .map(|v| (local_time(v.arrived_at_ms, v.zone_offset_min), v))
                .filter(|(at, _)| in_range(at, &from, &to))
                .map(|(at, v)| {
                    named(&v.photos);
                    let (name, address) =
                        names.get(v.household_id.as_str()).map(|(n, a)| (n.as_str(), *a)).unwrap_or(("", ""));
                    vec![
                        text(at),
                        text(&v.household_id),
                        text(name),
                        text(address),
                        text(labels::word(labels::VISIT_PURPOSE, v.purpose.as_str())),
                        text(masked(&v.outcome)),
                        text(masked(&v.needs)),
                        text(masked(&v.competitor_info)),
                        text(masked(&v.opinions)),
                        text(masked(&v.open_question)),
                        text(masked(&v.follow_up)),
                        text(&v.follow_up_due),
                        text(v.appointment_at_ms.map(|a| local_time(a, v.zone_offset_min)).unwrap_or_default()),
                        text(if v.signature_id.is_some() { "有" } else { "无" }),
                        text(&v.manager_id),
                        text(photo_links(&v.photos, &req.grid)),
                    ]
                })
                .collect();
            (headers.iter().map(|h| h.to_string()).collect(), rows)
        }
        Dataset::Receipts => {
            let mut receipts: Vec<Receipt> = records(storage, EntityKind::Receipt, &req.grid)?;
            receipts.sort_by_key(|r| r.collected_at_ms);
            let voids = void_states(storage, &req.grid)?;
            let accounts: HashMap<String, String> =
                records::<ArrearsAccount>(storage, EntityKind::ArrearsAccount, &req.grid)?
                    .into_iter()
                    .map(|a| (a.id, a.account_no))
                    .collect();
            let headers = [
                "收据号",
                "收款时间",
                "档案编号",
                "客户名称",
                "账号",
                "收款前欠费(元)",
                "收款金额(元)",
                "实收(元)",
                "找零(元)",
                "收款方式",
                "收款人",
                "作废",
                "照片",
            ];
            let rows = receipts
                .iter()
                .map(|r| (local_time(r.collected_at_ms, r.zone_offset_min), r))
                .filter(|(at, _)| in_range(at, &from, &to))
                .map(|(at, r)| {
                    named(&r.photos);
                    let name = names.get(r.household_id.as_str()).map(|(n, _)| n.as_str()).unwrap_or("");
                    vec![
                        text(&r.receipt_no),
                        text(at),
                        text(&r.household_id),
                        text(name),
                        text(accounts.get(&r.account_id).cloned().unwrap_or_default()),
                        Cell::Yuan(r.owed_before_fen),
                        Cell::Yuan(r.amount_fen),
                        Cell::Yuan(r.cash_received_fen),
                        Cell::Yuan(r.change_fen),
                        text(labels::word(labels::PAYMENT_METHOD, r.method.as_str())),
                        text(&r.collector_id),
                        text(voids.get(&r.id).copied().unwrap_or("")),
                        text(photo_links(&r.photos, &req.grid)),
                    ]
                })
                .collect();
            (headers.iter().map(|h| h.to_string()).collect(), rows)
        }
        Dataset::Summary => summary_sheet(&index)?,
    };
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let bytes = sheet::write(req.format, req.dataset.sheet_name(), &header_refs, &rows)?;
    // archives, visits and receipts name their customers even masked: every such export is a
    // reveal, audited; the full one also shows ID and phone numbers
    if req.full || req.dataset != Dataset::Summary {
        let (action, what) = if req.full {
            ("export_unmasked", "customer names, ID and phone numbers in full")
        } else {
            ("export", "customer names; ID and phone numbers masked")
        };
        let detail = format!(
            "{} {} of grid {}, {} rows, {what}",
            req.dataset.as_str(),
            req.format.extension(),
            req.grid,
            rows.len()
        );
        storage.record_audit(actor, action, &req.grid, &detail, now_ms)?;
    }
    let day = crate::domain::report_day::report_day(now_ms, 0);
    Ok(Exported {
        bytes,
        filename: format!("{}-{}-{day}.{}", req.dataset.as_str(), req.grid, req.format.extension()),
        content_type: req.format.content_type(),
        rows: rows.len(),
        photos,
    })
}

/// Each voided receipt's state: 待审批 while the back office has not decided, 已作废, 已驳回.
/// A fact's photos as the back office's links (at most 12, the fact's own bound; each opens the
/// photo for staff of the grid, audited: docs/photos.md), one a line.
fn photo_links(photos: &[String], grid: &str) -> String {
    photos.iter().map(|sha| format!("/admin/api/photos/{sha}?grid={grid}")).collect::<Vec<_>>().join("\n")
}

fn void_states(storage: &dyn SyncStorage, grid: &str) -> DomainResult<HashMap<String, &'static str>> {
    let voids: Vec<ReceiptVoid> = records(storage, EntityKind::ReceiptVoid, grid)?;
    let reviews = match storage.void_reviews(None, 1_000_000) {
        Ok(rows) => rows.into_iter().map(|v| (v.void_id, v.status)).collect::<HashMap<_, _>>(),
        Err(e) if e.code() == ErrorCode::Unsupported => HashMap::new(),
        Err(e) => return Err(e.into()),
    };
    Ok(voids
        .into_iter()
        .map(|v| {
            let state = match reviews.get(&v.id).map(String::as_str) {
                Some("pending") => "待审批",
                Some("refused") => "已驳回",
                _ => "已作废",
            };
            (v.receipt_id, state)
        })
        .collect())
}

/// Basis points as a percentage with two decimals: 6000 → "60.00%".
fn percent(bp: i64) -> String {
    format!("{}.{:02}%", bp / 100, bp % 100)
}

/// One row for the grid, then one per building (households with no building together last).
fn summary_sheet(index: &GridIndex) -> DomainResult<(Vec<String>, Vec<Vec<Cell>>)> {
    let grid = index.grid_id.as_str();
    let premises: Vec<Premises> = index.premises.values().filter_map(record).collect();
    let households: Vec<Household> = index.households.values().filter_map(record).collect();
    let total = GridSummary::of(grid, &premises, &households);
    let mut scopes: Vec<(String, GridSummary)> = vec![("全网格 / whole grid".into(), total.clone())];
    let mut by_building: Vec<&Premises> = premises.iter().collect();
    // by number, as people count buildings: 1号楼, 2号楼 … 10号楼
    by_building.sort_by(|a, b| natural_cmp(&a.name, &b.name).then_with(|| a.id.cmp(&b.id)));
    for p in by_building {
        let inside: Vec<Household> =
            households.iter().filter(|h| h.premises_id.as_deref() == Some(p.id.as_str())).cloned().collect();
        scopes.push((p.name.clone(), GridSummary::of(grid, std::slice::from_ref(p), &inside)));
    }
    let loose: Vec<Household> = households
        .iter()
        .filter(|h| h.premises_id.as_deref().is_none_or(|id| !index.premises.contains_key(id)))
        .cloned()
        .collect();
    if !loose.is_empty() {
        scopes.push(("未关联楼宇 / no building".into(), GridSummary::of(grid, &[], &loose)));
    }
    let own: Vec<&str> = total.own_products.iter().map(|p| p.name.as_str()).collect();
    let rivals: Vec<&str> = total.competitors.iter().map(|p| p.name.as_str()).collect();
    let mut headers: Vec<String> =
        ["范围", "户数", "楼宇", "平房", "商铺", "潜在客户(无本网业务)"].iter().map(|h| h.to_string()).collect();
    for name in &own {
        let word = labels::word(labels::PRODUCT, name);
        headers.push(format!("{word}用户"));
        headers.push(format!("{word}占有率"));
    }
    for name in &rivals {
        headers.push(format!("{}用户", labels::word(labels::OPERATOR, name)));
    }
    let find = |list: &[ProductCount], name: &str| {
        list.iter().find(|p| p.name == name).map(|p| (p.households, p.penetration_bp)).unwrap_or((0, 0))
    };
    let rows = scopes
        .into_iter()
        .map(|(scope, s)| {
            let mut row = vec![
                Cell::Text(scope),
                Cell::Int(s.households),
                Cell::Int(s.buildings),
                Cell::Int(s.bungalows),
                Cell::Int(s.shops),
                Cell::Int(s.prospects),
            ];
            for name in &own {
                let (n, bp) = find(&s.own_products, name);
                row.push(Cell::Int(n));
                row.push(Cell::Text(percent(bp)));
            }
            for name in &rivals {
                row.push(Cell::Int(find(&s.competitors, name).0));
            }
            row
        })
        .collect();
    Ok((headers, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_and_local_days() {
        assert_eq!(
            (percent(6000), percent(3333), percent(5), percent(10_000)),
            ("60.00%".into(), "33.33%".into(), "0.05%".into(), "100.00%".into())
        );
        // 2026-03-01 17:30 UTC is 2 March 01:30 in Beijing
        let t = chrono::DateTime::parse_from_rfc3339("2026-03-01T17:30:00Z").unwrap().timestamp_millis();
        assert_eq!(local_time(t, 480), "2026-03-02 01:30");
        assert!(in_range("2026-03-02 01:30", &Some("2026-03-02".into()), &None));
        assert!(!in_range("2026-03-02 01:30", &None, &Some("2026-03-01".into())));
    }
}
