//! The `http` capability: outbound requests made by the host on the guest's
//! behalf. Every request and every redirect hop is checked against the
//! runbook's [`HttpPolicy`] first; a refusal returns `denied` to the guest and
//! is recorded in the trail. Allowed requests run with a connect timeout, an
//! overall timeout capped by the execution's deadline, and a response size cap.
//! In a dry run only reads are sent ([`dry_run`]).

pub mod address;
pub mod dry_run;
pub mod fetch;

pub use crate::url_grants::{HttpGrant, HttpPolicy, KNOWN_METHODS, PolicyError};
pub use address::AddressPolicy;

use crate::capabilities::limits::{
    HTTP_CONNECT_TIMEOUT, MAX_HTTP_REDIRECTS, MAX_HTTP_REQUESTS, MAX_HTTP_RESPONSE_BYTES,
    MAX_HTTP_TIMEOUT,
};
use crate::capabilities::trail::SharedTrail;
use crate::capabilities::transcript::{
    Recorded, Slot, Tape, answer_result, bytes_size, bytes_value, result_size, result_value,
    scrub_bytes, scrub_error, text_size, value_bytes,
};
use crate::capabilities::{Grants, describe};
use crate::wit::wolfe::runbook::http::{Host, Request, Response};
use crate::wit::wolfe::runbook::types::Error as GuestError;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use url::Url;

/// Headers a guest may not set: they would let it lie about where the request
/// goes (`host`) or break framing the client owns.
const FORBIDDEN_REQUEST_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "proxy-authorization",
    "proxy-connection",
];

/// The HTTP client shared by all executions (connection pooling). Redirects
/// are never followed by the client itself: [`send_checked`] re-checks each
/// hop. Names are resolved by the host and every address is checked against
/// `addresses` before a connection is made.
pub fn build_client(addresses: Arc<AddressPolicy>) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .dns_resolver(Arc::new(address::CheckedResolver::new(addresses)))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(HTTP_CONNECT_TIMEOUT)
        // A proxy from the environment would make the host, not the grants,
        // decide where requests go.
        .no_proxy()
        .user_agent(concat!("wolfe/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// The host's outbound side, shared by every execution: one client
/// (connection pooling, checked resolver) and the address policy.
#[derive(Clone)]
pub struct Outbound {
    pub client: reqwest::Client,
    pub addresses: Arc<AddressPolicy>,
}

impl Outbound {
    pub fn new(addresses: AddressPolicy) -> anyhow::Result<Self> {
        let addresses = Arc::new(addresses);
        Ok(Self {
            client: build_client(addresses.clone())?,
            addresses,
        })
    }
}

/// Everything one execution's outbound requests share, whichever way the
/// guest sends them (the `http` interface or `wasi:http`, i.e. `fetch()`):
/// the grants, the client, the trail, the request budget and the deadline.
/// Cheap to clone; a `fetch()` is sent from a task that holds a clone.
#[derive(Clone)]
pub struct HttpContext {
    grants: Arc<Grants>,
    client: reqwest::Client,
    /// Where connections may go; the client's resolver checks names, this
    /// checks IP literals in URLs.
    addresses: Arc<AddressPolicy>,
    trail: SharedTrail,
    /// Requests started so far, against [`MAX_HTTP_REQUESTS`].
    requests: Arc<AtomicUsize>,
    deadline: Instant,
    /// Whether requests that could change something are withheld.
    dry_run: bool,
    /// Where each guest request and its answer are recorded (or, in a
    /// replay, answered from).
    tape: Tape,
}

impl HttpContext {
    pub fn new(
        grants: Arc<Grants>,
        outbound: &Outbound,
        trail: SharedTrail,
        deadline: Instant,
        dry_run: bool,
    ) -> Self {
        Self {
            grants,
            client: outbound.client.clone(),
            addresses: outbound.addresses.clone(),
            trail,
            requests: Arc::new(AtomicUsize::new(0)),
            deadline,
            dry_run,
            tape: Tape::default(),
        }
    }

    /// Records every guest request (or answers them from a transcript).
    pub fn with_tape(mut self, tape: Tape) -> Self {
        self.tape = tape;
        self
    }

    /// Sends a request of the `http` interface through [`send_checked`],
    /// recorded on the tape — or, in a replay, answered from it with nothing
    /// sent.
    async fn send_guest_request(&self, request: Request) -> Result<Response, GuestError> {
        if let Some(answer) = self.tape.replay(
            "http",
            "send",
            || request_value(&request),
            || self.grant_refusal(&request),
        ) {
            return answer_result(&answer, response_from_value);
        }
        if !self.tape.is_on() {
            return send_checked(self, request, Route::Granted).await;
        }
        let kept = request.clone();
        let result = send_checked(self, request, Route::Granted).await;
        self.tape.record(HttpCall {
            interface: "http",
            request: kept,
            answer: result.clone(),
        });
        result
    }

    /// A `fetch()`: as [`HttpContext::send_guest_request`], in the place on
    /// the tape taken when the guest made it ([`Tape::reserve`]).
    pub(crate) async fn send_fetch(
        &self,
        slot: Option<Slot>,
        request: Request,
    ) -> Result<Response, GuestError> {
        let Some(slot) = slot else {
            return send_checked(self, request, Route::Granted).await;
        };
        if let Some(answer) = self.tape.replay_slot(
            &slot,
            || request_value(&request),
            || self.grant_refusal(&request),
        ) {
            return answer_result(&answer, response_from_value);
        }
        let kept = request.clone();
        let result = send_checked(self, request, Route::Granted).await;
        self.tape.fill(
            slot,
            HttpCall {
                interface: "wasi:http",
                request: kept,
                answer: result.clone(),
            },
        );
        result
    }

    /// In a replay, the refusal of a request the manifest's grants do not
    /// allow (the same refusal as live). Only the first hop can be checked:
    /// the transcript holds the final answer, not the redirects on the way.
    fn grant_refusal(&self, request: &Request) -> Option<GuestError> {
        let url = parse_url(&request.url).ok()?;
        let method = request.method.trim().to_ascii_uppercase();
        let refused = self.grants.http.check(&method, &url).err()?;
        Some(GuestError::Denied(refused.to_string()))
    }

    /// Takes a `fetch()`'s place on the tape, when it is on.
    pub(crate) fn reserve_fetch(&self) -> Option<Slot> {
        self.tape.reserve("wasi:http", "send")
    }

    /// Whether this execution is a dry run (see [`dry_run`]).
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }
}

/// The `http` interface's per-execution state is the [`HttpContext`] itself.
impl Host for HttpContext {
    async fn send(&mut self, request: Request) -> wasmtime::Result<Result<Response, GuestError>> {
        Ok(self.send_guest_request(request).await)
    }
}

/// On whose authority an outbound request goes.
#[derive(Clone, Copy)]
pub(crate) enum Route<'a> {
    /// The guest's own request (`http` interface or `fetch()`): the
    /// manifest's URL grants decide, and every redirect hop is re-checked.
    Granted,
    /// A tenant connector's request, built by the host with its credentials:
    /// the declared connector is the grant, redirects are not followed, and
    /// the trail names the connector and action — never the URL, which for a
    /// chat webhook is itself the credential.
    Connector { name: &'a str, action: &'a str },
}

impl Route<'_> {
    fn record(
        &self,
        trail: &SharedTrail,
        method: &str,
        target: &str,
        allowed: bool,
        outcome: impl Into<String>,
        started: Instant,
    ) {
        match self {
            Route::Granted => trail.record("http", method, target, allowed, outcome, started),
            Route::Connector { name, action } => {
                trail.record("connectors", action, name, allowed, outcome, started)
            }
        }
    }
}

/// A request as it goes out: checked and normalised, then changed by each
/// redirect it follows.
struct Hop {
    method: reqwest::Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    /// The guest's timeout, capped by the host's (and, per hop, the deadline).
    timeout: Duration,
}

/// What one hop came to: one trail entry, and either the guest's answer or
/// a redirect to follow.
pub(super) struct HopEnd {
    allowed: bool,
    outcome: String,
    next: Next,
}

enum Next {
    Answer(Result<Response, GuestError>),
    Redirect {
        status: reqwest::StatusCode,
        location: HeaderValue,
    },
}

impl HopEnd {
    /// The request ends here with `result`; `allowed` says whether the
    /// grants and the address policy let it through.
    pub(super) fn answer(allowed: bool, result: Result<Response, GuestError>) -> Self {
        let outcome = match &result {
            Ok(r) => r.status.to_string(),
            Err(e) => describe(e),
        };
        Self::answer_as(allowed, outcome, result)
    }

    /// As [`HopEnd::answer`], recorded with its own outcome (a dry run's).
    pub(super) fn answer_as(
        allowed: bool,
        outcome: impl Into<String>,
        result: Result<Response, GuestError>,
    ) -> Self {
        Self {
            allowed,
            outcome: outcome.into(),
            next: Next::Answer(result),
        }
    }
}

/// One outbound request, redirects included: the single place where
/// outbound requests are allowed or refused (or, in a dry run, withheld).
/// Each hop is checked ([`refusal`]), sent ([`send_hop`]) and recorded in
/// the trail here; a redirect is followed as [`follow_redirect`] decides.
pub(crate) async fn send_checked(
    ctx: &HttpContext,
    request: Request,
    route: Route<'_>,
) -> Result<Response, GuestError> {
    let started = Instant::now();
    let method_text = request.method.trim().to_ascii_uppercase();
    let url_text = request.url.clone();
    let mut hop = match prepare(ctx, request, &method_text) {
        Ok(hop) => hop,
        Err(e) => {
            route.record(
                &ctx.trail,
                &method_text,
                &url_text,
                false,
                describe(&e),
                started,
            );
            return Err(e);
        }
    };
    for n in 0..=MAX_HTTP_REDIRECTS {
        let hop_started = Instant::now();
        let end = send_hop(ctx, route, &hop, n).await;
        route.record(
            &ctx.trail,
            hop.method.as_str(),
            hop.url.as_str(),
            end.allowed,
            end.outcome,
            hop_started,
        );
        match end.next {
            Next::Answer(result) => return result,
            Next::Redirect { status, location } => {
                follow_redirect(&mut hop, status, &location, n)?;
            }
        }
    }
    unreachable!("the redirect loop returns on its last hop")
}

/// Checks what can be checked before anything is sent: the request budget,
/// the URL, the method and the headers.
fn prepare(ctx: &HttpContext, request: Request, method_text: &str) -> Result<Hop, GuestError> {
    if ctx.requests.fetch_add(1, Ordering::Relaxed) >= MAX_HTTP_REQUESTS {
        return Err(GuestError::Limited(format!(
            "at most {MAX_HTTP_REQUESTS} http requests per execution"
        )));
    }
    let url = parse_url(&request.url)?;
    let method = match reqwest::Method::from_bytes(method_text.as_bytes()) {
        Ok(m) if KNOWN_METHODS.contains(&method_text) => m,
        _ => {
            return Err(GuestError::Invalid(format!(
                "unsupported method {:?}",
                request.method
            )));
        }
    };
    let headers = guest_headers(&request.headers)?;
    let timeout = request
        .timeout_ms
        .map(|ms| Duration::from_millis(ms.into()))
        .unwrap_or(MAX_HTTP_TIMEOUT)
        .min(MAX_HTTP_TIMEOUT);
    Ok(Hop {
        method,
        url,
        headers,
        body: request.body,
        timeout,
    })
}

/// Why a request to `url` may not go out, if it may not: the manifest's
/// grants (a connector is its own grant), then the address an IP literal in
/// the URL points to. Names are checked by the client's resolver.
fn refusal(
    ctx: &HttpContext,
    route: Route<'_>,
    method: &reqwest::Method,
    url: &Url,
) -> Option<String> {
    let grant = match route {
        Route::Granted => ctx.grants.http.check(method.as_str(), url).err(),
        Route::Connector { .. } => None,
    };
    grant.map(|d| d.to_string()).or_else(|| {
        check_ip_literal(&ctx.addresses, url)
            .err()
            .map(|r| r.to_string())
    })
}

/// Checks and sends hop `n` of a request.
async fn send_hop(ctx: &HttpContext, route: Route<'_>, hop: &Hop, n: usize) -> HopEnd {
    if let Some(refusal) = refusal(ctx, route, &hop.method, &hop.url) {
        let why = if n == 0 {
            refusal
        } else {
            format!("redirect refused: {refusal}")
        };
        return HopEnd::answer(false, Err(GuestError::Denied(why)));
    }
    let remaining = ctx.deadline.saturating_duration_since(Instant::now());
    if remaining.is_zero() {
        let e = GuestError::Limited("execution deadline reached".into());
        return HopEnd::answer(true, Err(e));
    }
    if dry_run::withholds(ctx, route, &hop.method) {
        return dry_run::withhold(ctx, &hop.url).await;
    }
    let timeout = hop.timeout.min(remaining);
    let mut builder = ctx
        .client
        .request(hop.method.clone(), hop.url.clone())
        .headers(hop.headers.clone())
        .timeout(timeout);
    if let Some(b) = &hop.body {
        builder = builder.body(b.clone());
    }
    let response = match builder.send().await {
        Ok(r) => r,
        Err(e) => {
            let e = transport_error(e, timeout);
            // A name that resolved to a refused address is a denial.
            let allowed = !matches!(e, GuestError::Denied(_));
            return HopEnd::answer(allowed, Err(e));
        }
    };
    let status = response.status();
    if status.is_redirection()
        && matches!(route, Route::Granted)
        && let Some(location) = response.headers().get(reqwest::header::LOCATION)
    {
        return HopEnd {
            allowed: true,
            outcome: status.as_u16().to_string(),
            next: Next::Redirect {
                status,
                location: location.clone(),
            },
        };
    }
    HopEnd::answer(true, read_response(response, timeout).await)
}

/// Turns `hop` into the request a redirect asks for, as browsers do: a 303,
/// and a 301 or 302 after a POST, continue as GET; credentials do not follow
/// a request to another origin. Hop `n` was the last one allowed when `n` is
/// [`MAX_HTTP_REDIRECTS`].
fn follow_redirect(
    hop: &mut Hop,
    status: reqwest::StatusCode,
    location: &HeaderValue,
    n: usize,
) -> Result<(), GuestError> {
    if n == MAX_HTTP_REDIRECTS {
        return Err(GuestError::Limited(format!(
            "more than {MAX_HTTP_REDIRECTS} redirects"
        )));
    }
    let next = location
        .to_str()
        .ok()
        .and_then(|l| hop.url.join(l).ok())
        .ok_or_else(|| GuestError::Failed("redirect with an invalid Location".into()))?;
    if status == reqwest::StatusCode::SEE_OTHER
        || (hop.method == reqwest::Method::POST && matches!(status.as_u16(), 301 | 302))
    {
        hop.method = reqwest::Method::GET;
        hop.body = None;
    }
    if next.origin() != hop.url.origin() {
        hop.headers.remove(reqwest::header::AUTHORIZATION);
        hop.headers.remove(reqwest::header::COOKIE);
    }
    hop.url = next;
    Ok(())
}

/// A guest request and its answer, as a transcript keeps them.
#[derive(Debug)]
struct HttpCall {
    /// `http`, or `wasi:http` for a `fetch()`.
    interface: &'static str,
    request: Request,
    answer: Result<Response, GuestError>,
}

impl Recorded for HttpCall {
    fn interface(&self) -> &'static str {
        self.interface
    }

    fn operation(&self) -> &'static str {
        "send"
    }

    fn request(&self) -> serde_json::Value {
        request_value(&self.request)
    }

    fn answer(&self) -> serde_json::Value {
        result_value(&self.answer, response_value)
    }

    fn scrub(&mut self, scrub: &dyn Fn(&mut String)) {
        scrub(&mut self.request.method);
        scrub(&mut self.request.url);
        scrub_headers(&mut self.request.headers, scrub);
        if let Some(body) = &mut self.request.body {
            scrub_bytes(body, scrub);
        }
        match &mut self.answer {
            Ok(response) => {
                scrub_headers(&mut response.headers, scrub);
                scrub_bytes(&mut response.body, scrub);
            }
            Err(e) => scrub_error(e, scrub),
        }
    }

    fn size(&self) -> usize {
        let request = text_size(&self.request.method)
            + text_size(&self.request.url)
            + headers_size(&self.request.headers)
            + self.request.body.as_deref().map_or(8, bytes_size)
            + 24;
        let answer = result_size(&self.answer, |response| {
            headers_size(&response.headers) + bytes_size(&response.body) + 16
        });
        request + answer
    }
}

fn scrub_headers(headers: &mut [(String, String)], scrub: &dyn Fn(&mut String)) {
    for (name, value) in headers {
        scrub(name);
        scrub(value);
    }
}

fn headers_size(headers: &[(String, String)]) -> usize {
    headers
        .iter()
        .map(|(name, value)| text_size(name) + text_size(value))
        .sum::<usize>()
        + 16
}

/// A guest request as a transcript records it.
fn request_value(request: &Request) -> serde_json::Value {
    serde_json::json!({
        "method": request.method,
        "url": request.url,
        "headers": request.headers,
        "body": request.body.as_deref().map(bytes_value),
        "timeout_ms": request.timeout_ms,
    })
}

/// A response as a transcript records it.
fn response_value(response: &Response) -> serde_json::Value {
    serde_json::json!({
        "status": response.status,
        "headers": response.headers,
        "body": bytes_value(&response.body),
    })
}

/// The response [`response_value`] wrote.
fn response_from_value(value: &serde_json::Value) -> Option<Response> {
    Some(Response {
        status: u16::try_from(value.get("status")?.as_u64()?).ok()?,
        headers: serde_json::from_value(value.get("headers")?.clone()).ok()?,
        body: value_bytes(value.get("body")?)?,
    })
}

/// A guest's request URL: http(s) only, no user info. Public for the fuzz
/// targets (fuzz/fuzz_targets/url_policy.rs).
#[doc(hidden)]
pub fn parse_url(text: &str) -> Result<Url, GuestError> {
    let url =
        Url::parse(text).map_err(|e| GuestError::Invalid(format!("invalid URL {text:?}: {e}")))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(GuestError::Invalid(format!(
            "URL {text:?} must be http or https"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(GuestError::Invalid(
            "URLs with user info are not allowed; send an Authorization header".into(),
        ));
    }
    Ok(url)
}

fn guest_headers(pairs: &[(String, String)]) -> Result<HeaderMap, GuestError> {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| GuestError::Invalid(format!("invalid header name {name:?}")))?;
        if FORBIDDEN_REQUEST_HEADERS.contains(&header.as_str()) {
            return Err(GuestError::Invalid(format!(
                "header {name:?} is set by the host and may not be sent"
            )));
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| GuestError::Invalid(format!("invalid value for header {name:?}")))?;
        map.append(header, value);
    }
    Ok(map)
}

async fn read_response(
    mut response: reqwest::Response,
    timeout: Duration,
) -> Result<Response, GuestError> {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    if let Some(len) = response.content_length()
        && len > MAX_HTTP_RESPONSE_BYTES as u64
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_HTTP_RESPONSE_BYTES {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(transport_error(e, timeout)),
        }
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn too_large() -> GuestError {
    GuestError::Limited(format!(
        "response body larger than {MAX_HTTP_RESPONSE_BYTES} bytes"
    ))
}

/// An IP address written in the URL is checked here: the resolver only
/// sees names.
/// Checks a URL whose host is a literal address (names are checked by the
/// client's resolver).
pub fn check_ip_literal(policy: &AddressPolicy, url: &Url) -> Result<(), address::AddressRefused> {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => policy.check(ip.into()),
        Some(url::Host::Ipv6(ip)) => policy.check(ip.into()),
        _ => Ok(()),
    }
}

fn transport_error(e: reqwest::Error, timeout: Duration) -> GuestError {
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<address::NameRefused>() {
            return GuestError::Denied(refused.to_string());
        }
        source = s.source();
    }
    if e.is_timeout() {
        GuestError::Limited(format!(
            "request timed out after {} ms",
            timeout.as_millis()
        ))
    } else {
        // reqwest's Display hides the cause ("error sending request"); the
        // source chain says what actually happened (refused, DNS, TLS).
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message = format!("{message}: {s}");
            source = s.source();
        }
        GuestError::Failed(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_request_is_written_out_scrubbed_and_reads_back() {
        let mut call = HttpCall {
            interface: "http",
            request: Request {
                method: "POST".into(),
                url: "https://ops.example/restart?token=s3cret".into(),
                headers: vec![("authorization".into(), "Bearer s3cret".into())],
                body: Some(b"{\"token\":\"s3cret\"}".to_vec()),
                timeout_ms: Some(500),
            },
            answer: Ok(Response {
                status: 200,
                headers: vec![("x-echo".into(), "s3cret".into())],
                body: vec![0xff, 0x00],
            }),
        };
        call.scrub(&|text: &mut String| *text = text.replace("s3cret", "[REDACTED]"));
        let request = call.request();
        let answer = call.answer();
        assert!(!format!("{request}{answer}").contains("s3cret"));
        assert_eq!(request["headers"][0][1], "Bearer [REDACTED]");
        assert_eq!(request["body"]["text"], "{\"token\":\"[REDACTED]\"}");
        assert_eq!(request["timeout_ms"], 500);
        // Bytes that are not text are written as base64, and read back.
        let response = answer_result(&answer, response_from_value).unwrap();
        assert_eq!(response.body, [0xff, 0x00]);
        assert_eq!(response.status, 200);
        assert!(call.size() > request.to_string().len() / 2);
    }
}
