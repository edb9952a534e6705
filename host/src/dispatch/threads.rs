//! Where executions run. Most finish in well under a millisecond and run
//! inline on the async runtime, where a hop to another thread would cost
//! more than the run. One still running at an epoch tick after
//! `priority::INLINE_FOR` is moved, suspended, to an execution thread of its
//! own (one per worker): a guest burning its fuel keeps its thread until its
//! next tick, which on a
//! runtime worker stalls every task queued behind it (webhook
//! acknowledgements, other tenants' executions), while on a thread of its
//! own the kernel preempts it.
//!
//! Two sets of threads: normal ones, and ones in the idle scheduling class
//! for the executions of a tenant over its fair share (see `priority`). A
//! normal thread whose execution was demoted part way is replaced by a
//! fresh one, since an unprivileged process cannot undo the demotion.

use super::priority;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use tokio::runtime::Handle;

type Job = Box<dyn FnOnce() + Send>;

/// An execution, as a future that may move between threads while suspended.
pub type Work<T> = Pin<Box<dyn Future<Output = T> + Send>>;

thread_local! {
    static ON_EXECUTION_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the calling thread is an execution thread.
pub fn on_execution_thread() -> bool {
    ON_EXECUTION_THREAD.get()
}

pub struct ExecutionThreads {
    normal: Sender<Job>,
    idle: Sender<Job>,
}

impl ExecutionThreads {
    /// Starts `count` threads of each kind; they exit when this is dropped.
    pub fn start(count: usize) -> std::io::Result<Self> {
        let (normal, normal_queue) = std::sync::mpsc::channel::<Job>();
        let (idle, idle_queue) = std::sync::mpsc::channel::<Job>();
        let (normal_queue, idle_queue) = (
            Arc::new(Mutex::new(normal_queue)),
            Arc::new(Mutex::new(idle_queue)),
        );
        for _ in 0..count.max(1) {
            spawn_thread(normal_queue.clone(), false)?;
            spawn_thread(idle_queue.clone(), true)?;
        }
        Ok(Self { normal, idle })
    }

    /// Runs `work` to completion: on an idle-class thread when `idle`, else
    /// inline until `long_running` is set (by the guest's epoch tick), then
    /// on an execution thread. Its I/O and timers stay on `runtime`. `None`
    /// if the work panicked or the threads are gone.
    pub async fn run<T: Send + 'static>(
        &self,
        runtime: Handle,
        idle: bool,
        long_running: Arc<AtomicBool>,
        work: Work<T>,
    ) -> Option<T> {
        if idle {
            return self.on_thread(runtime, &self.idle, work).await;
        }
        let mut inline = Some(work);
        let finished = std::future::poll_fn(|cx| {
            let Some(work) = inline.as_mut() else {
                return Poll::Ready(None);
            };
            match work.as_mut().poll(cx) {
                Poll::Ready(value) => Poll::Ready(Some(value)),
                Poll::Pending if long_running.load(Ordering::Relaxed) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        match (finished, inline) {
            (Some(value), _) => Some(value),
            (None, Some(work)) => self.on_thread(runtime, &self.normal, work).await,
            (None, None) => None,
        }
    }

    async fn on_thread<T: Send + 'static>(
        &self,
        runtime: Handle,
        jobs: &Sender<Job>,
        work: Work<T>,
    ) -> Option<T> {
        let (done, finished) = tokio::sync::oneshot::channel::<T>();
        let job: Job = Box::new(move || {
            let _ = done.send(runtime.block_on(work));
        });
        if jobs.send(job).is_err() {
            tracing::error!("the execution threads are gone");
            return None;
        }
        let result = finished.await.ok();
        if result.is_none() {
            tracing::error!("an execution thread's work panicked");
        }
        result
    }
}

fn spawn_thread(queue: Arc<Mutex<Receiver<Job>>>, idle: bool) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name(
            if idle {
                "wolfe-exec-idle"
            } else {
                "wolfe-exec"
            }
            .into(),
        )
        .spawn(move || {
            ON_EXECUTION_THREAD.set(true);
            if idle {
                priority::demote_current_thread();
            }
            thread_loop(queue, idle)
        })
        .map(|_| ())
}

fn thread_loop(queue: Arc<Mutex<Receiver<Job>>>, idle: bool) {
    loop {
        let job = {
            let Ok(queue) = queue.lock() else { return };
            match queue.recv() {
                Ok(job) => job,
                Err(_) => return, // the pool was dropped
            }
        };
        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
        if !idle && priority::current_thread_demoted() {
            // Cannot be undone without privileges: hand over to a fresh
            // thread at normal priority and end this one.
            if let Err(e) = spawn_thread(queue.clone(), false) {
                tracing::error!(error = %e, "cannot replace an execution thread; keeping the demoted one");
                continue;
            }
            return;
        }
    }
}
