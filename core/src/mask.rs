//! Masking of personal data (ID numbers, phone numbers): shown in full only to a caller that asks
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
    }
}
