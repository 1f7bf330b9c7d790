//! The protocol's contract as data, for independent client authors: the OpenAPI schema of every
//! record kind (from the typed records of `model.rs`) and docs/record-kinds.md generated from them.
//! Behind the `openapi` feature: the server serves it, phones' builds do not carry it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

use crate::model::{self, EntityKind, FieldType};

/// A named schema, as OpenAPI's `components.schemas` holds it.
pub type NamedSchema = (String, RefOr<Schema>);

fn named<T: ToSchema>(out: &mut Vec<NamedSchema>) {
    out.push((T::name().into_owned(), T::schema()));
    T::schemas(out);
}

/// The typed record of a kind: its schema's name, and that schema with every schema it refers to.
pub fn record_schema(kind: EntityKind) -> (String, Vec<NamedSchema>) {
    fn of<T: ToSchema>() -> (String, Vec<NamedSchema>) {
        let mut out = Vec::new();
        named::<T>(&mut out);
        (T::name().into_owned(), out)
    }
    match kind {
        EntityKind::Premises => of::<model::Premises>(),
        EntityKind::Household => of::<model::Household>(),
        EntityKind::ArrearsAccount => of::<model::ArrearsAccount>(),
        EntityKind::ArrearsNotice => of::<model::ArrearsNotice>(),
        EntityKind::Visit => of::<model::Visit>(),
        EntityKind::Receipt => of::<model::Receipt>(),
        EntityKind::ReceiptVoid => of::<model::ReceiptVoid>(),
        EntityKind::Signature => of::<model::CustomerSignature>(),
        EntityKind::Appointment => of::<model::Appointment>(),
        EntityKind::SignIn => of::<model::SignIn>(),
        EntityKind::Ticket => of::<model::Ticket>(),
        EntityKind::DaySummary => of::<model::DaySummary>(),
        EntityKind::BillingProfile => of::<model::BillingProfile>(),
        EntityKind::ReminderOutcome => of::<model::ReminderOutcome>(),
    }
}

/// Every record kind's schema and what they refer to, by name (one entry per name).
pub fn record_schemas() -> BTreeMap<String, RefOr<Schema>> {
    EntityKind::ALL.into_iter().flat_map(|kind| record_schema(kind).1).collect()
}

/// The schemas as JSON, to read them the way a client author does.
fn as_json(schemas: &BTreeMap<String, RefOr<Schema>>) -> BTreeMap<String, Value> {
    schemas.iter().map(|(name, s)| (name.clone(), serde_json::to_value(s).unwrap_or(Value::Null))).collect()
}

/// What one property of a schema says, flattened through `oneOf`/`allOf` and `$ref`s.
#[derive(Default)]
struct Property {
    types: Vec<String>,
    refs: Vec<String>,
    allowed: Vec<String>,
    bounds: Vec<String>,
    description: String,
}

fn describe(value: &Value, schemas: &BTreeMap<String, Value>, out: &mut Property) {
    let Some(obj) = value.as_object() else { return };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r).to_string();
        match schemas.get(&name) {
            // an enum of text is spelled out where it is used; an object is named
            Some(target) if target.get("enum").is_some() => {
                describe(target, schemas, out);
                out.description.clear();
            }
            _ => out.refs.push(name),
        }
    }
    match obj.get("type") {
        Some(Value::String(t)) => out.types.push(t.clone()),
        Some(Value::Array(ts)) => out.types.extend(ts.iter().filter_map(Value::as_str).map(str::to_string)),
        _ => {}
    }
    if let Some(values) = obj.get("enum").and_then(Value::as_array) {
        out.allowed.extend(values.iter().filter_map(Value::as_str).map(|v| format!("`{v}`")));
    }
    for (key, label) in [
        ("minimum", "≥"),
        ("maximum", "≤"),
        ("minLength", "length ≥"),
        ("maxLength", "length ≤"),
        ("pattern", "matches"),
        ("format", "format"),
    ] {
        if let Some(v) = obj.get(key).filter(|v| !matches!(v.as_str(), Some("int32" | "int64" | "uint32" | "uint64"))) {
            let v = match v {
                Value::String(s) => format!("`{s}`"),
                other => other.to_string(),
            };
            out.bounds.push(format!("{label} {v}"));
        }
    }
    if let Some(items) = obj.get("items") {
        let mut inner = Property::default();
        describe(items, schemas, &mut inner);
        out.refs.extend(inner.refs.into_iter().map(|r| format!("list of {r}")));
        out.allowed.extend(inner.allowed);
    }
    for key in ["oneOf", "allOf", "anyOf"] {
        for part in obj.get(key).and_then(Value::as_array).into_iter().flatten() {
            describe(part, schemas, out);
        }
    }
    if let Some(d) = obj.get("description").and_then(Value::as_str) {
        out.description = d.split_whitespace().collect::<Vec<_>>().join(" ");
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn field_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Text => "text",
        FieldType::Int => "integer (i64)",
        FieldType::Bool => "boolean",
        FieldType::Json => "JSON",
    }
}

fn kind_nature(kind: EntityKind) -> &'static str {
    if kind.backoffice_only() {
        "**Back office only**: written by the back office, merged per field (last writer wins by stamp); \
         a field manager's op on it is rejected `invalid`. Phones receive it by pull."
    } else if kind.insert_only() {
        "**Insert-only fact**: one `create`, never changed: an `update`, or another `create` of an id \
         the server holds, is rejected `immutable` (the same op sent again is `already_had`)."
    } else {
        "**Mutable**: merged per field, last writer wins by stamp; deleted by an `update` setting \
         `deleted` to true (a tombstone)."
    }
}

/// One table of fields: `fields` are (name, wire type) in order; the schema says the rest.
fn table(out: &mut String, schema: &Value, fields: &[(&str, &str)], schemas: &BTreeMap<String, Value>) {
    let required: Vec<&str> =
        schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    out.push_str("| field | type | allowed values | required | bounds | meaning |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for (name, ty) in fields {
        let mut p = Property::default();
        let mut nullable = false;
        if let Some(prop) = schema.get("properties").and_then(|ps| ps.get(*name)) {
            describe(prop, schemas, &mut p);
            nullable = p.types.iter().any(|t| t == "null");
        }
        let mut ty = ty.to_string();
        if !p.refs.is_empty() {
            ty = format!("{ty}: {}", p.refs.join(", "));
        }
        if nullable {
            ty.push_str(", or null");
        }
        let req = if *name == "deleted" {
            "no (false)".to_string()
        } else if required.contains(name) {
            "**yes**".to_string()
        } else {
            "no".to_string()
        };
        let description = if *name == "deleted" { "Tombstone: true once deleted." } else { &p.description };
        let _ = writeln!(
            out,
            "| `{name}` | {ty} | {} | {req} | {} | {} |",
            cell(&p.allowed.join(", ")),
            cell(&p.bounds.join("; ")),
            cell(description)
        );
    }
}

/// docs/record-kinds.md: each kind, each field, its type, allowed values, whether required, its
/// bounds, and which kinds are insert-only facts. Generated; a test keeps the committed copy equal.
pub fn record_kinds_markdown() -> String {
    let all = as_json(&record_schemas());
    let mut out = String::new();
    out.push_str(
        "<!-- Generated from core/src/model.rs by core/src/sync/contract.rs; do not edit. Regenerate:\n\
         GRIDBOOK_WRITE_DOCS=1 cargo test -p gridbook-core --test it record_kinds:: -->\n\
         # Record kinds\n\n\
         Every record a phone and the server exchange is one of these kinds. On the wire a record travels as\n\
         the `fields` of an op (push) and the `values` of an entity state (pull), keyed by the field names\n\
         below (docs/sync-protocol.md). The same schemas are in the server's `GET /v1/openapi.json`\n\
         (`components.schemas`, named in each heading).\n\n\
         - **type**: text is a JSON string (at most 10,000 bytes), integer a JSON whole number that fits\n\
           a signed 64-bit integer, boolean `true`/`false`, JSON an array or object kept as one value\n\
           (its last writer wins as a whole). Every field may be `null` in an op: a `create` sets every\n\
           field of the kind, a field it leaves out is null; an `update` sets only the fields it names.\n\
         - **required**: a `create` must carry it (non-null; text not blank); a record missing it is\n\
           rejected `invalid`. Fields that are not required default to empty text, null or false.\n\
         - **bounds**: checked on the phone and on the server (`invalid` with the field named);\n\
           `format date` is `YYYY-MM-DD`. Times are UTC milliseconds (`*_ms`), money is integer fen\n\
           (`*_fen`), `zone_offset_min` is the local zone's offset from UTC in minutes, coordinates\n\
           are micro-degrees (`lat_e6`, `lon_e6`, both or neither).\n\
         - **`deleted`**: only mutable kinds have it; it is not part of the typed record but a field on\n\
           the wire (the tombstone).\n\n",
    );
    out.push_str("| kind | table | nature |\n|---|---|---|\n");
    for kind in EntityKind::ALL {
        let nature = if kind.backoffice_only() {
            "back office only"
        } else if kind.insert_only() {
            "insert-only fact"
        } else {
            "mutable"
        };
        let _ = writeln!(out, "| `{}` | {} | {nature} |", kind.as_str(), kind.table());
    }
    out.push('\n');
    let mut nested: Vec<String> = Vec::new();
    for kind in EntityKind::ALL {
        let (name, _) = record_schema(kind);
        let schema = all.get(&name).cloned().unwrap_or(Value::Null);
        let _ = writeln!(out, "## `{}` (schema `{name}`)\n", kind.as_str());
        if let Some(d) = schema.get("description").and_then(Value::as_str) {
            let _ = writeln!(out, "{}\n", d.split_whitespace().collect::<Vec<_>>().join(" "));
        }
        let _ = writeln!(out, "{}\n", kind_nature(kind));
        let fields: Vec<(&str, &str)> = kind.fields().iter().map(|f| (f.name, field_type(f.ty))).collect();
        table(&mut out, &schema, &fields, &all);
        out.push('\n');
        for f in kind.fields().iter().filter(|f| f.ty == FieldType::Json) {
            let mut p = Property::default();
            if let Some(prop) = schema.get("properties").and_then(|ps| ps.get(f.name)) {
                describe(prop, &all, &mut p);
            }
            for r in p.refs {
                let r = r.trim_start_matches("list of ").to_string();
                if !nested.contains(&r) {
                    nested.push(r);
                }
            }
        }
    }
    out.push_str("## Values inside JSON fields\n\n");
    let mut i = 0;
    while i < nested.len() {
        let name = nested[i].clone();
        i += 1;
        let Some(schema) = all.get(&name) else { continue };
        let _ = writeln!(out, "### `{name}`\n");
        if let Some(d) = schema.get("description").and_then(Value::as_str) {
            let _ = writeln!(out, "{}\n", d.split_whitespace().collect::<Vec<_>>().join(" "));
        }
        let Some(props) = schema.get("properties").and_then(Value::as_object) else { continue };
        let fields: Vec<(String, String)> = props
            .iter()
            .map(|(k, v)| {
                let mut p = Property::default();
                describe(v, &all, &mut p);
                for r in &p.refs {
                    let r = r.trim_start_matches("list of ").to_string();
                    if !nested.contains(&r) {
                        nested.push(r);
                    }
                }
                let ty = match p.types.iter().find(|t| *t != "null").map(String::as_str) {
                    Some("array") => "array",
                    Some("integer") => "integer",
                    Some("number") => "number",
                    Some("boolean") => "boolean",
                    Some("object") => "object",
                    Some(_) => "text",
                    None => "object",
                };
                (k.clone(), ty.to_string())
            })
            .collect();
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, t)| (k.as_str(), t.as_str())).collect();
        table(&mut out, schema, &fields, &all);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_schema_naming_each_of_its_fields() {
        let all = as_json(&record_schemas());
        for kind in EntityKind::ALL {
            let (name, _) = record_schema(kind);
            let props = all[&name]["properties"].as_object().expect("an object schema");
            for f in kind.fields().iter().filter(|f| f.name != "deleted") {
                assert!(props.contains_key(f.name), "{name} has no property {}", f.name);
            }
        }
    }

    #[test]
    fn the_reference_spells_out_enums_and_bounds() {
        let md = record_kinds_markdown();
        assert!(md.contains("| `method` | text | `cash`, `wechat`, `alipay`, `card` | **yes**"), "{md}");
        assert!(md.contains("| `zone_offset_min` | integer (i64) |  | **yes** | ≥ -840; ≤ 840 |"), "{md}");
        assert!(md.contains("### `OwnService`"));
    }

    #[test]
    fn enum_schemas_hold_the_texts_on_the_wire() {
        fn check<T: ToSchema>(texts: Vec<&'static str>) {
            let schema = serde_json::to_value(T::schema()).unwrap();
            let values: Vec<&str> = schema["enum"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
            assert_eq!(values, texts, "{}", T::name());
        }
        check::<model::ReminderKind>(model::ReminderKind::ALL.iter().map(|v| v.as_str()).collect());
        check::<model::IdType>(model::IdType::ALL.iter().map(|v| v.as_str()).collect());
        check::<model::PaymentMethod>(model::PaymentMethod::ALL.iter().map(|v| v.as_str()).collect());
        check::<model::TicketChannel>(model::TicketChannel::ALL.iter().map(|v| v.as_str()).collect());
        check::<model::ReminderResolution>(model::ReminderResolution::ALL.iter().map(|v| v.as_str()).collect());
        check::<EntityKind>(EntityKind::ALL.iter().map(|v| v.as_str()).collect());
    }
}
