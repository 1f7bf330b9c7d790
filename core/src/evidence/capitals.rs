//! Amounts in fen written as Chinese financial capitals (大写金额) and as grouped figures.
//!
//! Rules follow the People's Bank of China "正确填写票据和结算凭证的基本规定":
//! - 壹 is always written before 拾 (10 元 → 壹拾元整), as on every bank instrument.
//! - A run of zeros between non-zero digits is written as one 零 (6,007.14 → 陆仟零柒元壹角肆分).
//! - When the zero run ends exactly at the 万 or 亿 position (or at 元) and the next digit is not
//!   zero, the rule makes 零 optional. We always OMIT it there, because the unit character already
//!   separates the parts: 107,000.53 → 壹拾万柒仟元伍角叁分, 1,680.32 → 壹仟陆佰捌拾元叁角贰分,
//!   1,000.50 → 壹仟元伍角. (When the whole 万 group is zero, 万 is not written, so 零 is kept:
//!   100,007,000 → 壹亿零柒仟元整.)
//! - 角 zero and 分 non-zero: 零 after 元 is mandatory (325.04 → 叁佰贰拾伍元零肆分).
//! - 整: written only when there are neither 角 nor 分 (the common bank rule; the standard makes 整
//!   after 角 optional and we do not write it). Never after 分.
//! - No leading 零元 for amounts under one yuan (0.05 → 伍分); zero itself is 零元整.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AmountError {
    #[error("amount must not be negative, got {0} fen")]
    Negative(i64),
    /// Above 9999万亿 yuan there is no unit in common use; no receipt gets near it.
    #[error("amount {0} fen is too large to write in capitals (limit 10^18 fen)")]
    TooLarge(i64),
}

const DIGITS: [char; 10] = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
const IN_GROUP: [&str; 4] = ["", "拾", "佰", "仟"];
const GROUP: [&str; 4] = ["", "万", "亿", "万亿"];
/// 10^16 yuan = 10^18 fen: the first amount that would need a fifth group.
const LIMIT_FEN: i64 = 1_000_000_000_000_000_000;

/// Writes `fen` (>= 0) in Chinese financial capitals, without the "人民币" prefix.
pub fn capitals(fen: i64) -> Result<String, AmountError> {
    if fen < 0 {
        return Err(AmountError::Negative(fen));
    }
    if fen >= LIMIT_FEN {
        return Err(AmountError::TooLarge(fen));
    }
    let yuan = fen / 100;
    let jiao = usize::try_from(fen / 10 % 10).unwrap_or(0);
    let fen_digit = usize::try_from(fen % 10).unwrap_or(0);

    let mut out = String::new();
    if yuan > 0 {
        let digits: Vec<usize> = yuan.to_string().bytes().map(|b| usize::from(b - b'0')).collect();
        let n = digits.len();
        let mut zero_pending = false;
        for (i, &d) in digits.iter().enumerate() {
            let pos = n - 1 - i; // 0 = 个位
            if d == 0 {
                zero_pending = true;
            } else {
                if zero_pending {
                    out.push('零');
                }
                zero_pending = false;
                out.push(DIGITS[d]);
                out.push_str(IN_GROUP[pos % 4]);
            }
            if pos.is_multiple_of(4) && pos > 0 {
                // Write 万/亿 only if its group of four digits has any non-zero digit.
                let group_start = i.saturating_sub(3);
                if digits[group_start..=i].iter().any(|&g| g != 0) {
                    out.push_str(GROUP[pos / 4]);
                    // Optional-零 rule: zero run ending at 万/亿 with a non-zero 仟 next.
                    if d == 0 && digits.get(i + 1).is_some_and(|&next| next != 0) {
                        zero_pending = false;
                    }
                }
            }
        }
        out.push('元');
    }
    match (jiao, fen_digit) {
        (0, 0) if yuan == 0 => out.push_str("零元整"),
        (0, 0) => out.push('整'),
        (0, f) => {
            if yuan > 0 {
                out.push('零');
            }
            out.push(DIGITS[f]);
            out.push('分');
        }
        (j, f) => {
            out.push(DIGITS[j]);
            out.push('角');
            if f > 0 {
                out.push(DIGITS[f]);
                out.push('分');
            }
        }
    }
    Ok(out)
}

/// Figures with thousands separators and two decimals: 100050 → "1,000.50". Negative amounts
/// (a refund shown in a report) get a leading '-'.
pub fn format_yuan(fen: i64) -> String {
    let abs = fen.unsigned_abs(); // i64::MIN has no positive i64
    let int = (abs / 100).to_string();
    let mut grouped = String::with_capacity(int.len() + int.len() / 3 + 4);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{grouped}.{:02}", abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn yuan(y: i64, f: i64) -> i64 {
        y * 100 + f
    }

    #[test]
    fn brief_examples() {
        let cases = [
            (0, "零元整"),
            (yuan(10, 0), "壹拾元整"),
            (yuan(100, 5), "壹佰元零伍分"),
            (yuan(1_000_000, 0), "壹佰万元整"),
            (yuan(1_000, 50), "壹仟元伍角"),
            (yuan(10_010, 0), "壹万零壹拾元整"),
            (5, "伍分"),
            (yuan(1, 0), "壹元整"),
        ];
        for (fen, want) in cases {
            assert_eq!(capitals(fen).as_deref(), Ok(want), "fen = {fen}");
        }
    }

    #[test]
    fn pboc_examples() {
        let cases = [
            (yuan(1_409, 50), "壹仟肆佰零玖元伍角"),
            (yuan(6_007, 14), "陆仟零柒元壹角肆分"),
            (yuan(1_680, 32), "壹仟陆佰捌拾元叁角贰分"),
            (yuan(107_000, 53), "壹拾万柒仟元伍角叁分"),
            (yuan(16_409, 2), "壹万陆仟肆佰零玖元零贰分"),
            (yuan(325, 4), "叁佰贰拾伍元零肆分"),
            (yuan(100_500, 0), "壹拾万零伍佰元整"),
            (yuan(100_007_000, 0), "壹亿零柒仟元整"),
            (yuan(105_000_000, 0), "壹亿零伍佰万元整"),
            (yuan(1_050_000_000, 0), "壹拾亿伍仟万元整"),
            (yuan(1_000_050_000_000, 0), "壹万亿零伍仟万元整"),
            (yuan(0, 50), "伍角"),
            (yuan(0, 55), "伍角伍分"),
            (yuan(1_000, 5), "壹仟元零伍分"),
        ];
        for (fen, want) in cases {
            assert_eq!(capitals(fen).as_deref(), Ok(want), "fen = {fen}");
        }
    }

    #[test]
    fn rejects_negative_and_huge() {
        assert_eq!(capitals(-1), Err(AmountError::Negative(-1)));
        assert_eq!(capitals(i64::MAX), Err(AmountError::TooLarge(i64::MAX)));
        assert!(capitals(LIMIT_FEN - 1).is_ok());
    }

    #[test]
    fn figures() {
        assert_eq!(format_yuan(100_050), "1,000.50");
        assert_eq!(format_yuan(0), "0.00");
        assert_eq!(format_yuan(5), "0.05");
        assert_eq!(format_yuan(99_999), "999.99");
        assert_eq!(format_yuan(123_456_789), "1,234,567.89");
        assert_eq!(format_yuan(-100_050), "-1,000.50");
        assert_eq!(format_yuan(i64::MIN), "-92,233,720,368,547,758.08");
    }

    /// Reads capitals back into fen, so the property test checks meaning, not just spelling.
    fn parse(s: &str) -> Option<i64> {
        let (mut total, mut section, mut digit) = (0i64, 0i64, 0i64);
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if let Some(d) = DIGITS.iter().position(|&x| x == c) {
                digit = d as i64;
                continue;
            }
            match c {
                '拾' => section += digit * 10,
                '佰' => section += digit * 100,
                '仟' => section += digit * 1000,
                '万' if chars.peek() == Some(&'亿') => {
                    chars.next();
                    total += (section + digit) * 1_000_000_000_000;
                    section = 0;
                }
                '万' => {
                    total += (section + digit) * 10_000;
                    section = 0;
                }
                '亿' => {
                    total += (section + digit) * 100_000_000;
                    section = 0;
                }
                '元' => {
                    total = (total + section + digit) * 100;
                    section = 0;
                }
                '角' => total += digit * 10,
                '分' => total += digit,
                '整' => {}
                _ => return None,
            }
            digit = 0;
        }
        Some(total)
    }

    proptest! {
        #[test]
        fn well_formed_and_round_trips(fen in 0i64..LIMIT_FEN) {
            let s = capitals(fen).unwrap();
            prop_assert!(!s.contains("零零"), "{s}");
            prop_assert!(s.chars().all(|c| "零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整".contains(c)), "{s}");
            prop_assert_eq!(s.ends_with('整'), fen % 100 == 0, "{}", s);
            prop_assert_eq!(parse(&s), Some(fen), "{}", s);
        }

        #[test]
        fn small_amounts_round_trip(fen in 0i64..10_000_000) {
            let s = capitals(fen).unwrap();
            prop_assert!(!s.contains("零零"));
            prop_assert_eq!(parse(&s), Some(fen), "{}", s);
        }
    }
}
