//! Request and response bodies of the API as named types: the handlers
//! answer with them, the CLI client (`cli/client.rs`) reads them, and the
//! OpenAPI document (`api/openapi.rs`) is generated from them, so a field
//! renamed in one place cannot silently break another. Records that are
//! also stored (tenants, quotas, rules, executions, …) are the store's own
//! types; this module holds the envelopes and views around them, one file
//! per area of the API.

mod executions;
mod registry;
mod replay;
mod safety;
mod settings;
mod stats;
mod triggers;

pub use executions::*;
pub use registry::*;
pub use replay::*;
pub use safety::*;
pub use settings::*;
pub use stats::*;
pub use triggers::*;

use crate::tenancy::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every 4xx and 5xx answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable and machine-readable: `not_found`, `invalid_json`, ...
    pub code: String,
    /// What was wrong, for a person.
    pub message: String,
}

/// `POST /v1/tenants`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// 1 to 64 of `a-z 0-9 - _`, starting with a letter or digit.
    pub name: String,
}

/// `POST /v1/tenants/{tenant}/tokens`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub role: Role,
}

/// A new token: the only time it is shown; the server keeps its hash.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    pub token: String,
    /// The token's public id, as the audit log names it.
    pub id: String,
    pub tenant: String,
    pub role: Role,
}

/// `GET /healthz`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok` while the process serves.
    pub status: String,
}

/// `GET /readyz` when ready.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Ready {
    /// `ready`.
    pub status: String,
    /// Executions queued or running on this host.
    pub in_flight: usize,
}

/// `POST /v1/session`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// An API token: a tenant's (any role) or the server admin token.
    pub token: String,
}

/// Who a session or token is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionInfo {
    /// The token's tenant; null for the server admin token.
    pub tenant: Option<String>,
    /// `admin`, `author`, `operator`, `auditor`, `sender` or `server-admin`.
    pub role: String,
    /// The token's public id, as the audit log names it.
    pub token_id: String,
    /// When the session cookie expires (RFC 3339); null for a bearer token.
    pub expires_at: Option<String>,
    /// What the role may do in its tenant (the API checks every request
    /// anyway; Studio hides what would be refused).
    pub can: Vec<crate::tenancy::Action>,
}
