//! Schedule sources against a real `wolfe serve`: a 1-second interval fires
//! one event (and one execution) per tick, across a SIGKILL and restart on
//! the same data, with the ticks missed while down caught up once; two hosts
//! on one PostgreSQL database fire each tick once; bad specs are 400s
//! naming their field; webhook posts are refused. The last-tick store
//! operations move only forward, on both backends.

use super::eventually;
use crate::common::server::{Api, Server, TestStore, Tokens};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use wolfe::store::Store;

/// A tenant with `hello` deployed and a rule firing it on every event of
/// the source `clock`.
async fn setup(api: &Api) -> Tokens {
    let t = api.tenant("acme").await;
    api.deploy_guest("acme", &t.author, "hello", "dev").await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/rules/on-tick",
        Some(&t.author),
        Some(json!({"source": "clock", "type": "schedule", "runbook": "hello", "environment": "dev"})),
    )
    .await;
    t
}

/// One tick as seen through its execution: the event's id and data (the
/// runbook's input, since the rule has no params).
#[derive(Debug, Clone)]
struct Fired {
    event_id: String,
    tick: DateTime<Utc>,
    missed: u64,
    status: String,
}

/// Every execution of the tenant, oldest tick first.
async fn fired(api: &Api, t: &Tokens) -> Vec<Fired> {
    let page = api
        .expect(
            200,
            "GET",
            "/v1/tenants/acme/executions?limit=500",
            Some(&t.auditor),
            None,
        )
        .await;
    let mut all: Vec<Fired> = page["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let at = e["input"]["scheduled_at"].as_str().unwrap();
            Fired {
                event_id: e["event"].as_str().unwrap().to_string(),
                tick: DateTime::parse_from_rfc3339(at)
                    .unwrap()
                    .with_timezone(&Utc),
                missed: e["input"]["missed"].as_u64().unwrap(),
                status: e["status"].as_str().unwrap().to_string(),
            }
        })
        .collect();
    all.sort_by_key(|f| f.tick);
    all
}

/// Each tick's event id is its time, and no event fired twice.
fn assert_once_per_tick(all: &[Fired]) {
    let mut per_event: BTreeMap<&str, usize> = BTreeMap::new();
    for f in all {
        assert_eq!(
            f.event_id,
            format!("schedule:clock:{}", f.tick.format("%Y-%m-%dT%H:%M:%SZ"))
        );
        *per_event.entry(&f.event_id).or_default() += 1;
    }
    let doubled: Vec<_> = per_event.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "ticks fired twice: {doubled:?}");
}

async fn succeeded_after(api: &Api, t: &Tokens, after: DateTime<Utc>, n: usize) {
    eventually(
        &format!("{n} ticks after {after}"),
        Duration::from_secs(30),
        || async {
            fired(api, t)
                .await
                .iter()
                .filter(|f| f.tick > after && f.status == "succeeded")
                .count()
                >= n
        },
    )
    .await;
}

crate::on_every_store! {
    async fn a_one_second_schedule_fires_each_tick_once_across_a_sigkill(store: TestStore) {
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::start_on(&store, data.path(), &[]);
    let api = server.api();
    let t = setup(&api).await;
    let shown = api
        .expect(200, "PUT", "/v1/tenants/acme/sources/clock", Some(&t.author),
            Some(json!({"type": "schedule", "every_secs": 1})))
        .await;
    assert_eq!((shown["type"].as_str(), shown["catch_up"].as_str()), (Some("schedule"), Some("one")));
    let next = api
        .expect(200, "GET", "/v1/tenants/acme/sources/clock", Some(&t.auditor), None)
        .await["next_ticks"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(next.len(), 5, "{next:?}");
    let next: Vec<DateTime<Utc>> = next
        .iter()
        .map(|v| DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap().with_timezone(&Utc))
        .collect();
    assert!(next.windows(2).all(|w| (w[1] - w[0]).num_seconds() == 1), "{next:?}");

    let started = Utc::now();
    succeeded_after(&api, &t, started, 3).await;
    server.kill();
    let killed = Utc::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let restarted = Utc::now();
    let _server = Server::start_on(&store, data.path(), &[]);
    let api = _server.api();
    succeeded_after(&api, &t, restarted, 3).await;

    let all = fired(&api, &t).await;
    assert_once_per_tick(&all);
    // The ticks that came while the server was down: none fired on its own,
    // and the first tick after the restart stands for them, once.
    // (The first tick after the restart may be the second it started in.)
    let down: Vec<&Fired> = all
        .iter()
        .filter(|f| f.tick > killed && f.tick.timestamp() < restarted.timestamp())
        .collect();
    assert!(down.is_empty(), "fired while no server ran: {down:?}");
    let caught_up: Vec<&Fired> = all.iter().filter(|f| f.tick > killed && f.missed >= 1).collect();
    assert_eq!(caught_up.len(), 1, "one catch-up event: {all:#?}");
    let first_after = all.iter().find(|f| f.tick > killed).unwrap();
    assert_eq!(first_after.event_id, caught_up[0].event_id);
    assert!(first_after.missed >= 2, "3 s down at 1 tick a second: {first_after:?}");
    // From then on every second has its tick.
    let after: Vec<&Fired> = all.iter().filter(|f| f.tick >= first_after.tick).collect();
    assert!(
        after.windows(2).all(|w| (w[1].tick - w[0].tick).num_seconds() == 1),
        "a tick went missing: {after:#?}"
    );
    }
}

crate::on_every_store! {
    async fn catch_up_none_skips_the_ticks_missed_while_down(store: TestStore) {
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::start_on(&store, data.path(), &[]);
    let api = server.api();
    let t = setup(&api).await;
    api.expect(200, "PUT", "/v1/tenants/acme/sources/clock", Some(&t.author),
        Some(json!({"type": "schedule", "every_secs": 1, "catch_up": "none"}))).await;
    succeeded_after(&api, &t, Utc::now(), 2).await;
    server.kill();
    let killed = Utc::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let restarted = Utc::now();
    let server = Server::start_on(&store, data.path(), &[]);
    let api = server.api();
    succeeded_after(&api, &t, restarted, 2).await;
    let all = fired(&api, &t).await;
    assert_once_per_tick(&all);
    assert!(all.iter().all(|f| f.missed == 0), "{all:#?}");
    // The seconds the server was down have no tick.
    let after_kill: Vec<&Fired> = all.iter().filter(|f| f.tick > killed).collect();
    assert!(after_kill.len() >= 2);
    assert!(after_kill[0].tick.timestamp() >= restarted.timestamp(), "{after_kill:#?}");
    }
}

crate::on_every_store! {
    async fn bad_schedules_are_refused_naming_the_field_and_posts_are_refused(store: TestStore) {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_on(&store, data.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    let put = |spec: Value| {
        let api = api.clone();
        let token = t.author.clone();
        async move { api.call("PUT", "/v1/tenants/acme/sources/nightly", Some(&token), Some(spec)).await }
    };
    for (spec, field) in [
        (json!({"type": "schedule", "cron": "0 3 * * * * * *"}), "cron:"),
        (json!({"type": "schedule", "cron": "0 25 * * *"}), "cron:"),
        (json!({"type": "schedule", "cron": "0 3 * * *", "timezone": "Europe/Atlantis"}), "timezone:"),
        (json!({"type": "schedule", "cron": "0 3 * * *", "every_secs": 60}), "cron:"),
        (json!({"type": "schedule"}), "cron:"),
        (json!({"type": "schedule", "every_secs": 0}), "every_secs:"),
        (json!({"type": "schedule", "every_secs": 60, "timezone": "UTC"}), "timezone:"),
    ] {
        let (status, body) = put(spec.clone()).await;
        let message = body["error"]["message"].as_str().unwrap_or_default().to_string();
        assert_eq!(status.as_u16(), 400, "{spec}: {body}");
        assert!(message.starts_with(field), "{spec}: {message}");
    }
    // A catch_up that is neither one nor none is not a spec at all.
    let (status, _) = put(json!({"type": "schedule", "every_secs": 60, "catch_up": "all"})).await;
    assert_eq!(status.as_u16(), 400);

    let (status, body) = put(json!({"type": "schedule", "cron": "0 3 * * *", "timezone": "Europe/Amsterdam"})).await;
    assert_eq!(status.as_u16(), 200, "{body}");
    let next = &api
        .expect(200, "GET", "/v1/tenants/acme/sources/nightly", Some(&t.auditor), None)
        .await["next_ticks"];
    let next: Vec<&str> = next.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(next.len(), 5);
    // 03:00 in Amsterdam is 01:00 or 02:00 UTC, by season.
    assert!(
        next.iter().all(|t| t.ends_with("T01:00:00Z") || t.ends_with("T02:00:00Z")),
        "{next:?}"
    );

    // A schedule source has no auth to pass: a post is refused, 401 like any
    // unknown source for strangers, a clear 409 for the tenant's own tokens.
    let (status, _) = api.call("POST", "/v1/hooks/acme/nightly", None, Some(json!({}))).await;
    assert_eq!(status.as_u16(), 401);
    let (status, body) = api.call("POST", "/v1/hooks/acme/nightly", Some(&t.sender), Some(json!({}))).await;
    assert_eq!(status.as_u16(), 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("schedule"), "{body}");
    }
}

crate::on_every_store! {
    async fn the_last_tick_only_moves_forward(store: TestStore) {
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(&store.location(), data.path()).await.unwrap();
    assert_eq!(store.last_tick("acme", "clock").await.unwrap(), None);
    assert!(store.set_last_tick("acme", "clock", 1_000).await.unwrap());
    assert!(!store.set_last_tick("acme", "clock", 999).await.unwrap());
    assert!(!store.set_last_tick("acme", "clock", 1_000).await.unwrap());
    assert!(store.set_last_tick("acme", "clock", 1_001).await.unwrap());
    assert_eq!(store.last_tick("acme", "clock").await.unwrap(), Some(1_001));
    // Per (tenant, source).
    assert_eq!(store.last_tick("acme", "clock2").await.unwrap(), None);
    assert_eq!(store.last_tick("acme2", "clock").await.unwrap(), None);
    // Hosts racing on one tick: exactly one moves it.
    let racers = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.set_last_tick("acme", "clock", 2_000).await.unwrap() })
    });
    let mut moved = 0;
    for racer in racers {
        moved += usize::from(racer.await.unwrap());
    }
    assert_eq!(moved, 1);
    }
}

/// Two hosts on one database both run every schedule: each tick is stored
/// once and runs its rule once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_on_postgresql_fire_each_tick_once() {
    let store = TestStore::postgres();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Server::start_on(&store, a_dir.path(), &[]);
    let b = Server::start_on(&store, b_dir.path(), &[]);
    let api = a.api();
    let t = setup(&api).await;
    api.expect(
        200,
        "PUT",
        "/v1/tenants/acme/sources/clock",
        Some(&t.author),
        Some(json!({"type": "schedule", "every_secs": 1})),
    )
    .await;
    // Both hosts have it running within a second; count ticks after that.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let from = Utc::now();
    succeeded_after(&b.api(), &t, from, 5).await;
    let all: Vec<Fired> = fired(&api, &t)
        .await
        .into_iter()
        .filter(|f| f.tick > from)
        .collect();
    assert_once_per_tick(&all);
    assert!(
        all.windows(2)
            .all(|w| (w[1].tick - w[0].tick).num_seconds() == 1),
        "a tick went missing: {all:#?}"
    );
    assert!(all.iter().all(|f| f.missed == 0), "{all:#?}");
}
