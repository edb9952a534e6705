//! The `wolfe` command line: argument parsing and dispatch to the library.
//! Exit codes: 0 success, 1 the runbook did not succeed or the server
//! refused the request, 2 usage or configuration error (one line on stderr).

mod client;
mod replay;
mod run;
mod safety;
mod serve;
mod store;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "wolfe",
    version,
    about = "Event-driven runbook automation on WebAssembly"
)]
struct Cli {
    /// How log lines are written to stderr: `text` for people, `json` (one
    /// object per line, span fields such as tenant, execution and event ids
    /// included) for a log pipeline. The level is set by WOLFE_LOG.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "WOLFE_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Build a runbook folder into a WebAssembly component.
    Build {
        /// The runbook folder (with runbook.toml).
        dir: PathBuf,
        /// Where to write the component [default: DIR/runbook.wasm].
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Write a runnable runbook template: manifest, source, README, sample event.
    New {
        /// Folder to create; its name is the runbook's name.
        dir: PathBuf,
        #[arg(long, value_parser = ["rust", "python", "js"])]
        lang: String,
        /// The Rust SDK to depend on [default: this repository's sdk/rust].
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Run a runbook once, locally, and print its execution record as JSON.
    Run(run::RunArgs),
    /// Run a recorded execution again from its transcript, offline, and say
    /// whether it did the same: identical, calls differ, status differs or
    /// output differs. Exit 0 only for identical.
    Replay(replay::ReplayArgs),
    /// Serve the API: tenants, runbooks, rules, webhooks, executions.
    Serve(serve::ServeArgs),
    /// Internal: compile a component to a precompiled artifact (run by
    /// `wolfe serve` in a child process).
    #[command(name = "__precompile", hide = true)]
    Precompile {
        #[arg(long, conflicts_with = "no_pooling")]
        pooling: bool,
        #[arg(long)]
        no_pooling: bool,
        input: PathBuf,
        output: PathBuf,
    },
    /// Internal: build a runbook folder without installing anything and
    /// print one JSON line (run by `wolfe serve`, isolated, for builds
    /// from source).
    #[command(name = "__build", hide = true)]
    ServerBuild { dir: PathBuf, output: PathBuf },
    /// Tenants (client).
    Tenant {
        #[command(flatten)]
        conn: client::Connection,
        #[command(subcommand)]
        command: client::TenantCommand,
    },
    /// API tokens (client).
    Token {
        #[command(flatten)]
        conn: client::Connection,
        #[command(subcommand)]
        command: client::TokenCommand,
    },
    /// Build a runbook folder, upload it, and deploy it to an environment (client).
    Deploy {
        #[command(flatten)]
        conn: client::Connection,
        dir: PathBuf,
        #[arg(long, default_value = "dev")]
        env: String,
    },
    /// Promote a runbook's deployed version to the next environment (client).
    Promote {
        #[command(flatten)]
        conn: client::Connection,
        name: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// Do not ask for confirmation after showing the capability diff.
        #[arg(long)]
        yes: bool,
        /// Before asking, replay the version in --from against the newest N
        /// recorded executions in --to and show the verdicts.
        #[arg(long, value_name = "N")]
        replay: Option<usize>,
    },
    /// Audit log, capability report, diffs and reverse look-ups (client).
    Audit {
        #[command(flatten)]
        conn: client::Connection,
        #[command(subcommand)]
        command: client::AuditCommand,
    },
    /// Rules (client): apply, or test against a sample event.
    Rule {
        #[command(flatten)]
        conn: client::Connection,
        #[command(subcommand)]
        command: client::RuleCommand,
    },
    /// Events (client): why did (or didn't) an event run anything.
    Event {
        #[command(flatten)]
        conn: client::Connection,
        #[command(subcommand)]
        command: client::EventCommand,
    },
    /// Webhook sources (client).
    Source {
        #[command(flatten)]
        conn: client::Connection,
        #[command(subcommand)]
        command: client::ApplyCommand,
    },
    /// Tenant connectors (client): `wolfe connector apply FILE`.
    Connector {
        #[command(flatten)]
        conn: client::Connection,
        #[command(subcommand)]
        command: client::ApplyCommand,
    },
    /// Tenant secrets, write-only (client).
    Secret {
        #[command(flatten)]
        conn: client::Connection,
        #[command(subcommand)]
        command: client::SecretCommand,
    },
    /// Re-seal every tenant secret under a new master key (offline: stop
    /// `wolfe serve` first). Resumable: secrets already under the new key are
    /// skipped. The key file is then replaced by the new key.
    RotateSecretsKey {
        /// The server's data directory.
        #[arg(long)]
        data: PathBuf,
        /// The server's store, when it is not sled under --data:
        /// postgres://USER@HOST:PORT/DB.
        #[arg(long, env = "WOLFE_STORE")]
        store: Option<String>,
        /// The new key (64 hex digits), e.g. from `openssl rand -hex 32`.
        #[arg(long)]
        new_key_file: PathBuf,
        /// The current key file [default: DATA/secrets.key; WOLFE_SECRETS_KEY
        /// takes precedence].
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
    /// The store itself, offline (stop `wolfe serve` first):
    /// `wolfe store copy --from DATA_DIR --to postgres://USER@HOST:PORT/DB`.
    Store {
        #[command(subcommand)]
        command: store::StoreCommand,
    },
    /// Silences: suppress matching events for a maintenance window (client).
    Silence {
        #[command(flatten)]
        conn: client::Connection,
        #[command(subcommand)]
        command: safety::SilenceCommand,
    },
    /// Pause the tenant's automation, or one runbook's (client).
    Pause {
        #[command(flatten)]
        conn: client::Connection,
        #[arg(long)]
        runbook: Option<String>,
    },
    /// Resume what `wolfe pause` paused (client).
    Resume {
        #[command(flatten)]
        conn: client::Connection,
        #[arg(long)]
        runbook: Option<String>,
    },
    /// Approve an execution awaiting approval: it runs (client).
    Approve {
        #[command(flatten)]
        conn: client::Connection,
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Reject an execution awaiting approval: it is suppressed (client).
    Reject {
        #[command(flatten)]
        conn: client::Connection,
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Why automation is holding back: pauses, silences, open circuits,
    /// approvals and every policy's current windows (client).
    Safety {
        #[command(flatten)]
        conn: client::Connection,
    },
    /// Executions (client).
    Exec {
        #[command(flatten)]
        conn: client::Connection,
        #[command(subcommand)]
        command: client::ExecCommand,
    },
}

/// Outcome of a command, mapped to the process exit code.
pub enum Outcome {
    Succeeded,
    RunbookFailed,
}

/// An HTTP client for Wolfe's API that keeps an idle connection for 2 s
/// only: well under the time `wolfe serve` keeps one open
/// (`header_read_timeout_secs`, 30 s by default), so a request sent after a
/// long pause (a build between two calls) never goes out on a connection the
/// server is closing.
pub fn api_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Entry point of the `wolfe` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let result = match cli.command {
        Command::Build { dir, output } => build(&dir, output.as_deref()),
        Command::New { dir, lang, sdk } => new(&dir, &lang, sdk),
        Command::Run(args) => run::run(args),
        Command::Replay(args) => replay::replay(args),
        Command::Serve(args) => serve::serve(args),
        Command::Precompile {
            pooling,
            no_pooling,
            input,
            output,
        } => crate::sandbox::cache::precompile_to_file(pooling || !no_pooling, &input, &output)
            .map(|()| Outcome::Succeeded),
        Command::ServerBuild { dir, output } => Ok(if crate::build::server::child(&dir, &output) {
            Outcome::Succeeded
        } else {
            Outcome::RunbookFailed
        }),
        Command::Tenant { conn, command } => client::tenant(conn, command),
        Command::Token { conn, command } => client::token(conn, command),
        Command::Deploy { conn, dir, env } => client::deploy(conn, &dir, &env),
        Command::Promote {
            conn,
            name,
            from,
            to,
            yes,
            replay,
        } => client::promote(conn, &name, &from, &to, yes, replay),
        Command::Audit { conn, command } => client::audit(conn, command),
        Command::Rule {
            conn,
            command: client::RuleCommand::Apply { file },
        } => client::apply(conn, "rules", &file),
        Command::Rule {
            conn,
            command: client::RuleCommand::Test { file, event },
        } => client::rule_test(conn, &file, &event),
        Command::Event { conn, command } => client::event(conn, command),
        Command::Source {
            conn,
            command: client::ApplyCommand::Apply { file },
        } => client::apply(conn, "sources", &file),
        Command::Exec { conn, command } => client::exec(conn, command),
        Command::Silence { conn, command } => safety::silence(conn, command),
        Command::Pause { conn, runbook } => safety::pause(conn, runbook, true),
        Command::Resume { conn, runbook } => safety::pause(conn, runbook, false),
        Command::Approve { conn, id, comment } => safety::decide(conn, &id, comment, true),
        Command::Reject { conn, id, comment } => safety::decide(conn, &id, comment, false),
        Command::Safety { conn } => safety::overview(conn),
        Command::Secret { conn, command } => client::secret(conn, command),
        Command::Connector {
            conn,
            command: client::ApplyCommand::Apply { file },
        } => client::apply(conn, "connectors", &file),
        Command::RotateSecretsKey {
            data,
            store,
            new_key_file,
            key_file,
        } => rotate_secrets_key(&data, store.as_deref(), &new_key_file, key_file),
        Command::Store { command } => store::store(command),
    };
    match result {
        Ok(Outcome::Succeeded) => ExitCode::SUCCESS,
        Ok(Outcome::RunbookFailed) => ExitCode::from(1),
        Err(e) => {
            eprintln!("wolfe: {}", one_line(&format!("{e:#}")));
            // The server refused the request: 1, like a failed run. Anything
            // else (usage, configuration, unreachable server): 2.
            if e.downcast_ref::<client::ApiRefused>().is_some() {
                ExitCode::from(1)
            } else {
                ExitCode::from(2)
            }
        }
    }
}

fn rotate_secrets_key(
    data: &std::path::Path,
    store: Option<&str>,
    new_key_file: &std::path::Path,
    key_file: Option<PathBuf>,
) -> anyhow::Result<Outcome> {
    use anyhow::Context;
    let key_file = key_file.unwrap_or_else(|| data.join("secrets.key"));
    let location = crate::store::StoreLocation::parse(store).map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Runtime::new().context("failed to start the async runtime")?;
    let rotation = runtime.block_on(async {
        let store = crate::store::Store::open(&location, data)
            .await
            .with_context(|| {
                format!(
                    "failed to open the store in {} (is wolfe serve still running?)",
                    data.display()
                )
            })?;
        crate::secrets::rotate(&store, &key_file, new_key_file).await
    })?;
    println!("{}", serde_json::to_string_pretty(&rotation)?);
    Ok(Outcome::Succeeded)
}

fn build(dir: &std::path::Path, output: Option<&std::path::Path>) -> anyhow::Result<Outcome> {
    let built = crate::build::build_runbook(dir, output)?;
    println!(
        "{}",
        serde_json::json!({
            "name": built.manifest.name,
            "version": built.manifest.version,
            "language": built.manifest.language,
            "component": built.path,
            "sha256": built.sha256,
            "size": built.size,
        })
    );
    Ok(Outcome::Succeeded)
}

fn new(dir: &std::path::Path, lang: &str, sdk: Option<PathBuf>) -> anyhow::Result<Outcome> {
    let language = match lang {
        "rust" => crate::manifest::Language::Rust,
        "js" => crate::manifest::Language::Js,
        _ => crate::manifest::Language::Python,
    };
    let sdk = sdk.unwrap_or_else(crate::build::template::default_rust_sdk);
    let written = crate::build::template::new_runbook(dir, language, &sdk)?;
    println!("{}", serde_json::json!({ "created": written }));
    eprintln!(
        "next: wolfe run {} --event-file {} --allow-cidr 127.0.0.1/32",
        dir.display(),
        dir.join("event.json").display()
    );
    Ok(Outcome::Succeeded)
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WOLFE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        // The current span's fields at the top of each line's `span`, and
        // every enclosing span's in `spans`.
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
}

fn one_line(text: &str) -> String {
    text.lines().map(str::trim).collect::<Vec<_>>().join(" ")
}
