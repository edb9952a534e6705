//! The `connectors` capability: host-side integrations configured per
//! tenant — a generic HTTP API, a Slack-compatible incoming webhook, a
//! PagerDuty Events v2 endpoint. A runbook calls one by name (if its manifest
//! declares it) with an action and a payload; the host builds the request and
//! adds the credentials, read from the tenant's secrets, so they never enter
//! the sandbox. The request goes through the same sender as the `http`
//! interface (address policy, request budget, size and time caps, deadline)
//! and is recorded in the trail as `connectors` / action / connector name.
//! In a dry run no connector call is sent: each passes its checks and gets
//! the reply its service gives on success.

use crate::capabilities::describe;
use crate::capabilities::http::{HttpContext, KNOWN_METHODS, Route, send_checked};
use crate::capabilities::secrets::SecretReader;
use crate::capabilities::trail::SharedTrail;
use crate::capabilities::transcript::{
    Recorded, Tape, answer_result, result_size, result_value, scrub_error, text_size,
};
use crate::manifest::check_secret_name;
use crate::wit::wolfe::runbook::connectors::{Host, Reply};
use crate::wit::wolfe::runbook::http::Request;
use crate::wit::wolfe::runbook::types::Error as GuestError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use url::Url;

/// PagerDuty's Events v2 endpoint, used unless a connector names another.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// How a tenant configured one connector. Credentials are named tenant
/// secrets, never values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ConnectorSpec {
    /// An HTTP API under `base_url`; actions are `METHOD /path`.
    Http {
        base_url: String,
        #[serde(default)]
        auth: HttpAuth,
    },
    /// A Slack-compatible incoming webhook. Its URL is the credential, so it
    /// is a secret: `webhook_url_secret` names it.
    Slack { webhook_url_secret: String },
    /// PagerDuty Events v2: `trigger`, `acknowledge`, `resolve`; the host
    /// adds the routing key from `routing_key_secret`.
    Pagerduty {
        routing_key_secret: String,
        #[serde(default)]
        events_url: Option<String>,
    },
}

/// How an `http` connector authenticates.
// Read through `StrictHttpAuth`, so `{"type": "none", "secret": …}` is
// refused rather than its key silently dropped; written as derived
// (`{"type": "none"}`), so stored connectors read back unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(
    tag = "type",
    rename_all = "lowercase",
    deny_unknown_fields,
    from = "StrictHttpAuth"
)]
pub enum HttpAuth {
    #[default]
    None,
    /// `Authorization: Bearer <secret>`.
    Bearer { secret: String },
    /// `Authorization: Basic base64(username:<secret>)`.
    Basic { username: String, secret: String },
    /// `<header>: <secret>`.
    Header { header: String, secret: String },
}

/// [`HttpAuth`] as read. serde lets an internally tagged unit variant ignore
/// other keys even with `deny_unknown_fields`; an empty struct variant
/// refuses them, with the same JSON form.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum StrictHttpAuth {
    None {},
    Bearer { secret: String },
    Basic { username: String, secret: String },
    Header { header: String, secret: String },
}

impl From<StrictHttpAuth> for HttpAuth {
    fn from(auth: StrictHttpAuth) -> Self {
        match auth {
            StrictHttpAuth::None {} => Self::None,
            StrictHttpAuth::Bearer { secret } => Self::Bearer { secret },
            StrictHttpAuth::Basic { username, secret } => Self::Basic { username, secret },
            StrictHttpAuth::Header { header, secret } => Self::Header { header, secret },
        }
    }
}

impl ConnectorSpec {
    /// Checks what can be checked before a runbook calls it.
    pub fn validate(&self) -> Result<(), String> {
        self.check_secret_names()?;
        let check_url = |key: &str, text: &str| {
            let url = Url::parse(text).map_err(|e| format!("{key}: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(format!("{key} must be an http(s) URL"));
            }
            Ok(())
        };
        match self {
            Self::Http { base_url, auth } => {
                check_url("base_url", base_url)?;
                if let HttpAuth::Header { header, .. } = auth {
                    reqwest::header::HeaderName::from_bytes(header.as_bytes())
                        .map_err(|_| format!("auth.header {header:?} is not a header name"))?;
                }
                Ok(())
            }
            Self::Slack { .. } => Ok(()),
            Self::Pagerduty { events_url, .. } => match events_url {
                Some(url) => check_url("events_url", url),
                None => Ok(()),
            },
        }
    }

    /// Checks every credential field names a secret the tenant could store
    /// ([`check_secret_name`]): a URL or token pasted there could never be
    /// one, and would sit in plain text in the config and the audit log.
    fn check_secret_names(&self) -> Result<(), String> {
        let field = match self {
            Self::Http { .. } => "auth.secret",
            Self::Slack { .. } => "webhook_url_secret",
            Self::Pagerduty { .. } => "routing_key_secret",
        };
        // The error leaves the value out: it may be the credential itself.
        for name in self.secret_names() {
            check_secret_name(field, name).map_err(|_| {
                format!(
                    "{field}: must name a tenant secret (1-128 letters, digits, _ - .), not hold its value"
                )
            })?;
        }
        Ok(())
    }

    /// The secret names this connector reads.
    pub fn secret_names(&self) -> Vec<&str> {
        match self {
            Self::Http { auth, .. } => match auth {
                HttpAuth::None => vec![],
                HttpAuth::Bearer { secret }
                | HttpAuth::Basic { secret, .. }
                | HttpAuth::Header { secret, .. } => vec![secret.as_str()],
            },
            Self::Slack { webhook_url_secret } => vec![webhook_url_secret.as_str()],
            Self::Pagerduty {
                routing_key_secret, ..
            } => vec![routing_key_secret.as_str()],
        }
    }
}

/// Where connector configurations come from (the tenant's, under serve).
#[async_trait::async_trait]
pub trait ConnectorProvider: Send + Sync {
    async fn get(&self, name: &str) -> Result<Option<ConnectorSpec>, String>;
}

/// Connectors held in memory: `wolfe run --connectors-file`.
#[derive(Debug, Default, Clone)]
pub struct StaticConnectors {
    specs: HashMap<String, ConnectorSpec>,
}

impl StaticConnectors {
    pub fn insert(&mut self, name: impl Into<String>, spec: ConnectorSpec) {
        self.specs.insert(name.into(), spec);
    }

    /// A TOML file of `[name]` tables, each a connector (`kind = ...`).
    pub fn load_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read connectors file {}: {e}", path.display()))?;
        let specs: HashMap<String, ConnectorSpec> = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("invalid connectors file {}: {e}", path.display()))?;
        for (name, spec) in &specs {
            spec.validate()
                .map_err(|e| anyhow::anyhow!("{}: connector {name}: {e}", path.display()))?;
        }
        Ok(Self { specs })
    }
}

#[async_trait::async_trait]
impl ConnectorProvider for StaticConnectors {
    async fn get(&self, name: &str) -> Result<Option<ConnectorSpec>, String> {
        Ok(self.specs.get(name).cloned())
    }
}

/// The `connectors` interface's per-execution state. Its requests go out
/// through the execution's [`HttpContext`] (one request budget, one
/// deadline); credentials are read through the execution's [`SecretReader`].
pub struct ConnectorsState {
    declared: BTreeSet<String>,
    provider: Arc<dyn ConnectorProvider>,
    secrets: SecretReader,
    http: HttpContext,
    trail: SharedTrail,
    tape: Tape,
}

impl ConnectorsState {
    pub fn new(
        declared: BTreeSet<String>,
        provider: Arc<dyn ConnectorProvider>,
        secrets: SecretReader,
        http: HttpContext,
        trail: SharedTrail,
        tape: Tape,
    ) -> Self {
        Self {
            declared,
            provider,
            secrets,
            http,
            trail,
            tape,
        }
    }
}

impl Host for ConnectorsState {
    async fn call(
        &mut self,
        connector: String,
        action: String,
        payload: String,
    ) -> wasmtime::Result<Result<Reply, GuestError>> {
        let request = || ConnectorCall::request_value(&connector, &action, &payload);
        let refusal = || self.undeclared(&connector);
        if let Some(answer) = self.tape.replay("connectors", "call", request, refusal) {
            return Ok(answer_result(&answer, |v| {
                Some(Reply {
                    status: u16::try_from(v.get("status")?.as_u64()?).ok()?,
                    body: v.get("body")?.as_str()?.to_string(),
                })
            }));
        }
        let result = self.call_checked(&connector, &action, &payload).await?;
        if self.tape.is_on() {
            self.tape.record(ConnectorCall {
                connector,
                action,
                payload,
                answer: result.clone(),
            });
        }
        Ok(result)
    }
}

/// A `connectors` call as a transcript keeps it. The payload is the
/// guest's; credentials the host adds never appear in it.
#[derive(Debug)]
struct ConnectorCall {
    connector: String,
    action: String,
    payload: String,
    answer: Result<Reply, GuestError>,
}

impl ConnectorCall {
    fn request_value(connector: &str, action: &str, payload: &str) -> serde_json::Value {
        serde_json::json!({
            "connector": connector,
            "action": action,
            "payload": payload,
        })
    }
}

impl Recorded for ConnectorCall {
    fn interface(&self) -> &'static str {
        "connectors"
    }

    fn operation(&self) -> &'static str {
        "call"
    }

    fn request(&self) -> serde_json::Value {
        Self::request_value(&self.connector, &self.action, &self.payload)
    }

    fn answer(&self) -> serde_json::Value {
        result_value(
            &self.answer,
            |r| serde_json::json!({ "status": r.status, "body": r.body }),
        )
    }

    fn scrub(&mut self, scrub: &dyn Fn(&mut String)) {
        scrub(&mut self.connector);
        scrub(&mut self.action);
        scrub(&mut self.payload);
        match &mut self.answer {
            Ok(reply) => scrub(&mut reply.body),
            Err(e) => scrub_error(e, scrub),
        }
    }

    fn size(&self) -> usize {
        text_size(&self.connector)
            + text_size(&self.action)
            + text_size(&self.payload)
            + result_size(&self.answer, |r| text_size(&r.body) + 16)
    }
}

impl ConnectorsState {
    /// The refusal of a connector the manifest does not declare.
    fn undeclared(&self, connector: &str) -> Option<GuestError> {
        (!self.declared.contains(connector)).then(|| {
            GuestError::Denied(format!(
                "connector {connector:?} is not declared in the manifest"
            ))
        })
    }

    async fn call_checked(
        &mut self,
        connector: &str,
        action: &str,
        payload: &str,
    ) -> wasmtime::Result<Result<Reply, GuestError>> {
        let started = Instant::now();
        let refuse = |trail: &SharedTrail, allowed: bool, e: GuestError| {
            trail.record(
                "connectors",
                action,
                connector,
                allowed,
                describe(&e),
                started,
            );
            Ok(Err(e))
        };
        if let Some(e) = self.undeclared(connector) {
            return refuse(&self.trail, false, e);
        }
        let spec = match self.provider.get(connector).await {
            Ok(Some(spec)) => spec,
            Ok(None) => {
                let e = GuestError::Failed(format!(
                    "connector {connector:?} is not configured for this tenant"
                ));
                return refuse(&self.trail, true, e);
            }
            Err(why) => return refuse(&self.trail, true, GuestError::Failed(why)),
        };
        let request = match self.build_request(connector, &spec, action, payload).await {
            Ok(r) => r,
            Err(e) => return refuse(&self.trail, true, e),
        };
        let route = Route::Connector {
            name: connector,
            action,
        };
        let dry_run = self.http.is_dry_run();
        let reply = send_checked(&self.http, request, route).await.map(|r| {
            if dry_run {
                // Withheld: every connector call is, in a dry run.
                withheld_reply(&spec, payload)
            } else {
                Reply {
                    status: r.status,
                    body: String::from_utf8_lossy(&r.body).into_owned(),
                }
            }
        });
        Ok(reply)
    }
}

/// What a connector answers in a dry run, where its request is withheld:
/// what its service answers on success, so the runbook goes on as it would
/// after a real call (a PagerDuty reply carries the `dedup_key` a runbook
/// keeps to resolve the incident later).
fn withheld_reply(spec: &ConnectorSpec, payload: &str) -> Reply {
    match spec {
        ConnectorSpec::Http { .. } => Reply {
            status: 200,
            body: String::new(),
        },
        ConnectorSpec::Slack { .. } => Reply {
            status: 200,
            body: "ok".into(),
        },
        ConnectorSpec::Pagerduty { .. } => {
            let dedup_key = serde_json::from_str::<serde_json::Value>(payload)
                .ok()
                .and_then(|event| Some(event.get("dedup_key")?.as_str()?.to_string()))
                .unwrap_or_else(|| "dry-run".into());
            let body = serde_json::json!({
                "status": "success",
                "message": "Event processed",
                "dedup_key": dedup_key,
            });
            Reply {
                status: 202,
                body: body.to_string(),
            }
        }
    }
}

impl ConnectorsState {
    /// Reads a credential: remembered for redaction, never shown to the guest.
    async fn credential(&self, connector: &str, name: &str) -> Result<String, GuestError> {
        match self.secrets.read(name).await {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(GuestError::Failed(format!(
                "connector {connector:?}: its secret {name:?} is not set"
            ))),
            Err(why) => Err(GuestError::Failed(format!(
                "connector {connector:?}: {why}"
            ))),
        }
    }

    async fn build_request(
        &self,
        connector: &str,
        spec: &ConnectorSpec,
        action: &str,
        payload: &str,
    ) -> Result<Request, GuestError> {
        let json_body =
            |payload: &str| -> Result<serde_json::Map<String, serde_json::Value>, GuestError> {
                match serde_json::from_str(payload) {
                    Ok(serde_json::Value::Object(map)) => Ok(map),
                    _ => Err(GuestError::Invalid(format!(
                        "connector {connector:?}: the payload must be a JSON object"
                    ))),
                }
            };
        let json_request = |url: String, body: serde_json::Value| Request {
            method: "POST".into(),
            url,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Some(body.to_string().into_bytes()),
            timeout_ms: None,
        };
        match spec {
            ConnectorSpec::Http { base_url, auth } => {
                let (method, path) = action
                    .split_once(' ')
                    .map(|(m, p)| (m.to_ascii_uppercase(), p.trim()))
                    .filter(|(m, _)| KNOWN_METHODS.contains(&m.as_str()))
                    .ok_or_else(|| {
                        GuestError::Invalid(format!(
                            "connector {connector:?}: the action must be `METHOD /path`, got {action:?}"
                        ))
                    })?;
                let url = join_under(base_url, path).ok_or_else(|| {
                    GuestError::Invalid(format!(
                        "connector {connector:?}: {path:?} is not a path under its base URL"
                    ))
                })?;
                let mut headers = Vec::new();
                match auth {
                    HttpAuth::None => {}
                    HttpAuth::Bearer { secret } => {
                        let token = self.credential(connector, secret).await?;
                        headers.push(("authorization".into(), format!("Bearer {token}")));
                    }
                    HttpAuth::Basic { username, secret } => {
                        use base64::Engine;
                        let password = self.credential(connector, secret).await?;
                        let encoded = base64::engine::general_purpose::STANDARD
                            .encode(format!("{username}:{password}"));
                        self.secrets.remember(encoded.clone());
                        headers.push(("authorization".into(), format!("Basic {encoded}")));
                    }
                    HttpAuth::Header { header, secret } => {
                        let value = self.credential(connector, secret).await?;
                        headers.push((header.clone(), value));
                    }
                }
                let body = (!payload.is_empty()).then(|| payload.as_bytes().to_vec());
                if body.is_some() {
                    let kind = if serde_json::from_str::<serde_json::Value>(payload).is_ok() {
                        "application/json"
                    } else {
                        "text/plain; charset=utf-8"
                    };
                    headers.push(("content-type".into(), kind.into()));
                }
                Ok(Request {
                    method,
                    url,
                    headers,
                    body,
                    timeout_ms: None,
                })
            }
            ConnectorSpec::Slack { webhook_url_secret } => {
                if action != "post" {
                    return Err(GuestError::Invalid(format!(
                        "connector {connector:?} (slack): the action is `post`, got {action:?}"
                    )));
                }
                let message = json_body(payload)?;
                let url = self.credential(connector, webhook_url_secret).await?;
                Ok(json_request(url, serde_json::Value::Object(message)))
            }
            ConnectorSpec::Pagerduty {
                routing_key_secret,
                events_url,
            } => {
                if !matches!(action, "trigger" | "acknowledge" | "resolve") {
                    return Err(GuestError::Invalid(format!(
                        "connector {connector:?} (pagerduty): the action is trigger, acknowledge or resolve, got {action:?}"
                    )));
                }
                let mut event = json_body(payload)?;
                let key = self.credential(connector, routing_key_secret).await?;
                event.insert("routing_key".into(), key.into());
                event.insert("event_action".into(), action.into());
                let url = events_url
                    .clone()
                    .unwrap_or_else(|| PAGERDUTY_EVENTS_URL.into());
                Ok(json_request(url, serde_json::Value::Object(event)))
            }
        }
    }
}

/// `path` joined under `base`, or `None` when the result would leave it
/// (`..`, an absolute URL, another host).
fn join_under(base: &str, path: &str) -> Option<String> {
    if !path.starts_with('/') || path.starts_with("//") {
        return None;
    }
    let base = Url::parse(base).ok()?;
    let mut prefix = base.path().trim_end_matches('/').to_string();
    prefix.push('/');
    let joined = base
        .join(&format!("{}{}", prefix.trim_end_matches('/'), path))
        .ok()?;
    let inside = joined.origin() == base.origin()
        && (joined.path().starts_with(&prefix) || joined.path() == prefix.trim_end_matches('/'));
    // The URL parser resolves `..` and percent-encoded dots; a path that
    // climbs out of the base is refused rather than silently clipped.
    let climbs = path.split(['/', '?', '#']).any(|seg| {
        let seg = seg.to_ascii_lowercase();
        seg == ".." || seg == "%2e%2e" || seg == ".%2e" || seg == "%2e."
    });
    (inside && !climbs).then(|| joined.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn http_connector_paths_stay_under_the_base_url() {
        let base = "https://api.example.com/v2/";
        assert_eq!(
            join_under(base, "/incidents?x=1").unwrap(),
            "https://api.example.com/v2/incidents?x=1"
        );
        assert_eq!(
            join_under("https://api.example.com/v2", "/a/b").unwrap(),
            "https://api.example.com/v2/a/b"
        );
        for escape in [
            "/../admin",
            "/a/../../admin",
            "/%2e%2e/admin",
            "//evil.test/x",
            "https://evil.test/",
            "relative",
        ] {
            assert_eq!(join_under(base, escape), None, "{escape}");
        }
    }

    #[test]
    fn a_withheld_call_gets_what_its_service_answers_on_success() {
        let http = ConnectorSpec::Http {
            base_url: "https://api.example.com".into(),
            auth: HttpAuth::None,
        };
        assert_eq!(withheld_reply(&http, "").status, 200);
        let slack = ConnectorSpec::Slack {
            webhook_url_secret: "S".into(),
        };
        assert_eq!(withheld_reply(&slack, "{}").body, "ok");
        let pager = ConnectorSpec::Pagerduty {
            routing_key_secret: "K".into(),
            events_url: None,
        };
        let reply = withheld_reply(&pager, r#"{"dedup_key":"b3-down"}"#);
        assert_eq!(reply.status, 202);
        let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["status"], "success");
        assert_eq!(body["dedup_key"], "b3-down");
        let body: serde_json::Value =
            serde_json::from_str(&withheld_reply(&pager, "{}").body).unwrap();
        assert_eq!(body["dedup_key"], "dry-run");
    }

    #[test]
    fn specs_parse_strictly_and_validate() {
        let file: HashMap<String, ConnectorSpec> = toml::from_str(
            r#"
            [api]
            kind = "http"
            base_url = "https://api.example.com/v1"
            auth = { type = "bearer", secret = "API_TOKEN" }
            [chat]
            kind = "slack"
            webhook_url_secret = "SLACK_WEBHOOK"
            [pager]
            kind = "pagerduty"
            routing_key_secret = "PD_KEY"
            "#,
        )
        .unwrap();
        assert_eq!(file["api"].secret_names(), vec!["API_TOKEN"]);
        assert!(file.values().all(|s| s.validate().is_ok()));
        assert!(
            toml::from_str::<ConnectorSpec>("kind = \"http\"\nbase_url = \"x\"\npassword = \"p\"")
                .is_err()
        );
        let bad = ConnectorSpec::Http {
            base_url: "ftp://x".into(),
            auth: HttpAuth::None,
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn credential_fields_must_name_a_secret() {
        let http = |auth: serde_json::Value| json!({"kind": "http", "base_url": "https://api.example.com", "auth": auth});
        let cases = [
            (
                json!({"kind": "slack", "webhook_url_secret": "SLACK_URL"}),
                None,
            ),
            (
                json!({"kind": "slack", "webhook_url_secret": "https://hooks.slack.com/services/T0/B0/x"}),
                Some("webhook_url_secret"),
            ),
            (
                json!({"kind": "pagerduty", "routing_key_secret": "pd.key-1"}),
                None,
            ),
            (
                json!({"kind": "pagerduty", "routing_key_secret": "R0UT1NG KEY"}),
                Some("routing_key_secret"),
            ),
            (
                json!({"kind": "pagerduty", "routing_key_secret": ""}),
                Some("routing_key_secret"),
            ),
            (http(json!({"type": "bearer", "secret": "API_TOKEN"})), None),
            (
                http(json!({"type": "bearer", "secret": "Bearer abc:def"})),
                Some("auth.secret"),
            ),
            (
                http(json!({"type": "basic", "username": "u", "secret": "p/w"})),
                Some("auth.secret"),
            ),
            (
                http(json!({"type": "header", "header": "X-Key", "secret": "x".repeat(129)})),
                Some("auth.secret"),
            ),
        ];
        for (spec, refused) in cases {
            let checked = serde_json::from_value::<ConnectorSpec>(spec.clone())
                .unwrap()
                .validate();
            match (checked, refused) {
                (Ok(()), None) => {}
                (Err(e), Some(field)) => assert!(e.starts_with(field), "{spec}: {e}"),
                (got, _) => panic!("{spec}: {got:?}"),
            }
        }
        let pasted: ConnectorSpec = serde_json::from_value(
            json!({"kind": "slack", "webhook_url_secret": "https://hooks.slack.com/services/T0/B0/x"}),
        )
        .unwrap();
        let err = pasted.validate().unwrap_err();
        assert!(
            !err.contains("hooks.slack.com"),
            "the error repeats the credential: {err}"
        );
    }

    #[test]
    fn auth_without_fields_refuses_extra_keys_and_keeps_its_form() {
        for (auth, extra) in [
            (json!({"type": "none", "secret": "API_TOKEN"}), "secret"),
            (
                json!({"type": "bearer", "secret": "T", "token": "s3cret"}),
                "token",
            ),
        ] {
            let err = serde_json::from_value::<HttpAuth>(auth.clone()).unwrap_err();
            assert!(err.to_string().contains(extra), "{auth}: {err}");
        }
        for auth in [
            HttpAuth::None,
            HttpAuth::Basic {
                username: "u".into(),
                secret: "S".into(),
            },
        ] {
            let stored = serde_json::to_value(&auth).unwrap();
            assert_eq!(serde_json::from_value::<HttpAuth>(stored).unwrap(), auth);
        }
        assert_eq!(
            serde_json::to_value(HttpAuth::None).unwrap(),
            json!({"type": "none"})
        );
        let spec: ConnectorSpec =
            toml::from_str("kind = \"http\"\nbase_url = \"https://a.example\"").unwrap();
        assert!(matches!(
            spec,
            ConnectorSpec::Http {
                auth: HttpAuth::None,
                ..
            }
        ));
    }
}
