//! Outbound requests in a dry run: the runbook runs for real, but only reads
//! go out. GET, HEAD and OPTIONS are sent as usual. Any other method, and
//! every connector call (a connector acts on a service whatever its method),
//! is checked exactly as a real request — grants, then where it would
//! connect — and then withheld: the guest gets a synthetic `200` with an
//! empty body and `x-wolfe-dry-run: 1`, and the trail records the outcome
//! [`DRY_RUN`]. A request a real run would refuse is refused here too.

use super::address::{ResolveError, resolve_checked};
use super::{HopEnd, HttpContext, Route};
use crate::capabilities::limits::HTTP_CONNECT_TIMEOUT;
use crate::capabilities::trail::DRY_RUN;
use crate::wit::wolfe::runbook::http::Response;
use crate::wit::wolfe::runbook::types::Error as GuestError;
use std::time::Instant;
use url::Url;

/// Marks a response the host made up because it withheld the request, so a
/// runbook (or its author reading the output) can tell.
pub const DRY_RUN_HEADER: &str = "x-wolfe-dry-run";

/// Methods that only read: safe to send in a dry run (RFC 9110's safe
/// methods; TRACE is not a method the grants know).
const READ_METHODS: &[&str] = &["GET", "HEAD", "OPTIONS"];

/// Whether this execution withholds a request by `route` with `method`.
pub(super) fn withholds(ctx: &HttpContext, route: Route<'_>, method: &reqwest::Method) -> bool {
    ctx.dry_run
        && (matches!(route, Route::Connector { .. }) || !READ_METHODS.contains(&method.as_str()))
}

/// Answers a request that passed the grants and the IP-literal check
/// without sending it. A name is resolved and its addresses checked as the
/// client's resolver would before connecting.
pub(super) async fn withhold(ctx: &HttpContext, url: &Url) -> HopEnd {
    if let Some(url::Host::Domain(name)) = url.host() {
        let budget =
            HTTP_CONNECT_TIMEOUT.min(ctx.deadline.saturating_duration_since(Instant::now()));
        let refusal =
            match tokio::time::timeout(budget, resolve_checked(&ctx.addresses, name)).await {
                Ok(Ok(_)) => None,
                Ok(Err(ResolveError::Refused(refused))) => {
                    Some((false, GuestError::Denied(refused.to_string())))
                }
                Ok(Err(e)) => Some((true, GuestError::Failed(e.to_string()))),
                Err(_) => Some((
                    true,
                    GuestError::Limited(format!(
                        "resolving {name} timed out after {} ms",
                        budget.as_millis()
                    )),
                )),
            };
        if let Some((allowed, e)) = refusal {
            return HopEnd::answer(allowed, Err(e));
        }
    }
    HopEnd::answer_as(true, DRY_RUN, Ok(synthetic_response()))
}

/// What the guest gets for a withheld request: success, nothing in it.
fn synthetic_response() -> Response {
    Response {
        status: 200,
        headers: vec![(DRY_RUN_HEADER.to_string(), "1".to_string())],
        body: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::http::Next;
    use crate::capabilities::http::{AddressPolicy, Outbound};
    use crate::capabilities::trail::SharedTrail;
    use std::time::Duration;

    #[test]
    fn only_writes_and_connector_calls_are_withheld() {
        let outbound = Outbound::new(AddressPolicy::default()).unwrap();
        let mut ctx = HttpContext::new(
            Default::default(),
            &outbound,
            Default::default(),
            Instant::now(),
            false,
        );
        let connector = Route::Connector {
            name: "api",
            action: "GET /things",
        };
        for method in ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"] {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            ctx.dry_run = false;
            assert!(!withholds(&ctx, Route::Granted, &method), "{method}");
            assert!(!withholds(&ctx, connector, &method), "{method}");
            ctx.dry_run = true;
            let reads = matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS");
            assert_eq!(withholds(&ctx, Route::Granted, &method), !reads, "{method}");
            assert!(withholds(&ctx, connector, &method), "{method}");
        }
    }

    #[tokio::test]
    async fn a_withheld_request_gets_a_marked_answer_unless_its_address_is_refused() {
        let outbound = Outbound::new(AddressPolicy::default()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let ctx = HttpContext::new(
            Default::default(),
            &outbound,
            SharedTrail::default(),
            deadline,
            true,
        );
        // An IP literal was checked before; nothing is looked up here.
        let public = Url::parse("http://93.184.216.34/restart").unwrap();
        let end = withhold(&ctx, &public).await;
        assert_eq!((end.allowed, end.outcome.as_str()), (true, DRY_RUN));
        let Next::Answer(Ok(answer)) = end.next else {
            panic!("a withheld request is answered");
        };
        assert_eq!(answer.status, 200);
        assert!(answer.body.is_empty());
        assert_eq!(answer.headers, vec![(DRY_RUN_HEADER.into(), "1".into())]);
        // A name is resolved and refused as the client's resolver would.
        let local = Url::parse("http://localhost:9/restart").unwrap();
        let end = withhold(&ctx, &local).await;
        assert!(!end.allowed);
        assert!(
            end.outcome.starts_with("denied: localhost resolves to"),
            "{}",
            end.outcome
        );
        assert!(matches!(end.next, Next::Answer(Err(GuestError::Denied(_)))));
    }
}
