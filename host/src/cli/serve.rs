//! `wolfe serve`: the service, until SIGINT or SIGTERM.

use super::Outcome;
use crate::service::config::ServiceConfig;
use anyhow::Context;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Data directory (the sled store, precompiled components) [config: data_dir].
    #[arg(long)]
    data: Option<PathBuf>,
    /// The store shared by every host: postgres://USER@HOST:PORT/DB; default
    /// sled under --data [config: store, env: WOLFE_STORE].
    #[arg(long)]
    store: Option<String>,
    /// Listen address, e.g. 127.0.0.1:8080 or 127.0.0.1:0 [config: listen].
    #[arg(long)]
    listen: Option<String>,
    /// TOML configuration file; `WOLFE_*` variables override it, flags override both.
    #[arg(long)]
    config: Option<PathBuf>,
}

pub fn serve(args: ServeArgs) -> anyhow::Result<Outcome> {
    let mut config = ServiceConfig::load(args.config.as_deref())?;
    if let Some(data) = args.data {
        config.data_dir = data;
    }
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(store) = args.store {
        config.store = Some(store);
    }
    let runtime = tokio::runtime::Runtime::new().context("failed to start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        crate::service::run(config, listener, shutdown, |started| {
            // One machine-readable line: scripts and tests read the address.
            println!("{}", serde_json::json!({ "started": started }));
        })
        .await
    })?;
    Ok(Outcome::Succeeded)
}

async fn stop_on_signal(shutdown: CancellationToken) {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("cannot install the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::warn!("shutting down; finishing running executions");
    shutdown.cancel();
}
