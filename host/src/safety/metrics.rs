//! `wolfe_suppressed_executions_total{tenant, reason}`: what this host's
//! safety decisions held back, for `GET /metrics`.

use super::suppression::Reason;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use std::sync::LazyLock;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SuppressionLabels {
    tenant: String,
    reason: &'static str,
}

/// One family for the process: every pipeline and sweep counts into it.
static SUPPRESSED: LazyLock<Family<SuppressionLabels, Counter>> = LazyLock::new(Family::default);

/// Counts one suppression.
pub fn count(tenant: &str, reason: Reason) {
    SUPPRESSED
        .get_or_create(&SuppressionLabels {
            tenant: tenant.to_string(),
            reason: reason.as_str(),
        })
        .inc();
}

pub fn register(registry: &mut Registry) {
    registry.register(
        "wolfe_suppressed_executions",
        "Executions suppressed by a safety policy, a silence or a pause, by reason",
        SUPPRESSED.clone(),
    );
}
