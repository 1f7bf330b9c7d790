//! The columns of a sheet template and how a sheet's header row is matched to them: the Chinese
//! header the back office uses, the English one, and variants seen in real sheets, compared
//! without spaces, full-width forms, case, "*" marks or a "(元)" unit. Required columns that are
//! missing stop the import before any row is read.

use std::collections::HashMap;

use gridbook_core::mask;
use gridbook_core::sync::wire::ErrorCode;

use super::sheet::{half_width, Sheet};
use crate::domain::error::{DomainError, DomainResult};

/// Whether a column holds personal data, and how it is masked when shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personal {
    No,
    IdNumber,
    Phone,
}

impl Personal {
    pub fn mask(self, value: &str) -> String {
        match self {
            Personal::No => value.to_string(),
            Personal::IdNumber => mask::id_number(value),
            Personal::Phone => mask::phone(value),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// What the column fills (a model field, or a part of the address).
    pub key: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub aliases: &'static [&'static str],
    pub required: bool,
    pub personal: Personal,
}

pub const fn col(key: &'static str, zh: &'static str, en: &'static str, aliases: &'static [&'static str]) -> Column {
    Column { key, zh, en, aliases, required: false, personal: Personal::No }
}
pub const fn required(c: Column) -> Column {
    Column { required: true, ..c }
}
pub const fn personal(c: Column, kind: Personal) -> Column {
    Column { personal: kind, ..c }
}

fn normalised(header: &str) -> String {
    let h: String =
        header.chars().map(half_width).filter(|c| !c.is_whitespace() && *c != '*').collect::<String>().to_lowercase();
    h.trim_end_matches("(元)").trim_end_matches("(必填)").to_string()
}

impl Column {
    fn matches(&self, header: &str) -> bool {
        let h = normalised(header);
        !h.is_empty()
            && (h == normalised(self.zh) || h == normalised(self.en) || self.aliases.iter().any(|a| h == normalised(a)))
    }
    /// "客户名称 (customer_name)"
    pub fn label(&self) -> String {
        format!("{} ({})", self.zh, self.en)
    }
}

/// A sheet's header row matched to a template.
#[derive(Debug)]
pub struct Bound {
    /// The template column of each sheet column, if any.
    columns: Vec<Option<Column>>,
    /// Headers that match no column of the template (their cells are not read).
    pub unknown: Vec<String>,
    headers: Vec<String>,
}

pub fn bind(template: &[Column], sheet: &Sheet) -> DomainResult<Bound> {
    let mut columns = Vec::with_capacity(sheet.headers.len());
    let mut unknown = Vec::new();
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for header in &sheet.headers {
        let found = template.iter().find(|c| c.matches(header)).copied();
        match found {
            Some(c) => {
                if let Some(first) = seen.insert(c.key, header) {
                    return Err(DomainError::refused(
                        ErrorCode::DuplicateColumn,
                        format!("the columns \"{first}\" and \"{header}\" both mean {} / 两列表示同一项", c.label()),
                    ));
                }
            }
            None if !header.is_empty() => unknown.push(header.clone()),
            None => {}
        }
        columns.push(found);
    }
    let missing: Vec<String> =
        template.iter().filter(|c| c.required && !seen.contains_key(c.key)).map(Column::label).collect();
    if !missing.is_empty() {
        return Err(DomainError::refused(
            ErrorCode::MissingColumns,
            format!(
                "缺少必需的列 / missing required columns: {}; the header row has: {}",
                missing.join(", "),
                if sheet.headers.is_empty() { "nothing".to_string() } else { sheet.headers.join(", ") }
            ),
        ));
    }
    Ok(Bound { columns, unknown, headers: sheet.headers.clone() })
}

/// One data row read through the template: the cell of each known column.
pub struct Cells {
    pub line: usize,
    values: HashMap<&'static str, (String, Column, String)>,
}

impl Bound {
    pub fn cells(&self, line: usize, row: &[String]) -> Cells {
        let mut values = HashMap::new();
        for (i, column) in self.columns.iter().enumerate() {
            if let Some(c) = column {
                let v = row.get(i).map(|s| s.trim().to_string()).unwrap_or_default();
                values.insert(c.key, (v, *c, self.headers[i].clone()));
            }
        }
        Cells { line, values }
    }
}

impl Cells {
    /// The trimmed cell, "" when blank or when the sheet has no such column.
    pub fn get(&self, key: &str) -> &str {
        self.values.get(key).map(|(v, _, _)| v.as_str()).unwrap_or("")
    }
    /// The sheet's own header of a column (for the report), or the key when it has none.
    pub fn header(&self, key: &str) -> String {
        self.values.get(key).map(|(_, _, h)| h.clone()).unwrap_or_else(|| key.to_string())
    }
    /// The cell as the report may show it: personal values masked, long text cut.
    pub fn shown(&self, key: &str) -> String {
        match self.values.get(key) {
            Some((v, c, _)) => {
                let masked = c.personal.mask(v);
                if masked.chars().count() > 60 {
                    format!("{}…", masked.chars().take(60).collect::<String>())
                } else {
                    masked
                }
            }
            None => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::spreadsheets::sheet::Row;

    const T: &[Column] = &[
        required(col("customer_name", "客户名称", "customer_name", &["姓名"])),
        col("owed", "欠费金额(元)", "owed", &[]),
    ];

    fn sheet(headers: &[&str]) -> Sheet {
        Sheet { headers: headers.iter().map(|h| h.to_string()).collect(), rows: vec![Row { line: 2, cells: vec![] }] }
    }

    #[test]
    fn headers_match_in_either_language_and_variants() {
        let b = bind(T, &sheet(&["*客户名称", "欠费金额（元）", "备用"])).unwrap();
        assert_eq!(b.unknown, ["备用"]);
        let c = b.cells(2, &[" 王芳 ".into(), "12.30".into()]);
        assert_eq!((c.get("customer_name"), c.get("owed"), c.get("nothing")), ("王芳", "12.30", ""));
        assert!(bind(T, &sheet(&["Customer_Name"])).is_ok());
        assert!(bind(T, &sheet(&["姓 名"])).is_ok());
    }

    #[test]
    fn missing_and_doubled_columns_are_refused_before_any_row() {
        let e = bind(T, &sheet(&["欠费金额"])).unwrap_err();
        assert_eq!(e.code(), ErrorCode::MissingColumns);
        assert!(e.message().contains("客户名称 (customer_name)"), "{}", e.message());
        let e = bind(T, &sheet(&["客户名称", "姓名"])).unwrap_err();
        assert_eq!(e.code(), ErrorCode::DuplicateColumn);
    }
}
