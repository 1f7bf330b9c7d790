//! The back office's spreadsheets as plain rows of text: reads CSV (UTF-8, with or without a BOM,
//! or GBK/GB18030 as Excel saves it on a Chinese Windows) and XLSX into header-keyed rows, and
//! writes CSV (UTF-8 with a BOM, so that Excel shows the Chinese) and XLSX. Also owns how money
//! is written in a sheet: yuan with two decimals, converted to and from integer fen as text.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use gridbook_core::sync::wire::ErrorCode;
use rust_xlsxwriter::{Format as CellFormat, Workbook};

use crate::domain::error::{DomainError, DomainResult};

/// The most data rows one sheet may hold (a grid is thousands of households, not millions).
pub const MAX_ROWS: usize = 50_000;
/// The most columns a sheet may use (the templates have under 20).
pub const MAX_COLUMNS: usize = 256;
/// The last row number (1-based) a sheet may use or declare: the data rows with room for blank ones.
pub const MAX_ROW_NUMBER: usize = 2 * MAX_ROWS + 1;
/// The most filled cells one sheet may hold (50,000 rows of 20 columns).
pub const MAX_CELLS: usize = 1_000_000;
/// The most cell elements, blank ones included, read before the sheet is refused (bounds the time).
const MAX_CELL_ELEMENTS: usize = 4 * MAX_CELLS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
    /// An XLSX file is a zip archive; anything else is taken for CSV text.
    pub fn detect(bytes: &[u8]) -> Self {
        if bytes.starts_with(b"PK\x03\x04") {
            Format::Xlsx
        } else {
            Format::Csv
        }
    }
}

/// A data row and its number as the sheet shows it (the header row is row 1 when it is the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub cells: Vec<String>,
}

/// The first sheet of a workbook or a CSV file: its header row and data rows, every cell as trimmed
/// text. Fully blank rows are skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
}

impl Sheet {
    pub fn column(&self, header: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == header)
    }
}

fn unreadable(message: impl Into<String>) -> DomainError {
    DomainError::refused(ErrorCode::NotASpreadsheet, message)
}

/// Reads CSV or XLSX, told apart by content.
pub fn read(bytes: &[u8]) -> DomainResult<Sheet> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(unreadable("the file is empty / 文件为空"));
    }
    let grid = match Format::detect(bytes) {
        Format::Xlsx => xlsx_cells(bytes)?,
        Format::Csv => csv_cells(&decode_text(bytes)?)?,
    };
    into_sheet(grid)
}

/// (row number in the sheet, cells) for every row, blank ones included.
type Cells = Vec<(usize, Vec<String>)>;

fn into_sheet(cells: Cells) -> DomainResult<Sheet> {
    let mut rows = cells.into_iter().filter(|(_, c)| c.iter().any(|v| !v.is_empty()));
    let (_, mut headers) = rows.next().ok_or_else(|| unreadable("the sheet has no header row / 表格没有标题行"))?;
    while headers.last().is_some_and(|h| h.is_empty()) {
        headers.pop();
    }
    let rows: Vec<Row> = rows.map(|(line, cells)| Row { line, cells }).collect();
    if rows.len() > MAX_ROWS {
        return Err(DomainError::refused(
            ErrorCode::TooManyRows,
            format!("the sheet has {} rows; at most {MAX_ROWS} per import / 每次最多导入{MAX_ROWS}行", rows.len()),
        ));
    }
    Ok(Sheet { headers, rows })
}

/// CSV text: UTF-8 (a BOM is dropped), UTF-16 with a BOM, otherwise GB18030 (a superset of GBK,
/// what Excel writes for "CSV" on a Chinese Windows).
pub fn decode_text(bytes: &[u8]) -> DomainResult<String> {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom..]);
        if had_errors {
            return Err(unreadable(format!("the text is not valid {} / 文件编码无法识别", encoding.name())));
        }
        return Ok(text.into_owned());
    }
    if bytes.contains(&0) {
        return Err(unreadable("not a CSV or XLSX file / 不是CSV或XLSX文件"));
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_string());
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(unreadable("the text is neither UTF-8 nor GBK / 文件既不是UTF-8也不是GBK编码"));
    }
    Ok(text.into_owned())
}

fn csv_cells(text: &str) -> DomainResult<Cells> {
    // Excel writes commas; a sheet copied out of Excel as text has tabs
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.matches('\t').count() > first.matches(',').count() { b'\t' } else { b',' };
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(text.as_bytes());
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| unreadable(format!("the CSV cannot be read: {e} / CSV格式错误")))?;
        // the row number Excel shows: one per record, a cell with line breaks inside included
        let line = out.len() + 1;
        // as in an XLSX, a filled cell past the last column is refused and empty ones take no
        // room (Excel pads shorter rows with commas to the widest); without this a CSV of one
        // long line of tabs read as a row of any width (found by the import_csv fuzz target)
        let cells: Vec<&str> = record.iter().map(str::trim).collect();
        if let Some(last) = cells.iter().rposition(|c| !c.is_empty()) {
            let at = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
            check_extent(at(line - 1), at(last), "a cell lies at / 单元格位于")?;
        }
        out.push((line, cells.iter().take(MAX_COLUMNS).map(|c| c.to_string()).collect()));
        if out.len() > MAX_ROWS + 1 {
            break; // into_sheet says it is too long
        }
    }
    Ok(out)
}

fn xlsx_cells(bytes: &[u8]) -> DomainResult<Cells> {
    // The XLSX reader can panic on a file that contradicts itself: calamine 0.34 subtracts a
    // <dimension>'s start from its end unchecked, so "B2:A1" overflows where overflow checks are
    // on (found by the import_xlsx fuzz target). Whatever a file holds, the answer is a typed
    // refusal, never a failed request.
    std::panic::catch_unwind(|| read_xlsx_cells(bytes)).unwrap_or_else(|_| {
        Err(unreadable("the XLSX file contradicts itself and cannot be read / XLSX文件内容自相矛盾，无法读取"))
    })
}

fn read_xlsx_cells(bytes: &[u8]) -> DomainResult<Cells> {
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e| unreadable(format!("the XLSX file cannot be opened: {e} / XLSX文件无法打开")))?;
    let first = book
        .sheet_names()
        .into_iter()
        .next()
        .ok_or_else(|| unreadable("the workbook has no sheet / 工作簿中没有工作表"))?;
    let cant_read =
        |e: calamine::XlsxError| unreadable(format!("the first sheet cannot be read: {e} / 工作表无法读取"));
    // a streaming reader: it keeps only the cells present, where a `Range` would allocate the
    // whole area the sheet's <dimension> declares (A1:XFD1048576 is 17 billion cells)
    let mut reader = book.worksheet_cells_reader(&first).map_err(cant_read)?;
    let declared = reader.dimensions();
    check_extent(declared.end.0, declared.end.1, "the sheet declares / 工作表声明的范围")?;
    let mut rows: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let (mut seen, mut kept) = (0usize, 0usize);
    while let Some(cell) = reader.next_cell().map_err(cant_read)? {
        seen += 1;
        if seen > MAX_CELL_ELEMENTS {
            return Err(too_large(
                ErrorCode::TooManyCells,
                format!("more than {MAX_CELL_ELEMENTS} cells / 单元格超过{MAX_CELL_ELEMENTS}个"),
            ));
        }
        let text = cell_text(&Data::from(cell.get_value().clone()));
        if text.is_empty() {
            continue; // styled blank cells take no room, wherever they claim to be
        }
        let (row, col) = cell.get_position();
        check_extent(row, col, "a cell lies at / 单元格位于")?;
        kept += 1;
        if kept > MAX_CELLS {
            return Err(too_large(
                ErrorCode::TooManyCells,
                format!("more than {MAX_CELLS} filled cells / 非空单元格超过{MAX_CELLS}个"),
            ));
        }
        if !rows.contains_key(&row) && rows.len() > MAX_ROWS + 1 {
            break; // into_sheet says it is too long
        }
        let cells = rows.entry(row).or_default();
        let col = col as usize;
        if cells.len() <= col {
            cells.resize(col + 1, String::new());
        }
        cells[col] = text;
    }
    Ok(rows.into_iter().map(|(row, cells)| (row as usize + 1, cells)).collect())
}

/// Refuses a position (0-based row and column) beyond what an import may hold, before anything of
/// that size is allocated.
fn check_extent(row: u32, col: u32, what: &str) -> DomainResult<()> {
    if col as usize >= MAX_COLUMNS {
        return Err(too_large(
            ErrorCode::TooManyColumns,
            format!("{what} column {}; at most {MAX_COLUMNS} columns / 最多{MAX_COLUMNS}列", col as u64 + 1),
        ));
    }
    if row as usize >= MAX_ROW_NUMBER {
        return Err(too_large(
            ErrorCode::TooManyRows,
            format!("{what} row {}; at most row {MAX_ROW_NUMBER} / 最多到第{MAX_ROW_NUMBER}行", row as u64 + 1),
        ));
    }
    Ok(())
}

fn too_large(code: ErrorCode, message: String) -> DomainError {
    DomainError::refused(code, message)
}

/// A cell as the text a person typed: whole numbers without ".0" (phone numbers typed as numbers),
/// other numbers in their shortest exact decimal form, dates as YYYY-MM-DD.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => format!("{f}"),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(d) => match d.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => t.format("%Y-%m-%d").to_string(),
            Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
            None => d.as_f64().to_string(),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// A cell to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// Money in fen, written as yuan with two decimals.
    Yuan(i64),
    Empty,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Self {
        Cell::Text(s.into())
    }
    fn as_text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Yuan(fen) => yuan(*fen),
            Cell::Empty => String::new(),
        }
    }
}

/// UTF-8 with a BOM and CRLF line ends, as Excel expects. Text that a spreadsheet would run as a
/// formula (=, +, @, or - before something not a number) gets a leading apostrophe.
pub fn write_csv(headers: &[&str], rows: &[Vec<Cell>]) -> DomainResult<Vec<u8>> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(&mut out);
        let fail = |e: csv::Error| DomainError::internal(format!("writing CSV: {e}"));
        w.write_record(headers).map_err(fail)?;
        for row in rows {
            w.write_record(row.iter().map(|c| match c {
                Cell::Text(s) => defuse(s),
                other => other.as_text(),
            }))
            .map_err(fail)?;
        }
        w.flush().map_err(|e| DomainError::internal(format!("writing CSV: {e}")))?;
    }
    Ok(out)
}

fn defuse(s: &str) -> String {
    let risky = match s.chars().next() {
        Some('=' | '+' | '@' | '\t' | '\r') => true,
        Some('-') => parse_yuan(s).is_err(),
        _ => false,
    };
    if risky {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// One worksheet with a bold header row. Text stays text (ID numbers and phone numbers are never
/// turned into numbers); money is a number shown with two decimals, so that Excel can sum it.
pub fn write_xlsx(sheet_name: &str, headers: &[&str], rows: &[Vec<Cell>]) -> DomainResult<Vec<u8>> {
    let fail = |e: rust_xlsxwriter::XlsxError| DomainError::internal(format!("writing XLSX: {e}"));
    let mut book = Workbook::new();
    let bold = CellFormat::new().set_bold();
    let money = CellFormat::new().set_num_format("0.00");
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name).map_err(fail)?;
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &bold).map_err(fail)?;
        sheet.set_column_width(c as u16, 14).map_err(fail)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) if !s.is_empty() => {
                    sheet.write_string(r, c, s).map_err(fail)?;
                }
                Cell::Int(i) => {
                    sheet.write_number(r, c, *i as f64).map_err(fail)?;
                }
                // the double nearest to the exact decimal, as Excel stores a typed amount
                Cell::Yuan(fen) => {
                    let value: f64 = yuan(*fen).parse().map_err(|_| DomainError::internal("formatting an amount"))?;
                    sheet.write_number_with_format(r, c, value, &money).map_err(fail)?;
                }
                Cell::Text(_) | Cell::Empty => {}
            }
        }
    }
    book.save_to_buffer().map_err(fail)
}

/// Writes rows in the asked format.
pub fn write(format: Format, sheet_name: &str, headers: &[&str], rows: &[Vec<Cell>]) -> DomainResult<Vec<u8>> {
    match format {
        Format::Csv => write_csv(headers, rows),
        Format::Xlsx => write_xlsx(sheet_name, headers, rows),
    }
}

/// Fen as yuan with two decimals, from the integer: 123450 → "1234.50", -5 → "-0.05".
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Why an amount could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyError {
    NotANumber,
    TooManyDecimals,
    TooLarge,
}

impl MoneyError {
    pub fn zh(self) -> &'static str {
        match self {
            MoneyError::NotANumber => "金额不是数字",
            MoneyError::TooManyDecimals => "金额最多两位小数",
            MoneyError::TooLarge => "金额过大",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            MoneyError::NotANumber => "the amount is not a number",
            MoneyError::TooManyDecimals => "an amount has at most 2 decimals (fen)",
            MoneyError::TooLarge => "the amount is too large",
        }
    }
}

/// Yuan as written in a sheet ("1,234.50", "12.3", "￥80", "80元", "-1") to exact fen, from the
/// digits themselves, never through a float. Thousands separators must group by three.
pub fn parse_yuan(text: &str) -> Result<i64, MoneyError> {
    let s: String = text.trim().chars().map(half_width).collect();
    let s = s.trim_start_matches(['¥', '￥']).trim_end_matches('元').trim();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() {
        return Err(MoneyError::NotANumber);
    }
    let groups: Vec<&str> = int.split(',').collect();
    let grouped_ok = groups.len() == 1
        || (!groups[0].is_empty() && groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3));
    let digits: String = groups.concat();
    if !grouped_ok || !digits.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MoneyError::NotANumber);
    }
    if frac.len() > 2 {
        return Err(MoneyError::TooManyDecimals);
    }
    let yuan: i64 = if digits.is_empty() { 0 } else { digits.parse().map_err(|_| MoneyError::TooLarge)? };
    let fen: i64 = format!("{frac:0<2}").parse().map_err(|_| MoneyError::NotANumber)?;
    let total = yuan.checked_mul(100).and_then(|y| y.checked_add(fen)).ok_or(MoneyError::TooLarge)?;
    Ok(if negative { -total } else { total })
}

/// Full-width digits, letters and signs (as typed with a Chinese input method) to ASCII.
pub fn half_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_to_fen_is_exact() {
        assert_eq!(parse_yuan("1,234.50"), Ok(123_450));
        assert_eq!(parse_yuan("12.3"), Ok(1_230));
        assert_eq!(parse_yuan("-1"), Ok(-100));
        assert_eq!(parse_yuan("0.07"), Ok(7));
        assert_eq!(parse_yuan(".5"), Ok(50));
        assert_eq!(parse_yuan("￥80元"), Ok(8_000));
        assert_eq!(parse_yuan("１２３．４５"), Ok(12_345));
        // a float would give 1999999.9999999998 or 0.30000000000000004 somewhere along the way
        assert_eq!(parse_yuan("19999.99"), Ok(1_999_999));
        assert_eq!(parse_yuan("90071992547409.93"), Ok(9_007_199_254_740_993));
        assert_eq!(parse_yuan("abc"), Err(MoneyError::NotANumber));
        assert_eq!(parse_yuan(""), Err(MoneyError::NotANumber));
        assert_eq!(parse_yuan("1.234"), Err(MoneyError::TooManyDecimals));
        assert_eq!(parse_yuan("1,23.00"), Err(MoneyError::NotANumber));
        assert_eq!(parse_yuan("1e3"), Err(MoneyError::NotANumber));
        assert_eq!(parse_yuan("99999999999999999999"), Err(MoneyError::TooLarge));
        for fen in [0, 1, 99, 100, 123_450, -5, 9_007_199_254_740_993] {
            assert_eq!(parse_yuan(&yuan(fen)), Ok(fen));
        }
        assert_eq!(yuan(-5), "-0.05");
    }

    fn sample() -> (Vec<&'static str>, Vec<Vec<Cell>>) {
        (
            vec!["客户名称", "证件号码", "欠费金额", "月数"],
            vec![
                vec![Cell::text("王芳"), Cell::text("110105194912310021"), Cell::Yuan(123_450), Cell::Int(3)],
                vec![Cell::text("=HYPERLINK(\"x\")"), Cell::Empty, Cell::Yuan(7), Cell::Int(0)],
            ],
        )
    }

    #[test]
    fn xlsx_round_trips_text_numbers_and_money() {
        let (headers, rows) = sample();
        let bytes = write_xlsx("档案", &headers, &rows).unwrap();
        assert_eq!(Format::detect(&bytes), Format::Xlsx);
        let sheet = read(&bytes).unwrap();
        assert_eq!(sheet.headers, headers);
        assert_eq!(sheet.rows.len(), 2);
        assert_eq!(sheet.rows[0].line, 2);
        assert_eq!(sheet.rows[0].cells, ["王芳", "110105194912310021", "1234.5", "3"]);
        assert_eq!(parse_yuan(&sheet.rows[0].cells[2]), Ok(123_450));
        assert_eq!(sheet.rows[1].cells[0], "=HYPERLINK(\"x\")", "an XLSX string is never a formula");
        assert_eq!(parse_yuan(&sheet.rows[1].cells[2]), Ok(7));
    }

    #[test]
    fn csv_is_written_with_a_bom_and_read_back() {
        let (headers, rows) = sample();
        let bytes = write_csv(&headers, &rows).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let sheet = read(&bytes).unwrap();
        assert_eq!(sheet.headers, headers, "the BOM is not part of the first header");
        assert_eq!(sheet.rows[0].cells, ["王芳", "110105194912310021", "1234.50", "3"]);
        assert_eq!(sheet.rows[1].cells[0], "'=HYPERLINK(\"x\")", "formula text is defused");
    }

    #[test]
    fn gbk_csv_from_excel_is_decoded() {
        let text = "客户名称,楼宇,欠费金额\r\n张三,3号楼,12.30\r\n,,\r\n李四,平房区,\"5\r\n元\"\r\n王五,1号楼,1\r\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        assert!(std::str::from_utf8(&gbk).is_err());
        let sheet = read(&gbk).unwrap();
        assert_eq!(sheet.headers, ["客户名称", "楼宇", "欠费金额"]);
        assert_eq!(sheet.rows.len(), 3, "blank rows are skipped");
        assert_eq!((sheet.rows[1].line, sheet.rows[1].cells[0].as_str()), (4, "李四"));
        assert_eq!(
            (sheet.rows[2].line, sheet.rows[2].cells[0].as_str()),
            (5, "王五"),
            "a cell with a line break is one row"
        );
    }

    #[test]
    fn a_csv_wider_than_the_import_is_refused_and_empty_padding_is_not() {
        let wide = |filled: usize, padded: usize| {
            let mut line: Vec<String> = (0..filled).map(|c| format!("c{c}")).collect();
            line.resize(filled + padded, String::new());
            format!("{}\n", line.join("\t")).repeat(2)
        };
        let refused = read(wide(MAX_COLUMNS + 1, 0).as_bytes()).unwrap_err();
        assert!(
            matches!(&refused, DomainError::Refused { code: ErrorCode::TooManyColumns, message }
                if message.contains(&format!("column {}", MAX_COLUMNS + 1))),
            "{refused:?}"
        );
        let padded = read(wide(3, 2 * MAX_COLUMNS).as_bytes()).unwrap();
        assert_eq!(padded.headers, ["c0", "c1", "c2"]);
        assert_eq!(padded.rows[0].cells.len(), MAX_COLUMNS, "padding past the last column is dropped");
        assert_eq!(padded.rows[0].cells[..3], ["c0", "c1", "c2"]);
        let full = read(wide(MAX_COLUMNS, 0).as_bytes()).unwrap();
        assert_eq!(full.headers.len(), MAX_COLUMNS, "the widest sheet an import takes is read whole");
    }

    #[test]
    fn tab_separated_and_utf16_text_are_read() {
        let sheet = read("客户名称\t楼宇\n王芳\t3号楼\n".as_bytes()).unwrap();
        assert_eq!(sheet.rows[0].cells, ["王芳", "3号楼"]);
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend("客户名称,楼宇\n王芳,1号楼\n".encode_utf16().flat_map(|u| u.to_le_bytes()));
        assert_eq!(read(&utf16).unwrap().rows[0].cells, ["王芳", "1号楼"]);
    }

    #[test]
    fn what_is_not_a_sheet_is_refused_clearly() {
        for bad in [&b""[..], b"  \n", b"\x00\x01\x02binary", b"PK\x03\x04not really a zip"] {
            let e = read(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::NotASpreadsheet, "{e}");
        }
    }
}
