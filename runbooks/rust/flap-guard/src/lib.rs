//! Checks a service's health endpoint and restarts it when it has failed
//! several checks in a row — but never more often than a restart budget
//! allows: a service that keeps failing after restarts is flapping, and a
//! human must look at it. State (consecutive failures, recent restarts) lives
//! in the runbook's kv store, so successive alerts build on each other; it is
//! updated with compare-and-swap, so two alerts handled at the same moment (on
//! two hosts) cannot both take the last restart of the budget.

use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};
use wolfe_sdk::{http, kv, log, secrets};

#[derive(Deserialize)]
struct Input {
    service: String,
    health_url: String,
    restart_url: String,
    /// Failed checks in a row before a restart is attempted.
    #[serde(default = "default_failures_before_restart")]
    failures_before_restart: u32,
    /// Restarts allowed within `window_secs`; beyond it, escalate.
    #[serde(default = "default_max_restarts")]
    max_restarts: usize,
    #[serde(default = "default_window_secs")]
    window_secs: u64,
}

fn default_failures_before_restart() -> u32 {
    2
}
fn default_max_restarts() -> usize {
    3
}
fn default_window_secs() -> u64 {
    3600
}

/// What the runbook remembers about a service between executions.
#[derive(Default, Serialize, Deserialize)]
struct ServiceState {
    consecutive_failures: u32,
    /// Unix seconds of recent restarts.
    restarts: Vec<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Action {
    /// Healthy: nothing to do.
    None,
    /// Unhealthy, but not yet for long enough to act.
    Wait,
    Restarted,
    /// The restart request itself failed.
    RestartFailed,
    /// Restart budget spent: this is a flap, page a human.
    Escalate,
}

#[derive(Serialize)]
struct Outcome {
    service: String,
    healthy: bool,
    health_detail: String,
    consecutive_failures: u32,
    restarts_in_window: usize,
    action: Action,
}

fn run(input: Input) -> wolfe_sdk::Result<Outcome> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let key = format!("service/{}", input.service);
    let (healthy, health_detail) = check_health(&input.health_url);

    // Decide on the state as stored, and store the decision — a restart
    // counted against the budget before it is made — only if no other
    // execution changed the state meanwhile; otherwise decide again.
    let (state, decision) = kv::update_json(&key, |stored: Option<ServiceState>| {
        let mut state = stored.unwrap_or_default();
        state
            .restarts
            .retain(|t| now.saturating_sub(*t) < input.window_secs);
        let decision = decide(&input, &mut state, healthy, now);
        (state, decision)
    })?;
    let action = match decision {
        Decision::Restart => restart(&input),
        Decision::Act(action) => action,
    };
    if matches!(action, Action::Restarted) {
        kv::increment(&format!("restarts-total/{}", input.service), 1)?;
    }
    Ok(Outcome {
        service: input.service,
        healthy,
        health_detail,
        consecutive_failures: state.consecutive_failures,
        restarts_in_window: state.restarts.len(),
        action,
    })
}

/// What the state allows.
enum Decision {
    /// Restart: already counted in the stored state.
    Restart,
    Act(Action),
}

fn decide(input: &Input, state: &mut ServiceState, healthy: bool, now: u64) -> Decision {
    if healthy {
        state.consecutive_failures = 0;
        return Decision::Act(Action::None);
    }
    state.consecutive_failures += 1;
    if state.consecutive_failures < input.failures_before_restart {
        Decision::Act(Action::Wait)
    } else if state.restarts.len() >= input.max_restarts {
        log::warn(&format!(
            "{}: {} restarts in the last {} s; escalating instead of restarting",
            input.service,
            state.restarts.len(),
            input.window_secs
        ));
        Decision::Act(Action::Escalate)
    } else {
        // Counted when decided, not when done: a concurrent execution must
        // see this restart as taken.
        state.restarts.push(now);
        state.consecutive_failures = 0;
        Decision::Restart
    }
}

/// A check that cannot reach the service counts as unhealthy: that is
/// exactly the situation this runbook exists for.
fn check_health(url: &str) -> (bool, String) {
    match http::Request::new("GET", url).timeout_ms(2_000).send() {
        Ok(r) if r.is_success() => (true, format!("HTTP {}", r.status)),
        Ok(r) => (false, format!("HTTP {}", r.status)),
        Err(e) => (false, e.to_string()),
    }
}

fn restart(input: &Input) -> Action {
    let mut request = http::Request::new("POST", &input.restart_url).timeout_ms(5_000);
    // The token is optional so the runbook also works against an
    // unauthenticated local agent; the host redacts it from the record.
    if let Ok(token) = secrets::get("RESTART_TOKEN") {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    match request.send() {
        Ok(r) if r.is_success() => {
            log::info(&format!(
                "{}: restart requested (HTTP {})",
                input.service, r.status
            ));
            Action::Restarted
        }
        Ok(r) => {
            log::error(&format!(
                "{}: restart refused with HTTP {}",
                input.service, r.status
            ));
            Action::RestartFailed
        }
        Err(e) => {
            log::error(&format!("{}: restart request failed: {e}", input.service));
            Action::RestartFailed
        }
    }
}

wolfe_sdk::runbook!(run);
