//! What the back office shows of personal data (docs/field.md, job 8, 保密): ID numbers and phone numbers
//! are masked wherever they appear — in the fields that hold them, and in any other text (notes,
//! service numbers inside the services list, error messages) as long runs of digits. Names are
//! cut to the surname where a list only needs to point at a household.

use gridbook_core::mask;
use serde_json::Value;

/// Fields whose whole value is an ID number.
const ID_FIELDS: &[&str] = &["id_number"];
/// Fields whose whole value is a phone number.
const PHONE_FIELDS: &[&str] = &["mobile", "landline", "other_contact", "service_number"];

/// A conflict-log value (JSON text as stored) ready to show: the field's own masking, then any
/// long digit run in any string inside it.
pub fn mask_field_value(field: &str, json_text: &str) -> String {
    match serde_json::from_str::<Value>(json_text) {
        Ok(Value::String(s)) if ID_FIELDS.contains(&field) => mask::id_number(&s),
        Ok(Value::String(s)) if PHONE_FIELDS.contains(&field) => mask::phone(&s),
        Ok(Value::String(s)) => mask_digit_runs(&s),
        Ok(Value::Null) => String::new(),
        Ok(mut v) => {
            mask_json(&mut v);
            v.to_string()
        }
        Err(_) => mask_digit_runs(json_text),
    }
}

fn mask_json(v: &mut Value) {
    match v {
        Value::String(s) => *s = mask_digit_runs(s),
        Value::Array(items) => items.iter_mut().for_each(mask_json),
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                match item {
                    Value::String(s) if ID_FIELDS.contains(&k.as_str()) => *s = mask::id_number(s),
                    Value::String(s) if PHONE_FIELDS.contains(&k.as_str()) => *s = mask::phone(s),
                    other => mask_json(other),
                }
            }
        }
        Value::Number(n) => {
            if n.to_string().len() >= 7 {
                *v = Value::String(mask_digit_runs(&n.to_string()));
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
}

/// Masks every run of 7 or more digits (dashes and spaces inside a number allowed, a final X of
/// an ID number included) that could be a phone or an ID number; shorter numbers (amounts,
/// receipt numbers, floors) are kept.
pub fn mask_digit_runs(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // a number glued to letters is a code (receipt SJ000001-001, account ACC-0731-0011), not
        // a phone or an ID number
        let coded = i > 0
            && (chars[i - 1].is_ascii_alphabetic()
                || (chars[i - 1] == '-' && i > 1 && chars[i - 2].is_ascii_alphabetic()));
        let start = i;
        let mut end = i; // exclusive end of the run, always after a digit
        let mut j = i;
        while j < chars.len() {
            let c = chars[j];
            if c.is_ascii_digit() {
                j += 1;
                end = j;
            } else if (c == '-' || c == ' ') && chars.get(j + 1).is_some_and(|n| n.is_ascii_digit()) {
                j += 1;
            } else {
                break;
            }
        }
        let digits = chars[start..end].iter().filter(|c| c.is_ascii_digit()).count();
        if digits == 17 && chars.get(end).is_some_and(|c| *c == 'X' || *c == 'x') {
            end += 1;
        }
        let run: String = chars[start..end].iter().collect();
        if coded {
            out.push_str(&run);
        } else if digits >= 15 {
            out.push_str(&mask::id_number(&run));
        } else if digits >= 7 {
            out.push_str(&mask::phone(&run));
        } else {
            out.push_str(&run);
        }
        i = end;
    }
    out
}

/// 王芳 → 王*; keeps the first character only (the one rule, `gridbook_core::mask::name`, that the
/// customer's copy of a receipt uses too).
pub fn mask_name(name: &str) -> String {
    mask::name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_masked_by_kind() {
        assert_eq!(mask_field_value("id_number", "\"110105198001010012\""), "1101**********0012");
        assert_eq!(mask_field_value("mobile", "\"13911112222\""), "139****2222");
        assert_eq!(mask_field_value("landline", "\"0731-84567890\""), "073******7890");
        assert_eq!(mask_field_value("customer_name", "\"王芳(乙)\""), "王芳(乙)");
        assert_eq!(mask_field_value("notes", "null"), "");
    }

    #[test]
    fn digit_runs_in_free_text_and_nested_json_are_masked() {
        let notes = mask_field_value("notes", "\"new number 13812345678, ID 11010519800101001X, room 1203\"");
        assert!(!notes.contains("12345678") && !notes.contains("19800101"), "{notes}");
        assert!(notes.contains("room 1203"), "{notes}");
        let services = mask_field_value(
            "services",
            r#"[{"product":"broadband","service_number":"0731-00000042","plan":"融合套餐129元"}]"#,
        );
        assert!(!services.contains("00000042"), "{services}");
        assert!(services.contains("融合套餐129元"), "{services}");
        assert_eq!(mask_digit_runs("NO-000123 paid 12800"), "NO-000123 paid 12800");
        assert_eq!(
            mask_digit_runs("receipt number SJ000001-001 was already used"),
            "receipt number SJ000001-001 was already used"
        );
        assert_eq!(mask_digit_runs("call 13812345678"), "call 138****5678");
    }

    #[test]
    fn names_keep_the_surname() {
        assert_eq!(mask_name("王芳"), "王*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name(""), "");
    }
}
