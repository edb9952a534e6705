//! Logging into the execution record. `println!`/`eprintln!` also reach the
//! log (as stdout/stderr lines); these functions add a level.

use crate::bindings::wolfe::runbook::log::{Level, log};

pub fn debug(message: &str) {
    log(Level::Debug, message);
}

pub fn info(message: &str) {
    log(Level::Info, message);
}

pub fn warn(message: &str) {
    log(Level::Warn, message);
}

pub fn error(message: &str) {
    log(Level::Error, message);
}
