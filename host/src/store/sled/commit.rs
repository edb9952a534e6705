//! Group commit: durability without one fsync per write. Writers apply their
//! changes to sled (in memory), then wait on [`GroupCommit::commit`]; one
//! thread flushes sled for every writer that arrived since the last flush, so
//! under load one fsync covers many events.

use std::sync::mpsc;
use tokio::sync::oneshot;

type Waiter = oneshot::Sender<Result<(), String>>;

#[derive(Clone)]
pub struct GroupCommit {
    waiters: mpsc::Sender<Waiter>,
}

impl GroupCommit {
    /// Starts the flushing thread; it ends when every handle is dropped.
    pub fn start(db: sled::Db) -> Self {
        let (tx, rx) = mpsc::channel::<Waiter>();
        std::thread::Builder::new()
            .name("wolfe-commit".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    batch.extend(rx.try_iter());
                    let flushing = std::time::Instant::now();
                    let result = db.flush().map(|_| ()).map_err(|e| e.to_string());
                    crate::metrics::store_write("flush", flushing.elapsed());
                    if let Err(e) = &result {
                        tracing::error!(error = %e, "flushing the store failed");
                    }
                    for waiter in batch {
                        let _ = waiter.send(result.clone());
                    }
                }
            })
            .expect("failed to spawn the commit thread");
        Self { waiters: tx }
    }

    /// Asks for a flush without waiting for it.
    pub fn request(&self) {
        let (tx, _rx) = oneshot::channel();
        let _ = self.waiters.send(tx);
    }

    /// Returns once everything written before the call is on disk.
    pub async fn commit(&self) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.waiters
            .send(tx)
            .map_err(|_| "the commit thread has stopped".to_string())?;
        rx.await
            .map_err(|_| "the commit thread has stopped".to_string())?
    }
}
