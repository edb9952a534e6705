//! Help for the OpenAPI schemas the derive cannot write: a record that
//! `#[serde(flatten)]`s a request type beside fields of its own. A derived
//! schema puts the two in an `allOf`, and the request type refuses unknown
//! fields (`additionalProperties: false`), so no record would satisfy it.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, Object, Schema, Type};

/// `inner` (a derived struct's inline object schema) with `extra` required
/// fields beside its own; `strict` keeps refusing other fields.
pub fn with_fields(inner: RefOr<Schema>, extra: &[(&str, RefOr<Schema>)], strict: bool) -> Object {
    let RefOr::T(Schema::Object(mut object)) = inner else {
        unreachable!("a derived struct schema is an inline object")
    };
    for (name, field) in extra {
        object.properties.insert((*name).into(), field.clone());
        object.required.push((*name).into());
    }
    object.additional_properties = strict.then(|| Box::new(AdditionalProperties::FreeForm(false)));
    object
}

/// A string field's schema.
pub fn text() -> RefOr<Schema> {
    RefOr::T(Schema::Object(Object::with_type(Type::String)))
}

/// A boolean field's schema.
pub fn flag() -> RefOr<Schema> {
    RefOr::T(Schema::Object(Object::with_type(Type::Boolean)))
}
