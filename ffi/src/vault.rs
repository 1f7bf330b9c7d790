//! The store's key vault for the apps: `KeyVault`, a foreign trait the app implements over the
//! Android Keystore or the iOS Keychain (this device only), and `software_vault`, core's software
//! vault, for tests, desktops and the JVM/Python suites.

use std::sync::Arc;

use gridbook_core::store::encryption::{self as enc, DataKey};
use gridbook_core::Error as CoreError;

use crate::error::{GridbookError, Result};

/// Keeps the store's 32-byte data key wrapped by a platform key that never leaves the key store
/// (Android Keystore AES-GCM key; iOS Keychain item with a ThisDeviceOnly accessibility). The
/// wrapped bytes are kept beside the store (`<store>-key`); `unwrap` is where the app asks for the
/// PIN or biometrics. Like `DeviceSigner` for the signing key.
#[uniffi::export(with_foreign)]
pub trait KeyVault: Send + Sync {
    /// Wraps the data key (32 bytes); returns the bytes to keep.
    fn wrap(&self, key: Vec<u8>) -> Result<Vec<u8>>;
    /// Unwraps what `wrap` returned: the 32-byte data key. Fail with `WrongKey` when this vault
    /// did not wrap it, `KeyUnavailable` when the key store is locked or the user cancelled.
    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>>;
    /// Destroys the platform key, so nothing it wrapped opens again (the remote wipe). Not
    /// `destroy`: the Kotlin bindings give every object a `destroy()` of their own.
    fn destroy_key(&self) -> Result<()>;
}

/// Core's software vault behind the foreign trait.
struct Software(enc::SoftwareVault);

impl KeyVault for Software {
    fn wrap(&self, key: Vec<u8>) -> Result<Vec<u8>> {
        Ok(enc::KeyVault::wrap(&self.0, &DataKey::from_bytes(&key)?)?)
    }
    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>> {
        Ok(enc::KeyVault::unwrap(&self.0, &wrapped)?.as_bytes().to_vec())
    }
    fn destroy_key(&self) -> Result<()> {
        Ok(enc::KeyVault::destroy(&self.0)?)
    }
}

/// A vault whose wrapping key is 32 bytes in memory: the `secret` given (the same secret opens the
/// same stores), or a fresh random one when null. For tests, desktops and simulators; phones use
/// the Keystore / Keychain vault of their app.
#[uniffi::export]
pub fn software_vault(secret: Option<Vec<u8>>) -> Result<Arc<dyn KeyVault>> {
    let vault = match secret {
        Some(bytes) => {
            let len = bytes.len();
            let secret: [u8; enc::KEY_BYTES] = bytes
                .try_into()
                .map_err(|_| crate::error::invalid("secret", format!("must be {} bytes, got {len}", enc::KEY_BYTES)))?;
            enc::SoftwareVault::new(secret)
        }
        None => enc::SoftwareVault::generate()?,
    };
    Ok(Arc::new(Software(vault)))
}

/// The app's vault seen as core's: its errors mapped back to core's.
pub(crate) struct CoreVault(pub(crate) Arc<dyn KeyVault>);

fn to_core(e: GridbookError) -> CoreError {
    match e {
        GridbookError::WrongKey { detail } => CoreError::WrongKey(detail),
        GridbookError::KeyUnavailable { detail } => CoreError::KeyUnavailable(detail),
        e => CoreError::KeyUnavailable(e.to_string()),
    }
}

impl enc::KeyVault for CoreVault {
    fn wrap(&self, key: &DataKey) -> gridbook_core::Result<Vec<u8>> {
        self.0.wrap(key.as_bytes().to_vec()).map_err(to_core)
    }
    fn unwrap(&self, wrapped: &[u8]) -> gridbook_core::Result<DataKey> {
        DataKey::from_bytes(&self.0.unwrap(wrapped.to_vec()).map_err(to_core)?)
    }
    fn destroy(&self) -> gridbook_core::Result<()> {
        self.0.destroy_key().map_err(to_core)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::GridbookStore;

    #[test]
    fn the_apps_store_opens_with_its_vault_and_refuses_another_with_wrong_key() {
        let dir = std::env::temp_dir().join(format!("gridbook-ffi-vault-{}", gridbook_core::new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("phone.db").to_string_lossy().into_owned();
        let vault = software_vault(Some(vec![3; 32])).unwrap();
        let id = GridbookStore::open(path.clone(), vault.clone()).unwrap().device_id();
        assert_eq!(
            GridbookStore::open(path.clone(), software_vault(Some(vec![3; 32])).unwrap()).unwrap().device_id(),
            id
        );
        let other = software_vault(None).unwrap();
        assert!(matches!(GridbookStore::open(path.clone(), other), Err(GridbookError::WrongKey { .. })));
        std::fs::write(dir.join("notes.db"), "购物清单 not a database at all, just text of some length".repeat(200))
            .unwrap();
        let notes = dir.join("notes.db").to_string_lossy().into_owned();
        assert!(matches!(GridbookStore::open(notes, vault), Err(GridbookError::NotAStore { .. })));
        assert!(matches!(software_vault(Some(vec![1; 5])), Err(GridbookError::Invalid { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
