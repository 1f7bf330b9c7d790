//! What every import shares: the report of rows accepted and refused (row number as in the sheet,
//! column, the value masked when personal, the reason in zh-CN and English), the grid's current
//! records indexed by their natural keys, field-level ops for what changed, and one transaction
//! for all accepted rows (or none, in a dry run), with a line in the audit trail.

use std::collections::HashMap;

use gridbook_core::model::{EntityKind, Record};
use gridbook_core::sync::wire::{EntityState, Op, OpAction, OpOutcome};
use gridbook_core::ValidationError;
use serde::Serialize;
use serde_json::{Map, Value};

use super::sheet::half_width;
use super::template::Cells;
use crate::domain::error::{DomainError, DomainResult};
use crate::storage::records::RecordStorage;

/// A row the import did not take, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The row number as the sheet shows it.
    pub row: usize,
    /// The sheet's header of the column at fault ("" when the row as a whole is at fault).
    pub column: String,
    /// The cell, masked when it is an ID or phone number.
    pub value: String,
    pub reason_zh: String,
    pub reason_en: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// "archives" or "arrears".
    pub sheet: &'static str,
    pub grid_id: String,
    pub dry_run: bool,
    /// Data rows read (blank rows are not counted).
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Rows refused; each may have several entries in `refused`.
    pub refused_rows: usize,
    pub premises_created: usize,
    /// Ops written (or, in a dry run, that would be written).
    pub ops: usize,
    /// Headers that match no column of the template; their cells were not read.
    pub unknown_columns: Vec<String>,
    pub refused: Vec<Refusal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Unchanged,
}

/// The ops of one accepted row.
pub struct Accepted {
    pub line: usize,
    pub change: Change,
    pub ops: Vec<Op>,
}

/// The problems found in one row.
pub struct Problems<'c> {
    cells: &'c Cells,
    pub list: Vec<Refusal>,
}

impl<'c> Problems<'c> {
    pub fn new(cells: &'c Cells) -> Self {
        Self { cells, list: Vec::new() }
    }
    /// A problem with the cell of column `key` ("" for the row as a whole).
    pub fn add(&mut self, key: &str, zh: impl Into<String>, en: impl Into<String>) {
        let (column, value) = if key.is_empty() {
            (String::new(), String::new())
        } else {
            (self.cells.header(key), self.cells.shown(key))
        };
        self.list.push(Refusal { row: self.cells.line, column, value, reason_zh: zh.into(), reason_en: en.into() });
    }
    /// A rule of core's validate.rs, reported on the column that holds the field.
    pub fn invalid(&mut self, e: &ValidationError, column_of: impl Fn(&str) -> &'static str) {
        self.add(column_of(&e.field), rule_zh(e), e.to_string());
    }
    /// Checks the record that `wanted` would leave, with core's rule for its kind.
    pub fn check<R: Record>(
        &mut self,
        id: &str,
        current: Option<&EntityState>,
        wanted: &Map<String, Value>,
        rule: impl Fn(&R) -> Result<(), ValidationError>,
        column_of: impl Fn(&str) -> &'static str,
    ) {
        match merged::<R>(id, current, wanted) {
            Ok(record) => {
                if let Err(e) = rule(&record) {
                    self.invalid(&e, column_of);
                }
            }
            Err(e) => self.add("", "记录不完整（缺少必填项）", format!("the record is incomplete: {e}")),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// The reason of a core validation rule in Chinese.
fn rule_zh(e: &ValidationError) -> String {
    let zh = match e.field.as_str() {
        "id_number" => "证件号码不正确（位数、校验位或出生日期有误）",
        "id_type" => "填写证件号码时须填写证件类型",
        "mobile" => "手机号码须为1开头的11位数字",
        "landline" => "固话须为7至13位数字，区号后可加“-”",
        "birthday" => "日期须写作YYYY-MM-DD",
        "services" => "公司业务填写有误（产品不能为空，竣工日期写作YYYY-MM-DD）",
        "customer_name" => "客户名称不能为空，且不超过100字",
        "address" => "地址不超过300字",
        "floor" => "楼层须在-10到200之间",
        "name" => "楼宇名称不能为空，且不超过100字",
        "owed_fen" => "欠费金额不能为负数",
        "months_overdue" => "欠费月数须为0到1200之间的整数",
        "account_no" => "账号不能为空，且不超过64字",
        _ => "不符合档案校验规则",
    };
    zh.to_string()
}

/// The typed record of a state with `wanted` laid over it, as the merge would leave it.
pub fn merged<R: Record>(id: &str, current: Option<&EntityState>, wanted: &Map<String, Value>) -> Result<R, String> {
    let kind = R::KIND;
    let mut values: Map<String, Value> = current.map(|s| s.values.clone()).unwrap_or_default();
    values.extend(wanted.iter().map(|(k, v)| (k.clone(), v.clone())));
    values.retain(|k, v| k != "deleted" && !v.is_null() && kind.field(k).is_some());
    values.insert("id".into(), Value::String(id.to_string()));
    serde_json::from_value(Value::Object(values)).map_err(|e| e.to_string())
}

/// The op that brings `current` to `wanted`, field by field: a create with every wanted field for
/// a new record, an update with only the fields whose value differs, or nothing.
pub fn op_for(
    kind: EntityKind,
    id: &str,
    grid: &str,
    current: Option<&EntityState>,
    wanted: Map<String, Value>,
) -> (Change, Option<Op>) {
    match current {
        None => (Change::Created, Some(crate::domain::authoring::op(kind, id, grid, OpAction::Create, wanted))),
        Some(state) => {
            let changed: Map<String, Value> =
                wanted.into_iter().filter(|(k, v)| state.values.get(k) != Some(v)).collect();
            if changed.is_empty() {
                (Change::Unchanged, None)
            } else {
                (Change::Updated, Some(crate::domain::authoring::op(kind, id, grid, OpAction::Update, changed)))
            }
        }
    }
}

/// Text for comparing names and address parts: full-width to ASCII, no spaces, upper-case letters.
pub fn norm(text: &str) -> String {
    text.chars().map(half_width).filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase()
}

/// A phone or service number as digits only.
pub fn digits(text: &str) -> String {
    text.chars().map(half_width).filter(char::is_ascii_digit).collect()
}

/// The natural key of a household in its grid: building, unit and room when known ("3号楼 2单元
/// 301" and "3号楼 2 301室" are the same door), else the full address.
pub fn address_key(building: &str, unit: &str, room: &str, address: &str) -> Option<String> {
    let unit = norm(unit);
    let room = norm(room);
    let unit = unit.trim_end_matches("单元");
    let room = room.trim_end_matches('室').trim_end_matches('号');
    if !building.trim().is_empty() && (!unit.is_empty() || !room.is_empty()) {
        return Some(format!("b:{}|{unit}|{room}", norm(building)));
    }
    let address = norm(address);
    (!address.is_empty()).then(|| format!("a:{address}"))
}

fn text<'s>(state: &'s EntityState, field: &str) -> &'s str {
    state.values.get(field).and_then(Value::as_str).unwrap_or("")
}

fn live(state: &EntityState) -> bool {
    !state.deleted()
}

/// A grid's premises, households and arrears accounts as the server holds them, by natural key.
pub struct GridIndex {
    pub grid_id: String,
    pub premises: HashMap<String, EntityState>,
    premises_by_name: HashMap<String, String>,
    pub households: HashMap<String, EntityState>,
    household_by_address: HashMap<String, String>,
    household_by_number: HashMap<String, String>,
    household_by_id_number: HashMap<String, String>,
    pub accounts: HashMap<String, EntityState>,
    account_by_no: HashMap<String, String>,
}

impl GridIndex {
    pub fn load(storage: &(impl RecordStorage + ?Sized), grid: &str) -> DomainResult<Self> {
        if !storage.has_grid(grid)? {
            return Err(DomainError::not_found(format!("no grid {grid} / 没有此网格")));
        }
        let by_id = |kind| -> DomainResult<HashMap<String, EntityState>> {
            Ok(storage.grid_records(kind, grid)?.into_iter().filter(live).map(|s| (s.id.clone(), s)).collect())
        };
        let premises = by_id(EntityKind::Premises)?;
        let households = by_id(EntityKind::Household)?;
        let accounts = by_id(EntityKind::ArrearsAccount)?;
        let premises_by_name = premises.values().map(|p| (norm(text(p, "name")), p.id.clone())).collect();
        let mut index = GridIndex {
            grid_id: grid.to_string(),
            premises,
            premises_by_name,
            households: HashMap::new(),
            household_by_address: HashMap::new(),
            household_by_number: HashMap::new(),
            household_by_id_number: HashMap::new(),
            account_by_no: accounts.values().map(|a| (norm(text(a, "account_no")), a.id.clone())).collect(),
            accounts,
        };
        for h in households.into_values() {
            index.note_household(h);
        }
        Ok(index)
    }

    /// Indexes a household by its address, its numbers and its ID number.
    fn note_household(&mut self, h: EntityState) {
        let building = h
            .values
            .get("premises_id")
            .and_then(Value::as_str)
            .and_then(|p| self.premises.get(p))
            .map(|p| text(p, "name"))
            .unwrap_or("");
        if let Some(key) = address_key(building, text(&h, "unit"), text(&h, "room"), text(&h, "address")) {
            self.household_by_address.insert(key, h.id.clone());
        }
        let mut numbers: Vec<String> = ["mobile", "landline"].iter().map(|f| digits(text(&h, f))).collect();
        if let Some(Value::Array(services)) = h.values.get("services") {
            numbers
                .extend(services.iter().filter_map(|s| s.get("service_number")).filter_map(Value::as_str).map(digits));
        }
        for n in numbers.into_iter().filter(|n| n.len() >= 7) {
            self.household_by_number.insert(n, h.id.clone());
        }
        let id_number = norm(text(&h, "id_number"));
        if !id_number.is_empty() {
            self.household_by_id_number.insert(id_number, h.id.clone());
        }
        self.households.insert(h.id.clone(), h);
    }

    pub fn premises_named(&self, name: &str) -> Option<&str> {
        self.premises_by_name.get(&norm(name)).map(String::as_str)
    }
    pub fn household_at(&self, key: &str) -> Option<&str> {
        self.household_by_address.get(key).map(String::as_str)
    }
    pub fn household_with_number(&self, number: &str) -> Option<&str> {
        self.household_by_number.get(&digits(number)).map(String::as_str)
    }
    pub fn household_with_id_number(&self, id_number: &str) -> Option<&str> {
        self.household_by_id_number.get(&norm(id_number)).map(String::as_str)
    }
    pub fn account_numbered(&self, account_no: &str) -> Option<&EntityState> {
        self.account_by_no.get(&norm(account_no)).and_then(|id| self.accounts.get(id))
    }
    /// The name of a premises, "" when unknown.
    pub fn premises_name(&self, id: &str) -> &str {
        self.premises.get(id).map(|p| text(p, "name")).unwrap_or("")
    }
    /// Remembers a premises created by this import, so that later rows find it.
    pub fn note_premises(&mut self, id: &str, name: &str) {
        self.premises_by_name.insert(norm(name), id.to_string());
    }
}

/// Counts the accepted rows and, unless it is a dry run, writes their ops in one transaction and
/// a line of the audit trail (counts only, no personal values).
pub fn commit(
    storage: &(impl RecordStorage + ?Sized),
    report: &mut ImportReport,
    accepted: Vec<Accepted>,
    actor: &str,
    file: &str,
    now_ms: i64,
) -> DomainResult<()> {
    let mut line_of: HashMap<uuid::Uuid, usize> = HashMap::new();
    let mut ops = Vec::new();
    for a in accepted {
        match a.change {
            Change::Created => report.created += 1,
            Change::Updated => report.updated += 1,
            Change::Unchanged => report.unchanged += 1,
        }
        for op in a.ops {
            line_of.insert(op.id, a.line);
            ops.push(op);
        }
    }
    report.premises_created =
        ops.iter().filter(|o| o.kind == EntityKind::Premises && o.action == OpAction::Create).count();
    report.ops = ops.len();
    if !report.dry_run && !ops.is_empty() {
        // The rows were checked with the same rules the merge applies; a refusal here is rare
        // (say, a phone tombstoned the record a moment ago) and is reported on its row.
        for r in storage.apply_backoffice_ops(&ops, now_ms)? {
            if let OpOutcome::Rejected { reason, .. } = r.outcome {
                report.refused.push(Refusal {
                    row: line_of.get(&r.op_id).copied().unwrap_or(0),
                    column: String::new(),
                    value: String::new(),
                    reason_zh: "服务器拒绝写入".into(),
                    reason_en: crate::domain::privacy::mask_digit_runs(&reason),
                });
            }
        }
    }
    report.refused.sort_by_key(|r| r.row);
    let mut rows: Vec<usize> = report.refused.iter().map(|r| r.row).collect();
    rows.dedup();
    report.refused_rows = rows.len();
    if !report.dry_run {
        let detail = format!(
            "file {file}: {} rows, {} created, {} updated, {} unchanged, {} refused, {} ops",
            report.rows, report.created, report.updated, report.unchanged, report.refused_rows, report.ops
        );
        storage.record_audit(actor, &format!("import_{}", report.sheet), &report.grid_id, &detail, now_ms)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_door_written_differently_is_one_key() {
        assert_eq!(address_key("3号楼", "2单元", "301室", ""), address_key(" 3号楼", "2", "301", "x"));
        assert_ne!(address_key("3号楼", "2", "301", ""), address_key("3号楼", "2", "302", ""));
        assert_eq!(address_key("", "", "", "东街１２号"), Some("a:东街12号".into()));
        assert_eq!(address_key("", "", "", ""), None);
    }
}
