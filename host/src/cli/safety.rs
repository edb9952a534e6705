//! The on-call's brakes from the command line: `wolfe silence add|list|
//! expire`, `wolfe pause|resume [--runbook NAME]`, `wolfe approve|reject
//! ID`, and `wolfe safety` (why automation is holding back).

use super::Outcome;
use super::client::{Client, Connection, print};
use crate::api::types::{Decision, SafetyOverview, ShownSilence, SilenceList};
use crate::dispatch::record::ExecutionRecord;
use crate::safety::settings::Silence;
use crate::store::model::rule::Criterion;
use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(clap::Subcommand)]
pub enum SilenceCommand {
    /// Suppress matching events for a while (a maintenance window).
    Add {
        name: String,
        /// `PATH=VALUE`, `PATH!=VALUE` or `PATH=~REGEX` over the event
        /// envelope, e.g. `data.labels.service=checkout`; all must match.
        /// VALUE is JSON when it parses as JSON, else a string.
        #[arg(long = "match", required = true)]
        matchers: Vec<String>,
        /// How long from now (or from --starts-at): 90s, 30m, 2h, 1d.
        #[arg(long, conflicts_with = "ends_at")]
        duration: Option<String>,
        /// RFC 3339 start [default: now].
        #[arg(long)]
        starts_at: Option<String>,
        /// RFC 3339 end.
        #[arg(long)]
        ends_at: Option<String>,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Every silence, active or not.
    List,
    /// End a silence now.
    Expire { name: String },
}

pub fn silence(conn: Connection, command: SilenceCommand) -> anyhow::Result<Outcome> {
    let client = Client::new(conn)?;
    let tenant = client.tenant()?.to_string();
    match command {
        SilenceCommand::Add {
            name,
            matchers,
            duration,
            starts_at,
            ends_at,
            comment,
        } => {
            let starts = match &starts_at {
                Some(s) => OffsetDateTime::parse(s, &Rfc3339)
                    .with_context(|| format!("--starts-at {s:?} is not an RFC 3339 time"))?,
                None => OffsetDateTime::now_utc(),
            };
            let ends_at = match (ends_at, duration) {
                (Some(e), _) => e,
                (None, Some(d)) => (starts + parse_duration(&d)?).format(&Rfc3339)?,
                (None, None) => bail!("give --duration or --ends-at"),
            };
            let matchers = matchers
                .iter()
                .map(|m| parse_matcher(m))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let silence = Silence {
                starts_at: starts.format(&Rfc3339)?,
                ends_at,
                matchers,
                comment,
                // The server fills it in with the token that sets it.
                created_by: String::new(),
            };
            let stored: ShownSilence = client.call(
                Method::PUT,
                &format!("/v1/tenants/{tenant}/silences/{name}"),
                &silence,
            )?;
            print(&stored)
        }
        SilenceCommand::List => {
            let silences: SilenceList =
                client.read(Method::GET, &format!("/v1/tenants/{tenant}/silences"))?;
            print(&silences)
        }
        SilenceCommand::Expire { name } => {
            client.read::<()>(
                Method::DELETE,
                &format!("/v1/tenants/{tenant}/silences/{name}"),
            )?;
            print(&json!({"expired": name}))
        }
    }
}

/// `wolfe pause|resume [--runbook NAME]`.
pub fn pause(conn: Connection, runbook: Option<String>, pause: bool) -> anyhow::Result<Outcome> {
    let client = Client::new(conn)?;
    let tenant = client.tenant()?.to_string();
    let verb = if pause { "pause" } else { "resume" };
    let path = match runbook {
        Some(r) => format!("/v1/tenants/{tenant}/runbooks/{r}/{verb}"),
        None => format!("/v1/tenants/{tenant}/{verb}"),
    };
    // Both answers are `{"paused"}` views; printed as the server gave them.
    let answer: Value = client.read(Method::POST, &path)?;
    print(&answer)
}

/// `wolfe approve|reject ID [--comment TEXT]`.
pub fn decide(
    conn: Connection,
    id: &str,
    comment: Option<String>,
    approve: bool,
) -> anyhow::Result<Outcome> {
    let client = Client::new(conn)?;
    let tenant = client.tenant()?.to_string();
    let verb = if approve { "approve" } else { "reject" };
    let decided: ExecutionRecord = client.call(
        Method::POST,
        &format!("/v1/tenants/{tenant}/executions/{id}/{verb}"),
        &Decision { comment },
    )?;
    print(&decided)
}

/// `wolfe safety`: pauses, silences, open circuits, approvals, windows.
pub fn overview(conn: Connection) -> anyhow::Result<Outcome> {
    let client = Client::new(conn)?;
    let tenant = client.tenant()?.to_string();
    let overview: SafetyOverview =
        client.read(Method::GET, &format!("/v1/tenants/{tenant}/safety"))?;
    print(&overview)
}

/// `90s`, `30m`, `2h`, `1d`.
fn parse_duration(text: &str) -> anyhow::Result<time::Duration> {
    let (number, unit) = text.split_at(text.trim_end_matches(char::is_alphabetic).len());
    let n: i64 = number
        .parse()
        .with_context(|| format!("--duration {text:?}: expected a number and s, m, h or d"))?;
    Ok(match unit {
        "s" => time::Duration::seconds(n),
        "m" => time::Duration::minutes(n),
        "h" => time::Duration::hours(n),
        "d" => time::Duration::days(n),
        _ => bail!("--duration {text:?}: the unit is s, m, h or d"),
    })
}

/// `PATH=VALUE`, `PATH!=VALUE`, `PATH=~REGEX` → a criterion.
fn parse_matcher(text: &str) -> anyhow::Result<Criterion> {
    let (path, op, value) = if let Some((p, v)) = text.split_once("=~") {
        (p, "matches", Value::String(v.to_string()))
    } else if let Some((p, v)) = text.split_once("!=") {
        (p, "ne", json_or_string(v))
    } else if let Some((p, v)) = text.split_once('=') {
        (p, "eq", json_or_string(v))
    } else {
        bail!("--match {text:?}: expected PATH=VALUE, PATH!=VALUE or PATH=~REGEX");
    };
    Ok(serde_json::from_value(
        json!({"path": path.trim(), "op": op, "value": value}),
    )?)
}

fn json_or_string(v: &str) -> Value {
    serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_and_durations_parse() {
        assert_eq!(
            json!(parse_matcher("data.labels.service=checkout").unwrap()),
            json!({"path": "data.labels.service", "op": "eq", "value": "checkout"})
        );
        assert_eq!(
            json!(parse_matcher("data.n!=3").unwrap()),
            json!({"path": "data.n", "op": "ne", "value": 3})
        );
        assert_eq!(
            json!(parse_matcher("type=~^alert").unwrap())["op"],
            "matches"
        );
        assert!(parse_matcher("nothing").is_err());
        assert_eq!(parse_duration("2h").unwrap(), time::Duration::hours(2));
        assert!(parse_duration("2w").is_err());
        assert!(parse_duration("h").is_err());
    }
}
