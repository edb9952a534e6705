//! The `secrets` capability: a runbook reads only the secret names its
//! manifest declares. Values come from a [`SecretsProvider`] (for `wolfe run`,
//! the command line or a file). A value read by an execution is remembered so
//! the sandbox can redact it from the output, logs and trail it records; the
//! trail itself only ever holds names.

use crate::capabilities::describe;
use crate::capabilities::trail::SharedTrail;
use crate::capabilities::transcript::{
    Recorded, Tape, answer_result, result_size, result_value, scrub_error, secret_stand_in,
    text_size,
};
use crate::wit::wolfe::runbook::secrets::Host;
use crate::wit::wolfe::runbook::types::Error as GuestError;
use std::collections::BTreeSet;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Where secret values come from.
#[async_trait::async_trait]
pub trait SecretsProvider: Send + Sync {
    /// The value of `name`, `None` when this host has no such secret, or an
    /// error saying why it cannot be read (never containing the value).
    async fn get(&self, name: &str) -> Result<Option<String>, String>;
}

/// Secrets held in memory: `wolfe run --secret K=V` and `--secrets-file`.
#[derive(Default, Clone)]
pub struct StaticSecrets {
    values: HashMap<String, String>,
}

impl std::fmt::Debug for StaticSecrets {
    // Never print values, even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticSecrets")
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl StaticSecrets {
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values.insert(name.into(), value.into());
    }

    /// Parses one `NAME=VALUE`.
    pub fn insert_pair(&mut self, pair: &str) -> anyhow::Result<()> {
        let (name, value) = pair
            .split_once('=')
            .filter(|(n, _)| !n.trim().is_empty())
            .ok_or_else(|| {
                anyhow::anyhow!("secret must be NAME=VALUE, got a value without a name")
            })?;
        self.insert(name.trim(), value);
        Ok(())
    }

    /// Reads a file of `NAME=VALUE` lines; blank lines and `#` comments are
    /// skipped. Values are taken verbatim after the first `=`.
    pub fn load_file(&mut self, path: &Path) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read secrets file {}: {e}", path.display()))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            self.insert_pair(line)
                .map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), i + 1))?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl SecretsProvider for StaticSecrets {
    async fn get(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self.values.get(name).cloned())
    }
}

/// Reads secret values for one execution and remembers each value read, so
/// the sandbox can redact it from everything it records. Shared by the
/// `secrets` interface and the connectors (their credentials).
#[derive(Clone)]
pub struct SecretReader {
    provider: Arc<dyn SecretsProvider>,
    revealed: Arc<Mutex<Vec<String>>>,
}

impl SecretReader {
    pub fn new(provider: Arc<dyn SecretsProvider>) -> Self {
        Self {
            provider,
            revealed: Arc::default(),
        }
    }

    /// The value of `name` (see [`SecretsProvider::get`]), remembered.
    pub async fn read(&self, name: &str) -> Result<Option<String>, String> {
        let value = self.provider.get(name).await?;
        if let Some(value) = &value {
            self.remember(value.clone());
        }
        Ok(value)
    }

    /// Remembers a value derived from a secret (an encoded credential) so it
    /// is redacted too.
    pub fn remember(&self, value: String) {
        self.revealed
            .lock()
            .expect("revealed secrets lock poisoned")
            .push(value);
    }

    /// Every value read so far.
    pub fn revealed(&self) -> Vec<String> {
        self.revealed
            .lock()
            .expect("revealed secrets lock poisoned")
            .clone()
    }
}

/// The `secrets` interface's per-execution state.
pub struct SecretsState {
    declared: BTreeSet<String>,
    reader: SecretReader,
    trail: SharedTrail,
    tape: Tape,
}

impl SecretsState {
    pub fn new(
        declared: BTreeSet<String>,
        reader: SecretReader,
        trail: SharedTrail,
        tape: Tape,
    ) -> Self {
        Self {
            declared,
            reader,
            trail,
            tape,
        }
    }
}

impl Host for SecretsState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, GuestError>> {
        if let Some(answer) = self.tape.replay(
            "secrets",
            "get",
            || SecretCall::request_value(&name),
            || self.undeclared(&name),
        ) {
            // A transcript holds the value's length, never the value; the
            // stand-in is redacted from the replay's record like a value.
            let result = answer_result(&answer, |v| {
                let len = v.get("secret_bytes")?.as_u64()?;
                Some(secret_stand_in(usize::try_from(len).ok()?))
            });
            if let Ok(stand_in) = &result {
                self.reader.remember(stand_in.clone());
                self.tape.remember_stand_in(stand_in.clone());
            }
            return Ok(result);
        }
        let result = self.read(&name).await;
        // The value never enters the transcript, however short it is.
        if self.tape.is_on() {
            self.tape.record(SecretCall {
                name,
                answer: result.as_ref().map(String::len).map_err(Clone::clone),
            });
        }
        Ok(result)
    }
}

/// A `secrets` call as a transcript keeps it: the value's length only.
#[derive(Debug)]
struct SecretCall {
    name: String,
    answer: Result<usize, GuestError>,
}

impl SecretCall {
    fn request_value(name: &str) -> serde_json::Value {
        serde_json::json!({ "name": name })
    }
}

impl Recorded for SecretCall {
    fn interface(&self) -> &'static str {
        "secrets"
    }

    fn operation(&self) -> &'static str {
        "get"
    }

    fn request(&self) -> serde_json::Value {
        Self::request_value(&self.name)
    }

    fn answer(&self) -> serde_json::Value {
        result_value(
            &self.answer,
            |len| serde_json::json!({ "secret_bytes": len }),
        )
    }

    fn scrub(&mut self, scrub: &dyn Fn(&mut String)) {
        scrub(&mut self.name);
        if let Err(e) = &mut self.answer {
            scrub_error(e, scrub);
        }
    }

    fn size(&self) -> usize {
        text_size(&self.name) + result_size(&self.answer, |_| 36)
    }
}

impl SecretsState {
    /// The refusal of a secret the manifest does not declare.
    fn undeclared(&self, name: &str) -> Option<GuestError> {
        (!self.declared.contains(name))
            .then(|| GuestError::Denied(format!("secret {name:?} is not declared in the manifest")))
    }

    async fn read(&mut self, name: &str) -> Result<String, GuestError> {
        let started = Instant::now();
        let (allowed, result) = if let Some(refused) = self.undeclared(name) {
            (false, Err(refused))
        } else {
            match self.reader.read(name).await {
                Ok(Some(value)) => (true, Ok(value)),
                Err(why) => (true, Err(GuestError::Failed(why))),
                Ok(None) => (
                    true,
                    Err(GuestError::Failed(format!(
                        "secret {name:?} is not set on this host"
                    ))),
                ),
            }
        };
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err(e) => describe(e),
        };
        self.trail
            .record("secrets", "get", name, allowed, outcome, started);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pairs_and_files_parse() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.env");
        std::fs::write(&file, "# comment\n\nA=1\nB = x=y\n").unwrap();
        let mut s = StaticSecrets::default();
        s.load_file(&file).unwrap();
        s.insert_pair("C=").unwrap();
        assert_eq!(s.get("A").await.unwrap().as_deref(), Some("1"));
        assert_eq!(s.get("B").await.unwrap().as_deref(), Some(" x=y"));
        assert_eq!(s.get("C").await.unwrap().as_deref(), Some(""));
        assert!(s.insert_pair("=v").is_err());
        assert!(s.insert_pair("novalue").is_err());
        assert!(!format!("{s:?}").contains("x=y"));
    }
}
