//! `GET /v1/tenants/{t}/executions/stream`: executions as they are
//! queued, run and finish, as server-sent events — the live table of
//! Studio's Executions page, and `curl -N` for a terminal.
//!
//! The store is the truth on every host, so the stream reads it: each
//! second the newest executions that match the filter (the query of
//! `GET …/executions`, the newest [`WINDOW`] of them) are compared with what
//! the stream already told, and each one that is new or changed status is
//! sent as an `execution` event (an [`ExecutionSummary`]). What was there
//! before the stream began is not sent: read the list first. An execution
//! that leaves the window (more than [`WINDOW`] newer ones arrived) is no
//! longer followed.

use super::AppState;
use super::auth::authorize;
use super::error::ApiError;
use super::executions::filter_from_query;
use super::extract::{PathParams, QueryParams};
use super::openapi::TenantErrors;
use super::types::ExecutionSummary;
use crate::sandbox::report::ExecutionStatus;
use crate::store::ExecutionFilter;
use crate::tenancy::Action;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

/// How many of the newest matching executions are followed.
pub const WINDOW: usize = 200;
/// How often the store is read: about as often as a person looks.
const POLL: Duration = Duration::from_secs(1);

/// What the stream has told: each followed execution's status.
struct Told {
    state: AppState,
    tenant: String,
    filter: ExecutionFilter,
    statuses: HashMap<String, ExecutionStatus>,
}

impl Told {
    /// Reads the window and returns what is new or changed, oldest first.
    async fn changes(&mut self) -> Result<Vec<ExecutionSummary>, ApiError> {
        let page = self
            .state
            .store()
            .list_executions(&self.tenant, &self.filter)
            .await?;
        let mut changed = Vec::new();
        let mut statuses = HashMap::with_capacity(page.executions.len());
        for record in page.executions.iter().rev() {
            if self.statuses.get(&record.id) != Some(&record.status) {
                changed.push(ExecutionSummary::of(record));
            }
            statuses.insert(record.id.clone(), record.status);
        }
        self.statuses = statuses;
        Ok(changed)
    }
}

/// Executions as they change, as server-sent events (`event: execution`,
/// `data:` an `ExecutionSummary`); a comment every 15 s keeps proxies from
/// closing it. Takes the filters of `GET …/executions` (`limit` and
/// `cursor` excepted). Role: any but sender.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/executions/stream", tag = "executions",
    params(("tenant" = String, Path, description = "the tenant"),
        ("runbook" = Option<String>, Query, description = "only this runbook"),
        ("status" = Option<ExecutionStatus>, Query, description = "only this status"),
        ("rule" = Option<String>, Query, description = "only executions this rule created"),
        ("denied" = Option<bool>, Query, description = "only executions with (true) or without (false) a denied call")),
    responses(
        (status = 200, description = "an event stream; each `execution` event's data is one execution that is new or changed status",
         content((ExecutionSummary = "text/event-stream"))),
        TenantErrors,
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn executions(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(tenant): PathParams<String>,
    QueryParams(pairs): QueryParams<Vec<(String, String)>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    authorize(&state, &headers, &tenant, Action::ReadExecutions).await?;
    if let Some((key, _)) = pairs.iter().find(|(k, _)| k == "limit" || k == "cursor") {
        return Err(ApiError::BadRequest(format!(
            "{key}: a stream follows the newest {WINDOW} executions; it takes no {key}"
        )));
    }
    let filter = ExecutionFilter {
        limit: WINDOW,
        ..filter_from_query(pairs, WINDOW)?
    };
    let mut told = Told {
        state,
        tenant,
        filter,
        statuses: HashMap::new(),
    };
    // What exists now is the baseline: the client has it from the list.
    told.changes().await?;
    let events = stream::unfold(told, |mut told| async move {
        loop {
            tokio::time::sleep(POLL).await;
            match told.changes().await {
                Ok(changed) if changed.is_empty() => continue,
                Ok(changed) => return Some((changed, told)),
                // The store is away: try again on the next tick; the
                // client sees keep-alives meanwhile.
                Err(e) => tracing::warn!(error = %e, "execution stream: store read failed"),
            }
        }
    })
    .flat_map(|changed| {
        stream::iter(changed.into_iter().map(|summary| {
            Ok(Event::default()
                .event("execution")
                .id(summary.id.clone())
                .json_data(&summary)
                .unwrap_or_else(|_| Event::default().comment("unserializable execution")))
        }))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
