//! A typed record straight to the SQL parameters of its row, in its kind's column order, without
//! building a `serde_json::Value` map first. Recording a fact (a visit, a receipt) is the one write
//! a manager waits for at the door; the generic map costs more than the SQLite insert itself.
//! Values come out exactly as `entity_table::save` writes them from a state: text, integers,
//! booleans as 0/1, absent values as NULL, lists and objects as JSON text.

use rusqlite::types::Value as Sql;
use serde::ser::{self, Impossible, Serialize};

use crate::error::{Error, Result};
use crate::model::{EntityKind, FieldType};

/// The row of `record` (a struct of `kind`) as parameters `(id, field 1, field 2, …)`; fields the
/// record does not have are NULL.
pub fn row_of<R: Serialize>(kind: EntityKind, record: &R) -> Result<(String, Vec<Sql>)> {
    let mut row = RowSerializer { kind, id: None, values: vec![Sql::Null; kind.fields().len()] };
    record.serialize(&mut row)?;
    let id = row.id.ok_or_else(|| Error::Corrupt(format!("a {} without an id", kind.as_str())))?;
    Ok((id, row.values))
}

#[derive(Debug)]
struct RowError(String);

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for RowError {}
impl ser::Error for RowError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        RowError(msg.to_string())
    }
}
impl From<RowError> for Error {
    fn from(e: RowError) -> Self {
        Error::Corrupt(format!("a record's row: {}", e.0))
    }
}

struct RowSerializer {
    kind: EntityKind,
    id: Option<String>,
    values: Vec<Sql>,
}

fn not_a_struct() -> RowError {
    RowError("a record must be a struct".into())
}

impl ser::SerializeStruct for &mut RowSerializer {
    type Ok = ();
    type Error = RowError;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> std::result::Result<(), RowError> {
        if key == "id" {
            self.id = match value.serialize(Scalar)? {
                Sql::Text(s) => Some(s),
                _ => return Err(RowError("id must be text".into())),
            };
            return Ok(());
        }
        let Some(position) = self.kind.fields().iter().position(|f| f.name == key) else {
            return Ok(()); // not a stored field (the merge ignores it too)
        };
        self.values[position] = match self.kind.fields()[position].ty {
            // as the Value path writes it: through a Value, so object keys are in the same order
            FieldType::Json => match serde_json::to_value(value).map_err(|e| RowError(e.to_string()))? {
                serde_json::Value::Null => Sql::Null,
                v => Sql::Text(v.to_string()),
            },
            _ => value.serialize(Scalar)?,
        };
        Ok(())
    }

    fn end(self) -> std::result::Result<(), RowError> {
        Ok(())
    }
}

/// The compound forms a serializer refuses: `$err` says why.
macro_rules! refuse_compounds {
    ($ok:ty, $err:expr) => {
        fn serialize_newtype_variant<T: ?Sized + Serialize>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> std::result::Result<$ok, RowError> {
            Err($err)
        }
        fn serialize_seq(self, _: Option<usize>) -> std::result::Result<Self::SerializeSeq, RowError> {
            Err($err)
        }
        fn serialize_tuple(self, _: usize) -> std::result::Result<Self::SerializeTuple, RowError> {
            Err($err)
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> std::result::Result<Self::SerializeTupleStruct, RowError> {
            Err($err)
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> std::result::Result<Self::SerializeTupleVariant, RowError> {
            Err($err)
        }
        fn serialize_map(self, _: Option<usize>) -> std::result::Result<Self::SerializeMap, RowError> {
            Err($err)
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> std::result::Result<Self::SerializeStructVariant, RowError> {
            Err($err)
        }
        fn serialize_bytes(self, _: &[u8]) -> std::result::Result<$ok, RowError> {
            Err($err)
        }
    };
}

impl ser::Serializer for &mut RowSerializer {
    type Ok = ();
    type Error = RowError;
    type SerializeSeq = Impossible<(), RowError>;
    type SerializeTuple = Impossible<(), RowError>;
    type SerializeTupleStruct = Impossible<(), RowError>;
    type SerializeTupleVariant = Impossible<(), RowError>;
    type SerializeMap = Impossible<(), RowError>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), RowError>;

    refuse_compounds!((), not_a_struct());

    fn serialize_struct(self, _: &'static str, _: usize) -> std::result::Result<Self, RowError> {
        Ok(self)
    }
    fn serialize_bool(self, _: bool) -> std::result::Result<(), RowError> {
        Err(not_a_struct())
    }
    fn serialize_i8(self, _: i8) -> std::result::Result<(), RowError> {
        Err(not_a_struct())
    }
    fn serialize_i16(self, _: i16) -> std::result::Result<(), RowError> {
        Err(not_a_struct())
    }
    fn serialize_i32(self, _: i32) -> std::result::Result<(), RowError> {
        Err(not_a_struct())
    }
    fn serialize_i64(self, _: i64) -> std::result::Result<(), RowError> {
        Err(not_a_struct())
    }
    fn serialize_u8(self, _: u8) -> std::result::Result<(), RowError> {
        Err(not_a_struct())
    }
    fn serialize_u16(self, _: u16) -> std::result::Result<(), RowError> {
        Err(not_a_struct())
    }
    fn serialize_u32(self, _: u32) -> std::result::Result<(), RowError> {
        Err(not_a_struct())
    }
    fn serialize_u64(self, _: u64) -> std::result::Result<(), RowError> {
        Err(not_a_struct())
    }
    fn serialize_f32(self, _: f32) -> std::result::Result<(), RowError> {
        Err(not_a_struct())
    }
    fn serialize_f64(self, _: f64) -> std::result::Result<(), RowError> {
        Err(not_a_struct())
    }
    fn serialize_char(self, _: char) -> std::result::Result<(), RowError> {
        Err(not_a_struct())
    }
    fn serialize_str(self, _: &str) -> std::result::Result<(), RowError> {
        Err(not_a_struct())
    }
    fn serialize_none(self) -> std::result::Result<(), RowError> {
        Err(not_a_struct())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> std::result::Result<(), RowError> {
        Err(not_a_struct())
    }
    fn serialize_unit(self) -> std::result::Result<(), RowError> {
        Err(not_a_struct())
    }
    fn serialize_unit_struct(self, _: &'static str) -> std::result::Result<(), RowError> {
        Err(not_a_struct())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> std::result::Result<(), RowError> {
        Err(not_a_struct())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> std::result::Result<(), RowError> {
        Err(not_a_struct())
    }
}

/// One field's value as a column: a scalar, or NULL for an absent value.
struct Scalar;

fn not_scalar() -> RowError {
    RowError("a text, number or boolean field holds a list or an object".into())
}

impl ser::Serializer for Scalar {
    type Ok = Sql;
    type Error = RowError;
    type SerializeSeq = Impossible<Sql, RowError>;
    type SerializeTuple = Impossible<Sql, RowError>;
    type SerializeTupleStruct = Impossible<Sql, RowError>;
    type SerializeTupleVariant = Impossible<Sql, RowError>;
    type SerializeMap = Impossible<Sql, RowError>;
    type SerializeStruct = Impossible<Sql, RowError>;
    type SerializeStructVariant = Impossible<Sql, RowError>;

    refuse_compounds!(Sql, not_scalar());

    fn serialize_bool(self, v: bool) -> std::result::Result<Sql, RowError> {
        Ok(Sql::Integer(v as i64))
    }
    fn serialize_i8(self, v: i8) -> std::result::Result<Sql, RowError> {
        Ok(Sql::Integer(v.into()))
    }
    fn serialize_i16(self, v: i16) -> std::result::Result<Sql, RowError> {
        Ok(Sql::Integer(v.into()))
    }
    fn serialize_i32(self, v: i32) -> std::result::Result<Sql, RowError> {
        Ok(Sql::Integer(v.into()))
    }
    fn serialize_i64(self, v: i64) -> std::result::Result<Sql, RowError> {
        Ok(Sql::Integer(v))
    }
    fn serialize_u8(self, v: u8) -> std::result::Result<Sql, RowError> {
        Ok(Sql::Integer(v.into()))
    }
    fn serialize_u16(self, v: u16) -> std::result::Result<Sql, RowError> {
        Ok(Sql::Integer(v.into()))
    }
    fn serialize_u32(self, v: u32) -> std::result::Result<Sql, RowError> {
        Ok(Sql::Integer(v.into()))
    }
    fn serialize_u64(self, v: u64) -> std::result::Result<Sql, RowError> {
        i64::try_from(v).map(Sql::Integer).map_err(|_| RowError(format!("{v} is too large for a column")))
    }
    fn serialize_f32(self, _: f32) -> std::result::Result<Sql, RowError> {
        Err(RowError("records hold no floating-point numbers".into()))
    }
    fn serialize_f64(self, _: f64) -> std::result::Result<Sql, RowError> {
        Err(RowError("records hold no floating-point numbers".into()))
    }
    fn serialize_char(self, v: char) -> std::result::Result<Sql, RowError> {
        Ok(Sql::Text(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> std::result::Result<Sql, RowError> {
        Ok(Sql::Text(v.to_string()))
    }
    fn serialize_none(self) -> std::result::Result<Sql, RowError> {
        Ok(Sql::Null)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> std::result::Result<Sql, RowError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> std::result::Result<Sql, RowError> {
        Ok(Sql::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> std::result::Result<Sql, RowError> {
        Ok(Sql::Null)
    }
    /// Enums of the model (a visit's purpose, a payment type) are stored by their name.
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> std::result::Result<Sql, RowError> {
        Ok(Sql::Text(variant.to_string()))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        v: &T,
    ) -> std::result::Result<Sql, RowError> {
        v.serialize(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> std::result::Result<Self::SerializeStruct, RowError> {
        Err(not_scalar())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Record;
    use crate::store::entity_table;
    use crate::sync::wire::{EntityState, Op, OpAction};
    use crate::testing::{household_n, visit};

    /// The row through the generic path: record → fields → merged state → parameters.
    fn row_through_state<R: Record>(record: &R) -> Vec<Sql> {
        let op = Op {
            id: uuid::Uuid::now_v7(),
            kind: R::KIND,
            entity: record.id().to_string(),
            grid: "g1".into(),
            action: OpAction::Create,
            fields: entity_table::fields_of(record).unwrap(),
            hlc: crate::sync::hlc::Hlc::new(1, 0, "n"),
        };
        let mut state = EntityState::empty(R::KIND, record.id());
        state.apply(&op);
        let params = entity_table::row_params(&state).unwrap();
        params
            .into_iter()
            .skip(3)
            .map(|p| match p {
                rusqlite::types::ToSqlOutput::Borrowed(v) => Sql::from(v),
                rusqlite::types::ToSqlOutput::Owned(v) => v,
                other => panic!("unexpected parameter {other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_record_gives_the_same_row_as_the_generic_path() {
        let mut v = visit("g1", "h1");
        v.id = "v1".into();
        v.lat_e6 = None;
        let (id, row) = row_of(EntityKind::Visit, &v).unwrap();
        assert_eq!(id, "v1");
        assert_eq!(row, row_through_state(&v));
        assert!(row.contains(&Sql::Null), "an absent GPS fix is NULL");

        // lists and objects (a household's services) come out as the same JSON text
        let mut h = household_n("g1", 7);
        h.id = "h7".into();
        let (_, row) = row_of(EntityKind::Household, &h).unwrap();
        let through_state = row_through_state(&h);
        // the state path leaves `deleted` absent (NULL); a record has no such field either
        assert_eq!(row, through_state);
    }
}
