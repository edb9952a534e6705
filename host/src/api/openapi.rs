//! The API's OpenAPI 3.1 document, generated from the handlers'
//! `#[utoipa::path]` annotations and the body types (`api/types.rs`): the
//! router and the document come from one list of handlers
//! ([`super::documented_routes`]). Served at `GET /v1/openapi.json`;
//! `docs/openapi.json` is a committed copy that a test keeps equal, so every
//! change to the API shows in review.

use super::types::ErrorBody;
use axum::http::header;
use axum::response::IntoResponse;
use std::sync::LazyLock;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Wolfe",
        description = "Event-driven runbook automation: webhooks, SQS and schedules fire rules that run runbooks (WebAssembly components) in a sandbox. Every error answers `ErrorBody` with a stable `code`. Tokens are bearer tokens: the server admin token, or a tenant token of a role (admin, author, operator, auditor, sender)."
    ),
    modifiers(&BearerTokens),
    tags(
        (name = "health", description = "Liveness and readiness, no token"),
        (name = "tenants", description = "Tenants, tokens and quotas"),
        (name = "runbooks", description = "Immutable runbook versions, deployments to dev, test and prod, manual runs"),
        (name = "triggers", description = "Sources (webhook, SQS, schedule), rules, and why an event did or did not run"),
        (name = "executions", description = "Execution records, capability trails, cancel and re-run"),
        (name = "safety", description = "Pauses, silences, circuits, approvals and the safety overview"),
        (name = "security", description = "Capability report, reach, audit log, secrets and connectors"),
        (name = "webhooks", description = "Events posted by senders"),
        (name = "metrics", description = "Prometheus metrics"),
    ),
    components(schemas(ErrorBody))
)]
pub struct ApiDoc;

struct BearerTokens;

/// The errors every tenant-scoped endpoint may answer, listed once.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // describes responses; ApiError makes them
pub enum TenantErrors {
    /// `invalid_request` (a bad path or query parameter, or a body the
    /// endpoint refuses, named in the message) or `invalid_json`.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// `unauthorized`: no token, or one the server does not know.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// `forbidden`: the token's role may not do this.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// `not_found`: no such tenant (also for a token of another tenant) or
    /// object.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// `store_unavailable` (nothing was written) or `queue_full`, with
    /// Retry-After.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// What an endpoint that takes a body may answer besides.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum BodyErrors {
    /// `payload_too_large`: past the server's limit for this endpoint.
    #[response(status = 413)]
    PayloadTooLarge(ErrorBody),
}

impl Modify for BearerTokens {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // Studio's session (`POST /v1/session`): every endpoint that takes
        // a bearer token takes the cookie too; writes with it also need the
        // `X-Wolfe-CSRF` header.
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(super::session::COOKIE))),
        );
    }
}

/// The document as served and committed.
pub fn document_json() -> String {
    let (_, document) = super::documented_routes(None).split_for_parts();
    let mut text = document
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

static DOCUMENT: LazyLock<String> = LazyLock::new(document_json);

/// This document. No token: it describes, it does not reveal.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "health",
    responses((status = 200, description = "the OpenAPI 3.1 document", body = Object)))]
pub async fn serve() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}

#[cfg(test)]
mod tests {
    use super::document_json;
    use std::path::Path;

    /// utoipa names a schema after its Rust type and keeps the last one
    /// registered: two `ToSchema` types with one name would silently
    /// replace each other in the document (and in Studio's types).
    #[test]
    fn no_two_schema_types_share_a_name() {
        fn visit(dir: &Path, names: &mut Vec<(String, String)>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    visit(&path, names);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    let mut derived = false;
                    for line in text.lines().map(str::trim) {
                        if line.starts_with("#[derive") || line.starts_with("utoipa::ToSchema") {
                            derived |= line.contains("ToSchema");
                        } else if derived
                            && let Some(rest) = line
                                .strip_prefix("pub struct ")
                                .or_else(|| line.strip_prefix("pub enum "))
                        {
                            let name: String = rest
                                .chars()
                                .take_while(|c| c.is_alphanumeric() || *c == '_')
                                .collect();
                            names.push((name, path.display().to_string()));
                            derived = false;
                        } else if !line.starts_with("#[") && !line.starts_with("//") {
                            derived &= line.ends_with(',') || line.ends_with('(');
                        }
                    }
                }
            }
        }
        let mut names = Vec::new();
        visit(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut names,
        );
        names.sort();
        assert!(names.len() > 50, "found {} schema types", names.len());
        let twins: Vec<_> = names.windows(2).filter(|w| w[0].0 == w[1].0).collect();
        assert!(twins.is_empty(), "schema types sharing a name: {twins:?}");
    }

    /// `WOLFE_UPDATE_OPENAPI=1 cargo test -p wolfe --lib openapi` rewrites
    /// the committed copy after an intended change.
    #[test]
    fn the_committed_document_is_the_generated_one() {
        let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
        let generated = document_json();
        if std::env::var_os("WOLFE_UPDATE_OPENAPI").is_some() {
            std::fs::write(&committed, &generated).unwrap();
        }
        let on_disk = std::fs::read_to_string(&committed).unwrap_or_default();
        assert!(
            on_disk == generated,
            "docs/openapi.json is not the document the code generates: if the API change is \
             intended, run `WOLFE_UPDATE_OPENAPI=1 cargo test -p wolfe --lib openapi` and commit it"
        );
        let value: serde_json::Value = serde_json::from_str(&generated).unwrap();
        assert_eq!(value["openapi"], "3.1.0");
        assert!(value["paths"]["/v1/tenants/{tenant}/quota"]["put"].is_object());
    }

    /// Generated clients (Studio's among them) name each operation by its
    /// id: two operations with one id make one of them unreachable.
    #[test]
    fn every_operation_has_its_own_id() {
        let value: serde_json::Value = serde_json::from_str(&document_json()).unwrap();
        let mut seen = std::collections::BTreeMap::new();
        for (path, item) in value["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let id = operation["operationId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                if let Some(other) = seen.insert(id.clone(), format!("{method} {path}")) {
                    panic!("operationId {id:?} names both {other} and {method} {path}");
                }
            }
        }
    }
}
