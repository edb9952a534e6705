//! A dry run's kv: writes land in memory over the runbook's real namespace
//! and are dropped with the execution, so the store is only ever read. Reads
//! see the overlay first (a key deleted in it reads as absent), then the
//! store; compare-and-swap compares against that same value, and so does
//! `increment`, which is built on get and compare-and-swap.
//!
//! One execution makes one kv call at a time (each holds the execution's
//! store), so reading then writing here needs no lock held across the store
//! read. The per-execution write budget is checked before a write gets here,
//! so it bounds the overlay's memory as it bounds a real run's writes.

use super::KvProvider;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A runbook's kv namespace, read-only, under this execution's writes.
pub struct KvOverlay {
    store: Arc<dyn KvProvider>,
    /// Keys written in this execution: `Some` set, `None` deleted.
    written: Mutex<HashMap<String, Option<Vec<u8>>>>,
}

impl KvOverlay {
    pub fn over(store: Arc<dyn KvProvider>) -> Self {
        Self {
            store,
            written: Mutex::default(),
        }
    }

    fn write(&self, key: &str, value: Option<Vec<u8>>) {
        self.written
            .lock()
            .expect("kv overlay lock poisoned")
            .insert(key.to_string(), value);
    }
}

#[async_trait::async_trait]
impl KvProvider for KvOverlay {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        let written = self
            .written
            .lock()
            .expect("kv overlay lock poisoned")
            .get(key)
            .cloned();
        match written {
            Some(value) => Ok(value),
            None => self.store.get(key).await,
        }
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        self.write(key, Some(value.to_vec()));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), String> {
        self.write(key, None);
        Ok(())
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, String> {
        if self.get(key).await?.as_deref() != expected {
            return Ok(false);
        }
        self.write(key, Some(new.to_vec()));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::super::increment;
    use super::*;

    /// A namespace in memory, standing in for the store.
    #[derive(Default)]
    struct MemoryKv(Mutex<HashMap<String, Vec<u8>>>);

    impl MemoryKv {
        fn with(pairs: &[(&str, &str)]) -> Arc<Self> {
            let map = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect();
            Arc::new(Self(Mutex::new(map)))
        }

        fn snapshot(&self) -> HashMap<String, Vec<u8>> {
            self.0.lock().unwrap().clone()
        }
    }

    #[async_trait::async_trait]
    impl KvProvider for MemoryKv {
        async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
            Ok(self.0.lock().unwrap().get(key).cloned())
        }
        async fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
            self.0.lock().unwrap().insert(key.into(), value.to_vec());
            Ok(())
        }
        async fn delete(&self, key: &str) -> Result<(), String> {
            self.0.lock().unwrap().remove(key);
            Ok(())
        }
        async fn compare_and_swap(
            &self,
            key: &str,
            expected: Option<&[u8]>,
            new: &[u8],
        ) -> Result<bool, String> {
            let mut map = self.0.lock().unwrap();
            if map.get(key).map(Vec::as_slice) != expected {
                return Ok(false);
            }
            map.insert(key.into(), new.to_vec());
            Ok(true)
        }
    }

    async fn text(kv: &dyn KvProvider, key: &str) -> Option<String> {
        kv.get(key)
            .await
            .unwrap()
            .map(|v| String::from_utf8(v).unwrap())
    }

    #[tokio::test]
    async fn writes_shadow_the_store_and_never_reach_it() {
        let store = MemoryKv::with(&[("kept", "old"), ("gone", "old"), ("read", "as is")]);
        let before = store.snapshot();
        let overlay = KvOverlay::over(store.clone());

        overlay.set("kept", b"new").await.unwrap();
        overlay.set("fresh", b"1").await.unwrap();
        overlay.delete("gone").await.unwrap();
        assert_eq!(text(&overlay, "kept").await.as_deref(), Some("new"));
        assert_eq!(text(&overlay, "fresh").await.as_deref(), Some("1"));
        assert_eq!(text(&overlay, "gone").await, None, "deleted reads absent");
        assert_eq!(text(&overlay, "read").await.as_deref(), Some("as is"));
        // Set again after a delete: the overlay's latest write wins.
        overlay.set("gone", b"back").await.unwrap();
        assert_eq!(text(&overlay, "gone").await.as_deref(), Some("back"));

        drop(overlay);
        assert_eq!(store.snapshot(), before);
    }

    #[tokio::test]
    async fn compare_and_swap_compares_against_overlay_then_store() {
        let store = MemoryKv::with(&[("stored", "a"), ("deleted", "a")]);
        let before = store.snapshot();
        let overlay = KvOverlay::over(store.clone());

        // Against the store's value.
        assert!(
            !overlay
                .compare_and_swap("stored", None, b"x")
                .await
                .unwrap()
        );
        assert!(
            !overlay
                .compare_and_swap("stored", Some(b"z"), b"x")
                .await
                .unwrap()
        );
        assert!(
            overlay
                .compare_and_swap("stored", Some(b"a"), b"b")
                .await
                .unwrap()
        );
        // Now against the overlay's: the store's `a` no longer counts.
        assert!(
            !overlay
                .compare_and_swap("stored", Some(b"a"), b"c")
                .await
                .unwrap()
        );
        assert!(
            overlay
                .compare_and_swap("stored", Some(b"b"), b"c")
                .await
                .unwrap()
        );
        assert_eq!(text(&overlay, "stored").await.as_deref(), Some("c"));
        // A key deleted in the overlay is absent, whatever the store holds.
        overlay.delete("deleted").await.unwrap();
        assert!(
            !overlay
                .compare_and_swap("deleted", Some(b"a"), b"x")
                .await
                .unwrap()
        );
        assert!(
            overlay
                .compare_and_swap("deleted", None, b"y")
                .await
                .unwrap()
        );
        assert!(
            overlay
                .compare_and_swap("absent", None, b"1")
                .await
                .unwrap()
        );

        drop(overlay);
        assert_eq!(store.snapshot(), before);
    }

    #[tokio::test]
    async fn increment_counts_from_the_stored_value_in_the_overlay() {
        let store = MemoryKv::with(&[("hits", "40"), ("word", "forty")]);
        let before = store.snapshot();
        let overlay = KvOverlay::over(store.clone());

        assert_eq!(increment(&overlay, "hits", 1).await.unwrap(), 41);
        assert_eq!(increment(&overlay, "hits", 1).await.unwrap(), 42);
        assert_eq!(increment(&overlay, "new", -3).await.unwrap(), -3);
        assert!(increment(&overlay, "word", 1).await.is_err());
        overlay.delete("hits").await.unwrap();
        assert_eq!(increment(&overlay, "hits", 5).await.unwrap(), 5);

        drop(overlay);
        assert_eq!(store.snapshot(), before);
    }
}
