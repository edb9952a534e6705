//! Tenant secrets under `wolfe serve`: written through the API (never read
//! back), sealed at rest by the [`vault`] under the server's master key, and
//! opened only when a runbook that declares the name asks for it.

pub mod vault;

use crate::capabilities::secrets::SecretsProvider;
use crate::store::Store;
use anyhow::{Context, bail};
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;
use vault::Vault;

/// The environment variable that holds the master key (64 hex digits); it
/// takes precedence over the key file.
pub const KEY_ENV: &str = "WOLFE_SECRETS_KEY";

/// The server's master key: `WOLFE_SECRETS_KEY`, else the key file, which
/// is created (mode 0600, with a warning to back it up) when missing.
pub fn load_vault(key_file: &Path) -> anyhow::Result<Vault> {
    if let Ok(hex) = std::env::var(KEY_ENV) {
        return Vault::from_hex(&hex).with_context(|| format!("invalid {KEY_ENV}"));
    }
    let (vault, created) = Vault::load_or_create(key_file)?;
    if created {
        tracing::warn!(
            path = %key_file.display(),
            key_id = vault.key_id(),
            "created a new secrets master key; back it up: tenant secrets cannot be read without it"
        );
    }
    Ok(vault)
}

/// One tenant's secrets, as an execution of that tenant sees them.
pub struct TenantSecrets {
    store: Store,
    vault: Arc<Vault>,
    tenant: String,
}

impl TenantSecrets {
    pub fn new(store: Store, vault: Arc<Vault>, tenant: &str) -> Self {
        Self {
            store,
            vault,
            tenant: tenant.to_string(),
        }
    }
}

#[async_trait::async_trait]
impl SecretsProvider for TenantSecrets {
    async fn get(&self, name: &str) -> Result<Option<String>, String> {
        let Some(record) = self
            .store
            .get_secret(&self.tenant, name)
            .await
            .map_err(|e| format!("secret {name:?} cannot be read: {e}"))?
        else {
            return Ok(None);
        };
        self.vault
            .open(&self.tenant, name, &record.sealed)
            .map(Some)
            .map_err(|e| {
                tracing::error!(tenant = %self.tenant, secret = name, error = %e, "secret cannot be opened");
                format!("secret {name:?} cannot be read: {e}")
            })
    }
}

/// What a key rotation did.
#[derive(Debug, Serialize)]
pub struct Rotation {
    /// Secrets re-sealed under the new key.
    pub rotated: usize,
    /// Secrets that were under the new key already (an earlier, interrupted run).
    pub already_rotated: usize,
    pub old_key_id: String,
    pub new_key_id: String,
    /// Where the new key now is, unless it came from `WOLFE_SECRETS_KEY`.
    pub key_file: Option<String>,
}

/// Re-seals every secret in `store` with the key in `new_key_file`, then
/// makes that key the current one: the key file is replaced (when the old
/// key came from `WOLFE_SECRETS_KEY`, the operator sets it to the new key
/// instead). Run with the server stopped — on PostgreSQL, every server, and
/// give the new key to all of them.
pub async fn rotate(
    store: &Store,
    key_file: &Path,
    new_key_file: &Path,
) -> anyhow::Result<Rotation> {
    let from_env = std::env::var(KEY_ENV).is_ok();
    let old = if from_env {
        load_vault(key_file)?
    } else {
        let text = std::fs::read_to_string(key_file)
            .with_context(|| format!("cannot read the current key {}", key_file.display()))?;
        Vault::from_hex(&text).with_context(|| format!("invalid key in {}", key_file.display()))?
    };
    let new_text = std::fs::read_to_string(new_key_file)
        .with_context(|| format!("cannot read the new key {}", new_key_file.display()))?;
    let new = Vault::from_hex(&new_text)
        .with_context(|| format!("invalid key in {}", new_key_file.display()))?;
    if old.key_id() == new.key_id() {
        bail!("the new key is the current key");
    }
    let (mut rotated, mut already_rotated) = (0, 0);
    for (tenant, mut record) in store.all_secrets().await? {
        if record.sealed.key_id == new.key_id() {
            already_rotated += 1;
            continue;
        }
        let value = old
            .open(&tenant, &record.name, &record.sealed)
            .with_context(|| format!("secret {:?} of tenant {tenant:?}", record.name))?;
        record.sealed = new.seal(&tenant, &record.name, &value);
        store.put_secret(&tenant, &record).await?;
        rotated += 1;
    }
    store.flush().await?;
    let key_file = if from_env {
        None
    } else {
        // Atomically: the store holds only new-key secrets now.
        let staged = key_file.with_extension("key.new");
        let _ = std::fs::remove_file(&staged);
        vault::write_private(&staged, new_text.trim())?;
        std::fs::rename(&staged, key_file)?;
        Some(key_file.display().to_string())
    };
    Ok(Rotation {
        rotated,
        already_rotated,
        old_key_id: old.key_id().to_string(),
        new_key_id: new.key_id().to_string(),
        key_file,
    })
}
