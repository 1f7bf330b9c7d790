//! A photo's address — the lower-case hex SHA-256 of its prepared bytes — and the checks of a list
//! of them, as facts and signed documents name photos (the image work itself is in `photos/`).

/// Lower-case hex SHA-256 of `bytes`: a photo's address everywhere (facts, documents, the upload
/// channel, the server's blob store).
pub fn photo_sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    super::to_hex(&Sha256::digest(bytes))
}

/// Whether `s` is a photo address as `photo_sha256` writes it: 64 lower-case hex digits.
pub fn is_photo_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// What is wrong with a list of photo addresses a fact or a signed document names, if anything:
/// each an address, none twice, at most `max`.
pub fn photo_list_problem(list: &[String], max: usize) -> Option<String> {
    if list.len() > max {
        return Some(format!("{} photos, at most {max}", list.len()));
    }
    for (i, p) in list.iter().enumerate() {
        if !is_photo_sha256(p) {
            return Some(format!("'{p}' is not a lower-case hex SHA-256"));
        }
        if list[..i].contains(p) {
            return Some(format!("{p} twice"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_lower_case_sha256() {
        let h = photo_sha256(b"abc");
        assert_eq!(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(is_photo_sha256(&h));
        assert!(!is_photo_sha256(&h.to_uppercase()));
        assert!(!is_photo_sha256(&h[..63]));
        assert!(!is_photo_sha256("../../etc/passwd"));
    }
}
