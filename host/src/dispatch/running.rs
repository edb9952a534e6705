//! The executions running on this host, each with the token that cancels
//! it: an operator's cancel reaches the sandbox through here (directly on
//! the host that runs it, or announced through the store by another host).

use std::collections::HashMap;
use std::sync::Mutex;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
pub struct RunningExecutions {
    tokens: Mutex<HashMap<(String, String), CancellationToken>>,
}

/// Removes its execution from the registry when dropped.
pub struct Registered<'a> {
    running: &'a RunningExecutions,
    key: (String, String),
    pub token: CancellationToken,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.running
            .tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

impl RunningExecutions {
    /// Registers an execution about to run here.
    pub fn register(&self, tenant: &str, id: &str) -> Registered<'_> {
        let key = (tenant.to_string(), id.to_string());
        let token = CancellationToken::new();
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), token.clone());
        Registered {
            running: self,
            key,
            token,
        }
    }

    /// Cancels the execution if it runs here; whether it did.
    pub fn cancel(&self, tenant: &str, id: &str) -> bool {
        let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        match tokens.get(&(tenant.to_string(), id.to_string())) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registered_execution_can_be_cancelled_until_it_ends() {
        let running = RunningExecutions::default();
        assert!(!running.cancel("t", "a"));
        let registered = running.register("t", "a");
        assert!(running.cancel("t", "a"));
        assert!(registered.token.is_cancelled());
        drop(registered);
        assert!(!running.cancel("t", "a"));
    }
}
