//! Bodies of a tenant's settings: secrets (names only), connectors and the
//! audit log.

use crate::store::{AuditEntry, ConnectorRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `PUT …/secrets/{name}`: the value goes in and never comes out.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutSecret {
    /// 1 to 65536 bytes.
    pub value: String,
}

/// What readers see of a secret: never its value.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SecretInfo {
    pub name: String,
    /// The master key that sealed it.
    pub key_id: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SecretList {
    pub secrets: Vec<SecretInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConnectorList {
    pub connectors: Vec<ConnectorRecord>,
}

/// `GET …/audit` query.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries after this sequence number [default: 0, from the start].
    #[serde(default)]
    pub after: u64,
    /// Entries per page, 1 to 1000 [default: 100].
    #[serde(default = "default_audit_limit")]
    pub limit: usize,
    /// Only entries of this action (`secret.put`, `runbook.promote`, …).
    pub action: Option<String>,
}

fn default_audit_limit() -> usize {
    100
}

/// `GET …/audit`: oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `after` for the next page; null on the last.
    pub next_after: Option<u64>,
}
