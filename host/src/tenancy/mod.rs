//! Tenants, API tokens and roles: who may do what, in which tenant.
//! Tokens are random, shown once, and stored only as their sha256.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A tenant: the isolation boundary that owns everything else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tenant {
    pub name: String,
    pub created_at: String,
    /// What the tenant's executions may use; set by the server admin.
    #[serde(default)]
    pub quota: TenantQuota,
}

/// Per-tenant limits, so one tenant cannot take what others need. Each is
/// unset (no tenant limit beyond the host's) until the server admin sets it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantQuota {
    /// Ceiling on each execution's linear memory; manifests are clamped.
    pub max_memory_mb: Option<u64>,
    /// Ceiling on each execution's fuel.
    pub max_fuel: Option<u64>,
    /// Ceiling on each execution's wall-clock timeout.
    pub max_timeout_ms: Option<u64>,
    /// Executions of this tenant running at once; more wait without
    /// holding a worker, so other tenants keep running.
    pub max_concurrent: Option<u32>,
    /// Executions created per minute (webhooks, SQS, manual runs); past it
    /// requests are refused with 429 and nothing is stored.
    pub max_executions_per_minute: Option<u32>,
    /// Record each execution's transcript so it can be replayed (`wolfe
    /// replay`); unset means yes. `false` records none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_transcripts: Option<bool>,
}

impl TenantQuota {
    /// Lowers `limits` to this quota, noting what was cut in `clamped`.
    pub fn clamp(&self, limits: &mut crate::sandbox::limits::ExecutionLimits) {
        let mut notes = Vec::new();
        for (name, value, max) in [
            ("memory_mb", &mut limits.memory_mb, self.max_memory_mb),
            ("fuel", &mut limits.fuel, self.max_fuel),
            ("timeout_ms", &mut limits.timeout_ms, self.max_timeout_ms),
        ] {
            if let Some(max) = max
                && *value > max
            {
                notes.push(format!("{name}: {value} -> {max} (tenant quota)"));
                *value = max;
            }
        }
        limits.clamped.extend(notes);
    }
}

/// What a token may do inside its tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything in the tenant, tokens included.
    Admin,
    /// Deploy runbooks, edit rules and sources; read.
    Author,
    /// Run runbooks, read executions.
    Operator,
    /// Read-only: runbooks, rules, sources, executions.
    Auditor,
    /// Post events only.
    Sender,
}

/// An operation a request performs, checked against the caller's role.
/// Serialized in snake_case for Studio, which shows only what a role may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    ManageTokens,
    /// Write or delete tenant secrets (reading names is `ReadConfig`).
    ManageSecrets,
    /// Read and verify the audit log.
    ReadAudit,
    /// Configure or delete tenant connectors.
    ManageConnectors,
    WriteRunbooks,
    WriteRules,
    RunRunbooks,
    ReadConfig,
    ReadExecutions,
    PostEvents,
    /// Approve or reject executions awaiting approval.
    DecideApprovals,
    /// Pause and resume, silence, close circuits: the on-call's brakes.
    ManageSafety,
}

impl Action {
    pub const ALL: [Action; 12] = [
        Action::ManageTokens,
        Action::ManageSecrets,
        Action::ReadAudit,
        Action::ManageConnectors,
        Action::WriteRunbooks,
        Action::WriteRules,
        Action::RunRunbooks,
        Action::ReadConfig,
        Action::ReadExecutions,
        Action::PostEvents,
        Action::DecideApprovals,
        Action::ManageSafety,
    ];
}

impl Role {
    pub fn allows(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Admin => true,
            Role::Author => matches!(
                action,
                WriteRunbooks | WriteRules | ReadConfig | ReadExecutions
            ),
            Role::Operator => matches!(
                action,
                RunRunbooks | ReadConfig | ReadExecutions | DecideApprovals | ManageSafety
            ),
            Role::Auditor => matches!(action, ReadConfig | ReadExecutions | ReadAudit),
            Role::Sender => matches!(action, PostEvents),
        }
    }
}

/// Who a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Principal {
    /// The server-wide admin: creates tenants, acts as admin in any tenant.
    ServerAdmin,
    Tenant {
        tenant: String,
        role: Role,
    },
}

/// A stored token: its hash, never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenRecord {
    /// Short public id (the token's first characters) for audit and revocation.
    pub id: String,
    pub principal: Principal,
    pub created_at: String,
}

/// Tokens start with this, so a leaked one is recognisable in a scan.
pub const TOKEN_PREFIX: &str = "wolfe_";

/// A fresh random token (256 bits).
pub fn generate_token() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// The key a token is stored under.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The public id shown for a token.
pub fn token_id(token: &str) -> String {
    token.chars().take(TOKEN_PREFIX.len() + 8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_the_design() {
        assert!(Role::Admin.allows(Action::ManageTokens));
        assert!(!Role::Author.allows(Action::ManageTokens));
        assert!(Role::Author.allows(Action::WriteRunbooks));
        assert!(!Role::Operator.allows(Action::WriteRunbooks));
        assert!(Role::Operator.allows(Action::RunRunbooks));
        assert!(!Role::Auditor.allows(Action::RunRunbooks));
        assert!(Role::Auditor.allows(Action::ReadExecutions));
        assert!(Role::Sender.allows(Action::PostEvents));
        assert!(!Role::Sender.allows(Action::ReadExecutions));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = generate_token();
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 64);
        assert_ne!(a, generate_token());
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
