//! Staff passwords: an Argon2id hash (memory-hard, PHC string form) is all that is stored; the
//! command line sets them, the back-office login and the /v1/backoffice endpoints check them.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;

use crate::domain::error::{DomainError, DomainResult};

/// An Argon2id hash of a password (memory-hard), in PHC string form.
pub fn hash_password(password: &str) -> DomainResult<String> {
    if password.chars().count() < 8 {
        return Err(DomainError::invalid("password: at least 8 characters"));
    }
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| DomainError::internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DomainError::internal(e.to_string()))
}

pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("网格经理2026!").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("网格经理2026!", &h));
        assert!(!verify_password("wrong-password", &h));
        assert!(hash_password("short").is_err());
    }
}
