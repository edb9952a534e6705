//! The public HTTP API (axum): tenants and tokens, the runbook registry,
//! sources, rules, webhooks, manual runs and executions. Every handler
//! authorizes against its tenant; every error is a JSON `ApiError`.

mod audit;
mod auth;
mod body_deadline;
mod build;
mod connectors;
mod error;
mod events;
mod executions;
mod extract;
mod hooks;
mod metrics;
pub mod openapi;
mod plain_errors;
mod replay;
mod report;
mod request_span;
mod runbooks;
mod safety;
mod secrets;
mod session;
mod stats;
mod stream;
mod studio;
mod tenants;
mod triggers;
pub mod types;

pub use error::ApiError;

use crate::build::server::BuildService;
use crate::ingest::sqs::SqsSupervisor;
use crate::pipeline::Pipeline;
use crate::sandbox::Sandbox;
use crate::secrets::vault::Vault;
use crate::store::Store;
use axum::Router;
use axum::extract::DefaultBodyLimit;
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
    /// Sources sent to be built (their files are checked against the build
    /// limits after reading).
    pub max_source_body_bytes: usize,
}

/// Everything handlers need, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<AppParts>,
}

/// What [`AppState`] is made of.
pub struct AppParts {
    pub store: Store,
    pub sandbox: Arc<Sandbox>,
    pub pipeline: Pipeline,
    pub sqs: Arc<SqsSupervisor>,
    pub metrics: Arc<Registry>,
    pub limits: ApiLimits,
    pub vault: Arc<Vault>,
    /// Builds from source, one at a time.
    pub builds: Arc<BuildService>,
}

impl AppState {
    pub fn new(parts: AppParts) -> Self {
        Self {
            inner: Arc::new(parts),
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

    pub fn builds(&self) -> &BuildService {
        &self.inner.builds
    }
}

/// The routes the OpenAPI document describes, each with its handler: the
/// router serves these and the document is generated from the same list.
/// `limits` sets the body limits of the routes that have their own (the
/// document does not need them).
pub(crate) fn documented_routes(limits: Option<ApiLimits>) -> OpenApiRouter<AppState> {
    // Uploads take components; webhook bodies are read (with their own
    // limit) inside the handler, before anything about the tenant or
    // source is revealed.
    let (upload_schemas, upload_paths, mut upload) = routes!(runbooks::upload, runbooks::list);
    let (hook_schemas, hook_paths, mut hook) = routes!(hooks::receive);
    let (source_schemas, source_paths, mut source) = routes!(build::build_from_source);
    if let Some(limits) = limits {
        upload = upload.layer(DefaultBodyLimit::max(limits.max_component_bytes));
        hook = hook.layer(DefaultBodyLimit::disable());
        source = source.layer(DefaultBodyLimit::max(limits.max_source_body_bytes));
    }
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes((upload_schemas, upload_paths, upload))
        .routes((hook_schemas, hook_paths, hook))
        .routes((source_schemas, source_paths, source))
        .routes(routes!(build::version_source))
        .routes(routes!(build::languages))
        .routes(routes!(build::template))
        .routes(routes!(openapi::serve))
        .routes(routes!(
            session::sign_in,
            session::whoami,
            session::sign_out
        ))
        .routes(routes!(tenants::healthz))
        .routes(routes!(tenants::readyz))
        .routes(routes!(metrics::metrics))
        .routes(routes!(tenants::create_tenant))
        .routes(routes!(tenants::create_token))
        .routes(routes!(tenants::put_quota, tenants::get_quota))
        .routes(routes!(runbooks::show))
        .routes(routes!(runbooks::deploy))
        .routes(routes!(runbooks::promote))
        .routes(routes!(runbooks::run))
        .routes(routes!(report::diff_versions))
        .routes(routes!(triggers::list_sources))
        .routes(routes!(
            triggers::put_source,
            triggers::get_source,
            triggers::delete_source
        ))
        .routes(routes!(triggers::list_rejected))
        .routes(routes!(triggers::list_rules))
        .routes(routes!(
            triggers::put_rule,
            triggers::get_rule,
            triggers::delete_rule
        ))
        .routes(routes!(events::test_rule))
        .routes(routes!(events::show))
        .routes(routes!(executions::list))
        .routes(routes!(stats::overview))
        .routes(routes!(stream::executions))
        .routes(routes!(executions::show))
        .routes(routes!(executions::trail))
        .routes(routes!(executions::cancel))
        .routes(routes!(executions::rerun))
        .routes(routes!(replay::export))
        .routes(routes!(replay::component))
        .routes(routes!(replay::replay_candidate))
        .routes(routes!(safety::approve))
        .routes(routes!(safety::reject))
        .routes(routes!(safety::overview))
        .routes(routes!(safety::pause_tenant))
        .routes(routes!(safety::resume_tenant))
        .routes(routes!(safety::pause_runbook))
        .routes(routes!(safety::resume_runbook))
        .routes(routes!(safety::list_silences))
        .routes(routes!(
            safety::put_silence,
            safety::get_silence,
            safety::delete_silence
        ))
        .routes(routes!(safety::list_circuits))
        .routes(routes!(safety::close_circuit))
        .routes(routes!(report::report))
        .routes(routes!(report::reach))
        .routes(routes!(audit::list))
        .routes(routes!(audit::verify))
        .routes(routes!(connectors::list_connectors))
        .routes(routes!(
            connectors::put_connector,
            connectors::get_connector,
            connectors::delete_connector
        ))
        .routes(routes!(secrets::list_secrets))
        .routes(routes!(secrets::put_secret, secrets::delete_secret))
}

pub fn router(state: AppState) -> Router {
    let limits = state.limits();
    let (documented, _) = documented_routes(Some(limits)).split_for_parts();
    Router::new()
        .merge(documented)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .fallback(studio::fallback)
        .layer(axum::middleware::map_request(move |request| async move {
            body_deadline::with_deadline(request, limits.body_read_timeout)
        }))
        .layer(axum::middleware::from_fn(session::require_csrf_proof))
        .layer(axum::middleware::from_fn(plain_errors::json_error_bodies))
        .layer(axum::middleware::from_fn(request_span::in_request_span))
        .with_state(state)
}
