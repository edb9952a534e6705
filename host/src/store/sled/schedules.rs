//! The last tick each schedule source fired, as 8 big-endian bytes.

use super::SledStore;
use super::keys::key;
use crate::store::{ScheduleStore, StoreError, StoreResult};
use async_trait::async_trait;

fn decode_tick(bytes: &[u8]) -> StoreResult<i64> {
    let bytes: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StoreError::Backend("sled: a schedule tick is not 8 bytes".into()))?;
    Ok(i64::from_be_bytes(bytes))
}

#[async_trait]
impl ScheduleStore for SledStore {
    async fn last_tick(&self, tenant: &str, source: &str) -> StoreResult<Option<i64>> {
        self.trees
            .schedule_ticks
            .get(key(&[tenant, source]))?
            .map(|v| decode_tick(&v))
            .transpose()
    }

    async fn set_last_tick(&self, tenant: &str, source: &str, tick: i64) -> StoreResult<bool> {
        let k = key(&[tenant, source]);
        // Compare-and-swap until this write wins or a later tick is there:
        // two tasks of this process may race on one source.
        let mut current = self.trees.schedule_ticks.get(&k)?;
        loop {
            if let Some(v) = &current
                && decode_tick(v)? >= tick
            {
                return Ok(false);
            }
            match self.trees.schedule_ticks.compare_and_swap(
                &k,
                current.as_ref(),
                Some(&tick.to_be_bytes()[..]),
            )? {
                Ok(()) => return Ok(true),
                Err(e) => current = e.current,
            }
        }
    }
}
