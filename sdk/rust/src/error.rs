//! Errors: [`CapabilityError`] is what a host call returned; [`Error`] is
//! what a runbook returns, built from any error with `?`.

use crate::bindings::wolfe::runbook::types::Error as WitError;
use std::fmt;

/// Why a capability call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapabilityError {
    /// The manifest does not grant this call.
    Denied(String),
    /// The request was malformed.
    Invalid(String),
    /// The call was allowed but did not work.
    Failed(String),
    /// A size, time or count limit was hit.
    Limited(String),
}

impl fmt::Display for CapabilityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Denied(m) => write!(f, "denied: {m}"),
            Self::Invalid(m) => write!(f, "invalid: {m}"),
            Self::Failed(m) => write!(f, "failed: {m}"),
            Self::Limited(m) => write!(f, "limited: {m}"),
        }
    }
}

impl std::error::Error for CapabilityError {}

impl From<WitError> for CapabilityError {
    fn from(e: WitError) -> Self {
        match e {
            WitError::Denied(m) => Self::Denied(m),
            WitError::Invalid(m) => Self::Invalid(m),
            WitError::Failed(m) => Self::Failed(m),
            WitError::Limited(m) => Self::Limited(m),
        }
    }
}

/// A runbook failure: its message becomes the execution's error message.
#[derive(Debug)]
pub struct Error {
    message: String,
}

impl Error {
    /// A failure with this message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Any error converts, so `?` works on capability calls, serde, parsing.
impl<E: std::error::Error> From<E> for Error {
    fn from(e: E) -> Self {
        Self::msg(e)
    }
}

/// The result type of a runbook handler.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Returns early from a runbook with a failure message: `bail!("broker {id} is down")`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return ::core::result::Result::Err($crate::Error::msg(::std::format!($($arg)*)))
    };
}
