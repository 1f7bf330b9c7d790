//! Who is calling: device tokens (kept hashed), enrolment codes, roles. Tokens and codes are
//! random; only their SHA-256 is stored, so a stolen database does not let anyone sync.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::AppState;

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

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| AppError::unauthorized("missing Authorization: Bearer <device token>"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| AppError::unauthorized("the Authorization header must be 'Bearer <device token>'"))?
            .to_string();
        let storage = state.storage.clone();
        let device = tokio::task::spawn_blocking(move || storage.authenticate_device(&hash_secret(&token))).await??;
        // after authentication: a budget is a device's, and a stranger's requests spend nobody's
        state.device_budget.check(&device.device_id, crate::now_ms())?;
        Ok(device)
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
