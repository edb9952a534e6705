//! "Why did (or didn't) it run" and multi-event rules: an event's
//! explanation names the check each rule failed with the value found, or
//! what became of the execution it fired; `all` fires once every condition
//! has met an event of one key within the window, with each of them in
//! the input.

use super::{HOOK, held, put_rule, record, suppressed, tenant};
use crate::common::server::{Api, Tokens};
use serde_json::{Value, json};

/// Posts `body`; the event's id and the executions it fired.
async fn post(api: &Api, t: &Tokens, body: Value) -> (String, Vec<String>) {
    let accepted = api
        .expect(202, "POST", HOOK, Some(&t.sender), Some(body))
        .await;
    let executions = accepted["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    (
        accepted["event_id"].as_str().unwrap().to_string(),
        executions,
    )
}

/// `GET …/events/{id}`, as the auditor: the entry of `rule`.
async fn explained(api: &Api, t: &Tokens, event: &str, rule: &str) -> Value {
    let v = api
        .expect(
            200,
            "GET",
            &format!("/v1/tenants/acme/events/{event}"),
            Some(&t.auditor),
            None,
        )
        .await;
    assert_eq!(v["event"]["id"], event, "{v}");
    v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule:?} in {v}"))
        .clone()
}

crate::on_every_store! {
    async fn an_event_explanation_names_the_failing_criterion(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::common::server::Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = tenant(&api).await;
    put_rule(&api, &t, "restart", json!({"criteria": [
        {"path": "data.status", "op": "eq", "value": "firing"},
        {"path": "data.labels.severity", "op": "eq", "value": "critical"},
    ]})).await;
    put_rule(&api, &t, "page", json!({
        "criteria": [{"path": "data.status", "op": "eq", "value": "firing"}],
        "policy": {"key": "{{ data.labels.service }}", "once_within_secs": 600},
    })).await;

    let warning = json!({"status": "firing", "labels": {"severity": "warning", "service": "checkout"}});
    let (event, fired) = post(&api, &t, warning.clone()).await;
    assert_eq!(fired.len(), 1, "only `page` fires");
    let restart = explained(&api, &t, &event, "restart").await;
    assert_eq!(restart["match"]["matched"], false, "{restart}");
    let failed = &restart["match"]["failed"];
    assert_eq!(failed["check"], "criteria[1]", "the second criterion: {restart}");
    assert_eq!(failed["path"], "data.labels.severity");
    assert_eq!(failed["expected"], "critical");
    assert_eq!(failed["found"], "warning", "the value the event has there");
    assert!(restart["outcome"].is_null(), "{restart}");
    let page = explained(&api, &t, &event, "page").await;
    assert_eq!(page["match"]["matched"], true, "{page}");
    assert_eq!(page["outcome"]["execution"], fired[0].as_str());

    // The same alert again: matched, and folded into the first by policy.
    let (again, held_back) = post(&api, &t, warning).await;
    let page = explained(&api, &t, &again, "page").await;
    assert_eq!(page["outcome"]["execution"], held_back[0].as_str());
    assert_eq!(page["outcome"]["status"], "suppressed", "{page}");
    assert_eq!(page["outcome"]["suppressed"]["reason"], "deduplicated", "{page}");
    assert_eq!(page["outcome"]["suppressed"]["folded_into"], fired[0].as_str(), "{page}");

    // A missing path is found as null.
    let (bare, _) = post(&api, &t, json!({"status": "resolved"})).await;
    let restart = explained(&api, &t, &bare, "restart").await;
    assert_eq!(restart["match"]["failed"]["check"], "criteria[0]", "{restart}");
    assert_eq!(restart["match"]["failed"]["found"], "resolved");

    // The rule test answers the same for a sample, stores nothing, and
    // shows the input and the decision the policy would make now.
    let sample = json!({"event": {"data": {"status": "firing", "labels": {"severity": "critical", "service": "checkout"}}}});
    let tested = api.expect(200, "POST", "/v1/tenants/acme/rules/page/test", Some(&t.auditor), Some(sample.clone())).await;
    assert_eq!(tested["match"]["matched"], true, "{tested}");
    assert_eq!(tested["key"], "checkout");
    assert_eq!(tested["decision"]["status"], "suppressed", "the window holds: {tested}");
    assert_eq!(tested["decision"]["suppressed"]["reason"], "deduplicated", "{tested}");
    let tested = api.expect(200, "POST", "/v1/tenants/acme/rules/restart/test", Some(&t.auditor), Some(sample)).await;
    assert_eq!(tested["match"]["matched"], true, "{tested}");
    assert_eq!(tested["input"]["labels"]["severity"], "critical", "{tested}");
    let listed = api.expect(200, "GET", "/v1/tenants/acme/executions?limit=100", Some(&t.auditor), None).await;
    assert_eq!(listed["executions"].as_array().unwrap().len(), 2, "tests store nothing: {listed}");

    // Unknown events and other tenants' are not found alike.
    let missing = api.expect(404, "GET", "/v1/tenants/acme/events/nope", Some(&t.auditor), None).await;
    assert_eq!(missing["error"]["code"], "not_found");
    let other = api.tenant("other").await;
    let foreign = api.expect(404, "GET", &format!("/v1/tenants/other/events/{event}"), Some(&other.auditor), None).await;
    assert_eq!(foreign["error"]["code"], "not_found");
    let stranger = api.expect(404, "GET", &format!("/v1/tenants/acme/events/{event}"), Some(&other.auditor), None).await;
    assert_eq!(stranger["error"]["code"], "not_found", "another tenant's token learns nothing");
    }
}

crate::on_every_store! {
    async fn an_all_rule_fires_once_every_condition_met_an_event_of_its_key(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::common::server::Server::start_on(&store, dir.path(), &[]);
    let api = server.api();
    let t = tenant(&api).await;
    let spec = json!({
        "runbook": "conformance", "environment": "dev",
        "all": [
            {"name": "offline", "source": "am", "criteria": [{"path": "data.alert", "op": "eq", "value": "offline"}]},
            {"name": "urp", "source": "am", "criteria": [{"path": "data.alert", "op": "eq", "value": "urp"}]},
        ],
        "within_secs": 600,
        "policy": {"key": "{{ data.broker }}"},
        "params": {"case": "echo", "since": "{{ events.offline.data.since }}", "partitions": "{{ events.urp.data.partitions }}"},
    });
    api.expect(200, "PUT", "/v1/tenants/acme/rules/broker", Some(&t.author), Some(spec.clone())).await;
    // Beside `all`, single-event matching is refused, naming the field.
    let mut mixed = spec.clone();
    mixed["source"] = json!("am");
    let refused = api.expect(400, "PUT", "/v1/tenants/acme/rules/mixed", Some(&t.author), Some(mixed)).await;
    assert!(refused["error"]["message"].as_str().unwrap().contains("all"), "{refused}");

    // One condition of b1, then one of b2: each waits for the other.
    let r = held(&api, &t, json!({"alert": "offline", "broker": "b1", "since": "03:00"}), "correlation_pending", "all").await;
    assert!(r["suppressed"]["detail"].as_str().unwrap().contains("urp"), "names what it waits for: {r}");
    let (b2, pending) = post(&api, &t, json!({"alert": "urp", "broker": "b2", "partitions": "7"})).await;
    suppressed(&record(&api, &t, &pending[0]).await, "correlation_pending", "all");
    let why = explained(&api, &t, &b2, "broker").await;
    assert_eq!(why["match"]["conditions_met"], json!(["urp"]), "{why}");
    assert_eq!(why["outcome"]["suppressed"]["reason"], "correlation_pending");

    // b1's second condition completes it: one run with both events.
    let (_, fired) = post(&api, &t, json!({"alert": "urp", "broker": "b1", "partitions": "12"})).await;
    let run = api.wait_terminal("acme", &t.auditor, &fired[0]).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["output"]["since"], "03:00", "{run}");
    assert_eq!(run["output"]["partitions"], "12", "b1's, not b2's: {run}");
    // … and the correlation starts again.
    held(&api, &t, json!({"alert": "urp", "broker": "b1", "partitions": "13"}), "correlation_pending", "all").await;

    // An event that meets no condition: each condition says why.
    let (other, none) = post(&api, &t, json!({"alert": "disk", "broker": "b1"})).await;
    assert!(none.is_empty());
    let why = explained(&api, &t, &other, "broker").await;
    assert_eq!(why["match"]["matched"], false, "{why}");
    let failed = why["match"]["conditions_failed"].as_array().unwrap();
    assert_eq!(failed.len(), 2, "{why}");
    assert_eq!(failed[0][0], "offline");
    assert_eq!(failed[0][1]["check"], "all[0].criteria[0]", "{why}");
    assert_eq!(failed[0][1]["found"], "disk");
    }
}
