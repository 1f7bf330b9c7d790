//! The arrears sheet (欠费清单) from billing: one account per row, matched by account number in
//! the grid; its household found by archive number, service number, ID number or door. Amounts
//! in yuan become exact fen; phones receive the accounts on their next pull.

use std::collections::HashMap;

use gridbook_core::model::{ArrearsAccount, EntityKind};
use gridbook_core::validate;
use serde_json::{json, Map, Value};

use super::archives::date;
use super::import::{self, address_key, op_for, Accepted, GridIndex, ImportReport, Problems};
use super::labels;
use super::sheet::{half_width, parse_yuan, Sheet};
use super::template::{bind, col, personal, required, Column, Personal};
use crate::domain::error::DomainResult;
use crate::storage::records::RecordStorage;

pub const TEMPLATE: &[Column] = &[
    required(col("account_no", "账号", "account_no", &["账户", "用户账号", "账户号码", "account"])),
    personal(col("service_number", "业务号码", "service_number", &["号码", "用户号码", "电话号码"]), Personal::Phone),
    required(col("payment_type", "付费类型", "payment_type", &["付费方式"])),
    required(col("owed", "欠费金额(元)", "owed_yuan", &["欠费金额", "欠费", "欠款金额", "owed"])),
    required(col("months_overdue", "欠费月数", "months_overdue", &["欠费账龄", "账龄(月)", "账龄"])),
    col("balance", "余额(元)", "balance_yuan", &["余额", "账户余额", "balance"]),
    col("as_of", "统计日期", "as_of", &["截止日期", "数据日期"]),
    col("archive_no", "档案编号", "archive_no", &["档案号"]),
    col("customer_name", "客户名称", "customer_name", &["客户姓名", "姓名"]),
    personal(col("id_number", "证件号码", "id_number", &["身份证号", "身份证号码"]), Personal::IdNumber),
    col("building", "楼宇", "building", &["楼宇名称", "楼栋"]),
    col("unit", "单元", "unit", &[]),
    col("room", "房号", "room", &["门牌号", "房间号"]),
    col("address", "地址", "address", &["详细地址"]),
];

/// The column a field of an account is read from.
fn column_of(field: &str) -> &'static str {
    match field {
        "owed_fen" => "owed",
        "balance_fen" => "balance",
        "account_no" => "account_no",
        "months_overdue" => "months_overdue",
        "payment_type" => "payment_type",
        _ => "",
    }
}

/// "3", "3个月", "3月" → 3.
fn months(text: &str) -> Option<i64> {
    let t: String = text.chars().map(half_width).collect();
    t.trim().trim_end_matches("个月").trim_end_matches('月').trim().parse().ok()
}

/// Midnight at the start of a day in China (UTC+8), in UTC milliseconds.
fn day_start_ms(day: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    Some(
        d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis()
            - crate::domain::report_day::REPORT_ZONE_OFFSET_MIN * 60_000,
    )
}

/// Imports an arrears sheet into `grid`; with `dry_run` only the report.
pub fn import(
    storage: &(impl RecordStorage + ?Sized),
    grid: &str,
    sheet: &Sheet,
    dry_run: bool,
    actor: &str,
    file: &str,
    now_ms: i64,
) -> DomainResult<ImportReport> {
    let bound = bind(TEMPLATE, sheet)?;
    let index = GridIndex::load(storage, grid)?;
    let mut report = ImportReport {
        sheet: "arrears",
        grid_id: grid.to_string(),
        dry_run,
        rows: sheet.rows.len(),
        unknown_columns: bound.unknown.clone(),
        ..Default::default()
    };
    let mut accepted = Vec::new();
    let mut first_row_of: HashMap<String, usize> = HashMap::new();
    for row in &sheet.rows {
        let c = bound.cells(row.line, &row.cells);
        let mut p = Problems::new(&c);
        let account_no = c.get("account_no");
        let mut f = Map::new();
        f.insert("grid_id".into(), json!(grid));
        if account_no.is_empty() {
            p.add("account_no", "账号不能为空", "the account number is missing");
        } else {
            f.insert("account_no".into(), json!(account_no));
        }
        let service_number: String =
            c.get("service_number").chars().map(half_width).filter(|ch| !ch.is_whitespace()).collect();
        if !service_number.is_empty() {
            f.insert("service_number".into(), json!(service_number));
        }
        match labels::code(labels::PAYMENT_TYPE, c.get("payment_type")) {
            Some(t) => drop(f.insert("payment_type".into(), json!(t))),
            None => p.add(
                "payment_type",
                "付费类型须为预付费或后付费",
                "the payment type is 预付费 (prepaid) or 后付费 (postpaid)",
            ),
        }
        for (key, field, required) in [("owed", "owed_fen", true), ("balance", "balance_fen", false)] {
            let text = c.get(key);
            if text.is_empty() && !required {
                continue;
            }
            match parse_yuan(text) {
                Ok(fen) => drop(f.insert(field.into(), json!(fen))),
                Err(e) => p.add(key, e.zh(), e.en()),
            }
        }
        match months(c.get("months_overdue")) {
            Some(n) => drop(f.insert("months_overdue".into(), json!(n))),
            None => p.add("months_overdue", "欠费月数须为整数", "months overdue must be a whole number"),
        }
        let as_of = match c.get("as_of") {
            "" => None,
            text => match date(text).as_deref().and_then(day_start_ms) {
                Some(ms) => Some(ms),
                None => {
                    p.add("as_of", "日期须写作YYYY-MM-DD", "a date is written YYYY-MM-DD");
                    None
                }
            },
        };
        // the household the debt belongs to
        let current = index.account_numbered(account_no);
        let archive_no = c.get("archive_no");
        let household = if !archive_no.is_empty() {
            if !index.households.contains_key(archive_no) {
                p.add("archive_no", "本网格没有此档案编号", "no archive with this number in this grid");
            }
            Some(archive_no.to_string())
        } else {
            let by_door = address_key(c.get("building"), c.get("unit"), c.get("room"), c.get("address"));
            (!service_number.is_empty())
                .then(|| index.household_with_number(&service_number))
                .flatten()
                .or_else(|| {
                    (!c.get("id_number").is_empty())
                        .then(|| index.household_with_id_number(c.get("id_number")))
                        .flatten()
                })
                .or_else(|| by_door.and_then(|k| index.household_at(&k)))
                .map(str::to_string)
                .or_else(|| {
                    current.and_then(|a| a.values.get("household_id")).and_then(Value::as_str).map(str::to_string)
                })
        };
        match household {
            Some(h) => drop(f.insert("household_id".into(), json!(h))),
            None => p.add(
                "",
                "找不到对应的客户档案（请填档案编号、业务号码、证件号码或楼宇+单元+房号）",
                "no household archive matches: give the archive number, service number, ID number or building + unit + room",
            ),
        }
        if let Some(first) = first_row_of.get(&import::norm(account_no)) {
            p.add("account_no", format!("与第{first}行账号重复"), format!("the same account as row {first}"));
        }
        if !p.is_empty() {
            report.refused.extend(p.list);
            continue;
        }
        let id = current.map(|a| a.id.clone()).unwrap_or_else(gridbook_core::new_id);
        // the date of the figures moves only with the figures (a sheet imported twice is unchanged)
        let figures_changed = current.is_none_or(|a| {
            ["owed_fen", "months_overdue", "balance_fen"]
                .iter()
                .any(|k| f.get(*k).is_some_and(|v| a.values.get(*k) != Some(v)))
        });
        match as_of {
            Some(ms) => drop(f.insert("as_of_ms".into(), json!(ms))),
            None if figures_changed => drop(f.insert("as_of_ms".into(), json!(now_ms))),
            None => {}
        }
        p.check::<ArrearsAccount>(&id, current, &f, validate::arrears_account, column_of);
        if !p.is_empty() {
            report.refused.extend(p.list);
            continue;
        }
        first_row_of.insert(import::norm(account_no), row.line);
        let (change, op) = op_for(EntityKind::ArrearsAccount, &id, grid, current, f);
        accepted.push(Accepted { line: row.line, change, ops: op.into_iter().collect() });
    }
    import::commit(storage, &mut report, accepted, actor, file, now_ms)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_days() {
        assert_eq!((months("3"), months("3个月"), months("２月"), months("三")), (Some(3), Some(3), Some(2), None));
        // 2026-03-01 00:00 in Beijing is 2026-02-28 16:00 UTC
        let t = chrono::DateTime::parse_from_rfc3339("2026-02-28T16:00:00Z").unwrap().timestamp_millis();
        assert_eq!(day_start_ms("2026-03-01"), Some(t));
    }
}
