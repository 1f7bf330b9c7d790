//! `admin migrate-to-postgres`: copies a SQLite server database into an empty PostgreSQL one
//! (docs/postgres.md, "Moving from SQLite"), so that phones synced before the move carry on after
//! it with the cursors they hold.
//!
//! Every table of the SQLite file is copied, in one PostgreSQL transaction (all or nothing), in
//! batches of `BATCH` rows (one `INSERT … SELECT FROM UNNEST` per batch: bounded memory, no round
//! trip per row). A table or a column the PostgreSQL schema has no place for is refused, never
//! dropped, except the two columns a SQLite backup writes into its own copy.
//!
//! Change numbers are carried as they are, not renumbered: a cursor a phone holds from SQLite
//! then names the same position. They stay valid because every number PostgreSQL hands out later
//! is larger: a new number is its transaction's id shifted left by `PER_TX_BITS` (cursor.rs), so
//! before the copy this burns transaction ids (one empty transaction each) until the copy's own id,
//! shifted, is above the largest number the file holds; every later transaction has a larger id.
//! The pull watermark (the oldest running id, shifted) is then above every carried number too.
//! The generation is carried as well, so phones see the same server, not a restored one.
//!
//! The photos move too (issue 20): every whole photo of the SQLite server's directory
//! (`storage::blobs::DirBlobStore`) becomes a `photo_blobs` row with its thumbnail, in the same
//! transaction, each only after its bytes hash to its address; one that does not is left behind
//! and named in the report (its phone has long deleted it; the back office shows it missing, as
//! before the move). The chunks of uploads under way are copied as they are, so a phone resumes
//! its upload from the next chunk, not from zero.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use deadpool_postgres::GenericClient;
use gridbook_core::sync::wire::ErrorCode;
use rusqlite::types::Value;
use serde::Serialize;
use tokio_postgres::types::ToSql;

use super::cursor::PER_TX_BITS;
use super::pool::{Db, RowExt};
use super::schema;
use crate::storage::blobs::{BlobStore, DirBlobStore};
use crate::storage::error::{StorageError, StorageResult};
use gridbook_core::photos::photo_sha256;
use gridbook_core::sync::wire::{MAX_PHOTO_BYTES, PHOTO_CHUNK_BYTES};

/// Rows per `INSERT`.
const BATCH: usize = 5_000;
/// Transaction ids burnt at most before the copy (each covers 2^20 change numbers).
const MAX_BURN: i64 = 1_000_000;
/// Tables the PostgreSQL migrations seed with their one row: replaced by the file's, not
/// counted as "not empty".
const SEEDED: &[&str] = &["server_generation", "backoffice_clock"];
/// Tables other tables refer to: copied first, in this order.
const PARENTS: &[&str] = &["grids", "managers", "devices", "handovers"];
/// SQLite columns with no PostgreSQL column that are left behind: a backup's notes about itself.
const LEFT_BEHIND: &[(&str, &str)] =
    &[("server_generation", "backup_taken_ms"), ("server_generation", "backup_cursor")];

/// What `admin migrate-to-postgres` copied, printed as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MoveReport {
    /// Rows copied, per table.
    pub tables: BTreeMap<String, u64>,
    /// The largest change number carried: cursors up to it mean what they meant on SQLite.
    pub last_change: i64,
    /// The generation carried (phones see the same server).
    pub generation: String,
    /// App builds whose files were copied into the shared directory.
    pub release_files: u64,
    /// The photo directory's move.
    pub photos: PhotoMove,
}

/// What moved of the SQLite server's photo directory into `photo_blobs` / `photo_chunks`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PhotoMove {
    /// Whole photos copied, each hashed to its address first.
    pub copied: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Thumbnails copied with them.
    pub thumbnails: u64,
    /// Chunks of uploads under way copied.
    pub chunks: u64,
    /// Files that did not hash to their address, or were larger than a photo may be: left behind.
    pub refused: Vec<String>,
}

/// The target is not empty: nothing was written.
fn not_empty(table: &str) -> StorageError {
    StorageError::conflict(
        ErrorCode::Exists,
        format!(
            "目标 PostgreSQL 数据库不是空的（表 {table} 有数据），什么也没写 the PostgreSQL database is not empty \
             (table {table} has rows): nothing was written; migrate into a new, empty database"
        ),
    )
}

fn no_place(what: &str) -> StorageError {
    StorageError::invalid(format!(
        "PostgreSQL 的表结构里没有 {what} 的位置，没有迁移 the PostgreSQL schema has no place for {what}: \
         nothing was written (is this server older than the SQLite file?)"
    ))
}

/// One PostgreSQL column's values of a batch, typed as the column.
enum Values {
    Text(Vec<Option<String>>),
    Big(Vec<Option<i64>>),
    Int(Vec<Option<i32>>),
    Bool(Vec<Option<bool>>),
}

impl Values {
    fn of_type(pg_type: &str) -> Option<(Self, &'static str)> {
        Some(match pg_type {
            "text" => (Values::Text(Vec::with_capacity(BATCH)), "text[]"),
            "bigint" => (Values::Big(Vec::with_capacity(BATCH)), "bigint[]"),
            "integer" => (Values::Int(Vec::with_capacity(BATCH)), "integer[]"),
            "boolean" => (Values::Bool(Vec::with_capacity(BATCH)), "boolean[]"),
            _ => return None,
        })
    }

    /// Adds a SQLite value; `None` if it does not fit the column (SQLite keeps any type anywhere).
    fn push(&mut self, value: Value) -> Option<()> {
        match (self, value) {
            (Values::Text(v), Value::Null) => v.push(None),
            (Values::Big(v), Value::Null) => v.push(None),
            (Values::Int(v), Value::Null) => v.push(None),
            (Values::Bool(v), Value::Null) => v.push(None),
            (Values::Text(v), Value::Text(s)) => v.push(Some(s)),
            (Values::Big(v), Value::Integer(i)) => v.push(Some(i)),
            (Values::Int(v), Value::Integer(i)) => v.push(Some(i32::try_from(i).ok()?)),
            (Values::Bool(v), Value::Integer(i)) => v.push(Some(i != 0)),
            _ => return None,
        }
        Some(())
    }

    fn clear(&mut self) {
        match self {
            Values::Text(v) => v.clear(),
            Values::Big(v) => v.clear(),
            Values::Int(v) => v.clear(),
            Values::Bool(v) => v.clear(),
        }
    }

    fn param(&self) -> &(dyn ToSql + Sync) {
        match self {
            Values::Text(v) => v,
            Values::Big(v) => v,
            Values::Int(v) => v,
            Values::Bool(v) => v,
        }
    }
}

/// A table to copy: the columns both sides have, with their PostgreSQL types.
struct Table {
    name: String,
    columns: Vec<(String, String)>,
}

/// Copies the SQLite database `sqlite` into the empty PostgreSQL database at `url`; `releases`
/// (from, to): the directories of the app builds' files, copied when the file has builds.
/// `photos`: the SQLite server's photo directory, when it has one.
pub fn migrate(
    sqlite: &Path,
    url: &str,
    releases: Option<(PathBuf, PathBuf)>,
    photos: Option<&Path>,
) -> StorageResult<MoveReport> {
    let db = Db::open(url)?;
    schema::migrate(&db)?;
    let source = rusqlite::Connection::open_with_flags(
        sqlite,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // one read snapshot of the file throughout (the server is stopped; this only makes sure)
    source.execute_batch("BEGIN")?;
    let (tables, all_tables) = plan(&db, &source)?;
    let last_change: i64 = source.query_row(
        "SELECT max(coalesce((SELECT max(seq) FROM entities), 0), coalesce((SELECT max(seq) FROM handover_records), 0),
                    coalesce((SELECT max(pull_cursor) FROM devices), 0), coalesce((SELECT max(restored_cursor) FROM server_generation), 0))",
        [],
        |r| r.get(0),
    )?;
    let generation: String = source.query_row("SELECT id FROM server_generation WHERE single = 1", [], |r| r.get(0))?;
    let release_count: i64 = source.query_row("SELECT count(*) FROM app_releases", [], |r| r.get(0))?;
    let releases = match (release_count, releases) {
        (0, _) => None,
        (_, Some(dirs)) => Some(dirs),
        (_, None) => {
            return Err(StorageError::invalid(
                "SQLite 数据库里有已发布的安装包：请用 --snapshot-dir 给出各副本共享的目录 the SQLite database has published app \
                 builds: name the replicas' shared directory with --snapshot-dir (their files go to <dir>.releases)",
            ))
        }
    };
    burn_transaction_ids(&db, last_change)?;

    let photo_dir = match photos.filter(|d| d.is_dir()) {
        Some(dir) => Some(
            DirBlobStore::open(dir)
                .map_err(|e| StorageError::internal(format!("the photo directory {}: {e}", dir.display())))?,
        ),
        None => None,
    };
    let mut copied = BTreeMap::new();
    let mut photos_moved = PhotoMove::default();
    db.write(|tx| {
        // no replica migrates or marks a restore meanwhile
        db.execute(tx, "SELECT pg_advisory_xact_lock($1)", &[&schema::MIGRATION_LOCK])?;
        let xid: i64 = db.query_one(tx, "SELECT pg_current_xact_id()::text::bigint", &[])?.at(0)?;
        if (xid << PER_TX_BITS) <= last_change {
            return Err(StorageError::internal("the copy's transaction id is below the carried change numbers"));
        }
        for table in all_tables.iter().filter(|t| !SEEDED.contains(&t.as_str())) {
            if db.query_one(tx, &format!("SELECT EXISTS (SELECT 1 FROM {table})"), &[])?.at(0)? {
                return Err(not_empty(table));
            }
        }
        for seeded in SEEDED {
            db.execute(tx, &format!("DELETE FROM {seeded}"), &[])?;
        }
        for table in &tables {
            copied.insert(table.name.clone(), copy_table(&db, tx, &source, table)?);
        }
        if let Some(dir) = &photo_dir {
            photos_moved = copy_photos(&db, tx, dir)?;
        }
        // the serial ids (audit log, conflicts, sync events) go on after the copied ones
        for row in db.query(
            tx,
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'",
            &[],
        )? {
            let (table, column): (String, String) = (row.at(0)?, row.at(1)?);
            db.execute(
                tx,
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), max({column})) FROM {table} HAVING max({column}) IS NOT NULL"
                ),
                &[],
            )?;
        }
        Ok(())
    })?;
    let release_files = match releases {
        Some((from, to)) => copy_release_files(&source, &from, &to)?,
        None => 0,
    };
    Ok(MoveReport { tables: copied, last_change, generation, release_files, photos: photos_moved })
}

/// Copies the directory's whole photos (hash checked, one in memory at a time) with their
/// thumbnails, and the chunks of uploads under way.
fn copy_photos<C: GenericClient + Sync>(db: &Db, tx: &C, dir: &DirBlobStore) -> StorageResult<PhotoMove> {
    let io = |e: std::io::Error| StorageError::internal(format!("the photo directory: {e}"));
    let mut out = PhotoMove::default();
    let now = crate::now_ms();
    for (sha, len) in dir.whole_photos().map_err(io)? {
        // read only what a photo may be: a larger file is not one, whatever it hashes to
        let bytes = match len {
            1..=MAX_PHOTO_BYTES => dir.photo(&sha).map_err(io)?,
            _ => None,
        };
        let Some(bytes) = bytes.filter(|b| photo_sha256(b) == sha) else {
            out.refused.push(sha);
            continue;
        };
        let thumbnail = dir.thumbnail(&sha).map_err(io)?;
        let size = i64::try_from(bytes.len()).map_err(|_| StorageError::internal("a photo's size"))?;
        db.execute(
            tx,
            "INSERT INTO photo_blobs (sha256, size, bytes, thumbnail, arrived_at_ms) VALUES ($1, $2, $3, $4, $5)",
            &[&sha, &size, &bytes, &thumbnail, &now],
        )?;
        out.copied += 1;
        out.bytes += bytes.len() as u64;
        out.thumbnails += u64::from(thumbnail.is_some());
    }
    for (sha, index, len) in dir.chunks_under_way().map_err(io)? {
        // a chunk is at most one chunk long; the server counts it only at the length its index needs
        let (Ok(idx), true) = (i32::try_from(index), (1..=PHOTO_CHUNK_BYTES as u64).contains(&len)) else { continue };
        let Some(bytes) = dir.chunk(&sha, index).map_err(io)? else { continue };
        db.execute(
            tx,
            "INSERT INTO photo_chunks (sha256, idx, bytes) VALUES ($1, $2, $3) ON CONFLICT (sha256, idx) DO NOTHING",
            &[&sha, &idx, &bytes],
        )?;
        out.chunks += 1;
    }
    Ok(out)
}

/// The tables to copy, parents first, each with the columns both sides have. Refuses a table or
/// a column of the file that PostgreSQL has no place for, and a PostgreSQL column without a
/// default that the file does not fill. Also answers every PostgreSQL table's name.
fn plan(db: &Db, source: &rusqlite::Connection) -> StorageResult<(Vec<Table>, Vec<String>)> {
    let conn = db.conn()?;
    let mut pg: BTreeMap<String, Vec<(String, String, bool)>> = BTreeMap::new();
    for row in db.query(
        &conn,
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text, c.column_default IS NULL AND c.is_nullable = 'NO'
         FROM information_schema.columns c JOIN information_schema.tables t
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name <> 'gridbook_schema'
         ORDER BY c.table_name, c.ordinal_position",
        &[],
    )? {
        pg.entry(row.at(0)?).or_default().push((row.at(1)?, row.at(2)?, row.at(3)?));
    }
    let mut names: Vec<String> = source
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    names.sort_by_key(|n| PARENTS.iter().position(|p| p == n).unwrap_or(PARENTS.len()));
    let mut tables = Vec::new();
    for name in names {
        let pg_columns = pg.get(&name).ok_or_else(|| no_place(&format!("table {name}")))?;
        let sqlite_columns: Vec<String> = source
            .prepare(&format!("SELECT name FROM pragma_table_info('{name}') ORDER BY cid"))?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut columns = Vec::new();
        for column in &sqlite_columns {
            match pg_columns.iter().find(|(c, _, _)| c == column) {
                Some((_, pg_type, _)) => columns.push((column.clone(), pg_type.clone())),
                None if LEFT_BEHIND.contains(&(name.as_str(), column.as_str())) => {}
                None => return Err(no_place(&format!("column {name}.{column}"))),
            }
        }
        if let Some((column, _, _)) =
            pg_columns.iter().find(|(c, _, required)| *required && !sqlite_columns.contains(c))
        {
            return Err(no_place(&format!("a value of {name}.{column} (the SQLite file has none)")));
        }
        tables.push(Table { name, columns });
    }
    Ok((tables, pg.into_keys().collect()))
}

/// Burns transaction ids until the next one numbers its changes above `last_change`.
fn burn_transaction_ids(db: &Db, last_change: i64) -> StorageResult<()> {
    let needed = (last_change >> PER_TX_BITS) + 1;
    let conn = db.conn()?;
    for _ in 0..MAX_BURN {
        // each statement outside a transaction block is a transaction of its own
        let xid: i64 = db.query_one(&conn, "SELECT pg_current_xact_id()::text::bigint", &[])?.at(0)?;
        if xid >= needed {
            return Ok(());
        }
    }
    Err(StorageError::invalid(format!(
        "变更号 {last_change} 太大，无法接续 change number {last_change} is too large to carry on from"
    )))
}

/// Copies one table in batches; answers the rows copied.
fn copy_table<C: GenericClient + Sync>(
    db: &Db,
    tx: &C,
    source: &rusqlite::Connection,
    table: &Table,
) -> StorageResult<u64> {
    let name = &table.name;
    let mut columns = Vec::with_capacity(table.columns.len());
    let mut casts = Vec::with_capacity(table.columns.len());
    for (i, (column, pg_type)) in table.columns.iter().enumerate() {
        let (values, array) = Values::of_type(pg_type)
            .ok_or_else(|| no_place(&format!("column {name}.{column} of PostgreSQL type {pg_type}")))?;
        columns.push(values);
        casts.push(format!("${}::{array}", i + 1));
    }
    let names = table.columns.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(", ");
    let insert = format!("INSERT INTO {name} ({names}) SELECT * FROM UNNEST({})", casts.join(", "));
    let flush = |columns: &mut Vec<Values>| -> StorageResult<()> {
        let params: Vec<&(dyn ToSql + Sync)> = columns.iter().map(Values::param).collect();
        db.execute(tx, &insert, &params)?;
        columns.iter_mut().for_each(Values::clear);
        Ok(())
    };
    let mut statement = source.prepare(&format!("SELECT {names} FROM {name}"))?;
    let mut rows = statement.query([])?;
    let (mut total, mut pending) = (0u64, 0usize);
    while let Some(row) = rows.next()? {
        for (i, values) in columns.iter_mut().enumerate() {
            // the value itself is never quoted: it may be a name or a phone number
            values.push(row.get::<_, Value>(i)?).ok_or_else(|| {
                StorageError::invalid(format!(
                    "{name}.{} 的一个值类型不对 a value of {name}.{} is not of the column's type",
                    table.columns[i].0, table.columns[i].0
                ))
            })?;
        }
        pending += 1;
        total += 1;
        if pending == BATCH {
            flush(&mut columns)?;
            pending = 0;
        }
    }
    if pending > 0 {
        flush(&mut columns)?;
    }
    Ok(total)
}

/// Copies the published builds' files (`<sha256>.apk`) from `from` into `to`; answers how many.
fn copy_release_files(source: &rusqlite::Connection, from: &Path, to: &Path) -> StorageResult<u64> {
    let io =
        |what: &str, path: &Path, e: std::io::Error| StorageError::internal(format!("{what} {}: {e}", path.display()));
    std::fs::create_dir_all(to).map_err(|e| io("creating", to, e))?;
    let shas: Vec<String> =
        source.prepare("SELECT sha256 FROM app_releases")?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    let mut copied = 0;
    for sha in shas {
        // a stored digest is 64 hex digits; anything else is not made into a path
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StorageError::internal("a published build's stored digest is not 64 hex digits"));
        }
        let (src, dst) = (from.join(format!("{sha}.apk")), to.join(format!("{sha}.apk")));
        if src.exists() {
            std::fs::copy(&src, &dst).map_err(|e| io("copying", &src, e))?;
            copied += 1;
        }
    }
    Ok(copied)
}
