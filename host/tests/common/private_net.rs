//! Runs a test body in a network namespace of its own, with only loopback.
//!
//! Generated requests can configure things that reach out: an SQS source
//! polls whatever `endpoint_url` (or AWS region) it names, a connector's
//! notification goes to its URL. Inside a private namespace such a
//! connection fails at once on this machine, instead of leaving it. The
//! namespace belongs to one thread: everything the body starts from it —
//! the `wolfe serve` child, schemathesis, the runtime's worker threads —
//! inherits it; the rest of the test binary keeps the machine's network.

use std::future::Future;

/// Runs `body` on a new thread in a new network namespace (loopback up),
/// on a runtime of its own. Needs root (CAP_SYS_ADMIN), as CI has.
pub fn run<F, Fut>(body: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let thread = std::thread::spawn(move || {
        // SAFETY: unshare(2) changes only this thread's namespaces; no
        // memory is shared with the call.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(
            rc,
            0,
            "unshare(CLONE_NEWNET) failed ({}): this test needs root to give its server a private network",
            std::io::Error::last_os_error()
        );
        let status = std::process::Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status()
            .expect("run `ip` (iproute2) to bring up loopback");
        assert!(status.success(), "ip link set lo up: {status}");
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(body());
    });
    if let Err(panic) = thread.join() {
        std::panic::resume_unwind(panic);
    }
}
