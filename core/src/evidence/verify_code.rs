//! The short verification code printed on the customer's receipt, which the back office (or the
//! customer, on the phone) checks against the stored, sealed record.
//!
//! Code = first 50 bits of SHA-256(b"gridbook-vcode/1\0" ‖ device_signature (64 bytes) ‖ receipt_no),
//! written as 10 Crockford base32 symbols `XXXX-XXXX-XX`. Crockford's alphabet has no I, L, O
//! or U, so reading is forgiving: lower case, O→0, I/L→1, and dashes and spaces are accepted.
//! 50 bits make a guessed code match with odds of 1 in 10^15; the code proves nothing by
//! itself, it ties the paper to the record, whose device signature is the proof.

use sha2::{Digest, Sha256};
use thiserror::Error;

use super::seal::SignatureRecord;

/// Bytes holding the code's 50 bits (big-endian, the last 6 bits zero).
pub const CODE_BYTES: usize = 7;
const SYMBOLS: usize = 10;
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const TAG: &[u8] = b"gridbook-vcode/1\0";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodeError {
    #[error("verification code has {found} symbols, expected {SYMBOLS}")]
    WrongLength { found: usize },
    #[error("'{ch}' is not a verification code symbol")]
    BadChar { ch: char },
    #[error("verification code does not match this receipt")]
    Mismatch,
}

/// The code's 50 bits for a sealed record and its receipt number.
pub fn verification_bits(record: &SignatureRecord, receipt_no: &str) -> [u8; CODE_BYTES] {
    let mut h = Sha256::new();
    h.update(TAG);
    h.update(record.device_signature);
    h.update(receipt_no.as_bytes());
    let digest = h.finalize();
    let mut out = [0u8; CODE_BYTES];
    out.copy_from_slice(&digest[..CODE_BYTES]);
    out[CODE_BYTES - 1] &= 0b1100_0000;
    out
}

/// `XXXX-XXXX-XX` for printing.
pub fn verification_code(record: &SignatureRecord, receipt_no: &str) -> String {
    let bits = verification_bits(record, receipt_no);
    let mut wide = [0u8; 8];
    wide[..CODE_BYTES].copy_from_slice(&bits);
    let v = u64::from_be_bytes(wide);
    let mut s = String::with_capacity(SYMBOLS + 2);
    for i in 0..SYMBOLS {
        if i == 4 || i == 8 {
            s.push('-');
        }
        let sym = (v >> (59 - 5 * i)) & 31;
        s.push(char::from(ALPHABET[sym as usize]));
    }
    s
}

/// Reads a typed or scanned code back into its 50 bits.
pub fn parse_verification_code(code: &str) -> Result<[u8; CODE_BYTES], CodeError> {
    let mut v: u64 = 0;
    let mut n = 0usize;
    for ch in code.chars() {
        if ch == '-' || ch.is_whitespace() {
            continue;
        }
        let c = match ch.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        let sym = u8::try_from(c)
            .ok()
            .and_then(|b| ALPHABET.iter().position(|&a| a == b))
            .ok_or(CodeError::BadChar { ch })?;
        n += 1;
        if n <= SYMBOLS {
            v = (v << 5) | sym as u64;
        }
    }
    if n != SYMBOLS {
        return Err(CodeError::WrongLength { found: n });
    }
    let bytes = (v << 14).to_be_bytes(); // 50 bits to the top of the u64
    let mut out = [0u8; CODE_BYTES];
    out.copy_from_slice(&bytes[..CODE_BYTES]);
    Ok(out)
}

/// Back-office check of a code read off a paper receipt.
pub fn check_verification_code(code: &str, record: &SignatureRecord, receipt_no: &str) -> Result<(), CodeError> {
    if parse_verification_code(code)? == verification_bits(record, receipt_no) {
        Ok(())
    } else {
        Err(CodeError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::seal::Relation;

    fn record(sig_byte: u8) -> SignatureRecord {
        SignatureRecord {
            document_hash: [1; 32],
            strokes_hash: [2; 32],
            signer_name: "王芳".into(),
            signer_relation: Relation::Householder,
            hlc: "h".into(),
            device_id: "d".into(),
            device_signature: [sig_byte; 64],
        }
    }

    #[test]
    fn round_trip_and_format() {
        for b in 0..=255u8 {
            let rec = record(b);
            let code = verification_code(&rec, "R-1");
            assert_eq!(code.len(), 12);
            assert_eq!(code.matches('-').count(), 2);
            assert_eq!(parse_verification_code(&code), Ok(verification_bits(&rec, "R-1")));
            assert_eq!(check_verification_code(&code, &rec, "R-1"), Ok(()));
        }
    }

    #[test]
    fn tolerant_reading() {
        let rec = record(9);
        let code = verification_code(&rec, "R-1");
        let sloppy: String = code
            .chars()
            .filter(|&c| c != '-')
            .map(|c| match c {
                '0' => 'o',
                '1' => 'l',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        let spaced = format!(" {} {} ", &sloppy[..5], &sloppy[5..]);
        assert_eq!(check_verification_code(&spaced, &rec, "R-1"), Ok(()));
        assert_eq!(parse_verification_code("1111-IILL-il"), parse_verification_code("1111-1111-11"));
        assert_eq!(parse_verification_code("0000-OOOO-oo"), Ok([0; CODE_BYTES]));
    }

    #[test]
    fn bad_codes_are_named() {
        assert_eq!(parse_verification_code("ABCD-EFGH-J"), Err(CodeError::WrongLength { found: 9 }));
        assert_eq!(parse_verification_code("ABCD-EFGH-JKM"), Err(CodeError::WrongLength { found: 11 }));
        assert_eq!(parse_verification_code("ABCD-EFGH-JU"), Err(CodeError::BadChar { ch: 'U' }));
        assert_eq!(parse_verification_code("ABCD-EFGH-J码"), Err(CodeError::BadChar { ch: '码' }));
        let rec = record(3);
        let code = verification_code(&rec, "R-1");
        assert_eq!(check_verification_code(&code, &rec, "R-2"), Err(CodeError::Mismatch));
        assert_eq!(check_verification_code(&code, &record(4), "R-1"), Err(CodeError::Mismatch));
    }
}
