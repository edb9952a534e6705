//! Faults under load on hosts that share one PostgreSQL database: the
//! database restarted, one SQS queue polled by three hosts, one host of three
//! SIGKILLed again and again. Whatever a client was acknowledged must end in
//! exactly one terminal execution per (event, rule).

use super::{hosts, sleeping_tenant};
use crate::common::moto::{self, Moto};
use crate::common::postgres::Postgres;
use crate::common::server::{Api, Server, TestStore, Tokens};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wolfe::store::postgres::LEASE_TTL;

/// Each host slot's base URL; `None` while its host is down, so the load
/// skips it.
type Bases = Arc<Mutex<Vec<Option<String>>>>;

fn bases_of(hosts: &[(tempfile::TempDir, Server)]) -> Bases {
    Arc::new(Mutex::new(
        hosts.iter().map(|(_, s)| Some(s.base.clone())).collect(),
    ))
}

/// One webhook post and what came of it.
struct Outcome {
    host: usize,
    base: String,
    sent: Instant,
    answered: Instant,
    /// Status and body, or why no answer came (a killed host's connection).
    answer: Result<(u16, Value), String>,
}

/// An event the host answered 202 for, and the execution it created.
#[derive(Clone, Debug)]
struct Ack {
    event: String,
    execution: String,
    host: usize,
    at: Instant,
}

impl Outcome {
    fn ack(&self) -> Option<Ack> {
        match &self.answer {
            Ok((202, body)) => Some(Ack {
                event: body["event_id"].as_str()?.to_string(),
                execution: body["executions"][0].as_str()?.to_string(),
                host: self.host,
                at: self.answered,
            }),
            _ => None,
        }
    }

    /// `202`, `503 store_unavailable`, `transport error`…: for tallies.
    fn kind(&self) -> String {
        match &self.answer {
            Ok((status, body)) => match body["error"]["code"].as_str() {
                Some(code) => format!("{status} {code}"),
                None => status.to_string(),
            },
            Err(_) => "no answer".to_string(),
        }
    }

    fn is_store_unavailable(&self) -> bool {
        matches!(&self.answer, Ok((503, body)) if body["error"]["code"] == "store_unavailable")
    }
}

/// Webhook senders posting `sleep_ms` alerts (of `ms` each) to every live
/// host slot until stopped, `pause` between posts, recording every answer. A
/// client that is refused waits a little longer, as one honouring
/// Retry-After would, rather than hammering.
struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
}

impl Load {
    fn start(
        bases: &Bases,
        senders_per_host: usize,
        token: &str,
        ms: u64,
        pause: Duration,
    ) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let next = Arc::new(AtomicU64::new(0));
        let http = wolfe::cli::api_client();
        let hosts = bases.lock().unwrap().len();
        let tasks = (0..hosts * senders_per_host)
            .map(|i| {
                let host = i % hosts;
                let (stop, outcomes, next) = (stop.clone(), outcomes.clone(), next.clone());
                let (bases, http, token) = (bases.clone(), http.clone(), token.to_string());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let base = bases.lock().unwrap()[host].clone();
                        let Some(base) = base else {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        };
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        let sent = Instant::now();
                        let answer =
                            try_post(&http, &base, &token, json!({"n": n, "ms": ms})).await;
                        let pause = match &answer {
                            Ok((202, _)) => pause,
                            _ => pause.max(Duration::from_millis(100)),
                        };
                        outcomes.lock().unwrap().push(Outcome {
                            host,
                            base,
                            sent,
                            answered: Instant::now(),
                            answer,
                        });
                        tokio::time::sleep(pause).await;
                    }
                })
            })
            .collect();
        Load {
            stop,
            tasks,
            outcomes,
        }
    }

    fn acks(&self) -> Vec<Ack> {
        let outcomes = self.outcomes.lock().unwrap();
        outcomes.iter().filter_map(Outcome::ack).collect()
    }

    /// When `host` first acknowledged a post sent after `since`.
    fn first_ack_after(&self, host: usize, since: Instant) -> Option<Instant> {
        let outcomes = self.outcomes.lock().unwrap();
        outcomes
            .iter()
            .filter(|o| o.host == host && o.sent >= since && o.ack().is_some())
            .map(|o| o.answered)
            .min()
    }

    /// Stops every sender, lets its last post finish, returns every outcome.
    async fn stop(self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.unwrap();
        }
        std::mem::take(&mut *self.outcomes.lock().unwrap())
    }
}

/// A webhook post that asserts nothing: a refused connection is an outcome
/// here, not a panic.
async fn try_post(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    body: Value,
) -> Result<(u16, Value), String> {
    let response = http
        .post(format!("{base}/v1/hooks/acme/am"))
        .bearer_auth(token)
        .json(&body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(|e| e.to_string())?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

fn is_terminal(record: &Value) -> bool {
    !matches!(record["status"].as_str(), Some("queued" | "running"))
}

/// Every execution of tenant `acme` that `filter` (query parameters) selects,
/// following the cursor through every page.
async fn list_all(api: &Api, token: &str, filter: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/tenants/acme/executions?limit=500&{filter}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = api.expect(200, "GET", &path, Some(token), None).await;
        all.extend(page["executions"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return all,
        }
    }
}

/// Waits up to `timeout` until every acknowledged event has exactly one
/// execution of rule `echo` (the one its 202 named) and that execution is
/// terminal; returns those executions. `Err` says what is doubled, missing
/// (neither heals, so they end the wait at once) or still pending.
async fn settle(
    api: &Api,
    token: &str,
    acks: &[Ack],
    timeout: Duration,
) -> Result<Vec<Value>, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let all = list_all(api, token, "").await;
        let mut by_pair: HashMap<(&str, &str), Vec<&Value>> = HashMap::new();
        for e in &all {
            if let (Some(event), Some(rule)) = (e["event"].as_str(), e["rule"].as_str()) {
                by_pair.entry((event, rule)).or_default().push(e);
            }
        }
        let mut problems = Vec::new();
        // One execution per (event, rule) holds for every event, acknowledged
        // or not.
        for ((event, rule), executions) in &by_pair {
            if executions.len() > 1 {
                let ids: Vec<&Value> = executions.iter().map(|e| &e["id"]).collect();
                problems.push(format!(
                    "event {event}, rule {rule}: {} executions {ids:?}",
                    executions.len()
                ));
            }
        }
        let mut settled = Vec::new();
        let mut pending = Vec::new();
        for ack in acks {
            match by_pair.get(&(ack.event.as_str(), "echo")) {
                None => problems.push(format!(
                    "event {} acknowledged by host {} has no execution",
                    ack.event, ack.host
                )),
                Some(executions) if executions[0]["id"] != ack.execution.as_str() => {
                    problems.push(format!(
                        "event {}: its 202 named execution {}, the store holds {}",
                        ack.event, ack.execution, executions[0]["id"]
                    ))
                }
                Some(executions) if is_terminal(executions[0]) => {
                    settled.push(executions[0].clone())
                }
                Some(executions) => pending.push((ack, executions[0])),
            }
        }
        if !problems.is_empty() {
            return Err(problems.join("\n"));
        }
        if pending.is_empty() {
            return Ok(settled);
        }
        if Instant::now() > deadline {
            let examples: Vec<String> = pending
                .iter()
                .take(10)
                .map(|(ack, e)| {
                    format!(
                        "{} (acknowledged by host {}): status {} attempt {} created {} started {}",
                        ack.execution,
                        ack.host,
                        e["status"],
                        e["attempt"],
                        e["created_at"],
                        e["started_at"]
                    )
                })
                .collect();
            return Err(format!(
                "{} of {} acknowledged executions never reached a terminal status within {timeout:?}:\n{}",
                pending.len(),
                acks.len(),
                examples.join("\n")
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// How many of each status.
fn statuses(records: &[Value]) -> BTreeMap<String, usize> {
    let mut tally = BTreeMap::new();
    for r in records {
        *tally
            .entry(r["status"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    tally
}

/// `t` relative to `origin`, signed, for messages.
fn since(origin: Instant, t: Instant) -> String {
    match t.checked_duration_since(origin) {
        Some(d) => format!("+{:.3}s", d.as_secs_f64()),
        None => format!("-{:.3}s", (origin - t).as_secs_f64()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load_loses_nothing_acknowledged() {
    // A server of its own: stopping the binary's shared one would take the
    // other tests' databases down with it.
    let mut postgres = Postgres::start();
    let store = TestStore::Postgres(postgres.create_database("wolfe_restarted"));
    let hosts = hosts(&store, 2, &[]);
    let apis: Vec<Api> = hosts.iter().map(|(_, s)| s.api()).collect();
    let t = sleeping_tenant(&apis[0]).await;
    let load = Load::start(
        &bases_of(&hosts),
        2,
        &t.sender,
        10,
        Duration::from_millis(20),
    );

    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = load.acks();
    assert!(!before.is_empty(), "no load before the restart");
    let stopping = Instant::now();
    tokio::task::block_in_place(|| postgres.stop());
    let down = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut problems = probe_while_down(&apis, &t, &before[0].execution).await;
    tokio::time::sleep_until((down + Duration::from_secs(2)).into()).await;
    // PostgreSQL accepts connections some time before `start_again` returns
    // (it waits for readiness): an answer is only "while down" before this.
    let starting = Instant::now();
    tokio::task::block_in_place(|| postgres.start_again());
    let up = Instant::now();

    // Nobody restarts the hosts: each must answer 202 again by itself.
    let mut recovered: Vec<Option<Duration>> = vec![None; apis.len()];
    let give_up = up + Duration::from_secs(30);
    while (recovered.iter().any(Option::is_none) || up.elapsed() < Duration::from_secs(3))
        && Instant::now() < give_up
    {
        for (host, recovery) in recovered.iter_mut().enumerate() {
            if recovery.is_none() {
                *recovery = load.first_ack_after(host, up).map(|at| at - up);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let outcomes = load.stop().await;
    for (host, recovery) in recovered.iter().enumerate() {
        match recovery {
            Some(d) => eprintln!("host {host} acknowledged again {d:?} after PostgreSQL was back"),
            None => problems.push(format!(
                "host {host} acknowledged nothing within 30 s of PostgreSQL being back"
            )),
        }
    }

    // Refused posts must say the store is unavailable (503, retry later).
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    for o in &outcomes {
        *tally.entry(o.kind()).or_default() += 1;
        let acknowledged_while_down = o.ack().is_some() && o.sent > down && o.answered < starting;
        if acknowledged_while_down || !(o.ack().is_some() || o.is_store_unavailable()) {
            wrong.push(format!(
                "host {} POST /v1/hooks/acme/am sent {} answered {} (PostgreSQL stopping at +0, down {}, starting {}, up {}): {:?}",
                o.host,
                since(stopping, o.sent),
                since(stopping, o.answered),
                since(stopping, down),
                since(stopping, starting),
                since(stopping, up),
                o.answer
            ));
        }
    }
    eprintln!("webhook answers around the restart: {tally:?}");
    if !tally.contains_key("503 store_unavailable") {
        problems.push("no post was answered 503 store_unavailable: the outage went unseen".into());
    }
    if !wrong.is_empty() {
        problems.push(format!(
            "{} webhook answers other than 202 or 503 store_unavailable, e.g.:\n{}",
            wrong.len(),
            wrong
                .iter()
                .take(12)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }

    let acks: Vec<Ack> = outcomes.iter().filter_map(Outcome::ack).collect();
    match settle(&apis[1], &t.auditor, &acks, Duration::from_secs(40)).await {
        Ok(settled) => eprintln!(
            "{} acknowledged events, one execution each: {:?}",
            acks.len(),
            statuses(&settled)
        ),
        Err(e) => problems.push(e),
    }
    // What the refused posts left behind: an event stored before the
    // failing write has an execution nobody was told about.
    let all = list_all(&apis[1], &t.auditor, "").await;
    let acknowledged: HashSet<&str> = acks.iter().map(|a| a.execution.as_str()).collect();
    let others: Vec<Value> = all
        .iter()
        .filter(|e| !acknowledged.contains(e["id"].as_str().unwrap_or("")))
        .cloned()
        .collect();
    eprintln!(
        "executions never acknowledged: {} {:?}",
        others.len(),
        statuses(&others)
    );
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// While the store is down, every API call that needs it must answer 503
/// `store_unavailable`; returns what did not.
async fn probe_while_down(apis: &[Api], t: &Tokens, execution: &str) -> Vec<String> {
    let calls = [
        (
            "GET",
            "/v1/tenants/acme/executions?limit=1".to_string(),
            &t.auditor,
            None,
        ),
        (
            "GET",
            format!("/v1/tenants/acme/executions/{execution}"),
            &t.auditor,
            None,
        ),
        (
            "GET",
            "/v1/tenants/acme/sources/am".to_string(),
            &t.auditor,
            None,
        ),
        (
            "POST",
            "/v1/tenants/acme/runbooks/conformance/run".to_string(),
            &t.operator,
            Some(json!({"environment": "dev", "input": {"case": "echo"}})),
        ),
    ];
    let mut problems = Vec::new();
    for (host, api) in apis.iter().enumerate() {
        for (method, path, token, body) in &calls {
            let (status, answer) = api.call(method, path, Some(token), body.clone()).await;
            if status != 503 || answer["error"]["code"] != "store_unavailable" {
                problems.push(format!(
                    "store down: host {host} {method} {path} answered {status} {answer}"
                ));
            }
        }
        // Readiness follows the store, so a load balancer stops sending.
        let (status, answer) = api.call("GET", "/readyz", None, None).await;
        if status != 503 || answer["error"]["code"] != "store_unavailable" {
            problems.push(format!(
                "store down: host {host} GET /readyz answered {status} {answer}"
            ));
        }
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sqs_queue_three_hosts_each_message_one_event() {
    let moto = Moto::start();
    let sqs = moto.client();
    let (queue, _) = moto::create_queue(&sqs, "shared", None).await;
    let store = TestStore::postgres();
    let hosts = hosts(&store, 3, moto::SERVER_ENV);
    let apis: Vec<Api> = hosts.iter().map(|(_, s)| s.api()).collect();
    let t = apis[0].tenant("acme").await;
    apis[0]
        .deploy_guest("acme", &t.author, "conformance", "dev")
        .await;
    apis[0]
        .expect(
            200,
            "PUT",
            "/v1/tenants/acme/rules/echo",
            Some(&t.author),
            Some(json!({
                "source": "q", "runbook": "conformance", "environment": "dev",
                "params": {"case": "echo", "n": "{{ data.n }}"},
            })),
        )
        .await;
    // Configured on one host only. A 2 s visibility timeout: a batch that
    // takes longer on a loaded machine is received again, by any host, and
    // must be recognised as the same event.
    apis[0]
        .expect(
            200,
            "PUT",
            "/v1/tenants/acme/sources/q",
            Some(&t.author),
            Some(json!({
                "type": "sqs", "queue_url": queue, "region": moto::REGION,
                "endpoint_url": moto.endpoint, "wait_time_seconds": 1,
                "visibility_timeout": 2, "max_messages": 10, "pollers": 1,
            })),
        )
        .await;
    let configured = Instant::now();

    // Every host starts polling it: a host shows the source's metrics once
    // its own poller runs.
    let mut following: Vec<Option<Duration>> = vec![None; apis.len()];
    while following.iter().any(Option::is_none) {
        for (api, follows) in apis.iter().zip(&mut following) {
            if follows.is_none() {
                let source = api
                    .expect(
                        200,
                        "GET",
                        "/v1/tenants/acme/sources/q",
                        Some(&t.auditor),
                        None,
                    )
                    .await;
                if source["metrics"].is_object() {
                    *follows = Some(configured.elapsed());
                }
            }
        }
        assert!(
            configured.elapsed() < Duration::from_secs(10),
            "not every host polls the source after 10 s: {following:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("hosts polling the source after {following:?}");

    let mut sent = HashSet::new();
    for chunk in (0..60u32).collect::<Vec<_>>().chunks(10) {
        let entries = chunk.iter().map(|n| {
            aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id(n.to_string())
                .message_body(json!({"n": n}).to_string())
                .build()
                .unwrap()
        });
        let output = sqs
            .send_message_batch()
            .queue_url(&queue)
            .set_entries(Some(entries.collect()))
            .send()
            .await
            .unwrap();
        assert!(output.failed().is_empty(), "{:?}", output.failed());
        sent.extend(
            output
                .successful()
                .iter()
                .map(|e| e.message_id().to_string()),
        );
    }
    assert_eq!(sent.len(), 60, "message ids are distinct");
    let sent_at = Instant::now();

    let deadline = sent_at + Duration::from_secs(60);
    while list_all(&apis[1], &t.auditor, "status=succeeded")
        .await
        .len()
        < 60
    {
        assert!(
            Instant::now() < deadline,
            "60 executions did not finish in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let finished = sent_at.elapsed();
    while moto::depth(&sqs, &queue).await > 0 {
        assert!(Instant::now() < deadline, "the queue did not drain");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Past another visibility timeout and poll: a message received twice
    // has been through its second host too.
    tokio::time::sleep(Duration::from_secs(4)).await;

    let executions = list_all(&apis[2], &t.auditor, "").await;
    let events: HashSet<String> = executions
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(executions.len(), 60, "one execution per message: {}", {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for e in &executions {
            *counts.entry(e["event"].as_str().unwrap()).or_default() += 1;
        }
        format!(
            "{:?}",
            counts
                .into_iter()
                .filter(|(_, n)| *n > 1)
                .collect::<Vec<_>>()
        )
    });
    assert_eq!(events, sent, "the events are the messages, by MessageId");
    assert_eq!(
        statuses(&executions),
        BTreeMap::from([("succeeded".to_string(), 60)])
    );
    let mut ns: Vec<u64> = executions
        .iter()
        .map(|e| e["output"]["n"].as_u64().unwrap())
        .collect();
    ns.sort_unstable();
    assert_eq!(ns, (0..60).collect::<Vec<u64>>());
    assert_eq!(moto::depth(&sqs, &queue).await, 0, "the queue drained");

    // Each host counts only what its own pollers took.
    let mut accepted = 0;
    for (host, api) in apis.iter().enumerate() {
        let metrics = &api
            .expect(
                200,
                "GET",
                "/v1/tenants/acme/sources/q",
                Some(&t.auditor),
                None,
            )
            .await["metrics"];
        eprintln!(
            "host {host}: received {} accepted {} duplicates {}",
            metrics["received"], metrics["accepted"], metrics["duplicates"]
        );
        accepted += metrics["accepted"].as_u64().unwrap();
    }
    eprintln!("60 messages ran {finished:?} after they were sent");
    assert_eq!(accepted, 60, "each message accepted once, by one host");
}

/// The runbook's own run time in the kill test: long enough that each host
/// has a few executions in flight when it is killed.
const RUN_MS: u64 = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_one_of_three_hosts_ten_times_under_load() {
    // More workers than cores: the runbook only sleeps, and a short queue
    // keeps what is measured the lease path's time, not a backlog's.
    let env = [("WOLFE_WORKERS", "8")];
    let store = TestStore::postgres();
    let mut slots = hosts(&store, 3, &env);
    let t = sleeping_tenant(&slots[0].1.api()).await;
    let bases = bases_of(&slots);
    // About 10 posts a second per host, well under its 8 workers' 26 runs a
    // second (and a survivor's share after a takeover): no backlog.
    let load = Load::start(&bases, 1, &t.sender, RUN_MS, Duration::from_millis(80));
    let http = wolfe::cli::api_client();
    // When each slot's current process began serving: only its own
    // acknowledgements are its executions (it created and leased them).
    let mut serving = vec![Instant::now(); slots.len()];
    let mut killed_bases = HashSet::new();
    let mut trackers = Vec::new();

    for round in 0..10 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let slot = round % slots.len();
        bases.lock().unwrap()[slot] = None;
        killed_bases.insert(slots[slot].1.base.clone());
        slots[slot].1.kill();
        let killed = Instant::now();

        // What it acknowledged and is still pending: the running ones it
        // holds under its lease, which nobody else may take while that
        // lasts; the queued ones are unclaimed, any host may take them (but
        // the killed host may have been about to).
        let own: HashSet<String> = load
            .acks()
            .into_iter()
            .filter(|a| a.host == slot && a.at >= serving[slot])
            .map(|a| a.execution)
            .collect();
        let live = slots[(slot + 1) % slots.len()].1.api();
        let mut in_flight = Vec::new();
        for status in ["queued", "running"] {
            for e in list_all(&live, &t.auditor, &format!("status={status}")).await {
                let id = e["id"].as_str().unwrap();
                if own.contains(id) {
                    in_flight.push((id.to_string(), status));
                }
            }
        }

        // Two ways back, alternating, both with the slot's same share of the
        // load. Even rounds: the same data dir, so the same host id, as a
        // supervisor restarting a crashed process — it takes its executions
        // back at once. Odd rounds: a fresh data dir, a new host id, as a
        // machine that is gone for good — its executions wait for the lease
        // to expire and a surviving host takes them over.
        let same_dir = round % 2 == 0;
        if same_dir {
            let data = slots[slot].0.path().to_path_buf();
            slots[slot].1 = tokio::task::block_in_place(|| Server::start_on(&store, &data, &env));
        } else {
            let data = tempfile::tempdir().unwrap();
            let server =
                tokio::task::block_in_place(|| Server::start_on(&store, data.path(), &env));
            slots[slot] = (data, server);
        }
        serving[slot] = Instant::now();
        bases.lock().unwrap()[slot] = Some(slots[slot].1.base.clone());
        eprintln!(
            "round {round}: killed host {slot} with {} running and {} queued of its own; back on {} data dir after {:?}",
            in_flight.iter().filter(|(_, s)| *s == "running").count(),
            in_flight.iter().filter(|(_, s)| *s == "queued").count(),
            if same_dir { "its" } else { "a fresh" },
            serving[slot] - killed
        );
        let (http, bases, token) = (http.clone(), bases.clone(), t.auditor.clone());
        trackers.push(tokio::spawn(async move {
            let resumed = track(&http, &bases, &token, in_flight, killed).await;
            let path = if same_dir {
                "same data dir"
            } else {
                "fresh data dir"
            };
            (path, resumed)
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let outcomes = load.stop().await;

    let mut took = Vec::new();
    let mut took_by_kind: BTreeMap<(&str, &str), Vec<Duration>> = BTreeMap::new();
    let mut never = Vec::new();
    for tracker in trackers {
        let (path, resumed) = tracker.await.unwrap();
        for (id, status, d) in resumed {
            match d {
                Some(d) => {
                    took.push(d);
                    took_by_kind.entry((path, status)).or_default().push(d);
                }
                None => never.push(id),
            }
        }
    }
    for ((path, status), durations) in &took_by_kind {
        let (max, median) = max_and_median(durations);
        eprintln!(
            "killed host's {status} executions terminal after the kill, back on {path}: {} executions, max {max:?}, median {median:?}",
            durations.len()
        );
    }
    let (max, median) = max_and_median(&took);
    eprintln!(
        "killed host's pending executions terminal after the kill, all: {} executions, max {max:?}, median {median:?}",
        took.len()
    );

    let api = slots[0].1.api();
    let acks: Vec<Ack> = outcomes.iter().filter_map(Outcome::ack).collect();
    let settled = settle(&api, &t.auditor, &acks, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for o in &outcomes {
        *tally.entry(o.kind()).or_default() += 1;
    }
    eprintln!(
        "{} acknowledged events, one execution each: {:?}; posts: {tally:?}",
        acks.len(),
        statuses(&settled)
    );

    // A post to a live host is always acknowledged; only one to a host
    // being killed may go unanswered.
    let wrong: Vec<String> = outcomes
        .iter()
        .filter(|o| match &o.answer {
            Ok((status, _)) => *status != 202,
            Err(_) => !killed_bases.contains(&o.base),
        })
        .take(12)
        .map(|o| format!("host {} ({}): {:?}", o.host, o.base, o.answer))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(
        statuses(&settled).get("succeeded"),
        Some(&acks.len()),
        "a killed host's executions run again elsewhere; none fails"
    );
    assert!(
        never.is_empty(),
        "in-flight executions never terminal: {never:?}"
    );
    assert!(
        !took.is_empty(),
        "no execution was ever in flight on a killed host"
    );
    // Worst case by design: the dead host's heartbeat row expires at most
    // LEASE_TTL after it last renewed it, a survivor looks every LEASE_TTL/3
    // and then runs the execution: TTL + TTL/3 + the run. 2 × TTL leaves the
    // other 2/3 TTL for a survivor's queue and a slow claim, and 5 s more
    // for a loaded 2-core machine where three hosts, PostgreSQL and the test
    // share the CPU.
    let bound = 2 * LEASE_TTL + Duration::from_millis(RUN_MS) + Duration::from_secs(5);
    assert!(
        max <= bound,
        "a killed host's execution took {max:?} to finish elsewhere (bound {bound:?})"
    );
}

/// Polls `ids` (through any live host) until each is terminal; returns how
/// long after `killed` each got there, `None` for one that never did.
async fn track(
    http: &reqwest::Client,
    bases: &Bases,
    token: &str,
    ids: Vec<(String, &'static str)>,
    killed: Instant,
) -> Vec<(String, &'static str, Option<Duration>)> {
    let mut left = ids;
    let mut done = Vec::new();
    while !left.is_empty() && killed.elapsed() < Duration::from_secs(90) {
        let mut still = Vec::new();
        for (id, status) in left {
            match get_anywhere(http, bases, token, &id).await {
                Some(record) if is_terminal(&record) => {
                    done.push((id, status, Some(killed.elapsed())))
                }
                _ => still.push((id, status)),
            }
        }
        left = still;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done.extend(left.into_iter().map(|(id, status)| (id, status, None)));
    done
}

/// One execution record from the first live host that answers.
async fn get_anywhere(
    http: &reqwest::Client,
    bases: &Bases,
    token: &str,
    id: &str,
) -> Option<Value> {
    let bases: Vec<String> = bases.lock().unwrap().iter().flatten().cloned().collect();
    for base in bases {
        let response = http
            .get(format!("{base}/v1/tenants/acme/executions/{id}"))
            .bearer_auth(token)
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        if let Ok(response) = response
            && response.status() == 200
            && let Ok(record) = response.json::<Value>().await
        {
            return Some(record);
        }
    }
    None
}

fn max_and_median(durations: &[Duration]) -> (Duration, Duration) {
    let mut sorted = durations.to_vec();
    sorted.sort_unstable();
    match sorted.last() {
        Some(max) => (*max, sorted[sorted.len() / 2]),
        None => (Duration::ZERO, Duration::ZERO),
    }
}
