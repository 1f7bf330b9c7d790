//! The receipt profile on the phone's side of the sync (docs/sync-protocol.md, "Receipt
//! profile"): every push answer and pull page says how this device's receipts print; the client
//! keeps what is new and fetches the seal image (`GET /v1/receipt-seal`) only when its SHA-256
//! changes. A profile the copy could not print, or a seal that did not arrive, is left aside with
//! a warning: receipts still print with what the phone held, and the sync goes on.

use super::client::{SyncConfig, SyncEngine};
use super::wire::{ReceiptProfile, PATH_RECEIPT_SEAL};
use crate::error::Result;
use crate::evidence::printable::MAX_SEAL_BYTES;

impl SyncEngine {
    /// Meets the receipt profile of an answer (None: a server before it; nothing changes).
    pub(crate) async fn meet_receipt_profile(
        &self,
        config: &SyncConfig,
        profile: Option<&ReceiptProfile>,
    ) -> Result<()> {
        let Some(profile) = profile else { return Ok(()) };
        if !self.store().receipt_profile_is_new(profile)? {
            return Ok(());
        }
        let seal = match &profile.seal_sha256 {
            Some(sha) if self.store().receipt_seal_sha256()?.as_ref() != Some(sha) => {
                let url = format!("{}{}", config.server_url, PATH_RECEIPT_SEAL);
                let req = self.device_request(self.http().get(url), config);
                match self.exchange_bytes(req, MAX_SEAL_BYTES as u64).await {
                    Ok(png) => Some(png),
                    Err(e) => {
                        // kept as it was; the next answer asks again
                        tracing::warn!(error = %e, "the receipt seal was not fetched");
                        return Ok(());
                    }
                }
            }
            _ => None,
        };
        if let Err(e) = self.store().keep_receipt_profile(profile, seal) {
            // the server's configuration is at fault, not this phone: say so and go on
            tracing::warn!(error = %e, "the server's receipt profile was not kept");
        }
        Ok(())
    }
}
