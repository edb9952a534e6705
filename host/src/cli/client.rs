//! The `wolfe` API client commands: the same contract a held-out client
//! speaks, for people. Server, token and tenant come from flags or
//! `WOLFE_SERVER`, `WOLFE_TOKEN`, `WOLFE_TENANT`.

use super::Outcome;
use crate::api::types::{
    AuditPage, CancelResult, CapabilityReport, CreateTenant, CreateToken, CreatedToken,
    DeployRequest, EventExplanation, ExecutionPage, PromoteRequest, PutSecret, ReachReport,
    ReplayRequest, ReplayRun, RerunAccepted, RerunRequest, RuleTestResult, RunbookDetail,
    SecretInfo, SecretList, Trail, UploadedVersion,
};
use crate::build::build_runbook;
use crate::dispatch::record::ExecutionRecord;
use crate::registry::Deployment;
use crate::registry::report::CapabilityDiff;
use crate::sandbox::replay::{ExecutionExport, Verdict};
use crate::store::AuditVerification;
use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Clone)]
pub struct Connection {
    /// Server URL.
    #[arg(
        long,
        env = "WOLFE_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    server: String,
    /// API token (the server admin token for `tenant create`).
    #[arg(long, env = "WOLFE_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    /// Tenant the command acts in.
    #[arg(long, env = "WOLFE_TENANT", global = true)]
    tenant: Option<String>,
}

#[derive(clap::Subcommand)]
pub enum TenantCommand {
    /// Create a tenant (server admin token).
    Create { name: String },
}

#[derive(clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token with a role: admin, author, operator, auditor, sender.
    Create {
        #[arg(long)]
        role: String,
    },
}

#[derive(clap::Subcommand)]
pub enum SecretCommand {
    /// Store a secret (admin). The value is read from standard input or a
    /// file, never from the command line, where it would reach shell history
    /// and the process list.
    Set {
        name: String,
        /// Read the value from this file instead of standard input.
        #[arg(long)]
        from_file: Option<PathBuf>,
    },
    /// Secret names and timestamps (values are never returned).
    List,
    /// Delete a secret (admin).
    Delete { name: String },
}

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Administrative actions, oldest first.
    Log {
        /// Entries after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: u64,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Only this action (`secret.put`, `runbook.promote`, …).
        #[arg(long)]
        action: Option<String>,
    },
    /// Check the audit log's hash chain; exits 1 when it is broken.
    Verify,
    /// Every runbook version: grants, imports, limits, environments.
    Report,
    /// What changes between two versions or environments of a runbook.
    Diff {
        name: String,
        /// An environment (dev, test, prod) or a version.
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// Which runbooks can reach a host, or read a secret.
    Reach {
        #[arg(long, conflicts_with_all = ["secret", "connector"], required_unless_present_any = ["secret", "connector"])]
        host: Option<String>,
        #[arg(long, conflicts_with = "connector")]
        secret: Option<String>,
        #[arg(long)]
        connector: Option<String>,
    },
}

#[derive(clap::Subcommand)]
pub enum ApplyCommand {
    /// Create or replace from a TOML or JSON file with a `name` field.
    Apply { file: PathBuf },
}

#[derive(clap::Subcommand)]
pub enum RuleCommand {
    /// Create or replace from a TOML or JSON file with a `name` field.
    Apply { file: PathBuf },
    /// What the rule in FILE would do with a sample event (match, input,
    /// key, the policy's decision now), storing nothing.
    Test {
        file: PathBuf,
        /// The sample event: JSON `{"source", "type", "data", "metadata"}`.
        #[arg(long)]
        event: PathBuf,
    },
}

#[derive(clap::Subcommand)]
pub enum EventCommand {
    /// An event as stored and, for every rule of its source, whether it
    /// matched and what became of it.
    Show { id: String },
}

/// A rule or source file: its `name` and the rest as the JSON spec.
fn read_spec(file: &Path) -> anyhow::Result<(String, Value)> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut spec: Value = if file.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", file.display()))?
    } else {
        let value: toml::Value = toml::from_str(&text)
            .with_context(|| format!("{} is not valid TOML", file.display()))?;
        serde_json::to_value(value)?
    };
    let Some(name) = spec.as_object_mut().and_then(|o| o.remove("name")) else {
        bail!("{} needs a `name` field", file.display());
    };
    let name = name
        .as_str()
        .context("`name` must be a string")?
        .to_string();
    Ok((name, spec))
}

/// `wolfe rule test FILE --event FILE`.
pub fn rule_test(conn: Connection, file: &Path, event: &Path) -> anyhow::Result<Outcome> {
    let client = Client::new(conn)?;
    let tenant = client.tenant()?.to_string();
    let (name, spec) = read_spec(file)?;
    let text = std::fs::read_to_string(event)
        .with_context(|| format!("cannot read {}", event.display()))?;
    let event: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", event.display()))?;
    // The files go as written (the server names what is wrong in them);
    // the answer is typed.
    let answer: RuleTestResult = client.call(
        Method::POST,
        &format!("/v1/tenants/{tenant}/rules/{name}/test"),
        &json!({"event": event, "rule": spec}),
    )?;
    print(&answer)
}

/// `wolfe event show ID`.
pub fn event(conn: Connection, command: EventCommand) -> anyhow::Result<Outcome> {
    let client = Client::new(conn)?;
    let tenant = client.tenant()?.to_string();
    let EventCommand::Show { id } = command;
    let explained: EventExplanation =
        client.read(Method::GET, &format!("/v1/tenants/{tenant}/events/{id}"))?;
    print(&explained)
}

#[derive(clap::Subcommand)]
pub enum ExecCommand {
    /// Executions, newest first.
    List {
        #[arg(long)]
        runbook: Option<String>,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        event_id: Option<String>,
        /// Only executions with a denied capability call.
        #[arg(long)]
        denied: bool,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        cursor: Option<String>,
    },
    /// One execution's full record.
    Show { id: String },
    /// Cancel a queued, awaiting or running execution.
    Cancel { id: String },
    /// Run an execution's input again: the same version, or the one deployed
    /// now (`--deployed`, optionally from `--environment`).
    Rerun {
        id: String,
        #[arg(long)]
        deployed: bool,
        #[arg(long, requires = "deployed")]
        environment: Option<String>,
        #[arg(long)]
        dry_run: bool,
    },
    /// One execution with its transcript, for `wolfe replay --file`.
    Export {
        id: String,
        /// Write it here rather than to stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// One execution's capability trail.
    Trail {
        id: String,
        /// Only the denied calls.
        #[arg(long)]
        denied: bool,
        /// Only calls of one interface (http, secrets, kv, connectors).
        #[arg(long)]
        interface: Option<String>,
    },
}

pub(super) struct Client {
    http: reqwest::Client,
    conn: Connection,
    runtime: tokio::runtime::Runtime,
}

impl Client {
    pub(super) fn new(conn: Connection) -> anyhow::Result<Self> {
        Ok(Self {
            http: super::api_client(),
            conn,
            runtime: tokio::runtime::Runtime::new()?,
        })
    }

    pub(super) fn tenant(&self) -> anyhow::Result<&str> {
        self.conn
            .tenant
            .as_deref()
            .context("no tenant: pass --tenant or set WOLFE_TENANT")
    }

    fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let token = self
            .conn
            .token
            .as_deref()
            .context("no token: pass --token or set WOLFE_TOKEN")?;
        self.runtime.block_on(async {
            let response = request
                .bearer_auth(token)
                .send()
                .await
                .with_context(|| format!("cannot reach the server at {}", self.conn.server))?;
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if status.is_success() {
                Ok(body)
            } else {
                Err(ApiRefused {
                    status: status.as_u16(),
                    code: body["error"]["code"]
                        .as_str()
                        .unwrap_or("unknown")
                        .to_string(),
                    message: body["error"]["message"].as_str().unwrap_or("").to_string(),
                }
                .into())
            }
        })
    }

    /// A typed call: the body and the answer are the API's own types
    /// (`api::types`), so the CLI and the server cannot disagree on a field.
    pub(super) fn call<Body: serde::Serialize, Answer: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &Body,
    ) -> anyhow::Result<Answer> {
        typed(self.send(self.http.request(method, self.url(path)).json(body))?)
    }

    /// A typed call without a body (`()` for an answer without one).
    pub(super) fn read<Answer: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
    ) -> anyhow::Result<Answer> {
        typed(self.send(self.http.request(method, self.url(path)))?)
    }

    /// An execution with its transcript (`GET …/executions/{id}/export`).
    pub(super) fn export(&self, id: &str) -> anyhow::Result<ExecutionExport> {
        let tenant = self.tenant()?;
        self.read(
            Method::GET,
            &format!("/v1/tenants/{tenant}/executions/{id}/export"),
        )
    }

    /// A version's component, as bytes.
    pub(super) fn component(&self, name: &str, version: &str) -> anyhow::Result<Vec<u8>> {
        let tenant = self.tenant()?;
        let token = self
            .conn
            .token
            .as_deref()
            .context("no token: pass --token or set WOLFE_TOKEN")?;
        let url = self.url(&format!(
            "/v1/tenants/{tenant}/runbooks/{name}/versions/{version}/component"
        ));
        self.runtime.block_on(async {
            let response = self
                .http
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .with_context(|| format!("cannot reach the server at {}", self.conn.server))?;
            let status = response.status();
            if !status.is_success() {
                bail!("HTTP {status}: cannot download {name} {version}");
            }
            Ok(response.bytes().await?.to_vec())
        })
    }

    /// `GET path` with a query string encoded by reqwest (a value with `&`,
    /// `=` or spaces arrives as given).
    pub(super) fn query<Answer: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<Answer> {
        typed(self.send(self.http.get(self.url(path)).query(query))?)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.conn.server.trim_end_matches('/'))
    }
}

/// The server answered with an error; the CLI exits 1 with its code.
#[derive(Debug, thiserror::Error)]
#[error("HTTP {status} {code}: {message}")]
pub struct ApiRefused {
    pub status: u16,
    pub code: String,
    pub message: String,
}

fn typed<Answer: serde::de::DeserializeOwned>(answer: Value) -> anyhow::Result<Answer> {
    serde_json::from_value(answer).with_context(|| {
        format!(
            "the server's answer is not a {}",
            std::any::type_name::<Answer>()
        )
    })
}

pub(super) fn print(value: &impl serde::Serialize) -> anyhow::Result<Outcome> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(Outcome::Succeeded)
}

pub fn tenant(conn: Connection, command: TenantCommand) -> anyhow::Result<Outcome> {
    let client = Client::new(conn)?;
    match command {
        TenantCommand::Create { name } => {
            let created: crate::tenancy::Tenant =
                client.call(Method::POST, "/v1/tenants", &CreateTenant { name })?;
            print(&created)
        }
    }
}

pub fn token(conn: Connection, command: TokenCommand) -> anyhow::Result<Outcome> {
    let client = Client::new(conn)?;
    let tenant = client.tenant()?.to_string();
    match command {
        TokenCommand::Create { role } => {
            let role = serde_json::from_value(json!(role)).with_context(|| {
                format!("--role {role:?}: one of admin, author, operator, auditor, sender")
            })?;
            let created: CreatedToken = client.call(
                Method::POST,
                &format!("/v1/tenants/{tenant}/tokens"),
                &CreateToken { role },
            )?;
            print(&created)
        }
    }
}

/// `wolfe deploy DIR --env ENV`: build, upload, deploy.
pub fn deploy(conn: Connection, dir: &Path, env: &str) -> anyhow::Result<Outcome> {
    let client = Client::new(conn)?;
    let tenant = client.tenant()?.to_string();
    let built = build_runbook(dir, None)?;
    let manifest_text = std::fs::read_to_string(dir.join(crate::manifest::MANIFEST_FILE))?;
    let component = std::fs::read(&built.path)?;
    let form = reqwest::multipart::Form::new()
        .text("manifest", manifest_text)
        .part(
            "component",
            reqwest::multipart::Part::bytes(component).file_name("runbook.wasm"),
        );
    let url = format!(
        "{}/v1/tenants/{tenant}/runbooks",
        client.conn.server.trim_end_matches('/')
    );
    let uploaded: UploadedVersion = typed(client.send(client.http.post(url).multipart(form))?)?;
    let name = &built.manifest.name;
    let deployed: Deployment = client.call(
        Method::PUT,
        &format!("/v1/tenants/{tenant}/runbooks/{name}/environments/{env}"),
        &DeployRequest {
            version: built.manifest.version.clone(),
        },
    )?;
    print(&json!({"uploaded": uploaded, "deployed": deployed}))
}

/// `wolfe promote`: shows what the promotion changes in what the runbook
/// may reach, and asks before doing it (`--yes` skips the question; without
/// a terminal it is required).
pub fn promote(
    conn: Connection,
    name: &str,
    from: &str,
    to: &str,
    yes: bool,
    replay: Option<usize>,
) -> anyhow::Result<Outcome> {
    use std::io::IsTerminal;
    let client = Client::new(conn)?;
    let tenant = client.tenant()?.to_string();
    // Nothing in the target environment yet: compare with nothing deployed.
    let change: anyhow::Result<CapabilityDiff> = client.query(
        &format!("/v1/tenants/{tenant}/runbooks/{name}/diff"),
        &[("from", to.to_string()), ("to", from.to_string())],
    );
    match &change {
        Ok(diff) => eprintln!(
            "capability changes in {to} if promoted:\n{}",
            serde_json::to_string_pretty(diff)?
        ),
        Err(e) => eprintln!(
            "no capability diff ({e:#}): everything {name} may reach in {from} becomes live in {to}"
        ),
    }
    if let Some(last) = replay {
        show_replay(&client, &tenant, name, from, to, last)?;
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!("promotion needs confirmation: pass --yes when not on a terminal");
        }
        eprint!("promote {name} from {from} to {to}? [y/N] ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            bail!("promotion cancelled");
        }
    }
    let environment = |name: &str, flag: &str| {
        name.parse()
            .map_err(|e: String| anyhow::anyhow!("{flag} {name:?}: {e}"))
    };
    let body = PromoteRequest {
        from: environment(from, "--from")?,
        to: environment(to, "--to")?,
    };
    let promoted: Deployment = client.call(
        Method::POST,
        &format!("/v1/tenants/{tenant}/runbooks/{name}/promote"),
        &body,
    )?;
    print(&promoted)
}

/// `wolfe promote --replay N`: the version in `from` replayed against the
/// newest `last` recorded executions of `to`, shown before the question.
fn show_replay(
    client: &Client,
    tenant: &str,
    name: &str,
    from: &str,
    to: &str,
    last: usize,
) -> anyhow::Result<()> {
    let detail: RunbookDetail = client.read(
        Method::GET,
        &format!("/v1/tenants/{tenant}/runbooks/{name}"),
    )?;
    let version = detail
        .deployments
        .get(from)
        .with_context(|| format!("nothing of {name} is deployed to {from}"))?
        .clone();
    let body = ReplayRequest {
        version: version.clone(),
        from_environment: to
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--to {to:?}: {e}"))?,
        last,
    };
    let run: ReplayRun = client.call(
        Method::POST,
        &format!("/v1/tenants/{tenant}/runbooks/{name}/replay"),
        &body,
    )?;
    let s = &run.summary;
    eprintln!(
        "{name} {version} replayed against the last {} recorded executions in {to}: \
         {} identical, {} output differs, {} calls differ, {} status differs, {} not replayable",
        run.results.len(),
        s.identical,
        s.output_differs,
        s.calls_differ,
        s.status_differs,
        s.not_replayable
    );
    for result in &run.results {
        match (&result.verdict, &result.not_replayable) {
            (Some(Verdict::Identical), _) => {}
            (Some(verdict), _) => eprintln!(
                "  {}: {}\n    {}",
                result.execution,
                verdict.name(),
                serde_json::to_string(verdict)?
            ),
            (None, Some(why)) => eprintln!("  {}: not replayable: {why}", result.execution),
            (None, None) => {}
        }
    }
    Ok(())
}

/// `wolfe rule apply FILE` / `wolfe source apply FILE`.
pub fn apply(conn: Connection, kind: &str, file: &Path) -> anyhow::Result<Outcome> {
    let client = Client::new(conn)?;
    let tenant = client.tenant()?.to_string();
    let (name, spec) = read_spec(file)?;
    let path = format!("/v1/tenants/{tenant}/{kind}/{name}");
    // The file goes as written (the server names what is wrong in it); the
    // answer is the stored rule or source.
    if kind == "rules" {
        let rule: crate::rules::Rule = client.call(Method::PUT, &path, &spec)?;
        print(&rule)
    } else {
        let source: crate::api::types::ShownSource = client.call(Method::PUT, &path, &spec)?;
        print(&source)
    }
}

pub fn exec(conn: Connection, command: ExecCommand) -> anyhow::Result<Outcome> {
    let client = Client::new(conn)?;
    let tenant = client.tenant()?.to_string();
    match command {
        ExecCommand::List {
            runbook,
            status,
            event_id,
            denied,
            limit,
            cursor,
        } => {
            let mut query = vec![("limit", limit.to_string())];
            if denied {
                query.push(("denied", "true".into()));
            }
            for (k, v) in [
                ("runbook", runbook),
                ("status", status),
                ("event_id", event_id),
                ("cursor", cursor),
            ] {
                if let Some(v) = v {
                    query.push((k, v));
                }
            }
            let page: ExecutionPage =
                client.query(&format!("/v1/tenants/{tenant}/executions"), &query)?;
            print(&page)
        }
        ExecCommand::Show { id } => {
            let record: ExecutionRecord = client.read(
                Method::GET,
                &format!("/v1/tenants/{tenant}/executions/{id}"),
            )?;
            print(&record)
        }
        ExecCommand::Cancel { id } => {
            let cancelled: CancelResult = client.read(
                Method::POST,
                &format!("/v1/tenants/{tenant}/executions/{id}/cancel"),
            )?;
            print(&cancelled)
        }
        ExecCommand::Rerun {
            id,
            deployed,
            environment,
            dry_run,
        } => {
            let environment = environment
                .map(|env| {
                    env.parse()
                        .map_err(|e: String| anyhow::anyhow!("--environment {env:?}: {e}"))
                })
                .transpose()?;
            let body = RerunRequest {
                version: Some(if deployed { "deployed" } else { "same" }.into()),
                environment,
                dry_run,
            };
            let accepted: RerunAccepted = client.call(
                Method::POST,
                &format!("/v1/tenants/{tenant}/executions/{id}/rerun"),
                &body,
            )?;
            print(&accepted)
        }
        ExecCommand::Export { id, output } => {
            let export = client.export(&id)?;
            match output {
                Some(file) => {
                    std::fs::write(&file, serde_json::to_vec_pretty(&export)?)
                        .with_context(|| format!("cannot write {}", file.display()))?;
                    Ok(Outcome::Succeeded)
                }
                None => print(&export),
            }
        }
        ExecCommand::Trail {
            id,
            denied,
            interface,
        } => {
            let mut query = Vec::new();
            if denied {
                query.push(("denied", "true".to_string()));
            }
            if let Some(interface) = interface {
                query.push(("interface", interface));
            }
            let trail: Trail = client.query(
                &format!("/v1/tenants/{tenant}/executions/{id}/trail"),
                &query,
            )?;
            print(&trail)
        }
    }
}

pub fn secret(conn: Connection, command: SecretCommand) -> anyhow::Result<Outcome> {
    let client = Client::new(conn)?;
    let tenant = client.tenant()?.to_string();
    match command {
        SecretCommand::Set { name, from_file } => {
            let mut value = match &from_file {
                Some(file) => std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read {}", file.display()))?,
                None => std::io::read_to_string(std::io::stdin())
                    .context("cannot read the secret from standard input")?,
            };
            // One trailing newline is the file's or the terminal's, not the secret's.
            if value.ends_with('\n') {
                value.pop();
                if value.ends_with('\r') {
                    value.pop();
                }
            }
            let stored: SecretInfo = client.call(
                Method::PUT,
                &format!("/v1/tenants/{tenant}/secrets/{name}"),
                &PutSecret { value },
            )?;
            print(&stored)
        }
        SecretCommand::List => {
            let secrets: SecretList =
                client.read(Method::GET, &format!("/v1/tenants/{tenant}/secrets"))?;
            print(&secrets)
        }
        SecretCommand::Delete { name } => {
            client.read::<()>(
                Method::DELETE,
                &format!("/v1/tenants/{tenant}/secrets/{name}"),
            )?;
            print(&json!({ "deleted": name }))
        }
    }
}

pub fn audit(conn: Connection, command: AuditCommand) -> anyhow::Result<Outcome> {
    let client = Client::new(conn)?;
    let tenant = client.tenant()?.to_string();
    let base = format!("/v1/tenants/{tenant}");
    match command {
        AuditCommand::Log {
            after,
            limit,
            action,
        } => {
            let mut query = vec![("after", after.to_string()), ("limit", limit.to_string())];
            if let Some(action) = action {
                query.push(("action", action));
            }
            let page: AuditPage = client.query(&format!("{base}/audit"), &query)?;
            print(&page)
        }
        AuditCommand::Verify => {
            let verdict: AuditVerification =
                client.read(Method::GET, &format!("{base}/audit/verify"))?;
            print(&verdict)?;
            Ok(if verdict.ok {
                Outcome::Succeeded
            } else {
                Outcome::RunbookFailed
            })
        }
        AuditCommand::Report => {
            let report: CapabilityReport = client.read(Method::GET, &format!("{base}/report"))?;
            print(&report)
        }
        AuditCommand::Diff { name, from, to } => {
            let diff: CapabilityDiff = client.query(
                &format!("{base}/runbooks/{name}/diff"),
                &[("from", from), ("to", to)],
            )?;
            print(&diff)
        }
        AuditCommand::Reach {
            host,
            secret,
            connector,
        } => {
            let query = match (host, secret, connector) {
                (Some(h), _, _) => ("host", h),
                (None, Some(s), _) => ("secret", s),
                (None, None, Some(c)) => ("connector", c),
                (None, None, None) => bail!("pass --host, --secret or --connector"),
            };
            let reach: ReachReport = client.query(&format!("{base}/reach"), &[query])?;
            print(&reach)
        }
    }
}
