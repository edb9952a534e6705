//! The runbook's private key-value store (`capabilities.kv = true`). Values
//! are bytes; the `_json` helpers store serde values.

use crate::bindings::wolfe::runbook::kv;
use crate::{CapabilityError, Error};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub fn get(key: &str) -> Result<Option<Vec<u8>>, CapabilityError> {
    kv::get(key).map_err(Into::into)
}

pub fn set(key: &str, value: &[u8]) -> Result<(), CapabilityError> {
    kv::set(key, value).map_err(Into::into)
}

pub fn delete(key: &str) -> Result<(), CapabilityError> {
    kv::delete(key).map_err(Into::into)
}

/// Reads a JSON value stored with [`set_json`].
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, Error> {
    match get(key)? {
        Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        None => Ok(None),
    }
}

pub fn set_json<T: Serialize>(key: &str, value: &T) -> Result<(), Error> {
    Ok(set(key, &serde_json::to_vec(value)?)?)
}
