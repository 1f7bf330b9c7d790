//! Masking of personal data (ID numbers, phone numbers, names, account numbers): shown in full only to a caller that asks
//! for it because the role needs it (docs/field.md, job 8, 保密).

/// Keeps the first `head` and last `tail` characters and stars the rest.
fn keep_ends(value: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&"*".repeat(chars.len() - head - tail));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// 110105194912310021 → 1101**********0021
pub fn id_number(value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    keep_ends(value, 4, 4)
}

/// 13812345678 → 138****5678; 010-62345678 → 010-****5678
pub fn phone(value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    let count = value.chars().count();
    if count >= 11 {
        return keep_ends(value, 3, 4);
    }
    keep_ends(value, count.saturating_sub(4).min(4).min(count / 3), 4.min(count / 2))
}

/// 王芳 → 王*, 欧阳娜娜 → 欧***: the first character only (the back office's lists and the
/// customer's copy of a receipt use this one rule).
pub fn name(value: &str) -> String {
    let mut chars = value.trim().chars();
    match chars.next() {
        None => String::new(),
        Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
    }
}

/// An account or service number on a customer's copy: its last four characters, the rest starred
/// (账号 6501234567 → ******4567). Phone numbers keep their own rule ([`phone`]).
pub fn account(value: &str) -> String {
    let value = value.trim();
    if value.is_empty() {
        return String::new();
    }
    let count = value.chars().count();
    keep_ends(value, 0, 4.min(count / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(id_number("110105194912310021"), "1101**********0021");
        assert_eq!(phone("13812345678"), "138****5678");
        assert_eq!(phone("010-62345678"), "010*****5678");
        assert_eq!(phone("62345678"), "62**5678");
        assert_eq!(id_number(""), "");
        assert_eq!(id_number("abc"), "***");
        assert!(!phone("6234567").contains("23456"));
        assert_eq!(name("王芳"), "王*");
        assert_eq!(name(" 欧阳娜娜 "), "欧***");
        assert_eq!(name("周"), "周*");
        assert_eq!(name(""), "");
        assert_eq!(account("6501234567"), "******4567");
        assert_eq!(account("ACC-77"), "***-77");
        assert_eq!(account("12"), "*2");
        assert_eq!(account(""), "");
    }
}
