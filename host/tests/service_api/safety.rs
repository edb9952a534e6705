//! Safety policies through a real `wolfe serve`: each knob of a rule's
//! `policy`, silences, pauses, approvals and `GET /safety`, on every store.
//! Every event a policy holds back ends in a `suppressed` record that says
//! why; none is lost.

#[path = "safety/brakes.rs"]
mod brakes;
#[path = "safety/explain.rs"]
mod explain;
#[path = "safety/keys.rs"]
mod keys;
#[path = "safety/running.rs"]
mod running;
#[path = "safety/storms.rs"]
mod storms;
#[path = "safety/views.rs"]
mod views;
#[path = "safety/windows.rs"]
mod windows;

use crate::common::server::{Api, Tokens};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const HOOK: &str = "/v1/hooks/acme/am";

/// Tenant `acme` with the conformance guest in dev and a webhook source
/// `am` (an event's `data` is the posted body, and the guest echoes it).
async fn tenant(api: &Api) -> Tokens {
    let t = api.tenant("acme").await;
    api.deploy_guest("acme", &t.author, "conformance", "dev")
        .await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/sources/am",
        Some(&t.author),
        Some(json!({"auth": {"type": "bearer"}})),
    )
    .await;
    t
}

/// A rule of source `am` running the conformance guest in dev, with
/// `extra` (policy, criteria, params) on top.
fn rule_spec(extra: Value) -> Value {
    let mut spec = json!({"source": "am", "runbook": "conformance", "environment": "dev"});
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    spec
}

async fn put_rule(api: &Api, t: &Tokens, name: &str, extra: Value) {
    api.expect(
        200,
        "PUT",
        &format!("/v1/tenants/acme/rules/{name}"),
        Some(&t.author),
        Some(rule_spec(extra)),
    )
    .await;
}

/// Puts silence `name` over events of `service`, from `from` to `until`
/// seconds from now (negative: in the past), as the operator.
async fn put_silence(api: &Api, t: &Tokens, name: &str, service: &str, from: i64, until: i64) {
    api.expect(
        200,
        "PUT",
        &format!("/v1/tenants/acme/silences/{name}"),
        Some(&t.operator),
        Some(json!({
            "starts_at": at(from), "ends_at": at(until),
            "matchers": [{"path": "data.service", "op": "eq", "value": service}],
        })),
    )
    .await;
}

/// [`tenant`] with one rule, `guard`, under `policy` (no params: the
/// input is the posted body).
async fn guarded(api: &Api, policy: Value) -> Tokens {
    let t = tenant(api).await;
    put_rule(api, &t, "guard", json!({"policy": policy})).await;
    t
}

/// Posts one event; the id of the one execution it fired.
async fn fire(api: &Api, t: &Tokens, body: Value) -> String {
    let accepted = api
        .expect(202, "POST", HOOK, Some(&t.sender), Some(body))
        .await;
    let ids = accepted["executions"].as_array().unwrap();
    assert_eq!(ids.len(), 1, "{accepted}");
    ids[0].as_str().unwrap().to_string()
}

async fn record(api: &Api, t: &Tokens, id: &str) -> Value {
    api.expect(
        200,
        "GET",
        &format!("/v1/tenants/acme/executions/{id}"),
        Some(&t.auditor),
        None,
    )
    .await
}

/// Posts one event and waits for its execution: it ran and succeeded.
async fn runs(api: &Api, t: &Tokens, body: Value) -> Value {
    let id = fire(api, t, body).await;
    let r = api.wait_terminal("acme", &t.auditor, &id).await;
    assert_eq!(r["status"], "succeeded", "{r}");
    r
}

/// Asserts `record` never ran, held back for `reason` by `policy`;
/// returns its `suppressed`.
fn suppressed<'a>(record: &'a Value, reason: &str, policy: &str) -> &'a Value {
    assert_eq!(record["status"], "suppressed", "{record}");
    let s = &record["suppressed"];
    assert_eq!(s["reason"], reason, "{record}");
    assert_eq!(s["policy"], policy, "{record}");
    assert!(
        s["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{record}"
    );
    assert!(record["started_at"].is_null(), "it ran: {record}");
    s
}

/// Posts one event: its execution is suppressed (as the 202 is sent).
async fn held(api: &Api, t: &Tokens, body: Value, reason: &str, policy: &str) -> Value {
    let id = fire(api, t, body).await;
    let r = record(api, t, &id).await;
    suppressed(&r, reason, policy);
    r
}

/// Sleeps until `secs` after `since`.
async fn sleep_until(since: Instant, secs: f64) {
    let at = since + Duration::from_secs_f64(secs);
    tokio::time::sleep(at.saturating_duration_since(Instant::now())).await;
}

/// Now plus `secs`, RFC 3339.
fn at(secs: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::seconds(secs))
        .format(&Rfc3339)
        .unwrap()
}

fn ids(executions: &Value) -> Vec<&str> {
    executions
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {executions}"))
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect()
}

fn time_of(record: &Value, field: &str) -> OffsetDateTime {
    OffsetDateTime::parse(record[field].as_str().unwrap(), &Rfc3339).unwrap()
}
