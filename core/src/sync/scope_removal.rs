//! A handover seen from the phone (docs/sync-protocol.md, "Handovers"): when a grid or a building
//! moves to another manager, the pull carries the removal of every record that left this device's
//! scope. The device deletes its copy — the row, its search entry, and the local records that
//! belong with it (scope.rs) — except where it still has an unsent edit: that removal waits until
//! the edit is pushed (the server keeps accepting it until this device reports the handover
//! removed). Rejected ops stay in the outbox with their reason (a fact's written out in full first,
//! as it is otherwise rebuilt from the row); only rows go. Once every removal of
//! a handover is done and nothing is left unsent, the device reports the handover as removed.

use std::collections::HashSet;

use rusqlite::{params, Connection};

use crate::error::Result;
use crate::model::EntityKind;
use crate::store::{Store, Transaction};
use crate::sync::outbox;
use crate::sync::replica::ApplyReport;
use crate::sync::wire::PullPage;

/// Applies the page's removals (and retries the ones put off before), inside the page's transaction.
pub(crate) fn apply(tx: &Transaction, page: &PullPage, report: &mut ApplyReport) -> Result<()> {
    let deferred: Vec<(String, String)> = {
        let mut stmt = tx.prepare_cached("SELECT kind, entity_id FROM deferred_removals")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<std::result::Result<_, _>>()?
    };
    // most pages remove nothing: then nothing more is read or written here
    if !deferred.is_empty() || !page.removals.is_empty() {
        tx.prepare_cached("DELETE FROM deferred_removals")?.execute([])?;
        // removals delete rows, never outbox entries: what has an unsent edit is known once per page
        let pending = outbox::entities_pending(tx)?;
        // a rejected fact's op is rebuilt from its row, which is about to go
        outbox::write_out_rejected_fact_bodies(tx)?;
        for (kind, id) in &deferred {
            if let Some(kind) = EntityKind::parse(kind) {
                remove(tx, &pending, kind, id, report)?;
            }
        }
        for removal in &page.removals {
            remove(tx, &pending, removal.kind, &removal.id, report)?;
        }
    }
    if !page.handovers_complete.is_empty() && !blocked(tx)? {
        let now = chrono::Utc::now().timestamp_millis();
        for handover in &page.handovers_complete {
            tx.prepare_cached("INSERT OR IGNORE INTO removed_handovers (handover_id, removed_at_ms) VALUES (?1, ?2)")?
                .execute(params![handover, now])?;
        }
    }
    Ok(())
}

/// Whether a handover cannot be reported removed yet: a removal still waits for an unsent edit, or
/// any edit at all is unsent (it might belong to the moved scope; the next push carries it first).
fn blocked(conn: &Connection) -> Result<bool> {
    let waiting = conn.prepare_cached("SELECT 1 FROM deferred_removals LIMIT 1")?.exists([])?;
    let unsent = conn.prepare_cached("SELECT 1 FROM outbox WHERE status = 'pending' LIMIT 1")?.exists([])?;
    Ok(waiting || unsent)
}

/// Deletes a record and what belongs with it, or puts it off while it has an unsent edit
/// (`pending`: the entities with one).
fn remove(
    tx: &Transaction,
    pending: &HashSet<String>,
    kind: EntityKind,
    id: &str,
    report: &mut ApplyReport,
) -> Result<()> {
    if pending.contains(id) {
        tx.prepare_cached("INSERT OR IGNORE INTO deferred_removals (kind, entity_id) VALUES (?1, ?2)")?
            .execute([kind.as_str(), id])?;
        report.removals_deferred += 1;
        return Ok(());
    }
    if kind == EntityKind::Household {
        tx.prepare_cached("DELETE FROM household_search WHERE rowid = (SELECT rowid FROM households WHERE id = ?1)")?
            .execute([id])?;
    }
    let n = tx.prepare_cached(&format!("DELETE FROM {} WHERE id = ?1", kind.table()))?.execute([id])?;
    report.removed += n as u64;
    for (child, field) in kind.children() {
        let ids: Vec<String> = {
            let mut stmt = tx.prepare_cached(&format!("SELECT id FROM {} WHERE {field} = ?1", child.table()))?;
            let rows = stmt.query_map([id], |r| r.get(0))?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        for child_id in ids {
            remove(tx, pending, child, &child_id, report)?;
        }
    }
    Ok(())
}

/// Handovers removed and not yet reported to the server.
pub(crate) fn to_report(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT handover_id FROM removed_handovers ORDER BY removed_at_ms, handover_id")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

impl Store {
    /// The server durably recorded these handovers as removed (a push carrying them succeeded).
    pub fn handovers_reported(&self, handovers: &[String]) -> Result<()> {
        if handovers.is_empty() {
            return Ok(());
        }
        self.write(|tx, _| {
            let mut stmt = tx.prepare_cached("DELETE FROM removed_handovers WHERE handover_id = ?1")?;
            for h in handovers {
                stmt.execute([h])?;
            }
            Ok(())
        })
    }

    /// Handovers removed on this device and not yet reported.
    pub fn handovers_to_report(&self) -> Result<Vec<String>> {
        self.read(to_report)
    }

    /// Removals this device put off because it still had unsent edits there.
    pub fn deferred_removals(&self) -> Result<u64> {
        self.read(|c| Ok(c.query_row("SELECT count(*) FROM deferred_removals", [], |r| r.get::<_, i64>(0))? as u64))
    }
}
