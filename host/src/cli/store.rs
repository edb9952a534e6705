//! `wolfe store …`: offline operations on a stopped deployment's store.

use super::Outcome;
use crate::store::copy::copy_store;
use crate::store::sled::SledStore;
use crate::store::{Store, StoreLocation};
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum StoreCommand {
    /// Copy a stopped sled deployment into an empty PostgreSQL database:
    /// tenants, tokens, runbooks, triggers, secrets (still sealed: give the
    /// new hosts the same secrets key), kv, the audit log, events and
    /// executions. Stop `wolfe serve` first.
    Copy {
        /// The sled deployment's data directory.
        #[arg(long, value_name = "DATA_DIR")]
        from: PathBuf,
        /// The empty database: postgres://USER@HOST:PORT/DB.
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

pub fn store(command: StoreCommand) -> anyhow::Result<Outcome> {
    match command {
        StoreCommand::Copy { from, to } => copy(&from, &to),
    }
}

fn copy(from: &Path, to: &str) -> anyhow::Result<Outcome> {
    if !SledStore::exists(from) {
        bail!(
            "{} holds no sled store (give the data directory of a wolfe serve that ran on sled)",
            from.display()
        );
    }
    let to = match StoreLocation::parse(Some(to)) {
        Ok(location @ StoreLocation::Postgres(_)) => location,
        Ok(StoreLocation::Sled) => bail!("--to {to:?} is not a postgres://USER@HOST:PORT/DB URL"),
        // The URL check words its messages for --store.
        Err(e) => bail!("{}", e.replacen("--store", "--to", 1)),
    };
    let runtime = tokio::runtime::Runtime::new().context("failed to start the async runtime")?;
    let (source, target, counts) = runtime.block_on(async {
        // sled's lock refuses a directory a running server holds.
        let source = Store::open_sled(from).with_context(|| {
            format!(
                "failed to open the sled store in {} (is wolfe serve still running?)",
                from.display()
            )
        })?;
        // Opened as `wolfe serve` opens it: migrations applied. Its host id
        // is the sled deployment's data directory's, so a host started on
        // that directory is the same host it was.
        let target = Store::open(&to, from)
            .await
            .context("failed to open the PostgreSQL store")?;
        let counts = copy_store(&source, &target).await?;
        anyhow::Ok((source.describe(), target.describe(), counts))
    })?;
    println!("copied {source} to {target}: {counts}");
    Ok(Outcome::Succeeded)
}
