//! The fixed caps on what one execution's capability calls may do and keep:
//! log and trail sizes, outbound HTTP, kv writes. Re-exported by
//! `sandbox::limits`, the one list of every limit of an execution.

use std::time::Duration;

/// Log bytes (log interface plus stdout/stderr) kept per execution; the rest
/// is dropped and a marker entry says how much.
pub const MAX_LOG_BYTES: usize = 256 * 1024;
/// Log entries kept per execution, so a flood of tiny lines is capped too.
pub const MAX_LOG_ENTRIES: usize = 2_000;
/// Capability calls recorded per execution; further calls still count.
pub const MAX_TRAIL_ENTRIES: usize = 1_000;
/// Outbound HTTP requests per execution; past it `send` returns `limited`.
pub const MAX_HTTP_REQUESTS: usize = 256;
/// Largest HTTP response body handed to a guest.
pub const MAX_HTTP_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Largest request body a `fetch()` may send; the host buffers it to check
/// and record the request before anything leaves, as with the `http` interface.
pub const MAX_FETCH_REQUEST_BYTES: usize = 4 * 1024 * 1024;
/// Longest single outbound HTTP request (also capped by the deadline).
pub const MAX_HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// TCP + TLS connect budget for outbound HTTP.
pub const HTTP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Redirect hops followed (each re-checked against the grants).
pub const MAX_HTTP_REDIRECTS: usize = 5;
/// Longest kv key, in bytes.
pub const MAX_KV_KEY_BYTES: usize = 512;
/// Largest kv value, in bytes.
pub const MAX_KV_VALUE_BYTES: usize = 1024 * 1024;
/// kv writes (set and delete) per execution; past it they return `limited`,
/// so a runaway loop cannot fill the disk before its fuel runs out.
pub const MAX_KV_WRITES: usize = 1_000;
/// Bytes of kv values written per execution.
pub const MAX_KV_WRITTEN_BYTES: usize = 16 * 1024 * 1024;
