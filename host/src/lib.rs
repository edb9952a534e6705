//! Wolfe: event-driven runbook automation. Runbooks are WebAssembly
//! components run in a wasmtime sandbox with hard limits, reaching the outside
//! world only through the capabilities their manifest declares.
//!
//! Layout follows the flow (see docs/architecture.md): `ingest` turns
//! webhooks into events, `rules` decide which runbooks they fire, `pipeline`
//! makes events and executions durable, `dispatch` runs queued executions in
//! the `sandbox`, whose `capabilities` are what a runbook may call. `store`
//! persists it all behind one interface, on sled (embedded) or PostgreSQL
//! (shared by many hosts); `api` and `service` serve it; `cli` is the
//! `wolfe` binary.

pub mod api;
pub mod build;
pub mod capabilities;
pub mod cli;
pub mod dispatch;
pub mod ingest;
pub mod manifest;
pub mod metrics;
pub mod notify;
pub mod pipeline;
pub mod redaction;
pub mod registry;
pub mod rules;
pub mod safety;
pub mod sandbox;
pub mod secrets;
pub mod service;
pub mod store;
pub mod tenancy;
pub mod url_grants;
pub mod wit;
