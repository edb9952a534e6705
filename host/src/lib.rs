//! Wolfe: event-driven runbook automation. Runbooks are WebAssembly
//! components run in a wasmtime sandbox with hard limits, reaching the outside
//! world only through the capabilities their manifest declares.
//!
//! Layout follows the flow (see DESIGN.md): `sandbox` runs one execution,
//! `capabilities` are what a runbook may call, `manifest` is what it declares,
//! `build` turns runbook sources into components, `cli` is the `wolfe` binary.

pub mod build;
pub mod capabilities;
pub mod cli;
pub mod manifest;
pub mod sandbox;
