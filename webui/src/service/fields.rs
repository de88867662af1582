//! Reading a change's input (an API request's JSON body, or a page's form turned into the
//! same fields) field by field, so that every wrong field gets a 400 that names it (a
//! typed serde struct would answer with serde's column numbers), absent and `null` stay
//! distinguishable for partial updates, and unknown fields are refused rather than
//! silently ignored. The checks of each field live with its concept's module.

use crate::error::ApiError;
use serde_json::{Map, Value};
use shared::event::json_kind;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

/// The body of a change that takes nothing but its reason (a delete, a revocation).
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // A schema: the field is read through `Fields::reason`.
pub struct Reason {
    /// Why, for the configuration audit.
    #[schema(max_length = 10000)]
    reason: Option<String>,
}

pub struct Fields {
    fields: Map<String, Value>,
}

impl Fields {
    /// Checks that every field is one of the properties of `T`, the body's schema in the
    /// OpenAPI document (`crate::api::openapi`): what the document lists is what is taken.
    pub fn of<T: utoipa::PartialSchema>(fields: Map<String, Value>) -> Result<Self, ApiError> {
        let names = property_names::<T>();
        Self::new(
            fields,
            &names.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    }

    /// Checks that every field is one of `known`.
    pub fn new(fields: Map<String, Value>, known: &[&str]) -> Result<Self, ApiError> {
        if let Some(unknown) = fields.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(ApiError::bad(format!(
                "unknown field {unknown:?}; expected one of: {}",
                known.join(", ")
            )));
        }
        Ok(Self { fields })
    }

    pub fn has(&self, name: &str) -> bool {
        self.fields.contains_key(name)
    }

    pub fn has_any(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.has(n))
    }

    /// Absent → `None`; `null` → `Some(None)`; a string of at most `max` characters →
    /// `Some(Some(text))`.
    pub fn text(&self, name: &str, max: usize) -> Result<Option<Option<String>>, ApiError> {
        match self.fields.get(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(Some(s.clone()))),
            Some(Value::String(_)) => Err(ApiError::bad(format!(
                "{name} is longer than {max} characters"
            ))),
            Some(other) => Err(ApiError::bad(format!(
                "{name} must be a string, not {}",
                json_kind(other)
            ))),
        }
    }

    /// A string that must be present (when `required`) and not blank.
    pub fn required_text(
        &self,
        name: &str,
        max: usize,
        required: bool,
    ) -> Result<Option<String>, ApiError> {
        match self.text(name, max)? {
            None if !required => Ok(None),
            Some(Some(s)) if !s.trim().is_empty() => Ok(Some(s)),
            _ => Err(ApiError::bad(format!(
                "{name} is required and must not be empty"
            ))),
        }
    }

    pub fn integer(&self, name: &str) -> Result<Option<i32>, ApiError> {
        match self.fields.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| ApiError::bad(format!("{name} must be a whole number"))),
            Some(other) => Err(ApiError::bad(format!(
                "{name} must be a number, not {}",
                json_kind(other)
            ))),
        }
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.fields.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(ApiError::bad(format!(
                "{name} must be true or false, not {}",
                json_kind(other)
            ))),
        }
    }

    /// The optional `reason` every change may carry, for its audit row.
    pub fn reason(&self) -> Result<Option<String>, ApiError> {
        Ok(self.text("reason", 10_000)?.flatten())
    }

    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }
}

/// The property names of an object schema, in their declared order.
pub fn property_names<T: utoipa::PartialSchema>() -> Vec<String> {
    match T::schema() {
        RefOr::T(Schema::Object(object)) => object.properties.keys().cloned().collect(),
        _ => panic!("a request body's schema is an object"),
    }
}

/// `T`'s object schema with `names` required besides: a create needs fields an update may
/// leave out, and both are the same fields otherwise.
pub fn requiring<T: utoipa::PartialSchema>(names: &[&str]) -> RefOr<Schema> {
    let RefOr::T(Schema::Object(mut object)) = T::schema() else {
        panic!("a request body's schema is an object");
    };
    for name in names {
        assert!(
            object.properties.contains_key(*name),
            "{name} is a property"
        );
        object.required.push((*name).to_owned());
    }
    RefOr::T(Schema::Object(object))
}
