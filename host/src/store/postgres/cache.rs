//! Per-host read caches in front of the shared database. The look-ups every
//! webhook and execution makes (token, tenant, source, deployment) are
//! served from memory for at most [`FRESHNESS`], so a change made through
//! another host is seen here within it, and a change made through this host
//! drops the entry at once.

use crate::registry::{Deployment, Environment};
use crate::safety::settings::SafetySettings;
use crate::store::StoreResult;
use crate::store::model::source::Source;
use crate::tenancy::{Tenant, TokenRecord};
use moka::sync::Cache;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How stale a cached look-up may be. Caches of other hosts follow a change
/// within this (the target is 1 s, rule reloads included).
pub const FRESHNESS: Duration = Duration::from_millis(500);

/// Entries kept per cache at most: far more than a host's hot set.
const CAPACITY: u64 = 10_000;

/// The look-ups this host caches.
pub(super) struct ReadCaches {
    pub admin_token: Cached<(), Option<String>>,
    pub tokens: Cached<String, Option<TokenRecord>>,
    pub tenants: Cached<String, Option<Tenant>>,
    pub sources: Cached<(String, String), Option<Source>>,
    pub deployments: Cached<(String, String, Environment), Option<Deployment>>,
    /// Pauses and silences, read by every webhook.
    pub safety: Cached<String, SafetySettings>,
}

impl ReadCaches {
    pub fn new() -> Self {
        Self {
            admin_token: Cached::new(),
            tokens: Cached::new(),
            tenants: Cached::new(),
            sources: Cached::new(),
            deployments: Cached::new(),
            safety: Cached::new(),
        }
    }
}

/// One look-up, cached. Absent records are cached too: a flood of requests
/// with an unknown token must not become a flood of queries.
pub(super) struct Cached<K, V> {
    entries: Cache<K, V>,
    /// Bumped by every local write, so a load that raced a write does not
    /// put back what the write replaced.
    generation: AtomicU64,
}

impl<K, V> Cached<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub fn new() -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(FRESHNESS)
                .build(),
            generation: AtomicU64::new(0),
        }
    }

    /// The cached value of `key`, or what `load` reads from the database.
    pub async fn get_or_load<F>(&self, key: K, load: F) -> StoreResult<V>
    where
        F: Future<Output = StoreResult<V>>,
    {
        if let Some(value) = self.entries.get(&key) {
            return Ok(value);
        }
        let before = self.generation.load(Ordering::Acquire);
        let value = load.await?;
        if self.generation.load(Ordering::Acquire) == before {
            self.entries.insert(key, value.clone());
        }
        Ok(value)
    }

    /// Drops `key` after a local write.
    pub fn forget(&self, key: &K) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serves_from_memory_until_forgotten_or_stale() {
        let cache: Cached<&str, u32> = Cached::new();
        assert_eq!(cache.get_or_load("k", async { Ok(1) }).await.unwrap(), 1);
        // Cached: the loader is not consulted.
        assert_eq!(cache.get_or_load("k", async { Ok(2) }).await.unwrap(), 1);
        cache.forget(&"k");
        assert_eq!(cache.get_or_load("k", async { Ok(3) }).await.unwrap(), 3);
        tokio::time::sleep(FRESHNESS + Duration::from_millis(100)).await;
        assert_eq!(cache.get_or_load("k", async { Ok(4) }).await.unwrap(), 4);
    }

    #[tokio::test]
    async fn a_load_racing_a_write_is_not_kept() {
        let cache: Cached<&str, u32> = Cached::new();
        let value = cache
            .get_or_load("k", async {
                cache.forget(&"k"); // a write lands while the read is in flight
                Ok(1)
            })
            .await
            .unwrap();
        assert_eq!(value, 1);
        assert_eq!(cache.get_or_load("k", async { Ok(2) }).await.unwrap(), 2);
    }
}
