//! Write Wolfe runbooks in Rust.
//!
//! A runbook is one function from its input to a result, registered with
//! [`runbook!`]:
//!
//! ```ignore
//! use wolfe_sdk::{json, Value};
//!
//! fn run(event: Value) -> wolfe_sdk::Result<Value> {
//!     wolfe_sdk::log::info(&format!("got {event}"));
//!     let health = wolfe_sdk::http::get("https://status.internal/health")?;
//!     Ok(json!({ "healthy": health.status == 200 }))
//! }
//!
//! wolfe_sdk::runbook!(run);
//! ```
//!
//! The function may take and return any serde types instead of [`Value`].
//! An `Err` ends the execution `failed` with its message; a panic ends it
//! `failed` too, with the panic message in the record. Capabilities
//! ([`http`], [`secrets`], [`kv`], [`log`], [`connectors`]) work only as far as the runbook's
//! manifest grants them; anything else returns [`CapabilityError::Denied`].

extern crate self as wolfe_sdk;

pub mod connectors;
mod error;
pub mod events;
pub mod http;
pub mod kv;
pub mod log;
pub mod secrets;

pub use error::{CapabilityError, Error, Result};
pub use serde_json::{Value, json};

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "runbook",
        pub_export_macro: true,
        export_macro_name: "__export_runbook",
        default_bindings_module: "wolfe_sdk::bindings",
        runtime_path: "wolfe_sdk::__private::wit_bindgen::rt",
    });
}

/// Registers `handler` as the runbook's entry point. `handler` is a function
/// `fn(Input) -> wolfe_sdk::Result<Output>` where `Input` is deserialized from
/// the event JSON and `Output` is serialized as the result.
#[macro_export]
macro_rules! runbook {
    ($handler:path) => {
        struct __WolfeRunbook;

        impl $crate::bindings::Guest for __WolfeRunbook {
            fn run(event: ::std::string::String) -> ::core::result::Result<::std::string::String, ::std::string::String> {
                $crate::__private::dispatch(&event, $handler)
            }
        }

        $crate::bindings::__export_runbook!(__WolfeRunbook with_types_in $crate::bindings);
    };
}

#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;

    use serde::Serialize;
    use serde::de::DeserializeOwned;

    /// Decodes the event, calls the handler, encodes its result.
    pub fn dispatch<I, O>(event: &str, handler: fn(I) -> crate::Result<O>) -> Result<String, String>
    where
        I: DeserializeOwned,
        O: Serialize,
    {
        install_panic_hook();
        let input: I = serde_json::from_str(event)
            .map_err(|e| format!("the event does not match the runbook's input type: {e}"))?;
        let output = handler(input).map_err(|e| e.to_string())?;
        serde_json::to_string(&output).map_err(|e| format!("cannot encode the result as JSON: {e}"))
    }

    /// Sends panic messages to the execution log as one error line, which
    /// the host quotes in the record of the trap that follows.
    fn install_panic_hook() {
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        INSTALLED.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                let payload = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "Box<dyn Any>".to_string());
                let location = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                    .unwrap_or_else(|| "<unknown>".to_string());
                crate::log::error(&format!("panicked at {location}: {payload}"));
            }));
        });
    }
}
