//! The household search index (FTS5, trigram tokenizer: substrings of Chinese names, phone
//! digits, addresses, service numbers), kept up to date by the write path.
//!
//! Why batched: FTS5 flushes its pending terms to a new index segment whenever any statement of
//! the transaction opens a savepoint, and every household upsert does. Interleaving index writes
//! with row writes therefore cost one segment per household (measured: 7× slower). The write paths
//! collect the index entries of a batch and write them together after its rows.
//!
//! Why `detail = none` (schema version 5): the index records which households hold a trigram, not
//! where, which makes it much cheaper to write (the initial sync of a grid writes it for every
//! household). A query therefore asks for all the trigrams of its text to find candidates, and
//! the candidates' own columns decide (`TEXT_HOLDS`).
//!
//! Why search keys (schema version 11): the index holds each text's `search_key` and a query is
//! turned into one, so that `３号楼` finds `3号楼` and `５６７８` finds `5678` whichever way either
//! was typed; the columns keep the text as typed.

use rusqlite::functions::FunctionFlags;
use rusqlite::{params, Connection};
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use crate::error::Result;
use crate::sync::wire::EntityState;

/// The form text is searched in (issue 21, defect 12): NFKC, so full-width digits and letters
/// (`３号楼`, `５６７８`, `ＡＢ`) and other compatibility forms are their plain forms, then lower
/// case. The index holds it and a query is turned into it; the stored text stays as typed.
pub fn search_key(text: &str) -> String {
    text.nfkc().flat_map(char::to_lowercase).collect()
}

/// The SQL function `search_key(text)` (NULL for NULL) on this connection: the candidates'
/// columns are compared in the same form as the query (`TEXT_HOLDS`).
pub fn register_functions(conn: &Connection) -> Result<()> {
    conn.create_scalar_function(
        "search_key",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_INNOCUOUS,
        |ctx| Ok(ctx.get::<Option<String>>(0)?.map(|t| search_key(&t))),
    )?;
    Ok(())
}

/// The full-text query that finds every household whose indexed text may hold `text` (a
/// `search_key`): all its trigrams. None below three characters, which the trigram index cannot
/// answer.
pub fn match_expression(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut terms: Vec<String> =
        chars.windows(3).map(|w| format!("\"{}\"", w.iter().collect::<String>().replace('"', "\"\""))).collect();
    terms.sort();
    terms.dedup();
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

/// SQL over a household row: whether the search key of one of the texts the index holds contains
/// `?2`, a LIKE pattern of a search key (`%key%`, escaped with '\\'). The last word on a search,
/// with or without the index.
pub const TEXT_HOLDS: &str = "(search_key(customer_name) LIKE ?2 ESCAPE '\\' OR search_key(mobile) LIKE ?2 ESCAPE '\\'
    OR search_key(landline) LIKE ?2 ESCAPE '\\' OR search_key(address) LIKE ?2 ESCAPE '\\'
    OR EXISTS (SELECT 1 FROM json_each(services) WHERE search_key(value ->> 'service_number') LIKE ?2 ESCAPE '\\'))";

struct Entry {
    rowid: i64,
    replace: bool,
    /// None: the household is deleted (its entry is only removed).
    text: Option<[String; 5]>,
}

/// Index entries waiting to be written at the end of a batch.
#[derive(Default)]
pub struct SearchBatch(Vec<Entry>);

impl SearchBatch {
    /// Notes the household stored at `rowid`; `replace` drops what was indexed for it before.
    pub fn push(&mut self, rowid: i64, state: &EntityState, replace: bool) {
        let text = (!state.deleted()).then(|| {
            let field = |f: &str| search_key(state.value(f).as_str().unwrap_or_default());
            let services = match state.value("services") {
                Value::Array(list) => list
                    .iter()
                    .filter_map(|s| s.get("service_number").and_then(Value::as_str))
                    .map(search_key)
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => String::new(),
            };
            [field("customer_name"), field("mobile"), field("landline"), field("address"), services]
        });
        self.0.push(Entry { rowid, replace, text });
    }

    pub fn write(self, conn: &Connection) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let mut delete = conn.prepare_cached("DELETE FROM household_search WHERE rowid = ?1")?;
        let mut insert = conn.prepare_cached(
            "INSERT INTO household_search (rowid, customer_name, mobile, landline, address, service_numbers)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for e in self.0 {
            if e.replace {
                delete.execute([e.rowid])?;
            }
            if let Some([name, mobile, landline, address, services]) = &e.text {
                insert.execute(params![e.rowid, name, mobile, landline, address, services])?;
            }
        }
        Ok(())
    }
}
