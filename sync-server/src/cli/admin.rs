//! Admin commands (grids, managers, assignments, enrolment codes, revocation, remote wipes, arrears
//! from the back office): one implementation, used by the command line and the back-office pages.

use clap::Subcommand;
use gridbook_core::model::{ArrearsAccount, PaymentType};
use gridbook_core::sync::wire::{ErrorCode, OpAction, OpOutcome};

use crate::domain::auth::Role;
use crate::domain::error::DomainResult;
use crate::domain::password::hash_password;
use crate::domain::spreadsheets::export::{Dataset, ExportRequest};
use crate::domain::spreadsheets::sheet::Format;
use crate::domain::spreadsheets::SheetKind;
use crate::http::error::{AppError, AppResult};
use crate::storage::handover::HandoverRequest;
use crate::storage::SyncStorage;

#[derive(Debug, Clone, Subcommand)]
pub enum AdminCommand {
    /// Creates a grid (网格).
    CreateGrid {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
    },
    /// Creates a manager: field (网格客户经理), supervisor or admin. Supervisors and admins log in
    /// to the back office with a password.
    CreateManager {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "field")]
        role: String,
        #[arg(long, env = "GRIDBOOK_NEW_PASSWORD")]
        password: Option<String>,
    },
    /// Assigns a grid to a manager.
    AssignGrid {
        #[arg(long)]
        manager: String,
        #[arg(long)]
        grid: String,
    },
    /// Sets a manager's staff number (工号), printed on every receipt their phones record from
    /// their next sync on (empty clears it). Audited, as the administration page's.
    SetStaffNo {
        #[arg(long)]
        manager: String,
        #[arg(long)]
        staff_no: String,
        /// Who sets it (recorded in the audit trail).
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Prints a one-time enrolment code for a manager's phone.
    EnrolCode {
        #[arg(long)]
        manager: String,
        #[arg(long, default_value_t = 72)]
        valid_hours: i64,
    },
    /// Revokes a device: refused from its next request on.
    RevokeDevice {
        #[arg(long)]
        device: String,
    },
    /// Orders a device's remote wipe (docs/operations.md, "Remote wipe"): `retire` (a manager
    /// leaves: it uploads everything, then wipes) or `lost` (one push, then the wipe). Audited.
    WipeDevice {
        #[arg(long)]
        device: String,
        /// retire or lost
        #[arg(long)]
        mode: String,
        /// Who asks (recorded in the audit trail).
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Cancels a device's wipe order, if the phone was not told yet. Audited.
    CancelWipe {
        #[arg(long)]
        device: String,
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Every device's remote wipe, newest order first, as JSON lines: status (ordered, told,
    /// wiped), who asked, and the device's report (what was uploaded at the end, what was lost).
    Wipes,
    /// Records an arrears account from billing (欠费); phones of the grid receive it on their next pull.
    AddArrears {
        #[arg(long)]
        grid: String,
        #[arg(long)]
        household: String,
        #[arg(long)]
        account_no: String,
        #[arg(long)]
        owed_fen: i64,
        #[arg(long, default_value_t = 1)]
        months: i64,
        #[arg(long, default_value = "")]
        service_number: String,
        #[arg(long, default_value = "postpaid")]
        payment_type: String,
    },
    /// Builds the snapshot file of every field manager's grids now (fresh phones then install it
    /// without waiting for a build), as JSON lines: grids, records, bytes, build time.
    BuildSnapshotFiles,
    /// Takes a consistent copy of the database while the server may serve (docs/operations.md),
    /// with its SHA-256 in `<FILE>.sha256`; prints file, bytes, checksum and cursor as JSON.
    Backup {
        /// The backup file to write; it must not exist.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Replaces the database with a backup once the backup is checked (checksum, integrity,
    /// schema version), under a new generation: phones then send again what the server forgot.
    /// The server must be stopped.
    Restore {
        /// A file written by `admin backup` (its `.sha256` beside it).
        #[arg(long)]
        from: std::path::PathBuf,
    },
    /// PostgreSQL (--database-url): after a restore with the engine's own tools (a base backup,
    /// point-in-time recovery; scripts/pg-backup.sh), gives the restored database a new
    /// generation, as `restore` does on SQLite: phones then send again what the server forgot.
    /// Run it once recovery has ended and before any server starts; prints the generation as
    /// JSON. Running it twice only makes one more generation (harmless).
    MarkRestored,
    /// Copies the SQLite database (--db) into an empty PostgreSQL one (--database-url), every
    /// table in one transaction, change numbers and generation carried: phones synced before the
    /// move carry on after it with their cursors (docs/postgres.md, "Moving from SQLite"). The
    /// SQLite server must be stopped; a PostgreSQL database that is not empty is refused. With
    /// --snapshot-dir, the published app builds' files go to `<dir>.releases`. Prints JSON.
    MigrateToPostgres,
    /// Lists receipt voids requested by phones (作废申请), newest first, as JSON lines.
    Voids {
        /// pending, approved or refused; all when left out.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Approves or refuses a pending void; recorded in the audit trail. Approval puts the
    /// receipt's amount back on the arrears account.
    DecideVoid {
        #[arg(long)]
        void: String,
        /// approve or refuse
        #[arg(long)]
        decision: String,
        /// The supervisor or admin deciding (a manager id).
        #[arg(long)]
        by: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Checks a paper receipt: its number and the verification code printed on it.
    VerifyReceipt {
        #[arg(long)]
        receipt_no: String,
        #[arg(long)]
        code: String,
    },
    /// Shows one receipt with its signature, checked again against what is stored (JSON).
    ShowReceipt {
        #[arg(long)]
        receipt_no: String,
    },
    /// Lists the receipt books issued to devices, as JSON lines.
    ReceiptBlocks {
        #[arg(long)]
        device: Option<String>,
    },
    /// Loads billing figures (one billing profile a line, JSON: grid_id, household_id,
    /// service_number, product, contract_end, plan_end, period, spend_fen, baseline_fen,
    /// suspension_risk, suspended, as_of_ms), then recomputes the tiers of the grids touched.
    /// Nothing is written when any line is wrong.
    LoadBilling {
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Recomputes customer tiers (高/中/低端) from the stored billing figures: one grid, or all.
    ComputeTiers {
        #[arg(long)]
        grid: Option<String>,
    },
    /// Imports a household archive sheet (客户档案, CSV or XLSX) into a grid; prints the report
    /// (JSON) with the rows refused and why. Nothing is written with --dry-run.
    ImportArchives(ImportArgs),
    /// Imports an arrears sheet (欠费清单, CSV or XLSX) into a grid; prints the report (JSON).
    ImportArrears(ImportArgs),
    /// Exports a grid's archives, visits, receipts or summary to a CSV or XLSX file (by the
    /// file's extension). ID and phone numbers are masked unless --full (audited).
    Export {
        /// archives, visits, receipts or summary
        #[arg(long)]
        what: String,
        #[arg(long)]
        grid: String,
        #[arg(long)]
        out: std::path::PathBuf,
        /// First and last local day (YYYY-MM-DD) of visits or receipts.
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        full: bool,
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Hands a whole grid over from one field manager to another (网格交接). The old manager's
    /// phones push what they still hold, then remove their copy; the new manager's phones pull it.
    HandoverGrid {
        #[arg(long)]
        grid: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// Who does it, for the audit trail.
        #[arg(long, default_value = "admin-cli")]
        by: String,
    },
    /// Hands one building (楼宇) and everything in it — households, accounts, appointments,
    /// tickets, visits, notices, receipts, signatures — over into a grid of another manager.
    HandoverBuilding {
        #[arg(long)]
        premises: String,
        /// The manager who takes it over; must hold `to-grid`.
        #[arg(long)]
        to: String,
        #[arg(long)]
        to_grid: String,
        #[arg(long, default_value = "admin-cli")]
        by: String,
    },
    /// Handovers, newest first, as JSON lines: each old device waiting, or done.
    Handovers {
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// The audit trail (voids decided, receipt books issued), newest first, as JSON lines.
    Audit {
        #[arg(long)]
        subject: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    #[arg(long)]
    grid: String,
    #[arg(long)]
    file: std::path::PathBuf,
    #[arg(long)]
    dry_run: bool,
    /// Who is importing (recorded in the audit trail).
    #[arg(long, default_value = "cli")]
    by: String,
}

fn import_file(storage: &dyn SyncStorage, kind: SheetKind, args: &ImportArgs, now_ms: i64) -> AppResult<String> {
    let file = &args.file;
    let bytes = std::fs::read(file).map_err(|e| AppError::new(ErrorCode::Io, format!("{}: {e}", file.display())))?;
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let upload = crate::domain::spreadsheets::Upload {
        kind,
        grid: &args.grid,
        bytes: &bytes,
        dry_run: args.dry_run,
        actor: &args.by,
        file: &name,
    };
    let report = crate::domain::spreadsheets::import(storage, &upload, now_ms)?;
    Ok(serde_json::to_string_pretty(&report)?)
}

fn json_lines<T: serde::Serialize>(rows: &[T]) -> AppResult<String> {
    let lines: Result<Vec<String>, _> = rows.iter().map(serde_json::to_string).collect();
    Ok(lines?.join("\n"))
}

/// Runs one command; returns what to print.
pub fn run(storage: &dyn SyncStorage, command: AdminCommand, now_ms: i64) -> AppResult<String> {
    match command {
        AdminCommand::CreateGrid { id, name } => {
            storage.create_grid(&id, &name, now_ms)?;
            Ok(format!("grid {id} created"))
        }
        AdminCommand::CreateManager { id, name, role, password } => {
            let role = Role::parse(&role).ok_or_else(|| AppError::invalid("role: one of field, supervisor, admin"))?;
            let hash = password.as_deref().map(hash_password).transpose()?;
            storage.create_manager(&id, &name, role, hash.as_deref(), now_ms)?;
            Ok(format!("manager {id} created"))
        }
        AdminCommand::AssignGrid { manager, grid } => {
            storage.assign_grid(&manager, &grid)?;
            Ok(format!("grid {grid} assigned to {manager}"))
        }
        AdminCommand::SetStaffNo { manager, staff_no, by } => {
            let staff_no = staff_no.trim();
            if let Some(why) = crate::domain::receipt_profile::staff_no_problem(staff_no) {
                return Err(AppError::invalid(format!("staff-no: {why}")));
            }
            let changed = storage.set_staff_no(&manager, staff_no, &by, now_ms)?;
            Ok(format!("staff number of {manager}: {staff_no}{}", if changed { "" } else { " (unchanged)" }))
        }
        AdminCommand::EnrolCode { manager, valid_hours } => {
            if !(1..=24 * 30).contains(&valid_hours) {
                return Err(AppError::invalid("valid-hours: between 1 and 720"));
            }
            Ok(storage.create_enrol_code(&manager, now_ms, valid_hours * 3_600_000)?)
        }
        AdminCommand::RevokeDevice { device } => {
            storage.revoke_device(&device, now_ms)?;
            Ok(format!("device {device} revoked"))
        }
        AdminCommand::WipeDevice { device, mode, by } => {
            let row = storage.order_wipe(&device, crate::storage::wipes::mode_of(&mode)?, &by, now_ms)?;
            Ok(serde_json::to_string(&row)?)
        }
        AdminCommand::CancelWipe { device, by } => {
            storage.cancel_wipe(&device, &by, now_ms)?;
            Ok(format!("wipe of device {device} cancelled"))
        }
        AdminCommand::Wipes => json_lines(&storage.wipes()?),
        AdminCommand::AddArrears { grid, household, account_no, owed_fen, months, service_number, payment_type } => {
            let payment_type = PaymentType::parse(&payment_type)
                .ok_or_else(|| AppError::invalid("payment-type: prepaid or postpaid"))?;
            let account = ArrearsAccount {
                id: String::new(),
                grid_id: grid.clone(),
                household_id: household,
                account_no,
                service_number,
                payment_type,
                owed_fen,
                months_overdue: months,
                balance_fen: None,
                as_of_ms: now_ms,
            };
            let id = gridbook_core::new_id();
            let mut fields = serde_json::to_value(&account)?.as_object().cloned().unwrap_or_default();
            fields.remove("id");
            let op = crate::domain::authoring::op(
                gridbook_core::EntityKind::ArrearsAccount,
                &id,
                &grid,
                OpAction::Create,
                fields,
            );
            match storage.apply_backoffice_op(&op, now_ms)?.outcome {
                OpOutcome::Rejected { reason, .. } => Err(AppError::invalid(reason)),
                _ => Ok(id),
            }
        }
        AdminCommand::BuildSnapshotFiles => {
            let files = crate::domain::snapshot_files::SnapshotFiles::for_storage(storage, Default::default())
                .ok_or_else(|| AppError::not_found("this storage backend builds no snapshot files"))?;
            let built: Vec<serde_json::Value> = files
                .prebuild(storage)?
                .into_iter()
                .map(|c| {
                    serde_json::json!({
                        "grids": c.grids, "records": c.facts.rows, "cursor": c.facts.cursor,
                        "bytes": c.facts.bytes, "gzip_bytes": c.gz_bytes, "build_ms": c.build_ms,
                    })
                })
                .collect();
            json_lines(&built)
        }
        AdminCommand::Backup { to } => Ok(serde_json::to_string(&storage.backup_to(&to, now_ms)?)?),
        AdminCommand::Restore { .. } => Err(AppError::invalid(
            "restore replaces the database file: it runs before the database is opened (`restore_database`)",
        )),
        AdminCommand::MarkRestored => Err(AppError::invalid(
            "mark-restored: 仅用于 PostgreSQL（--database-url），SQLite 请用 `admin restore` PostgreSQL only (--database-url); a SQLite database is restored with `admin restore`",
        )),
        AdminCommand::MigrateToPostgres => Err(AppError::invalid(
            "migrate-to-postgres: 需要 --db 和 --database-url both --db (the SQLite file) and --database-url (the empty PostgreSQL database) are needed",
        )),
        AdminCommand::Voids { status, limit } => {
            json_lines(&storage.void_reviews(status.as_deref(), limit.clamp(1, 10_000))?)
        }
        AdminCommand::DecideVoid { void, decision, by, note } => {
            let decision = crate::storage::evidence::VoidDecision::parse(&decision)
                .ok_or_else(|| AppError::invalid("decision: approve or refuse"))?;
            let row = storage.decide_void(&void, decision, &by, &note, now_ms)?;
            Ok(format!("void {void} {}", row.status))
        }
        AdminCommand::VerifyReceipt { receipt_no, code } => {
            Ok(serde_json::to_string(&storage.verify_receipt(&receipt_no, &code)?)?)
        }
        AdminCommand::ShowReceipt { receipt_no } => {
            match crate::domain::reveals::receipt_evidence(storage, "admin-cli", &receipt_no, now_ms)? {
                Some(evidence) => Ok(serde_json::to_string_pretty(&evidence)?),
                None => Err(AppError::not_found(format!("no accepted receipt {receipt_no}"))),
            }
        }
        AdminCommand::ReceiptBlocks { device } => json_lines(&storage.receipt_blocks(device.as_deref())?),
        AdminCommand::LoadBilling { file } => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| AppError::invalid(format!("{}: {e}", file.display())))?;
            let report =
                crate::domain::billing::load(storage, crate::domain::billing::parse_json_lines(&text)?, now_ms)?;
            Ok(serde_json::to_string(&report)?)
        }
        AdminCommand::ComputeTiers { grid } => {
            let grids = match grid {
                Some(g) => vec![g],
                None => storage.grid_ids()?,
            };
            let reports = grids
                .iter()
                .map(|g| crate::domain::tiers::recompute(storage, g, now_ms))
                .collect::<DomainResult<Vec<_>>>()?;
            json_lines(&reports)
        }
        AdminCommand::ImportArchives(args) => import_file(storage, SheetKind::Archives, &args, now_ms),
        AdminCommand::ImportArrears(args) => import_file(storage, SheetKind::Arrears, &args, now_ms),
        AdminCommand::Export { what, grid, out, from, to, full, by } => {
            let dataset = Dataset::parse(&what)
                .ok_or_else(|| AppError::invalid("what: archives, visits, receipts or summary"))?;
            let format = out
                .extension()
                .and_then(|e| e.to_str())
                .and_then(Format::parse)
                .ok_or_else(|| AppError::invalid("out: a file ending in .csv or .xlsx"))?;
            let request = ExportRequest { dataset, grid, format, from, to, full };
            let exported = crate::domain::spreadsheets::export::export(storage, &request, &by, now_ms)?;
            std::fs::write(&out, &exported.bytes)
                .map_err(|e| AppError::new(ErrorCode::Io, format!("{}: {e}", out.display())))?;
            Ok(format!("{} rows written to {}", exported.rows, out.display()))
        }
        AdminCommand::HandoverGrid { grid, from, to, by } => {
            let row = storage.hand_over(&HandoverRequest::Grid { grid, from, to }, &by, now_ms)?;
            Ok(serde_json::to_string(&row)?)
        }
        AdminCommand::HandoverBuilding { premises, to, to_grid, by } => {
            let row = storage.hand_over(&HandoverRequest::Building { premises, to, to_grid }, &by, now_ms)?;
            Ok(serde_json::to_string(&row)?)
        }
        AdminCommand::Handovers { limit } => json_lines(&storage.handovers(limit.clamp(1, 10_000))?),
        AdminCommand::Audit { subject, limit } => {
            json_lines(&storage.audit_log(subject.as_deref(), limit.clamp(1, 10_000))?)
        }
    }
}

/// `admin restore`: replaces the database at `db` with the checked backup `from`, refused while a
/// server runs on it. Prints what was restored as JSON.
pub fn restore_database(db: &std::path::Path, from: &std::path::Path) -> AppResult<String> {
    use crate::storage::sqlite::backup;
    let _lock = backup::ServeLock::take(db)?;
    Ok(serde_json::to_string(&backup::restore(from, db)?)?)
}

/// `admin migrate-to-postgres`: copies the SQLite database `db` (no server may run on it) into the
/// empty PostgreSQL database at `url`, its photo directory into PostgreSQL's photo tables; the
/// app builds' files into `<snapshot_dir>.releases`.
/// Prints what was copied as JSON.
pub fn migrate_to_postgres(
    db: &std::path::Path,
    url: &str,
    snapshot_dir: Option<&std::path::Path>,
) -> AppResult<String> {
    use crate::storage::sqlite::backup;
    let _lock = backup::ServeLock::take(db)?;
    if !db.is_file() {
        return Err(AppError::not_found(format!("没有 SQLite 数据库 no SQLite database at {}", db.display())));
    }
    // an older file is brought up to the schema this server copies from
    drop(crate::storage::sqlite::SqliteStorage::open(db)?);
    let releases = snapshot_dir.map(|dir| {
        (
            std::path::PathBuf::from(format!("{}.releases", db.display())),
            std::path::PathBuf::from(format!("{}.releases", dir.display())),
        )
    });
    let photos = crate::storage::sqlite::SqliteStorage::photo_dir_of(db);
    Ok(serde_json::to_string(&crate::storage::postgres::from_sqlite::migrate(db, url, releases, Some(&photos))?)?)
}

/// `admin mark-restored`: gives the restored PostgreSQL database at `url` a new generation
/// (storage/postgres/restore.rs). Prints what was written as JSON.
pub fn mark_restored_database(url: &str) -> AppResult<String> {
    Ok(serde_json::to_string(&crate::storage::postgres::restore::mark_restored(url, crate::now_ms())?)?)
}
