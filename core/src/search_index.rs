//! The household search index (FTS5, trigram tokenizer: substrings of Chinese names, phone
//! digits, addresses, service numbers), kept up to date by the write path.
//!
//! Why batched: FTS5 flushes its pending terms to a new index segment whenever any statement of
//! the transaction opens a savepoint, and every household upsert does. Interleaving index writes
//! with row writes therefore cost one segment per household (measured: 7× slower). The write paths
//! collect the index entries of a batch and write them together after its rows.

use rusqlite::{params, Connection};
use serde_json::Value;

use crate::error::Result;
use crate::wire::EntityState;

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
            let field = |f: &str| state.value(f).as_str().unwrap_or_default().to_string();
            let services = match state.value("services") {
                Value::Array(list) => list
                    .iter()
                    .filter_map(|s| s.get("service_number").and_then(Value::as_str))
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
