//! The household archive sheet (客户档案, the archive template's columns): imported into one grid,
//! premises found or created from the building's name, households matched by archive number
//! (档案编号, our own id, as exported) or by building + unit + room (else the full address); and
//! the same columns exported, so that an exported sheet imports back unchanged.

use std::collections::HashMap;

use gridbook_core::model::{CompetitorService, EntityKind, Household, OwnService, Premises, PremisesType};
use gridbook_core::sync::wire::EntityState;
use gridbook_core::validate;
use serde_json::{json, Map, Value};

use super::import::{self, address_key, merged, op_for, Accepted, GridIndex, ImportReport, Problems};
use super::labels::{self, Labels};
use super::sheet::{half_width, Cell, Sheet};
use super::template::{bind, col, personal, required, Cells, Column, Personal};
use crate::domain::error::DomainResult;
use crate::storage::records::RecordStorage;

pub const TEMPLATE: &[Column] = &[
    col("archive_no", "档案编号", "archive_no", &["档案号", "archive number"]),
    col("premises_type", "楼宇类型", "premises_type", &["类型"]),
    col("community", "小区", "community", &["小区名称"]),
    col("street", "街道", "street", &["街道名称", "路"]),
    required(col("building", "楼宇", "building", &["楼宇名称", "楼栋", "楼号", "平房", "楼宇/平房"])),
    col("unit", "单元", "unit", &["单元号"]),
    col("floor", "楼层", "floor", &["层"]),
    col("room", "房号", "room", &["门牌号", "房间号", "门牌号/房间号", "室"]),
    col("address", "地址", "address", &["详细地址", "完整地址"]),
    required(col("customer_name", "客户名称", "customer_name", &["客户姓名", "姓名", "户主", "name"])),
    personal(col("landline", "固话", "landline", &["固定电话", "座机"]), Personal::Phone),
    personal(col("mobile", "手机", "mobile", &["手机号码", "移动电话"]), Personal::Phone),
    personal(col("other_contact", "其他联系方式", "other_contact", &["其它联系方式", "第二联系电话"]), Personal::Phone),
    col("id_type", "证件类型", "id_type", &[]),
    personal(col("id_number", "证件号码", "id_number", &["身份证号", "身份证号码", "证件号"]), Personal::IdNumber),
    col("work_unit", "工作单位", "work_unit", &["单位"]),
    col("services", "公司业务", "services", &["我司业务", "本网业务"]),
    col("competitor_services", "其它运营商", "competitor_services", &["其他运营商", "异网业务"]),
    col("area", "城市/农村", "area", &["城乡", "区域"]),
    col("segment", "客户类型", "segment", &["客户分类"]),
    col("tier", "客户等级", "tier", &["价值等级", "客户层级"]),
    col("opinions", "对服务有何意见", "opinions", &["意见", "服务意见"]),
    col("birthday", "生日", "birthday", &["出生日期"]),
    col("notes", "备注", "notes", &[]),
];

/// Plain text columns copied as they are.
const TEXT_FIELDS: &[&str] = &["unit", "room", "customer_name", "other_contact", "work_unit", "opinions", "notes"];
/// Coded columns: the field, its words.
const CODED: &[(&str, Labels)] =
    &[("id_type", labels::ID_TYPE), ("area", labels::AREA), ("segment", labels::SEGMENT), ("tier", labels::TIER)];

/// The column a field of a household is read from.
fn column_of(field: &str) -> &'static str {
    TEMPLATE.iter().find(|c| c.key == field).map(|c| c.key).unwrap_or("")
}

/// "2024-1-5", "2024/01/05", "2024.1.5", "20240105" → "2024-01-05".
pub fn date(text: &str) -> Option<String> {
    let t: String = text.chars().map(half_width).collect();
    let t = t.trim().split(' ').next().unwrap_or("");
    let parsed = ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日"]
        .iter()
        .find_map(|f| chrono::NaiveDate::parse_from_str(t, f).ok());
    parsed.map(|d| d.format("%Y-%m-%d").to_string())
}

/// "宽带:07318456789;手机:13812345678:HT-1:融合129:2024-01-05" — one service per entry, its parts
/// product : number : contract : plan : completed on, trailing parts optional.
fn services(text: &str) -> Vec<OwnService> {
    entries(text)
        .map(|parts| OwnService {
            product: labels::code(labels::PRODUCT, part(&parts, 0))
                .map(str::to_string)
                .unwrap_or_else(|| part(&parts, 0).to_string()),
            service_number: part(&parts, 1).to_string(),
            contract_number: part(&parts, 2).to_string(),
            plan: part(&parts, 3).to_string(),
            completed_on: date(part(&parts, 4)).unwrap_or_else(|| part(&parts, 4).to_string()),
        })
        .collect()
}

/// "中国移动:手机;广电:宽带:三年合约" — operator : product : notes.
fn competitors(text: &str) -> Vec<CompetitorService> {
    entries(text)
        .map(|parts| CompetitorService {
            operator: labels::code(labels::OPERATOR, part(&parts, 0))
                .map(str::to_string)
                .unwrap_or_else(|| part(&parts, 0).to_string()),
            product: labels::code(labels::PRODUCT, part(&parts, 1))
                .map(str::to_string)
                .unwrap_or_else(|| part(&parts, 1).to_string()),
            notes: part(&parts, 2).to_string(),
        })
        .collect()
}

fn entries(text: &str) -> impl Iterator<Item = Vec<String>> + '_ {
    text.split([';', '；', '\n'])
        .filter(|e| !e.trim().is_empty())
        .map(|e| e.split([':', '：']).map(|p| p.trim().to_string()).collect())
}

fn part(parts: &[String], i: usize) -> &str {
    parts.get(i).map(String::as_str).unwrap_or("")
}

fn joined(parts: &[&str]) -> String {
    let mut parts = parts.to_vec();
    while parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts.join(":")
}

/// The services cell as `services` reads it.
pub fn services_text(list: &[OwnService]) -> String {
    list.iter()
        .map(|s| {
            joined(&[
                &labels::word(labels::PRODUCT, &s.product),
                &s.service_number,
                &s.contract_number,
                &s.plan,
                &s.completed_on,
            ])
        })
        .collect::<Vec<_>>()
        .join(";")
}

pub fn competitors_text(list: &[CompetitorService]) -> String {
    list.iter()
        .map(|s| {
            joined(&[
                &labels::word(labels::OPERATOR, &s.operator),
                &labels::word(labels::PRODUCT, &s.product),
                &s.notes,
            ])
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// "3", "3层", "-1", "负1" → the floor.
fn floor(text: &str) -> Option<i64> {
    let t: String = text.chars().map(half_width).collect();
    let t = t.trim().trim_end_matches('层').trim_end_matches('楼');
    let t = t.strip_prefix('负').map(|rest| format!("-{rest}")).unwrap_or_else(|| t.to_string());
    t.parse().ok()
}

/// The full address when the sheet gives none: 小区 + 楼宇 + 单元 + 房号.
fn composed_address(c: &Cells) -> String {
    let unit = c.get("unit");
    let unit = if unit.is_empty() || unit.ends_with("单元") { unit.to_string() } else { format!("{unit}单元") };
    format!("{}{}{}{}", c.get("community"), c.get("building"), unit, c.get("room"))
}

/// The household fields a row sets (blank cells set nothing: a sheet never erases what a manager
/// recorded on the phone).
fn wanted(c: &Cells, grid: &str, p: &mut Problems) -> Map<String, Value> {
    let mut f = Map::new();
    f.insert("grid_id".into(), json!(grid));
    for key in TEXT_FIELDS {
        if !c.get(key).is_empty() {
            f.insert((*key).into(), json!(c.get(key)));
        }
    }
    for key in ["mobile", "landline"] {
        let v: String = c.get(key).chars().map(half_width).filter(|ch| !ch.is_whitespace()).collect();
        let v = if key == "mobile" { v.strip_prefix("+86").unwrap_or(&v).to_string() } else { v };
        if !v.is_empty() {
            f.insert(key.into(), json!(v));
        }
    }
    let id_number = norm_id(c.get("id_number"));
    if !id_number.is_empty() {
        f.insert("id_number".into(), json!(id_number));
    }
    for (key, words) in CODED {
        let v = c.get(key);
        if v.is_empty() {
            continue;
        }
        match labels::code(words, v) {
            Some(code) => drop(f.insert((*key).into(), json!(code))),
            None => p.add(
                key,
                format!("须为以下之一：{}", labels::choices(words)),
                format!("must be one of {}", labels::choices(words)),
            ),
        }
    }
    // an 18-character number with no type given is a resident ID (身份证), the usual case
    if !id_number.is_empty() && c.get("id_type").is_empty() && id_number.chars().count() == 18 {
        f.insert("id_type".into(), json!("resident_id"));
    }
    if !c.get("floor").is_empty() {
        match floor(c.get("floor")) {
            Some(n) => drop(f.insert("floor".into(), json!(n))),
            None => p.add("floor", "楼层须为整数", "the floor must be a whole number"),
        }
    }
    if !c.get("birthday").is_empty() {
        match date(c.get("birthday")) {
            Some(d) => drop(f.insert("birthday".into(), json!(d))),
            None => p.add("birthday", "日期须写作YYYY-MM-DD", "a date is written YYYY-MM-DD"),
        }
    }
    if !c.get("services").is_empty() {
        f.insert("services".into(), json!(services(c.get("services"))));
    }
    if !c.get("competitor_services").is_empty() {
        f.insert("competitor_services".into(), json!(competitors(c.get("competitor_services"))));
    }
    let address = if c.get("address").is_empty() && !c.get("building").is_empty() {
        composed_address(c)
    } else {
        c.get("address").to_string()
    };
    if !address.is_empty() {
        f.insert("address".into(), json!(address));
    }
    f
}

fn norm_id(text: &str) -> String {
    text.chars().map(half_width).filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase()
}

/// Imports an archive sheet into `grid`; with `dry_run` only the report.
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
    let mut index = GridIndex::load(storage, grid)?;
    let mut report = ImportReport {
        sheet: "archives",
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
        let fields = wanted(&c, grid, &mut p);
        // which household: our archive number, else the door
        let address = fields.get("address").and_then(Value::as_str).unwrap_or("");
        let key = address_key(c.get("building"), c.get("unit"), c.get("room"), address);
        let archive_no = c.get("archive_no");
        let existing: Option<String> = if !archive_no.is_empty() {
            if !index.households.contains_key(archive_no) {
                p.add(
                    "archive_no",
                    "本网格没有此档案编号；新建档案请留空",
                    "no archive with this number in this grid; leave it blank for a new archive",
                );
            }
            Some(archive_no.to_string())
        } else {
            key.as_deref().and_then(|k| index.household_at(k)).map(str::to_string)
        };
        let seen_as = existing.clone().or_else(|| key.clone());
        match &seen_as {
            None => p.add(
                "building",
                "楼宇、单元、房号或地址至少要能确定一户",
                "give the building with unit or room, or the full address",
            ),
            Some(k) => {
                if let Some(first) = first_row_of.get(k) {
                    p.add("", format!("与第{first}行是同一户"), format!("the same household as row {first}"));
                }
            }
        }
        if !p.is_empty() {
            report.refused.extend(p.list);
            continue;
        }
        let seen_as = seen_as.unwrap_or_default();
        let id = existing.clone().unwrap_or_else(gridbook_core::new_id);
        let current = existing.as_deref().and_then(|id| index.households.get(id)).cloned();
        let current = current.as_ref();
        // the building: found by name, or created with this row
        let mut ops = Vec::new();
        let mut fields = fields;
        if current.is_some() && c.get("address").is_empty() {
            // an address composed from the parts is for new archives; a stored one stays
            fields.remove("address");
        }
        let building = c.get("building");
        let mut new_premises: Option<(String, String)> = None;
        if !building.is_empty() {
            let premises_id = match index.premises_named(building) {
                Some(pid) => pid.to_string(),
                None => {
                    let premises_type = match c.get("premises_type") {
                        "" => Some(PremisesType::Building.as_str()),
                        t => labels::code(labels::PREMISES_TYPE, t),
                    };
                    let Some(premises_type) = premises_type else {
                        p.add(
                            "premises_type",
                            format!("须为以下之一：{}", labels::choices(labels::PREMISES_TYPE)),
                            format!("must be one of {}", labels::choices(labels::PREMISES_TYPE)),
                        );
                        report.refused.extend(p.list);
                        continue;
                    };
                    let pid = gridbook_core::new_id();
                    let mut pf = Map::new();
                    pf.insert("grid_id".into(), json!(grid));
                    pf.insert("premises_type".into(), json!(premises_type));
                    pf.insert("name".into(), json!(building));
                    for key in ["community", "street"] {
                        if !c.get(key).is_empty() {
                            pf.insert(key.into(), json!(c.get(key)));
                        }
                    }
                    p.check::<Premises>(&pid, None, &pf, validate::premises, |_| "building");
                    if let (_, Some(op)) = op_for(EntityKind::Premises, &pid, grid, None, pf) {
                        ops.push(op);
                    }
                    new_premises = Some((pid.clone(), building.to_string()));
                    pid
                }
            };
            fields.insert("premises_id".into(), json!(premises_id));
        }
        p.check::<Household>(&id, current, &fields, validate::household, column_of);
        if !p.is_empty() {
            report.refused.extend(p.list);
            continue;
        }
        if let Some((pid, name)) = new_premises {
            index.note_premises(&pid, &name);
        }
        first_row_of.insert(seen_as, row.line);
        if let Some(k) = key {
            first_row_of.entry(k).or_insert(row.line);
        }
        let (change, op) = op_for(EntityKind::Household, &id, grid, current, fields);
        ops.extend(op);
        accepted.push(Accepted { line: row.line, change, ops });
    }
    import::commit(storage, &mut report, accepted, actor, file, now_ms)?;
    Ok(report)
}

/// The archive sheet's header row, Chinese as the template has it.
pub fn headers() -> Vec<&'static str> {
    TEMPLATE.iter().map(|c| c.zh).collect()
}

/// One household as a row of the archive sheet; ID and phone numbers masked unless `full`.
pub fn row(h: &Household, index: &GridIndex, full: bool) -> Vec<Cell> {
    let premises = h.premises_id.as_deref().and_then(|p| index.premises.get(p));
    let premises_text =
        |f: &str| premises.and_then(|p| p.values.get(f)).and_then(Value::as_str).unwrap_or("").to_string();
    let coded = |labels: Labels, code: Option<&str>| code.map(|c| labels::word(labels, c)).unwrap_or_default();
    TEMPLATE
        .iter()
        .map(|column| {
            let text = match column.key {
                "archive_no" => h.id.clone(),
                "premises_type" => premises
                    .map(|_| labels::word(labels::PREMISES_TYPE, &premises_text("premises_type")))
                    .unwrap_or_default(),
                "community" | "street" => premises_text(column.key),
                "building" => premises_text("name"),
                "unit" => h.unit.clone(),
                "floor" => h.floor.map(|f| f.to_string()).unwrap_or_default(),
                "room" => h.room.clone(),
                "address" => h.address.clone(),
                "customer_name" => h.customer_name.clone(),
                "landline" => h.landline.clone(),
                "mobile" => h.mobile.clone(),
                "other_contact" => h.other_contact.clone(),
                "id_type" => coded(labels::ID_TYPE, h.id_type.map(|t| t.as_str())),
                "id_number" => h.id_number.clone(),
                "work_unit" => h.work_unit.clone(),
                "services" => services_text(&h.services),
                "competitor_services" => competitors_text(&h.competitor_services),
                "area" => coded(labels::AREA, h.area.map(|a| a.as_str())),
                "segment" => coded(labels::SEGMENT, h.segment.map(|s| s.as_str())),
                "tier" => coded(labels::TIER, h.tier.map(|t| t.as_str())),
                "opinions" => h.opinions.clone(),
                "birthday" => h.birthday.clone(),
                "notes" => h.notes.clone(),
                _ => String::new(),
            };
            let text = if full { text } else { column.personal.mask(&text) };
            if text.is_empty() {
                Cell::Empty
            } else {
                Cell::Text(text)
            }
        })
        .collect()
}

/// The live households of an index as typed records, in address order.
pub fn households(index: &GridIndex) -> Vec<Household> {
    let mut list: Vec<Household> = index.households.values().filter_map(|s: &EntityState| record(s)).collect();
    list.sort_by(|a, b| (&a.address, &a.id).cmp(&(&b.address, &b.id)));
    list
}

/// A stored record as its typed form; one that does not read (a partial record) is left out.
pub fn record<R: gridbook_core::model::Record>(state: &EntityState) -> Option<R> {
    merged(&state.id, Some(state), &Map::new()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_and_competitors_read_back_what_is_written() {
        let s = services("宽带:07318456789;手机：13812345678:HT-1:融合129:2024/1/5；");
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].product.as_str(), s[0].service_number.as_str()), ("broadband", "07318456789"));
        assert_eq!(
            (s[1].product.as_str(), s[1].plan.as_str(), s[1].completed_on.as_str()),
            ("mobile", "融合129", "2024-01-05")
        );
        assert_eq!(services(&services_text(&s)), s);
        let c = competitors("移动:手机;广电:宽带:三年合约");
        assert_eq!((c[0].operator.as_str(), c[0].product.as_str()), ("china_mobile", "mobile"));
        assert_eq!(competitors(&competitors_text(&c)), c);
    }

    #[test]
    fn floors_and_dates_as_typed() {
        assert_eq!((floor("3层"), floor("-1"), floor("负2"), floor("三")), (Some(3), Some(-1), Some(-2), None));
        assert_eq!(date("2024年1月5日").as_deref(), Some("2024-01-05"));
        assert_eq!(date("20240105").as_deref(), Some("2024-01-05"));
        assert_eq!(date("2024-02-30"), None);
    }
}
