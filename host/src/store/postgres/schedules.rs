//! The last tick each schedule source fired (`schedule_ticks`).

use super::PostgresStore;
use crate::store::{ScheduleStore, StoreResult};
use async_trait::async_trait;

#[async_trait]
impl ScheduleStore for PostgresStore {
    async fn last_tick(&self, tenant: &str, source: &str) -> StoreResult<Option<i64>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "SELECT last_tick FROM schedule_ticks WHERE tenant = $1 AND source = $2",
            )
            .await?;
        Ok(c.query_opt(&stmt, &[&tenant, &source])
            .await?
            .map(|row| row.get(0)))
    }

    async fn set_last_tick(&self, tenant: &str, source: &str, tick: i64) -> StoreResult<bool> {
        let c = self.client().await?;
        // One statement: the row lock orders hosts writing the same source,
        // and the WHERE keeps the value from moving back.
        let stmt = c
            .prepare_cached(
                "INSERT INTO schedule_ticks (tenant, source, last_tick) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant, source) DO UPDATE SET last_tick = EXCLUDED.last_tick
                 WHERE schedule_ticks.last_tick < EXCLUDED.last_tick",
            )
            .await?;
        Ok(c.execute(&stmt, &[&tenant, &source, &tick]).await? == 1)
    }
}
