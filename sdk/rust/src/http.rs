//! Outbound HTTP through the host, allowed only for the URLs and methods in
//! the manifest's `capabilities.http`.
//!
//! ```ignore
//! let r = wolfe_sdk::http::get("https://api.internal/status")?;
//! let created = wolfe_sdk::http::post_json("https://api.internal/restarts", &json!({"id": 3}))?;
//! let r = wolfe_sdk::http::Request::new("DELETE", "https://api.internal/x/1")
//!     .header("Authorization", &format!("Bearer {token}"))
//!     .timeout_ms(2_000)
//!     .send()?;
//! ```

use crate::bindings::wolfe::runbook::http as wit;
use crate::{CapabilityError, Error};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// True for 2xx statuses.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        Ok(serde_json::from_slice(&self.body)?)
    }
}

/// A request under construction.
#[derive(Debug, Clone)]
pub struct Request {
    inner: wit::Request,
}

impl Request {
    pub fn new(method: &str, url: &str) -> Self {
        Self {
            inner: wit::Request {
                method: method.to_string(),
                url: url.to_string(),
                headers: Vec::new(),
                body: None,
                timeout_ms: None,
            },
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.inner
            .headers
            .push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.inner.body = Some(body.into());
        self
    }

    /// Serializes `value` as the body and sets `Content-Type: application/json`.
    pub fn json<T: Serialize>(self, value: &T) -> Result<Self, Error> {
        let body = serde_json::to_vec(value)?;
        Ok(self.header("Content-Type", "application/json").body(body))
    }

    /// Per-request timeout; the host also caps it by the execution deadline.
    pub fn timeout_ms(mut self, ms: u32) -> Self {
        self.inner.timeout_ms = Some(ms);
        self
    }

    pub fn send(self) -> Result<Response, CapabilityError> {
        let r = wit::send(&self.inner)?;
        Ok(Response {
            status: r.status,
            headers: r.headers,
            body: r.body,
        })
    }
}

/// `GET url`.
pub fn get(url: &str) -> Result<Response, CapabilityError> {
    Request::new("GET", url).send()
}

/// `POST url` with a JSON body.
pub fn post_json<T: Serialize>(url: &str, value: &T) -> Result<Response, Error> {
    Ok(Request::new("POST", url).json(value)?.send()?)
}
