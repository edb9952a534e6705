//! Who is calling, and whether they may do what they ask in this tenant.
//! A token of another tenant gets 404, never 403: it must not learn which
//! tenants exist.

use super::AppState;
use super::error::ApiError;
use crate::tenancy::{Action, Principal, Role, token_hash};
use axum::http::HeaderMap;
use subtle::ConstantTimeEq;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// Public id of the token used (for logs and the audit log).
    pub token_id: String,
}

impl Caller {
    /// Who did it, as the audit log records it.
    pub fn actor(&self) -> crate::store::AuditActor {
        crate::store::AuditActor {
            token_id: self.token_id.clone(),
            role: match &self.principal {
                Principal::ServerAdmin => "server-admin".to_string(),
                Principal::Tenant { role, .. } => role_name(*role).to_string(),
            },
        }
    }
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Resolves the caller from `Authorization: Bearer …` or, without one,
/// from Studio's session cookie (`api::session`).
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    if let Some(token) = bearer(headers) {
        return resolve_hash(state, &token_hash(token), || {
            crate::tenancy::token_id(token)
        })
        .await;
    }
    match super::session::session_cookie(state, headers) {
        Some(session) => {
            resolve_hash(state, &session.token_hash, || session.token_id.clone()).await
        }
        None => Err(ApiError::Unauthorized("missing bearer token".into())),
    }
}

/// The caller whose token has `hash`: the server admin, or a token in the
/// store (a deleted token resolves to nothing). `admin_id` names the admin
/// token, whose id is not stored.
pub(super) async fn resolve_hash(
    state: &AppState,
    hash: &str,
    admin_id: impl FnOnce() -> String,
) -> Result<Caller, ApiError> {
    if let Some(admin) = state.store().admin_token_hash().await?
        && bool::from(admin.as_bytes().ct_eq(hash.as_bytes()))
    {
        return Ok(Caller {
            principal: Principal::ServerAdmin,
            token_id: admin_id(),
        });
    }
    match state.store().get_token(hash).await? {
        Some(record) => Ok(Caller {
            principal: record.principal,
            token_id: record.id,
        }),
        None => Err(ApiError::Unauthorized("invalid token".into())),
    }
}

/// Authenticates and checks `action` in `tenant`.
pub async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    tenant: &str,
    action: Action,
) -> Result<Caller, ApiError> {
    let caller = authenticate(state, headers).await?;
    let not_found = || ApiError::NotFound(format!("tenant {tenant:?} not found"));
    match &caller.principal {
        Principal::ServerAdmin => {
            state
                .store()
                .get_tenant(tenant)
                .await?
                .ok_or_else(not_found)?;
        }
        Principal::Tenant { tenant: own, role } => {
            if own != tenant {
                return Err(not_found());
            }
            if !role.allows(action) {
                return Err(ApiError::Forbidden(format!(
                    "role {} may not {}",
                    role_name(*role),
                    action_name(action)
                )));
            }
        }
    }
    if !matches!(
        action,
        Action::ReadConfig | Action::ReadExecutions | Action::ReadAudit
    ) {
        tracing::info!(%tenant, token = %caller.token_id, action = action_name(action), "authorized");
    }
    Ok(caller)
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Author => "author",
        Role::Operator => "operator",
        Role::Auditor => "auditor",
        Role::Sender => "sender",
    }
}

fn action_name(action: Action) -> &'static str {
    match action {
        Action::ManageTokens => "manage tokens",
        Action::ManageSecrets => "write or delete secrets",
        Action::ReadAudit => "read the audit log",
        Action::ManageConnectors => "configure connectors",
        Action::WriteRunbooks => "upload or deploy runbooks",
        Action::WriteRules => "change rules or sources",
        Action::RunRunbooks => "run runbooks",
        Action::ReadConfig => "read runbooks, rules, sources, connectors or secret names",
        Action::ReadExecutions => "read executions",
        Action::PostEvents => "post events",
        Action::DecideApprovals => "approve or reject executions",
        Action::ManageSafety => "pause, resume, silence or close circuits",
    }
}
