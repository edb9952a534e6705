//! Studio's browser sessions through a real server: a token traded for an
//! HttpOnly, SameSite=Strict cookie that authenticates like the token,
//! writes with it refused without the CSRF header or a same-origin Origin,
//! and the role's limits kept; a forged cookie is no session.

use super::common::server::{Api, Server};
use super::error_code;
use serde_json::{Value, json};

/// The `name=value` part of a Set-Cookie header.
fn cookie_pair(response: &reqwest::Response) -> String {
    let set = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    set.split(';').next().unwrap().to_string()
}

/// `POST /v1/session` with `token`.
async fn sign_in(api: &Api, token: &str) -> reqwest::Response {
    api.http
        .post(format!("{}/v1/session", api.base))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_token_becomes_a_cookie_session_that_keeps_its_role_and_needs_csrf_proof_to_write() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    let http = &api.http;
    let url = |path: &str| format!("{}{path}", api.base);

    // A wrong token is refused and sets nothing.
    let refused = sign_in(&api, "wolfe_not-a-token").await;
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().get("set-cookie").is_none());

    // The operator's token becomes a cookie no script can read and no
    // other site's page sends.
    let signed_in = sign_in(&api, &t.operator).await;
    assert_eq!(signed_in.status(), 200);
    let set = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set.contains(flag), "{flag} missing from {set}");
    }
    assert!(
        !set.contains(&t.operator),
        "the cookie holds the token itself: {set}"
    );
    assert!(
        !set.contains("Secure"),
        "over plain HTTP a Secure cookie is not kept: {set}"
    );
    let cookie = cookie_pair(&signed_in);
    // Behind a TLS proxy the cookie never travels over plain HTTP.
    let proxied = api
        .http
        .post(format!("{}/v1/session", api.base))
        .header("x-forwarded-proto", "https")
        .json(&json!({ "token": t.operator }))
        .send()
        .await
        .unwrap();
    let secure = proxied.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(secure.contains("; Secure"), "{secure}");
    let me: Value = signed_in.json().await.unwrap();
    assert_eq!(me["tenant"], "acme");
    assert_eq!(me["role"], "operator");
    assert!(me["expires_at"].is_string(), "{me}");

    // Reads work with the cookie alone, as the token's role.
    let who: Value = http
        .get(url("/v1/session"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(who["role"], "operator");
    let listed = http
        .get(url("/v1/tenants/acme/executions"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);

    // A write with the cookie alone is what a cross-site form would send:
    // refused. With the CSRF header, or from the server's own origin, it
    // goes through.
    let pause = |extra: Option<(&'static str, String)>| {
        let mut request = http
            .post(url("/v1/tenants/acme/pause"))
            .header("cookie", &cookie);
        if let Some((name, value)) = extra {
            request = request.header(name, value);
        }
        request.send()
    };
    let forged = pause(None).await.unwrap();
    assert_eq!(forged.status(), 403);
    let body: Value = forged.json().await.unwrap();
    assert_eq!(error_code(&body), "forbidden");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("x-wolfe-csrf")
    );
    let cross_site = pause(Some(("origin", "https://evil.example".into())))
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    // An Authorization header that is no bearer token (Basic, resent by the
    // browser to a proxy in front) leaves the cookie to authenticate: still
    // a cookie-made write, still refused without proof.
    let basic = pause(Some(("authorization", "Basic dXNlcjpwYXNz".into())))
        .await
        .unwrap();
    assert_eq!(basic.status(), 403);
    assert_eq!(
        pause(Some(("x-wolfe-csrf", "1".into())))
            .await
            .unwrap()
            .status(),
        200
    );
    let own_origin = pause(Some(("origin", api.base.clone()))).await.unwrap();
    assert_eq!(own_origin.status(), 200);

    // The role's limits hold: an operator may not write rules.
    let rule = http
        .put(url("/v1/tenants/acme/rules/r"))
        .header("cookie", &cookie)
        .header("x-wolfe-csrf", "1")
        .json(&json!({"runbook": "hello", "environment": "dev"}))
        .send()
        .await
        .unwrap();
    assert_eq!(rule.status(), 403);

    // A cookie changed by hand is no session.
    let (payload, _mac) = cookie.rsplit_once('.').unwrap();
    let forged_cookie = format!("{payload}.{}", "0".repeat(64));
    let status = http
        .get(url("/v1/session"))
        .header("cookie", forged_cookie)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);

    // Signing out clears the cookie (a write like any other).
    let out = http
        .delete(url("/v1/session"))
        .header("cookie", &cookie)
        .header("x-wolfe-csrf", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert!(cookie_pair(&out).ends_with('='), "{:?}", out.headers());
}

#[tokio::test]
async fn an_auditor_session_reads_but_cannot_change_anything() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let api = server.api();
    let t = api.tenant("acme").await;
    let http = &api.http;
    let url = |path: &str| format!("{}{path}", api.base);
    let signed_in = sign_in(&api, &t.auditor).await;
    let cookie = cookie_pair(&signed_in);
    let audit = http
        .get(url("/v1/tenants/acme/audit"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(audit.status(), 200);
    for (method, path) in [
        ("POST", "/v1/tenants/acme/pause"),
        ("PUT", "/v1/tenants/acme/secrets/X"),
        ("DELETE", "/v1/tenants/acme/rules/r"),
    ] {
        let response = http
            .request(method.parse().unwrap(), url(path))
            .header("cookie", &cookie)
            .header("x-wolfe-csrf", "1")
            .json(&json!({"value": "v"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{method} {path}");
    }
    // Another tenant's objects do not exist for it.
    api.tenant("globex").await;
    let other = http
        .get(url("/v1/tenants/globex/executions"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}
