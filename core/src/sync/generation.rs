//! The server's generation, as the device meets it (docs/sync-protocol.md, "Restores"). A server
//! restored from a backup has forgotten what it acknowledged after the backup, while its phones
//! have already moved those ops out of their outboxes. Every sync answer names the generation; a
//! new one sends the phone's acknowledged ops since the backup again and moves its pull cursor
//! back to what the backup held. Acknowledged ops are kept for the server-set retention window.

use crate::error::{Error, Result};
use crate::store::{meta_get, meta_set, Store};
use crate::sync::outbox;
use crate::sync::replica::CURSOR_KEY;
use crate::sync::wire::ServerGeneration;

const GENERATION_KEY: &str = "server_generation";

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

impl Store {
    /// Takes note of the generation a sync answer named, at `server_time_ms` on the server's clock.
    /// The first one met is remembered; a different one means a restore (see the module's doc).
    /// Answers of servers before generations name none, and change nothing.
    pub fn meet_generation(&self, generation: Option<&ServerGeneration>, server_time_ms: i64) -> Result<GenerationMet> {
        let Some(generation) = generation.filter(|g| !g.id.is_empty()) else { return Ok(GenerationMet::default()) };
        let keep_ms = i64::from(generation.keep_acked_days.max(1)).saturating_mul(86_400_000);
        self.write(|tx, clock| {
            let mut met = GenerationMet::default();
            let known = meta_get(tx, GENERATION_KEY)?;
            if known.as_deref() != Some(generation.id.as_str()) {
                if known.is_some() {
                    met.restored = true;
                    let since = generation.restored_from_ms.saturating_sub(RESEND_MARGIN_MS);
                    met.requeued = outbox::requeue_acked_since(tx, since, clock.wall_millis() as i64)?;
                    let cursor: u64 = match meta_get(tx, CURSOR_KEY)? {
                        Some(v) => v.parse().map_err(|_| Error::Corrupt(format!("pull cursor {v:?}")))?,
                        None => 0,
                    };
                    if cursor > generation.restored_cursor {
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
            }
            outbox::forget_acked_before(tx, server_time_ms.saturating_sub(keep_ms))?;
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
