//! The server's generation, as the device meets it (docs/sync-protocol.md, "Restores"). A server
//! restored from a backup has forgotten what it acknowledged after the backup, while its phones
//! have already moved those ops out of their outboxes. Every sync answer names the generation; a
//! new one sends the phone's acknowledged ops since the backup again and moves its pull cursor
//! back to what the backup held. Acknowledged ops are kept for the server-set retention window.

use rusqlite::Connection;

use crate::error::Result;
use crate::store::{meta_get, meta_set, Store};
use crate::sync::outbox;
use crate::sync::replica::{cursor_in, CURSOR_KEY};
use crate::sync::wire::ServerGeneration;

const GENERATION_KEY: &str = "server_generation";
/// The server-set retention window for acknowledged ops, as last met.
const KEEP_DAYS_KEY: &str = "keep_acked_days";

/// How far before the backup's time acknowledged ops are sent again: a push answered just before
/// the backup began may have committed just after its copy was taken. Sending more is harmless
/// (the server keeps each op once).
pub const RESEND_MARGIN_MS: i64 = 10 * 60 * 1000;

/// What meeting a generation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GenerationMet {
    /// The server was restored since the device last heard from it.
    pub restored: bool,
    /// Acknowledged ops put back in the queue.
    pub requeued: u64,
    /// The pull cursor moved back to this (when it was past what the backup held).
    pub cursor_reset_to: Option<u64>,
}

/// How long acknowledged ops are kept, in ms, as the server last said (its default before then).
pub(crate) fn keep_ms(conn: &Connection) -> Result<i64> {
    let days =
        meta_get(conn, KEEP_DAYS_KEY)?.and_then(|v| v.parse::<u32>().ok()).unwrap_or(ServerGeneration::KEEP_ACKED_DAYS);
    Ok(i64::from(days.max(1)).saturating_mul(86_400_000))
}

impl Store {
    /// Takes note of the generation a sync answer named. The first one met is remembered; a
    /// different one means a restore (see the module's doc). Meeting the known one only reads:
    /// every answer carries it, and the sync cycle must not pay a write for it. Answers of servers
    /// before generations name none, and change nothing.
    pub fn meet_generation(&self, generation: Option<&ServerGeneration>) -> Result<GenerationMet> {
        let Some(generation) = generation.filter(|g| !g.id.is_empty()) else { return Ok(GenerationMet::default()) };
        let keep_days = generation.keep_acked_days.to_string();
        let known = self.read(|c| Ok((meta_get(c, GENERATION_KEY)?, meta_get(c, KEEP_DAYS_KEY)?)))?;
        if known.0.as_deref() == Some(generation.id.as_str()) && known.1.as_deref() == Some(keep_days.as_str()) {
            return Ok(GenerationMet::default());
        }
        self.write(|tx, clock| {
            let mut met = GenerationMet::default();
            let known = meta_get(tx, GENERATION_KEY)?;
            if known.is_some() && known.as_deref() != Some(generation.id.as_str()) {
                met.restored = true;
                let since = generation.restored_from_ms.saturating_sub(RESEND_MARGIN_MS);
                met.requeued = outbox::requeue_acked_since(tx, since, clock.wall_millis() as i64)?;
                if cursor_in(tx)? > generation.restored_cursor {
                    meta_set(tx, CURSOR_KEY, &generation.restored_cursor.to_string())?;
                    met.cursor_reset_to = Some(generation.restored_cursor);
                }
                tracing::warn!(
                    generation = %generation.id,
                    requeued = met.requeued,
                    cursor_reset_to = ?met.cursor_reset_to,
                    "the server was restored from a backup: sending again what it forgot"
                );
            }
            meta_set(tx, GENERATION_KEY, &generation.id)?;
            meta_set(tx, KEEP_DAYS_KEY, &keep_days)?;
            Ok(met)
        })
    }
    /// The server generation this device last met (None before its first sync answer).
    pub fn server_generation(&self) -> Result<Option<String>> {
        self.read(|c| meta_get(c, GENERATION_KEY))
    }

    /// How many acknowledged ops the device keeps for a restore.
    pub fn acked_ops_kept(&self) -> Result<u64> {
        self.read(|c| Ok(c.query_row("SELECT count(*) FROM acked_ops", [], |r| r.get::<_, i64>(0))? as u64))
    }
}
