//! Host capabilities, one module per WIT interface. Each follows the same
//! shape: configured once per runbook version from the manifest
//! ([`Grants`]), given its own per-execution state (`LogState`,
//! `HttpContext`, `SecretsState`, `KvState`, `ConnectorsState`,
//! `EventsState`) that implements the interface's `Host`, linked once by
//! [`add_to_linker`], and checked at every call — deny by default, every
//! call recorded in the [`trail`]. [`Capabilities`] holds one execution's
//! states side by side; the sandbox holds it and never the reverse.

pub mod connectors;
pub mod events;
pub mod http;
pub mod kv;
pub mod limits;
pub mod log;
pub mod secrets;
pub mod trail;
pub mod transcript;

use crate::manifest::{Manifest, ManifestError};
use crate::wit::wolfe::runbook as wit;
use crate::wit::wolfe::runbook::types::Error as GuestError;
use connectors::{ConnectorProvider, ConnectorsState};
use events::{EventSink, EventsState};
use http::fetch::FetchHooks;
use http::{HttpContext, Outbound};
use kv::{KvProvider, KvState};
use log::{LogState, SharedLog};
use secrets::{SecretReader, SecretsProvider, SecretsState};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;
use trail::{CapabilityTrail, SharedTrail};
use transcript::{Tape, Transcript};
use wasmtime::component::{HasSelf, Linker};

/// What one runbook version may do, computed once from its manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub http: http::HttpPolicy,
    pub secrets: BTreeSet<String>,
    pub kv: bool,
    pub connectors: BTreeSet<String>,
    pub emit: bool,
}

impl Grants {
    pub fn from_manifest(manifest: &Manifest) -> Result<Self, ManifestError> {
        let caps = &manifest.capabilities;
        Ok(Self {
            http: http::HttpPolicy::from_declared(&caps.http)?,
            secrets: caps.secrets.iter().cloned().collect(),
            kv: caps.kv,
            connectors: caps.connectors.iter().cloned().collect(),
            emit: caps.emit,
        })
    }
}

/// What one execution's capabilities need from outside the sandbox.
pub struct CapabilityParts {
    pub grants: Arc<Grants>,
    pub log: SharedLog,
    pub outbound: Outbound,
    pub secrets: Arc<dyn SecretsProvider>,
    pub connectors: Arc<dyn ConnectorProvider>,
    pub kv: Option<Arc<dyn KvProvider>>,
    pub events: Option<Arc<dyn EventSink>>,
    pub deadline: Instant,
    /// Only reads go out: writes are withheld (http, connectors) or kept in
    /// memory for this execution (kv).
    pub dry_run: bool,
    /// Records every call, or answers them from a transcript (a replay);
    /// the default does neither.
    pub tape: Tape,
}

/// The per-execution state of every capability, side by side. Created fresh
/// for each execution and dropped with its store.
pub struct Capabilities {
    pub log: LogState,
    /// Outbound requests from the `http` interface.
    pub http: HttpContext,
    /// `wasi:http` (a JS runbook's `fetch()`): the same [`HttpContext`],
    /// reached through the hook every outgoing request passes.
    pub fetch: FetchHooks,
    pub secrets: SecretsState,
    pub kv: KvState,
    pub connectors: ConnectorsState,
    pub events: EventsState,
    trail: SharedTrail,
    /// Every secret value read, by the guest or for a connector.
    revealed: SecretReader,
    tape: Tape,
}

/// What the capabilities leave when the execution ends.
pub struct CapabilitiesEnd {
    pub trail: CapabilityTrail,
    /// Values handed out, to be redacted from what is recorded.
    pub revealed_secrets: Vec<String>,
    /// What the tape recorded, when it was on (secrets not yet redacted).
    pub transcript: Option<Transcript>,
}

impl Capabilities {
    pub fn new(parts: CapabilityParts) -> Self {
        let grants = parts.grants;
        let trail = SharedTrail::default();
        let tape = parts.tape;
        let http = HttpContext::new(
            grants.clone(),
            &parts.outbound,
            trail.clone(),
            parts.deadline,
            parts.dry_run,
        )
        .with_tape(tape.clone());
        let revealed = SecretReader::new(parts.secrets);
        Self {
            log: LogState::new(parts.log, tape.clone()),
            fetch: FetchHooks::new(http.clone()),
            secrets: SecretsState::new(
                grants.secrets.clone(),
                revealed.clone(),
                trail.clone(),
                tape.clone(),
            ),
            kv: KvState::new(
                grants.kv,
                parts.kv,
                parts.dry_run,
                trail.clone(),
                tape.clone(),
            ),
            connectors: ConnectorsState::new(
                grants.connectors.clone(),
                parts.connectors,
                revealed.clone(),
                http.clone(),
                trail.clone(),
                tape.clone(),
            ),
            events: EventsState::new(
                grants.emit,
                parts.events,
                parts.dry_run,
                trail.clone(),
                tape.clone(),
            ),
            http,
            trail,
            revealed,
            tape,
        }
    }

    /// The trail and the secret values read, once the guest is done.
    pub fn finish(self) -> CapabilitiesEnd {
        CapabilitiesEnd {
            trail: self.trail.take(),
            revealed_secrets: self.revealed.revealed(),
            transcript: self.tape.finish(),
        }
    }
}

// The `types` interface has no functions; the trait only marks it linked.
impl wit::types::Host for Capabilities {}

/// A store's data that holds an execution's [`Capabilities`].
pub trait CapabilitiesView: Send + 'static {
    fn capabilities(&mut self) -> &mut Capabilities;
}

/// Links every Wolfe interface, each to its own state within the store's
/// [`Capabilities`].
pub fn add_to_linker<T: CapabilitiesView>(linker: &mut Linker<T>) -> anyhow::Result<()> {
    wit::types::add_to_linker::<T, HasSelf<Capabilities>>(linker, |t| t.capabilities())?;
    wit::log::add_to_linker::<T, HasSelf<LogState>>(linker, |t| &mut t.capabilities().log)?;
    wit::http::add_to_linker::<T, HasSelf<HttpContext>>(linker, |t| &mut t.capabilities().http)?;
    wit::secrets::add_to_linker::<T, HasSelf<SecretsState>>(linker, |t| {
        &mut t.capabilities().secrets
    })?;
    wit::kv::add_to_linker::<T, HasSelf<KvState>>(linker, |t| &mut t.capabilities().kv)?;
    wit::connectors::add_to_linker::<T, HasSelf<ConnectorsState>>(linker, |t| {
        &mut t.capabilities().connectors
    })?;
    wit::events::add_to_linker::<T, HasSelf<EventsState>>(linker, |t| {
        &mut t.capabilities().events
    })?;
    Ok(())
}

/// A guest-visible error as it appears in the trail's `outcome`.
pub(crate) fn describe(e: &GuestError) -> String {
    match e {
        GuestError::Denied(m) => format!("denied: {m}"),
        GuestError::Invalid(m) => format!("invalid: {m}"),
        GuestError::Failed(m) => format!("failed: {m}"),
        GuestError::Limited(m) => format!("limited: {m}"),
    }
}
