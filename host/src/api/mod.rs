//! The public HTTP API (axum): tenants and tokens, the runbook registry,
//! sources, rules, webhooks, manual runs and executions. Every handler
//! authorizes against its tenant; every error is a JSON `ApiError`.

mod audit;
mod auth;
mod body_deadline;
mod connectors;
mod error;
mod events;
mod executions;
mod extract;
mod hooks;
mod metrics;
pub mod openapi;
mod plain_errors;
mod report;
mod request_span;
mod runbooks;
mod safety;
mod secrets;
mod tenants;
mod triggers;
pub mod types;

pub use error::ApiError;

use crate::ingest::sqs::SqsSupervisor;
use crate::pipeline::Pipeline;
use crate::sandbox::Sandbox;
use crate::secrets::vault::Vault;
use crate::store::Store;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::routing::{get, post, put};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Request size limits.
#[derive(Debug, Clone, Copy)]
pub struct ApiLimits {
    /// Webhook bodies and JSON requests.
    pub max_body_bytes: usize,
    /// Runbook uploads (manifest + component).
    pub max_component_bytes: usize,
    /// How long a client may take to send a request body.
    pub body_read_timeout: std::time::Duration,
}

/// Everything handlers need, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    sandbox: Arc<Sandbox>,
    pipeline: Pipeline,
    sqs: Arc<SqsSupervisor>,
    metrics: Arc<Registry>,
    limits: ApiLimits,
    vault: Arc<Vault>,
}

impl AppState {
    pub fn new(
        store: Store,
        sandbox: Arc<Sandbox>,
        pipeline: Pipeline,
        sqs: Arc<SqsSupervisor>,
        metrics: Arc<Registry>,
        limits: ApiLimits,
        vault: Arc<Vault>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                sandbox,
                pipeline,
                sqs,
                metrics,
                limits,
                vault,
            }),
        }
    }

    pub fn sqs(&self) -> &SqsSupervisor {
        &self.inner.sqs
    }

    pub fn metrics(&self) -> &Registry {
        &self.inner.metrics
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn sandbox(&self) -> &Arc<Sandbox> {
        &self.inner.sandbox
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    pub fn limits(&self) -> ApiLimits {
        self.inner.limits
    }

    pub fn vault(&self) -> &Vault {
        &self.inner.vault
    }
}

/// The routes the OpenAPI document describes, each with its handler: the
/// router serves these and the document is generated from the same list.
pub(crate) fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(tenants::healthz))
        .routes(routes!(tenants::readyz))
        .routes(routes!(tenants::create_tenant))
        .routes(routes!(tenants::create_token))
        .routes(routes!(tenants::put_quota, tenants::get_quota))
}

pub fn router(state: AppState) -> Router {
    let limits = state.limits();
    let t = "/v1/tenants/{tenant}";
    let (documented, _) = documented_routes().split_for_parts();
    Router::new()
        .merge(documented)
        .route("/v1/openapi.json", get(openapi::serve))
        .route("/metrics", get(metrics::metrics))
        .route(
            &format!("{t}/runbooks"),
            post(runbooks::upload)
                .get(runbooks::list)
                .layer(DefaultBodyLimit::max(limits.max_component_bytes)),
        )
        .route(&format!("{t}/runbooks/{{name}}"), get(runbooks::show))
        .route(
            &format!("{t}/runbooks/{{name}}/environments/{{env}}"),
            put(runbooks::deploy),
        )
        .route(
            &format!("{t}/runbooks/{{name}}/promote"),
            post(runbooks::promote),
        )
        .route(&format!("{t}/runbooks/{{name}}/run"), post(runbooks::run))
        .route(&format!("{t}/sources"), get(triggers::list_sources))
        .route(
            &format!("{t}/sources/{{source}}"),
            put(triggers::put_source)
                .get(triggers::get_source)
                .delete(triggers::delete_source),
        )
        .route(
            &format!("{t}/sources/{{source}}/rejected"),
            get(triggers::list_rejected),
        )
        .route(&format!("{t}/rules"), get(triggers::list_rules))
        .route(
            &format!("{t}/rules/{{rule}}"),
            put(triggers::put_rule)
                .get(triggers::get_rule)
                .delete(triggers::delete_rule),
        )
        .route(
            &format!("{t}/rules/{{rule}}/circuits"),
            get(safety::list_circuits),
        )
        .route(
            &format!("{t}/rules/{{rule}}/circuits/close"),
            post(safety::close_circuit),
        )
        .route(&format!("{t}/safety"), get(safety::overview))
        .route(&format!("{t}/events/{{id}}"), get(events::show))
        .route(&format!("{t}/rules/{{rule}}/test"), post(events::test_rule))
        .route(&format!("{t}/pause"), post(safety::pause_tenant))
        .route(&format!("{t}/resume"), post(safety::resume_tenant))
        .route(
            &format!("{t}/runbooks/{{name}}/pause"),
            post(safety::pause_runbook),
        )
        .route(
            &format!("{t}/runbooks/{{name}}/resume"),
            post(safety::resume_runbook),
        )
        .route(&format!("{t}/silences"), get(safety::list_silences))
        .route(
            &format!("{t}/silences/{{name}}"),
            put(safety::put_silence)
                .get(safety::get_silence)
                .delete(safety::delete_silence),
        )
        .route(
            &format!("{t}/executions/{{id}}/cancel"),
            post(executions::cancel),
        )
        .route(
            &format!("{t}/executions/{{id}}/rerun"),
            post(executions::rerun),
        )
        .route(
            &format!("{t}/executions/{{id}}/approve"),
            post(safety::approve),
        )
        .route(
            &format!("{t}/executions/{{id}}/reject"),
            post(safety::reject),
        )
        .route(&format!("{t}/report"), get(report::report))
        .route(&format!("{t}/reach"), get(report::reach))
        .route(
            &format!("{t}/runbooks/{{name}}/diff"),
            get(report::diff_versions),
        )
        .route(&format!("{t}/audit"), get(audit::list))
        .route(&format!("{t}/audit/verify"), get(audit::verify))
        .route(&format!("{t}/connectors"), get(connectors::list_connectors))
        .route(
            &format!("{t}/connectors/{{name}}"),
            put(connectors::put_connector)
                .get(connectors::get_connector)
                .delete(connectors::delete_connector),
        )
        .route(&format!("{t}/secrets"), get(secrets::list_secrets))
        .route(
            &format!("{t}/secrets/{{name}}"),
            put(secrets::put_secret).delete(secrets::delete_secret),
        )
        .route(&format!("{t}/executions"), get(executions::list))
        .route(&format!("{t}/executions/{{id}}"), get(executions::show))
        .route(
            &format!("{t}/executions/{{id}}/trail"),
            get(executions::trail),
        )
        // Webhook bodies are read (with their own limit) inside the handler,
        // before anything about the tenant or source is revealed.
        .route(
            "/v1/hooks/{tenant}/{source}",
            post(hooks::receive).layer(DefaultBodyLimit::disable()),
        )
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .fallback(|method: Method, uri: Uri| async move {
            ApiError::NotFound(format!("no endpoint {method} {}", uri.path()))
        })
        .layer(axum::middleware::map_request(move |request| async move {
            body_deadline::with_deadline(request, limits.body_read_timeout)
        }))
        .layer(axum::middleware::from_fn(plain_errors::json_error_bodies))
        .layer(axum::middleware::from_fn(request_span::in_request_span))
        .with_state(state)
}
