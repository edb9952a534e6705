//! Safety: what keeps automation from going haywire. Rule policies (keys,
//! dedupe, rate, threshold, concurrency, budget, circuit, approval, dry
//! run), silences and pauses; every decision ends in an execution record.

pub mod approvals;
pub mod gate;
pub mod metrics;
pub mod policy;
pub mod settings;
pub mod suppression;
