//! Browser sessions for Studio: a tenant (or server admin) token is traded
//! once for a cookie, so the page never keeps the token where script can
//! read it.
//!
//! The cookie is `HttpOnly` (no script reads it) and `SameSite=Strict` (no
//! other site's page sends it). It holds the token's hash and public id,
//! an expiry and an HMAC under a key derived from the secrets master key —
//! which every host of a deployment shares, so any host accepts it and no
//! session table is needed. Every request still resolves the token in the
//! store, so deleting the token ends its sessions. A write made with the
//! cookie must also carry `X-Wolfe-CSRF` or come from the server's own
//! origin ([`require_csrf_proof`]).

use super::AppState;
use super::auth::{Caller, authenticate, resolve_hash};
use super::error::ApiError;
use super::extract::JsonBody;
use super::openapi::BodyErrors;
use super::types::{ErrorBody, SessionInfo, SignIn};
use crate::tenancy::{Action, Principal, token_hash, token_id};
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The cookie's name.
pub const COOKIE: &str = "wolfe_session";
/// The header a cookie-authenticated write must carry (any value): a page
/// of another origin cannot set it without a CORS preflight, which this
/// server never grants.
pub const CSRF_HEADER: &str = "x-wolfe-csrf";
/// How long a session lasts: a working day; sign in again after.
const SESSION_SECS: i64 = 12 * 3600;
const VERSION: &str = "v1";

/// Exchanges a token for a session cookie. No bearer token: the token is in
/// the body.
#[utoipa::path(post, path = "/v1/session", tag = "tenants",
    request_body = SignIn,
    responses(
        (status = 200, description = "signed in; the cookie `wolfe_session` is set (HttpOnly, SameSite=Strict)", body = SessionInfo),
        (status = 400, description = "`invalid_json`, `invalid_request`", body = ErrorBody),
        (status = 401, description = "`unauthorized`: not a token this server knows", body = ErrorBody),
        (status = 503, description = "`store_unavailable`", body = ErrorBody),
        BodyErrors,
    ))]
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SignIn>,
) -> Result<Response, ApiError> {
    let hash = token_hash(body.token.trim());
    let caller = resolve_hash(&state, &hash, || token_id(body.token.trim())).await?;
    let expires = time::OffsetDateTime::now_utc().unix_timestamp() + SESSION_SECS;
    let payload = format!("{VERSION}.{hash}.{}.{expires}", caller.token_id);
    let cookie = format!(
        "{COOKIE}={payload}.{}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECS}{}",
        state.vault().sign_session(&payload),
        secure_attribute(&headers),
    );
    let mut response = Json(session_info(&caller, Some(expires))).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    Ok(response)
}

/// Ends the browser's session: the cookie is cleared. (The token itself
/// stays valid; delete it to end every session made with it.)
#[utoipa::path(delete, path = "/v1/session", tag = "tenants",
    responses((status = 204, description = "signed out; the cookie is cleared")))]
pub async fn sign_out() -> Response {
    let cleared = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cleared).expect("a fixed cookie is a valid header"),
    );
    response
}

/// Who the caller is (session cookie or bearer token): what Studio shows
/// and which of its controls the role may use.
#[utoipa::path(get, path = "/v1/session", tag = "tenants",
    responses(
        (status = 200, description = "the caller", body = SessionInfo),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [])))]
pub async fn whoami(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<SessionInfo>, ApiError> {
    let caller = authenticate(&state, &headers).await?;
    let expires = session_cookie(&state, &headers).map(|s| s.expires);
    Ok(Json(session_info(&caller, expires)))
}

fn session_info(caller: &Caller, expires: Option<i64>) -> SessionInfo {
    let tenant = match &caller.principal {
        Principal::ServerAdmin => None,
        Principal::Tenant { tenant, .. } => Some(tenant.clone()),
    };
    SessionInfo {
        tenant,
        // The role as the audit log names it (`server-admin` for the
        // server admin token).
        role: caller.actor().role,
        token_id: caller.token_id.clone(),
        can: Action::ALL
            .into_iter()
            .filter(|action| match &caller.principal {
                Principal::ServerAdmin => true,
                Principal::Tenant { role, .. } => role.allows(*action),
            })
            .collect(),
        expires_at: expires.and_then(|at| {
            time::OffsetDateTime::from_unix_timestamp(at)
                .ok()?
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        }),
    }
}

/// A verified, unexpired session cookie.
pub struct SessionCookie {
    pub token_hash: String,
    pub token_id: String,
    pub expires: i64,
}

/// The request's session cookie, when it is present, signed by this
/// deployment and not expired.
pub fn session_cookie(state: &AppState, headers: &HeaderMap) -> Option<SessionCookie> {
    let value = cookie_value(headers)?;
    let (payload, mac) = value.rsplit_once('.')?;
    if !state.vault().verify_session(payload, mac) {
        return None;
    }
    let mut parts = payload.split('.');
    let (version, hash, id, expires) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let expires: i64 = expires.parse().ok()?;
    let live = version == VERSION
        && parts.next().is_none()
        && expires > time::OffsetDateTime::now_utc().unix_timestamp();
    live.then(|| SessionCookie {
        token_hash: hash.to_string(),
        token_id: id.to_string(),
        expires,
    })
}

fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

/// Middleware: a write that would be authenticated by the session cookie
/// (no bearer token) must prove it comes from the server's own pages —
/// the `X-Wolfe-CSRF` header, or an `Origin` equal to this server's.
/// Otherwise another site could make the browser send it.
pub async fn require_csrf_proof(request: Request, next: Next) -> Result<Response, ApiError> {
    let headers = request.headers();
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    // Only a bearer token exempts: `authenticate` falls back to the cookie
    // for any other Authorization header (`Basic …` that a browser resends
    // to a proxy in front of Wolfe), so such a request is cookie-made.
    let by_cookie = super::auth::bearer(headers).is_none() && cookie_value(headers).is_some();
    if safe || !by_cookie || headers.contains_key(CSRF_HEADER) || same_origin(headers) {
        return Ok(next.run(request).await);
    }
    Err(ApiError::Forbidden(format!(
        "a write with the session cookie needs the {CSRF_HEADER} header (or a same-origin Origin)"
    )))
}

/// `; Secure` when the browser reached the server over HTTPS, which, as
/// Wolfe speaks plain HTTP, means through a proxy that says so
/// (`X-Forwarded-Proto: https`) or a page whose `Origin` is https: the
/// browser then never sends the cookie over plain HTTP. Over plain HTTP
/// (loopback, the demo) a Secure cookie would not be kept at all.
fn secure_attribute(headers: &HeaderMap) -> &'static str {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let forwarded_https = text("x-forwarded-proto").is_some_and(|p| {
        p.split(',')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("https")
    });
    let https_origin = text("origin").is_some_and(|o| o.starts_with("https://"));
    if forwarded_https || https_origin {
        "; Secure"
    } else {
        ""
    }
}

fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    match (text(header::ORIGIN), text(header::HOST)) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        _ => false,
    }
}
