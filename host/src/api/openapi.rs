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
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Wolfe",
        description = "Event-driven runbook automation: webhooks, SQS and schedules fire rules that run runbooks (WebAssembly components) in a sandbox. Every error answers `ErrorBody` with a stable `code`. Tokens are bearer tokens: the server admin token, or a tenant token of a role (admin, author, operator, auditor, sender)."
    ),
    modifiers(&BearerTokens),
    components(schemas(ErrorBody))
)]
pub struct ApiDoc;

struct BearerTokens;

impl Modify for BearerTokens {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as served and committed.
pub fn document_json() -> String {
    let (_, document) = super::documented_routes().split_for_parts();
    let mut text = document
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

static DOCUMENT: LazyLock<String> = LazyLock::new(document_json);

/// `GET /v1/openapi.json`. No token: it describes, it does not reveal.
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
}
