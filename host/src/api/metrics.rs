//! `GET /metrics` for the server admin token (labels name tenants):
//! OpenMetrics for a scraper that asks for it (Prometheus does), else the
//! Prometheus text format 0.0.4 that `promtool check metrics` and older
//! tools read.

use super::AppState;
use super::auth::authenticate;
use super::error::ApiError;
use crate::tenancy::Principal;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Prometheus metrics. Role: the server admin token.
#[utoipa::path(get, path = "/metrics", tag = "metrics",
    responses(
        (status = 200, description = "OpenMetrics when asked for in Accept, else the Prometheus text format 0.0.4",
         content((String = "text/plain"), (String = "application/openmetrics-text"))),
        (status = 401, description = "`unauthorized`", body = super::types::ErrorBody),
        (status = 403, description = "`forbidden`: not the server admin token", body = super::types::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = authenticate(&state, &headers).await?;
    if caller.principal != Principal::ServerAdmin {
        return Err(ApiError::Forbidden(
            "metrics are for the server admin token".into(),
        ));
    }
    let dispatcher = state.pipeline().dispatcher();
    crate::metrics::set_queue(dispatcher.in_flight(), dispatcher.capacity());
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, state.metrics())
        .map_err(|e| ApiError::Internal(format!("encoding metrics: {e}")))?;
    let wants_openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"));
    let (body, content_type) = if wants_openmetrics {
        (text, OPENMETRICS)
    } else {
        (to_prometheus_text(&text), PROMETHEUS_TEXT)
    };
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}

/// OpenMetrics as the Prometheus text format: a counter's family is named
/// with its `_total` suffix there, and `# UNIT` and `# EOF` do not exist.
/// Enough for what this registry holds (counters, gauges, histograms).
fn to_prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(line) => out.push_str(&line),
            None if line.starts_with("# TYPE ") && line.ends_with(" unknown") => {
                out.push_str(&line.replace(" unknown", " untyped"))
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::to_prometheus_text;

    #[test]
    fn counters_take_their_total_name_and_openmetrics_lines_go() {
        let openmetrics = "# HELP wolfe_executions Executions.\n# TYPE wolfe_executions counter\nwolfe_executions_total{tenant=\"a\"} 3\n# HELP wolfe_d How long.\n# TYPE wolfe_d_seconds histogram\n# UNIT wolfe_d_seconds seconds\nwolfe_d_seconds_sum 1.0\n# EOF\n";
        assert_eq!(
            to_prometheus_text(openmetrics),
            "# HELP wolfe_executions_total Executions.\n# TYPE wolfe_executions_total counter\nwolfe_executions_total{tenant=\"a\"} 3\n# HELP wolfe_d How long.\n# TYPE wolfe_d_seconds histogram\nwolfe_d_seconds_sum 1.0\n"
        );
    }
}
