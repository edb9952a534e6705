//! Interactive work first: an execution that has burned more than a few
//! milliseconds of CPU on its execution thread — or any execution of a
//! tenant whose runbooks have kept the host busy lately while others wait —
//! runs its thread in the idle scheduling class, so
//! the threads that acknowledge webhooks, commit to disk and run other
//! tenants' short executions preempt it the moment they have work, instead
//! of waiting out its time slice. It still gets every cycle nobody else
//! wants, and its fuel and deadline are unchanged. Linux only; elsewhere
//! nothing changes.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// CPU an execution may use before it yields to interactive work. Typical
/// runbooks (a few HTTP calls, some JSON) finish well within it.
pub const CPU_BEFORE_DEMOTION: Duration = Duration::from_millis(5);

/// How long an execution may run inline on the async runtime before it
/// moves to an execution thread (at the next epoch tick after this).
pub const INLINE_FOR: Duration = Duration::from_millis(1);

thread_local! {
    /// Whether this thread was moved to the idle class. An unprivileged
    /// process cannot move it back, so such a thread is retired.
    static DEMOTED: Cell<bool> = const { Cell::new(false) };
}

/// Watches one execution from its epoch ticks: on the async runtime the
/// first tick asks for the move to an execution thread (`long_running`);
/// there, past [`CPU_BEFORE_DEMOTION`] of the thread's CPU, it demotes it.
pub struct Demoter {
    long_running: Arc<AtomicBool>,
    started: Instant,
    /// The thread's CPU time when the execution arrived on it.
    arrived: Option<Duration>,
}

impl Demoter {
    pub fn new(long_running: Arc<AtomicBool>) -> Self {
        Self {
            long_running,
            started: Instant::now(),
            arrived: None,
        }
    }

    /// Called on every epoch tick while the guest runs.
    pub fn tick(&mut self) {
        if !super::threads::on_execution_thread() {
            // A tick can land in the first microseconds of a short run;
            // only a run that has lasted is worth a thread hop.
            if self.started.elapsed() >= INLINE_FOR {
                self.long_running.store(true, Ordering::Relaxed);
            }
            return;
        }
        if DEMOTED.get() {
            return;
        }
        let Some(now) = thread_cpu_time() else { return };
        let arrived = *self.arrived.get_or_insert(now);
        if now.saturating_sub(arrived) >= CPU_BEFORE_DEMOTION {
            demote_current_thread();
        }
    }
}

/// Moves the calling thread to the idle class, once.
pub fn demote_current_thread() {
    if DEMOTED.replace(true) {
        return;
    }
    if let Err(e) = set_idle_class() {
        tracing::warn!(error = %e, "cannot lower an execution thread's priority");
    }
}

/// Execution time a tenant may have used recently (decayed, see [`TenantCpu`])
/// before its executions run in the idle class: about a fifth of a core,
/// sustained — and only while it is more than half of all executions' CPU
/// and another tenant is running too. A tenant alone on the host is never
/// held back.
pub const HEAVY_TENANT_CPU: Duration = Duration::from_millis(300);

/// Half-life of the per-tenant CPU account.
const CPU_HALF_LIFE: Duration = Duration::from_secs(1);

/// Others' recent CPU below this means nobody else is running.
const OTHERS_ACTIVE_CPU: f64 = 0.001;

/// Recent execution time per tenant: each execution's wall-clock run time
/// is added (CPU time is not measurable for the executions that run inline
/// on the runtime, and a runbook waiting on I/O loses nothing by being
/// demoted), and the account halves every [`CPU_HALF_LIFE`]. A steady `r`
/// executions' worth of seconds per second settles at about `1.44 × r`.
#[derive(Default)]
pub struct TenantCpu {
    accounts: Mutex<HashMap<String, (f64, Instant)>>,
}

impl TenantCpu {
    /// Whether the tenant's executions should run in the idle class.
    pub fn is_heavy(&self, tenant: &str) -> bool {
        let Ok(mut accounts) = self.accounts.lock() else {
            return false;
        };
        let now = Instant::now();
        let mut own = 0.0;
        let mut others = 0.0;
        for (name, account) in accounts.iter_mut() {
            let seconds = decay(account, now);
            if name == tenant {
                own = seconds;
            } else {
                others += seconds;
            }
        }
        own > HEAVY_TENANT_CPU.as_secs_f64() && own > others && others > OTHERS_ACTIVE_CPU
    }

    /// Adds one execution's run time to the tenant's account.
    pub fn charge(&self, tenant: &str, cpu: Duration) {
        let Ok(mut accounts) = self.accounts.lock() else {
            return;
        };
        let now = Instant::now();
        let account = accounts.entry(tenant.to_string()).or_insert((0.0, now));
        decay(account, now);
        account.0 += cpu.as_secs_f64();
    }
}

/// Brings an account's decayed CPU seconds up to `now` and returns them.
fn decay(account: &mut (f64, Instant), now: Instant) -> f64 {
    let halvings = now.duration_since(account.1).as_secs_f64() / CPU_HALF_LIFE.as_secs_f64();
    account.0 *= 0.5f64.powf(halvings);
    account.1 = now;
    account.0
}

/// Whether the calling thread was demoted (and so must not run more work).
pub fn current_thread_demoted() -> bool {
    DEMOTED.get()
}

#[cfg(target_os = "linux")]
fn thread_cpu_time() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

#[cfg(target_os = "linux")]
fn set_idle_class() -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; param is valid for SCHED_IDLE.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn thread_cpu_time() -> Option<Duration> {
    None
}

#[cfg(not(target_os = "linux"))]
fn set_idle_class() -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_is_heavy_while_it_uses_much_cpu_beside_others_and_recovers_after() {
        let cpu = TenantCpu::default();
        assert!(!cpu.is_heavy("quiet"));
        cpu.charge("noisy", Duration::from_millis(400));
        assert!(
            !cpu.is_heavy("noisy"),
            "alone on the host it is not held back"
        );
        cpu.charge("quiet", Duration::from_millis(10));
        assert!(cpu.is_heavy("noisy"));
        assert!(!cpu.is_heavy("quiet"), "accounts are per tenant");
        // Two half-lives later 400 ms has decayed to 100 ms.
        if let Some((_, at)) = cpu.accounts.lock().unwrap().get_mut("noisy") {
            *at -= CPU_HALF_LIFE * 2;
        }
        assert!(!cpu.is_heavy("noisy"));
    }
}
