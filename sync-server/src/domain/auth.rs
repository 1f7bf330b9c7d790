//! Who is calling: device tokens (kept hashed), enrolment codes, roles. Tokens and codes are
//! random; only their SHA-256 is stored, so a stolen database does not let anyone sync.

use rand::RngCore;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// 网格客户经理: own grids only.
    Field,
    /// Reads every grid; monitoring.
    Supervisor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Field => "field",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Role::Field, Role::Supervisor, Role::Admin].into_iter().find(|r| r.as_str() == s)
    }
}

/// An authenticated device and what it may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuth {
    pub device_id: String,
    pub manager_id: String,
    pub role: Role,
    pub grids: Vec<String>,
    /// The back office's order to wipe this device, read with its token (docs/sync-protocol.md,
    /// "Remote wipe"): it may then only push and report its wipe.
    pub wipe: Option<DeviceWipe>,
    /// The manager's name and staff number (工号) as the receipts print them, read with the
    /// token: every answer's receipt profile carries them without a second read.
    pub collector: gridbook_core::CollectorProfile,
}

/// A device's standing wipe order, as its authentication finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceWipe {
    pub order: gridbook_core::sync::wire::WipeOrder,
    /// Whether an answer carried it to the device already (its first contact after the order).
    pub told: bool,
}

impl DeviceAuth {
    pub fn may_write(&self, grid: &str) -> bool {
        self.role == Role::Admin || self.grids.iter().any(|g| g == grid)
    }
}

pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh random secret, hex.
pub fn new_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// An enrolment code a manager can type: 10 characters of Crockford base32, grouped.
pub fn new_enrol_code() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut buf = [0u8; 10];
    rand::thread_rng().fill_bytes(&mut buf);
    let chars: String = buf.iter().map(|b| ALPHABET[(*b % 32) as usize] as char).collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// Normalises what a person typed: case, dashes and spaces do not matter.
pub fn normalise_code(code: &str) -> String {
    let c: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    if c.len() == 10 {
        format!("{}-{}", &c[..5], &c[5..])
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_normalise() {
        let code = new_enrol_code();
        assert_eq!(normalise_code(&code.to_lowercase().replace('-', " ")), code);
        assert_eq!(code.len(), 11);
    }

    #[test]
    fn secrets_hash_stably() {
        assert_eq!(hash_secret("abc"), hash_secret("abc"));
        assert_ne!(hash_secret("abc"), hash_secret("abd"));
        assert_eq!(new_secret(32).len(), 64);
    }
}
