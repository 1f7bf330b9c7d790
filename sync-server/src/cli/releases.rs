//! `releases`: the builds of the Android app and the minimum app version from the command line
//! (what the back office's "App versions" page does, for a release pipeline): publish a file, list,
//! change a rollout, withdraw, set the minimum. Each change is audited under `--by`.

use std::io::Read;

use clap::Subcommand;
use gridbook_core::sync::wire::ErrorCode;

use crate::domain::app_versions::{check_version, checked_rollout, id_list, IncomingBuild};
use crate::http::error::{AppError, AppResult};
use crate::storage::releases::ReleaseStorage;

#[derive(Debug, Clone, Subcommand)]
pub enum ReleaseCommand {
    /// Publishes an APK: copied beside the database under its SHA-256, offered to `--rollout`
    /// percent of the devices (of `--grids` / `--managers`, comma-separated, when given).
    Publish {
        #[arg(long)]
        file: std::path::PathBuf,
        #[arg(long)]
        version: String,
        #[arg(long, default_value = "")]
        notes: String,
        #[arg(long, default_value_t = 0)]
        rollout: u8,
        #[arg(long, default_value = "")]
        grids: String,
        #[arg(long, default_value = "")]
        managers: String,
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Every build, newest first, as JSON lines.
    List,
    /// Changes who a build is offered to.
    Rollout {
        #[arg(long)]
        sha256: String,
        #[arg(long)]
        percent: u8,
        #[arg(long, default_value = "")]
        grids: String,
        #[arg(long, default_value = "")]
        managers: String,
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Offers a build to nobody from now on.
    Withdraw {
        #[arg(long)]
        sha256: String,
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Sets the lowest app version that may sync (`none` clears it). A running server sees it
    /// within seconds.
    MinVersion {
        version: String,
        #[arg(long, default_value = "cli")]
        by: String,
    },
}

/// Runs one command; returns what to print.
pub fn run(releases: &dyn ReleaseStorage, command: ReleaseCommand, now_ms: i64) -> AppResult<String> {
    match command {
        ReleaseCommand::Publish { file, version, notes, rollout, grids, managers, by } => {
            check_version(&version).map_err(AppError::invalid)?;
            let rollout = checked_rollout(rollout, id_list(&grids), id_list(&managers))?;
            let dir = releases
                .releases_dir()
                .ok_or_else(|| AppError::new(ErrorCode::Unsupported, "this backend keeps no builds"))?;
            let io = |e: std::io::Error| AppError::new(ErrorCode::Io, format!("{}: {e}", file.display()));
            let mut input = std::fs::File::open(&file).map_err(io)?;
            let mut build = IncomingBuild::start(&dir)?;
            let mut chunk = vec![0u8; 256 * 1024];
            loop {
                let n = input.read(&mut chunk).map_err(io)?;
                if n == 0 {
                    break;
                }
                build.write(&chunk[..n])?;
            }
            let row = build.publish(releases, &version, &notes, &rollout, &by, now_ms)?;
            Ok(serde_json::to_string(&row)?)
        }
        ReleaseCommand::List => {
            let rows: Result<Vec<String>, _> = releases.releases()?.iter().map(serde_json::to_string).collect();
            Ok(rows?.join("\n"))
        }
        ReleaseCommand::Rollout { sha256, percent, grids, managers, by } => {
            let rollout = checked_rollout(percent, id_list(&grids), id_list(&managers))?;
            Ok(serde_json::to_string(&releases.set_rollout(&sha256, &rollout, &by, now_ms)?)?)
        }
        ReleaseCommand::Withdraw { sha256, by } => {
            Ok(serde_json::to_string(&releases.withdraw_release(&sha256, &by, now_ms)?)?)
        }
        ReleaseCommand::MinVersion { version, by } => {
            let version = match version.trim() {
                "" | "none" => None,
                v => Some(check_version(v).map_err(AppError::invalid)?),
            };
            releases.set_min_app_version(version.as_deref(), &by, now_ms)?;
            Ok(format!("minimum app version: {}", version.as_deref().unwrap_or("none")))
        }
    }
}
