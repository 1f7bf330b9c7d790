//! The live-change relay between replicas (docs/postgres.md, "Live changes"): a replica whose
//! push committed announces the grids it wrote with `NOTIFY gridbook_changes` (a statement of its
//! own after the commit, never inside the push's transaction), and every replica LISTENs on a
//! connection of its own and wakes its waiting phones (storage/changes.rs). A notification only
//! wakes: a lost one costs latency, never a change, so the relay reconnects at its own pace and
//! wakes everyone after each (re)connection for what it may have missed meanwhile.

use std::str::FromStr;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::{AsyncMessage, NoTls};

use super::pool::Db;
use crate::storage::changes::{ChangeSignal, Changed};
use crate::storage::error::StorageResult;

/// The channel every replica of one database listens on.
const CHANNEL: &str = "gridbook_changes";
/// A payload past this (PostgreSQL's limit is 8000 bytes) says "everything" instead.
const MAX_PAYLOAD: usize = 4000;
/// How long the relay waits before connecting again after losing its connection.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Announces that records of `grids` changed, to every replica (this one included).
pub(super) fn announce(db: &Db, grids: &[String]) -> StorageResult<()> {
    if grids.is_empty() {
        return Ok(());
    }
    let mut payload = serde_json::to_string(grids)?;
    if payload.len() > MAX_PAYLOAD {
        payload = "*".into();
    }
    notify(db, &payload)
}

/// Announces what changed, to every replica (this one included).
pub(super) fn announce_changed(db: &Db, changed: &Changed) -> StorageResult<()> {
    match changed {
        Changed::Grids(grids) => announce(db, grids),
        Changed::All => notify(db, "*"),
    }
}

fn notify(db: &Db, payload: &str) -> StorageResult<()> {
    let conn = db.conn()?;
    db.execute(&conn, "SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])?;
    Ok(())
}

/// What a notification's payload says changed.
fn parse(payload: &str) -> Changed {
    match serde_json::from_str::<Vec<String>>(payload) {
        Ok(grids) => Changed::Grids(grids.into()),
        // "*", or anything this version does not read: everyone looks
        Err(_) => Changed::All,
    }
}

/// Relays every replica's announcements to `signal` from now on, on the pool's runtime.
pub(super) fn follow(db: &Db, url: &str, signal: ChangeSignal) {
    let url = url.to_string();
    db.spawn(async move {
        loop {
            if let Err(e) = listen(&url, &signal).await {
                tracing::warn!("live changes: the LISTEN connection was lost ({e}); connecting again");
            }
            tokio::time::sleep(RECONNECT_AFTER).await;
        }
    });
}

/// One LISTEN connection, until it fails.
async fn listen(url: &str, signal: &ChangeSignal) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = tokio_postgres::Config::from_str(url)?.connect(NoTls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // the connection's messages arrive only while it is polled: a task of its own polls it
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            if tx.send(message?).is_err() {
                break;
            }
        }
        Ok::<(), tokio_postgres::Error>(())
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    // (re)connected: what was announced while no connection listened is unknown
    signal.send(Changed::All);
    while let Some(message) = rx.recv().await {
        if let AsyncMessage::Notification(n) = message {
            signal.send(parse(n.payload()));
        }
    }
    drop(client);
    match driver.await {
        Ok(result) => result,
        // the driver task itself ended abnormally: treat as a lost connection
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::storage::postgres::test_cluster::TestCluster;

    #[test]
    fn a_payload_names_grids_or_everything() {
        assert_eq!(parse(r#"["g1","g2"]"#), Changed::Grids(Arc::from(vec!["g1".to_string(), "g2".to_string()])));
        assert_eq!(parse("*"), Changed::All);
        assert_eq!(parse("{not json"), Changed::All);
    }

    #[test]
    fn an_announcement_on_one_pool_reaches_the_relay_of_another() {
        let cluster = TestCluster::shared().expect("PostgreSQL 15 for the tests (.ci/install-tools)");
        let url = cluster.create_database().expect("database");
        let (a, b) = (Db::open(&url).expect("pool a"), Db::open(&url).expect("pool b"));
        let signal = ChangeSignal::default();
        let mut rx = signal.subscribe();
        follow(&b, &url, signal.clone());
        // the relay says it is listening with an "everything" once connected
        let first = b.wait(async { tokio::time::timeout(Duration::from_secs(30), rx.recv()).await });
        assert_eq!(first.expect("connected in time").expect("signal"), Changed::All);
        announce(&a, &["g7".to_string()]).expect("announce");
        let got = b.wait(async { tokio::time::timeout(Duration::from_secs(30), rx.recv()).await });
        assert_eq!(got.expect("relayed in time").expect("signal"), Changed::Grids(Arc::from(vec!["g7".to_string()])));
        let long: Vec<String> = (0..2000).map(|n| format!("grid-{n}")).collect();
        announce(&a, &long).expect("announce many");
        let got = b.wait(async { tokio::time::timeout(Duration::from_secs(30), rx.recv()).await });
        assert_eq!(got.expect("relayed in time").expect("signal"), Changed::All, "too long a list says everything");
    }
}
