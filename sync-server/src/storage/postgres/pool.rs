//! The connection pool and the bridge from the synchronous storage traits to the asynchronous
//! client: every statement of a trait method waits here for its answer.
//!
//! Why a runtime of its own and a parking wait, not `Handle::block_on`: the traits are synchronous
//! and are called from `spawn_blocking` threads (the HTTP handlers), from the admin commands
//! (no runtime) and from tests running inside an async test's runtime, where tokio refuses a
//! nested `block_on`. The connections' I/O is driven by this runtime's two threads; the caller's
//! thread only polls the statement's future (a message to the connection task and its answer)
//! and parks between polls. Nothing here runs on, or blocks, a worker of the server's runtime.

use std::future::Future;
use std::pin::pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use crate::storage::error::{StorageError, StorageResult};

/// Connections one server replica holds at most (`serve --pg-pool-size`, docs/postgres.md
/// "The pool"): a push holds one for its transaction, a read for its snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSize(usize);

impl PoolSize {
    /// Fewest: a request that waits on another's connection needs a second one free.
    pub const MIN: usize = 2;
    /// Most: PostgreSQL's default `max_connections` is 100 for all replicas together; past a
    /// few hundred a replica only adds backends that wait on the same cores and locks.
    pub const MAX: usize = 256;
    /// The default, from measurement (docs/benchmarks.md, "Pool size per replica").
    pub const DEFAULT: PoolSize = PoolSize(16);

    /// `n` connections, or why not: a typed error naming the option and its bounds.
    pub fn new(n: usize) -> StorageResult<Self> {
        if (Self::MIN..=Self::MAX).contains(&n) {
            Ok(Self(n))
        } else {
            Err(StorageError::invalid(format!(
                "--pg-pool-size {n}: 连接池大小须在 {min} 到 {max} 之间 the pool size must be {min} to {max} connections per replica",
                min = Self::MIN,
                max = Self::MAX,
            )))
        }
    }

    pub fn get(self) -> usize {
        self.0
    }
}

impl Default for PoolSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// How long a statement waits for a free connection before the request is answered 503.
const WAIT_FOR_CONNECTION: Duration = Duration::from_secs(10);

/// Parameters of a statement.
pub(super) type Params<'p> = [&'p (dyn ToSql + Sync)];

pub(super) struct Db {
    /// `None` only while being dropped.
    runtime: Option<tokio::runtime::Runtime>,
    pool: Pool,
}

struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

impl Db {
    /// A pool of the default size on `url` (`postgres://user@host:port/db`).
    pub(super) fn open(url: &str) -> StorageResult<Self> {
        Self::open_sized(url, PoolSize::DEFAULT)
    }

    /// A pool of at most `size` connections on `url`. Connects lazily: the first statement
    /// connects (and says so if it cannot).
    pub(super) fn open_sized(url: &str, size: PoolSize) -> StorageResult<Self> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StorageError::invalid(format!("--database-url: 数据库地址无效 not a PostgreSQL URL: {e}")))?;
        // each replica's connections named apart in pg_stat_activity (an operator counts them
        // against --pg-pool-size), unless the URL names them itself
        if config.get_application_name().is_none() {
            config.application_name(pool_application_name(std::process::id()));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("gridbook-pg")
            .enable_all()
            .build()
            .map_err(|e| StorageError::internal(format!("PostgreSQL runtime: {e}")))?;
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(size.get())
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(WAIT_FOR_CONNECTION))
            .create_timeout(Some(WAIT_FOR_CONNECTION))
            .build()
            .map_err(|e| StorageError::internal(format!("PostgreSQL pool: {e}")))?;
        Ok(Self { runtime: Some(runtime), pool })
    }

    /// Runs `future` to its end on this thread, with this runtime's I/O and timers.
    pub(super) fn wait<F: Future>(&self, future: F) -> F::Output {
        let _context = self.runtime.as_ref().map(|r| r.enter());
        let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
            std::thread::park();
        }
    }

    /// Runs `task` on this pool's runtime, in the background, until the pool is dropped.
    pub(super) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        if let Some(runtime) = &self.runtime {
            runtime.spawn(task);
        }
    }

    /// A connection of the pool (back to it when dropped).
    pub(super) fn conn(&self) -> StorageResult<Object> {
        Ok(self.wait(self.pool.get())?)
    }

    pub(super) fn query<C: GenericClient + Sync>(&self, c: &C, sql: &str, params: &Params) -> StorageResult<Vec<Row>> {
        self.wait(async {
            let statement = c.prepare_cached(sql).await?;
            Ok(c.query(&statement, params).await?)
        })
    }

    pub(super) fn query_opt<C: GenericClient + Sync>(
        &self,
        c: &C,
        sql: &str,
        params: &Params,
    ) -> StorageResult<Option<Row>> {
        self.wait(async {
            let statement = c.prepare_cached(sql).await?;
            Ok(c.query_opt(&statement, params).await?)
        })
    }

    pub(super) fn query_one<C: GenericClient + Sync>(&self, c: &C, sql: &str, params: &Params) -> StorageResult<Row> {
        self.query_opt(c, sql, params)?.ok_or_else(|| StorageError::internal("a statement answered no row"))
    }

    pub(super) fn execute<C: GenericClient + Sync>(&self, c: &C, sql: &str, params: &Params) -> StorageResult<u64> {
        self.wait(async {
            let statement = c.prepare_cached(sql).await?;
            Ok(c.execute(&statement, params).await?)
        })
    }

    /// Statements whose answers none of the others waits for, sent together on one connection
    /// (tokio-postgres pipelines requests made at once, and runs them in this order): one round
    /// trip for all instead of one each — a round trip is a message to the connection's task,
    /// PostgreSQL's answer and a wake-up of this thread, which a loaded machine makes dear.
    pub(super) fn execute_all<C: GenericClient + Sync>(
        &self,
        c: &C,
        statements: &[(&str, &Params)],
    ) -> StorageResult<()> {
        self.wait(async {
            let runs = statements.iter().map(|(sql, params)| async move {
                let statement = c.prepare_cached(sql).await?;
                c.execute(&statement, params).await
            });
            futures_util::future::try_join_all(runs).await?;
            Ok(())
        })
    }

    /// Statements without parameters, one after the other (DDL, `SET LOCAL`).
    pub(super) fn batch<C: GenericClient + Sync>(&self, c: &C, sql: &str) -> StorageResult<()> {
        Ok(self.wait(c.batch_execute(sql))?)
    }

    /// A read-write transaction (READ COMMITTED) on a connection of the pool: `f` runs the
    /// statements, the commit follows; any error rolls it back.
    pub(super) fn write<T>(
        &self,
        f: impl FnOnce(&deadpool_postgres::Transaction<'_>) -> StorageResult<T>,
    ) -> StorageResult<T> {
        let mut conn = self.conn()?;
        let tx = self.wait(conn.transaction())?;
        let out = f(&tx)?;
        self.wait(tx.commit())?;
        Ok(out)
    }

    /// A read-only transaction that sees one snapshot throughout (REPEATABLE READ).
    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&deadpool_postgres::Transaction<'_>) -> StorageResult<T>,
    ) -> StorageResult<T> {
        let mut conn = self.conn()?;
        let tx = self.wait(
            conn.build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start(),
        )?;
        let out = f(&tx)?;
        self.wait(tx.commit())?;
        Ok(out)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        // dropping a runtime waits for its threads, which tokio forbids inside another runtime
        // (a test's): let them end on their own
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// `application_name` of the pool connections of the server process `pid`: `gridbook-pool-<pid>`.
pub fn pool_application_name(pid: u32) -> String {
    format!("gridbook-pool-{pid}")
}

/// A column of a row, or a typed fault (a column of another type than this server wrote).
pub(super) trait RowExt {
    fn at<'a, T: tokio_postgres::types::FromSql<'a>>(&'a self, i: usize) -> StorageResult<T>;
}

impl RowExt for Row {
    fn at<'a, T: tokio_postgres::types::FromSql<'a>>(&'a self, i: usize) -> StorageResult<T> {
        self.try_get(i).map_err(|e| StorageError::internal(format!("stored column {i}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_size_out_of_its_bounds_is_refused_with_a_typed_error_in_both_languages() {
        for n in [0, 1, PoolSize::MAX + 1, usize::MAX] {
            let e = PoolSize::new(n).expect_err("out of bounds");
            assert!(matches!(e, StorageError::Invalid { .. }), "{e:?}");
            assert!(e.message().contains("连接池大小") && e.message().contains("the pool size must be"), "{e}");
            assert!(e.message().contains(&format!("--pg-pool-size {n}")), "{e}");
        }
        for n in [PoolSize::MIN, 8, PoolSize::MAX] {
            assert_eq!(PoolSize::new(n).expect("in bounds").get(), n);
        }
    }
}
