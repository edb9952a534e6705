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

/// Sets `key` to `new` only if it holds exactly `expected` now (`None`:
/// only if absent), atomically — also against executions of this runbook
/// running at the same moment on other hosts. `true` when it was set.
pub fn compare_and_swap(
    key: &str,
    expected: Option<&[u8]>,
    new: &[u8],
) -> Result<bool, CapabilityError> {
    kv::compare_and_swap(key, expected, new).map_err(Into::into)
}

/// Adds `delta` to the counter under `key` (absent: 0) atomically and
/// returns the new value. Counters are decimal text, so [`get_json`] reads
/// one as a number.
pub fn increment(key: &str, delta: i64) -> Result<i64, CapabilityError> {
    kv::increment(key, delta).map_err(Into::into)
}

/// Reads the JSON value under `key`, lets `change` compute the next one,
/// and stores it only if nobody changed the value in between — otherwise
/// reads again and asks `change` again. Returns what was stored and what
/// `change` decided alongside it. State that concurrent executions share
/// belongs here rather than in a `get_json`/`set_json` pair, which could
/// lose one of two updates.
pub fn update_json<T, R>(
    key: &str,
    mut change: impl FnMut(Option<T>) -> (T, R),
) -> Result<(T, R), Error>
where
    T: Serialize + DeserializeOwned,
{
    loop {
        let current = get(key)?;
        let value = match &current {
            Some(bytes) => Some(serde_json::from_slice(bytes)?),
            None => None,
        };
        let (next, decided) = change(value);
        if compare_and_swap(key, current.as_deref(), &serde_json::to_vec(&next)?)? {
            return Ok((next, decided));
        }
    }
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
