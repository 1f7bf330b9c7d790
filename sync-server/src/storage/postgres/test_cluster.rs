//! A throwaway PostgreSQL cluster for tests: `scripts/pg-test-cluster.sh` started from Rust (one
//! script, so the shell and the tests start clusters the same way), one database per test.
//!
//! The cluster is started with this process's pid as its owner, so it stops and removes itself when
//! the test process exits, even killed; dropping a `TestCluster` stops it at once. Under
//! scripts/test-postgres.sh every test process shares the script's one cluster instead
//! (`GRIDBOOK_TEST_PG_URL`): one database per test, no cluster start per test.
//!
//! A missing PostgreSQL is an error that says what to install, never a skipped test.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// A running throwaway cluster.
#[derive(Debug)]
pub struct TestCluster {
    url: String,
    /// The cluster's directory; `None` for a cluster this process did not start (not stopped).
    dir: Option<PathBuf>,
}

/// The URL of a running cluster the tests share (scripts/test-postgres.sh sets it).
pub const SHARED_URL_VAR: &str = "GRIDBOOK_TEST_PG_URL";

/// Why a cluster could not be had: the message says what to install or what failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterError(pub String);

impl std::fmt::Display for ClusterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgreSQL test cluster: {}", self.0)
    }
}

impl std::error::Error for ClusterError {}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg-test-cluster.sh")
}

/// `psql` beside the server binaries the script uses.
fn psql() -> PathBuf {
    let bindir = std::env::var_os("PG_BINDIR").unwrap_or_else(|| "/usr/lib/postgresql/15/bin".into());
    PathBuf::from(bindir).join("psql")
}

/// `scripts/pg-backup.sh`, run as the clusters' owner: `postgres` when this process is root (as
/// the cluster script runs them), so that what it writes (base backups, data directories) is
/// the server's own. Answers its standard output; a failure carries its standard error.
pub fn pg_backup(args: &[&std::ffi::OsStr]) -> Result<String, ClusterError> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg-backup.sh");
    let mut command = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&script);
        c
    } else {
        Command::new(&script)
    };
    let out = command.args(args).output().map_err(|e| ClusterError(format!("cannot run {}: {e}", script.display())))?;
    if !out.status.success() {
        return Err(ClusterError(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
}

/// Makes `dir` the clusters' owner's (when this process is root), for what pg-backup.sh writes.
pub fn give_to_cluster_owner(dir: &std::path::Path) -> Result<(), ClusterError> {
    if !is_root() {
        return Ok(());
    }
    let status = Command::new("chown")
        .arg("postgres:")
        .arg(dir)
        .status()
        .map_err(|e| ClusterError(format!("cannot run chown: {e}")))?;
    if !status.success() {
        return Err(ClusterError(format!("chown postgres: {} failed", dir.display())));
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

impl TestCluster {
    /// Starts a new cluster on a free loopback port (about a second; initdb runs once per machine).
    pub fn start() -> Result<Self, ClusterError> {
        Self::start_with(&[])
    }

    /// `start` with more of the script's options: `--archive DIR` (WAL archiving into DIR),
    /// `--data DIR` (on a data directory `scripts/pg-backup.sh restore` prepared).
    pub fn start_with(options: &[&std::ffi::OsStr]) -> Result<Self, ClusterError> {
        let out = Command::new(script())
            .args(["start", "--owner-pid", &std::process::id().to_string()])
            .args(options)
            .output()
            .map_err(|e| ClusterError(format!("cannot run {}: {e}", script().display())))?;
        if !out.status.success() {
            return Err(ClusterError(String::from_utf8_lossy(&out.stderr).into_owned()));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let value = |key: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(str::to_owned)
                .ok_or_else(|| ClusterError(format!("no {key} in the script's answer: {stdout}")))
        };
        Ok(Self { url: value("GRIDBOOK_DATABASE_URL=")?, dir: Some(PathBuf::from(value("GRIDBOOK_PG_DIR=")?)) })
    }

    /// One cluster for the whole test process: the script's (`GRIDBOOK_TEST_PG_URL`), or one
    /// started on first use.
    pub fn shared() -> Result<&'static TestCluster, ClusterError> {
        static SHARED: OnceLock<Result<TestCluster, ClusterError>> = OnceLock::new();
        SHARED
            .get_or_init(|| match std::env::var(SHARED_URL_VAR) {
                Ok(url) if !url.trim().is_empty() => Ok(TestCluster { url, dir: None }),
                _ => TestCluster::start(),
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The URL of the cluster's `postgres` database (superuser, trusted).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The cluster's directory (data, log, socket), when this process started it.
    pub fn dir(&self) -> Option<&std::path::Path> {
        self.dir.as_deref()
    }

    /// A new empty database of its own, for one test; answers its URL.
    pub fn create_database(&self) -> Result<String, ClusterError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!("gridbook_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        self.psql(&format!("CREATE DATABASE {name}"))?;
        let base = self.url.rsplit_once('/').map_or(self.url.as_str(), |(base, _)| base);
        Ok(format!("{base}/{name}"))
    }

    /// Stops the server (a fast shutdown: every session cut) and keeps its data, for a test of a
    /// restart under load; `resume` starts it again on the same port. Only a cluster this process
    /// started.
    pub fn pause(&self) -> Result<(), ClusterError> {
        self.script_on_dir("pause")
    }

    /// Starts a paused server again, with the same port and options.
    pub fn resume(&self) -> Result<(), ClusterError> {
        self.script_on_dir("resume")
    }

    fn script_on_dir(&self, command: &str) -> Result<(), ClusterError> {
        let dir = self.dir.as_ref().ok_or_else(|| ClusterError(format!("{command}: not a cluster of this process")))?;
        let out = Command::new(script())
            .arg(command)
            .arg(dir)
            .output()
            .map_err(|e| ClusterError(format!("cannot run {}: {e}", script().display())))?;
        if !out.status.success() {
            return Err(ClusterError(format!("{command}: {}", String::from_utf8_lossy(&out.stderr))));
        }
        Ok(())
    }

    /// Runs one SQL command on the `postgres` database; answers its rows, unaligned.
    pub fn psql(&self, sql: &str) -> Result<String, ClusterError> {
        psql_at(&self.url, sql)
    }
}

/// Runs one SQL command against `url` with `psql`; answers its rows, one per line, `|` between
/// columns.
pub fn psql_at(url: &str, sql: &str) -> Result<String, ClusterError> {
    let out = Command::new(psql())
        .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
        .output()
        .map_err(|e| ClusterError(format!("cannot run psql: {e}")))?;
    if !out.status.success() {
        return Err(ClusterError(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        // Best effort: the owner watcher removes it anyway once this process is gone.
        if let Some(dir) = &self.dir {
            let _ = Command::new(script()).arg("stop").arg(dir).status();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_serves_separate_databases_and_is_gone_once_dropped() {
        let cluster = TestCluster::start().expect("PostgreSQL 15 is installed (.ci/install-tools)");
        let version = cluster.psql("SHOW server_version_num").expect("version");
        assert!(version.starts_with("15"), "PostgreSQL 15, got {version}");

        let a = cluster.create_database().expect("database a");
        let b = cluster.create_database().expect("database b");
        assert_ne!(a, b);
        psql_at(&a, "CREATE TABLE t (x int); INSERT INTO t VALUES (7)").expect("write a");
        assert_eq!(psql_at(&a, "SELECT x FROM t").expect("read a"), "7");
        assert!(psql_at(&b, "SELECT x FROM t").is_err(), "b does not see a's table");

        let dir = cluster.dir().expect("started here").to_path_buf();
        let url = cluster.url().to_owned();
        assert!(dir.join("data").is_dir());
        drop(cluster);
        assert!(!dir.exists(), "the cluster's directory is removed");
        assert!(psql_at(&url, "SELECT 1").is_err(), "the server is stopped");
    }

    #[test]
    fn the_shared_cluster_is_one_cluster() {
        let first = TestCluster::shared().expect("shared cluster");
        let second = TestCluster::shared().expect("shared cluster");
        assert_eq!(first.url(), second.url());
        let db = first.create_database().expect("database");
        assert_eq!(psql_at(&db, "SELECT current_database()").expect("name"), db.rsplit('/').next().unwrap_or(""));
    }

    #[test]
    fn a_missing_postgresql_is_an_error_that_says_what_to_install() {
        let out = Command::new(script())
            .arg("start")
            .env("PG_BINDIR", "/nonexistent/postgresql/bin")
            .output()
            .expect("the script runs");
        assert!(!out.status.success(), "no server binaries: the start fails");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("is missing") && said.contains(".ci/install-tools"), "{said}");
    }
}
