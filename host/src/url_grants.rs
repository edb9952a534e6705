//! HTTP grants: which URLs and methods a runbook may call, compiled once per
//! runbook version from the manifest's `capabilities.http` patterns and checked
//! (by `capabilities::http`) before every request and every redirect hop.
//! Depends on nothing else in Wolfe: the manifest validates its patterns
//! here, and maps a [`GrantError`] to the manifest key it names.
//!
//! A pattern is `scheme://host[:port][/path]`:
//! - scheme: `http` or `https`, matched exactly;
//! - host: exact (case-insensitive, normalised like a browser would), or
//!   `*.example.com` for any subdomain of example.com (not example.com itself);
//! - port: exact, `*` for any, or absent for the scheme's default;
//! - path: absent grants the whole origin; ending in `/` grants that prefix;
//!   containing `*` is a glob where `*` matches any characters, `/` included;
//!   anything else must match exactly. Query and fragment are never part of a
//!   grant. Request paths are normalised (`..` resolved) before matching.

use serde::{Deserialize, Serialize};
use std::fmt;
use url::Url;

/// HTTP methods a grant may list.
pub const KNOWN_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// One `capabilities.http` entry as declared: a URL pattern and the methods
/// allowed on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclaredHttp {
    pub url: String,
    /// Defaults to `["GET"]`: reading is the least a grant can mean.
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
}

fn default_methods() -> Vec<String> {
    vec!["GET".to_string()]
}

/// Why a declared grant does not compile: entry `index`'s `field`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{}` {problem}", self.key())]
pub struct GrantError {
    pub index: usize,
    pub field: GrantField,
    pub problem: String,
}

/// The part of a declared grant that is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantField {
    Url,
    Methods,
}

impl GrantError {
    /// The manifest key of what is wrong: `capabilities.http[0].url`.
    pub fn key(&self) -> String {
        let field = match self.field {
            GrantField::Url => "url",
            GrantField::Methods => "methods",
        };
        format!("capabilities.http[{}].{field}", self.index)
    }
}

/// The compiled HTTP grants of one runbook version. Empty means deny all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpPolicy {
    grants: Vec<HttpGrant>,
}

/// One compiled `capabilities.http` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpGrant {
    pub pattern: String,
    scheme: String,
    host: HostPattern,
    port: PortPattern,
    path: PathPattern,
    methods: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// `*.example.com`, stored as `.example.com`.
    SubdomainOf(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortPattern {
    Any,
    Exact(u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PathPattern {
    Any,
    Exact(String),
    Prefix(String),
    Glob(String),
}

/// Why a request was refused, worded for the guest and the trail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("URL {url} matches no http grant")]
    UrlNotAllowed { url: String },
    #[error("method {method} is not granted for {url} (granted: {granted})")]
    MethodNotAllowed {
        method: String,
        url: String,
        granted: String,
    },
}

impl HttpPolicy {
    /// Compiles the declared patterns; errors name the offending key.
    pub fn from_declared(declared: &[DeclaredHttp]) -> Result<Self, GrantError> {
        let grants = declared
            .iter()
            .enumerate()
            .map(|(i, d)| HttpGrant::compile(i, d))
            .collect::<Result<_, _>>()?;
        Ok(Self { grants })
    }

    /// The grants whose host pattern covers `host` (exact, or a subdomain
    /// of a `*.domain` grant): "which runbooks can reach this host?". A
    /// trailing dot (`h.io.`, the fully qualified form) names the same host,
    /// in the question and in a grant.
    pub fn grants_reaching(&self, host: &str) -> Vec<&HttpGrant> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.grants
            .iter()
            .filter(|g| match &g.host {
                HostPattern::Exact(h) => h.trim_end_matches('.') == host,
                HostPattern::SubdomainOf(suffix) => host.ends_with(suffix.trim_end_matches('.')),
            })
            .collect()
    }

    pub fn grants(&self) -> &[HttpGrant] {
        &self.grants
    }

    /// Checks one request; `url` must already be parsed (and so normalised).
    pub fn check(&self, method: &str, url: &Url) -> Result<(), PolicyError> {
        let matching: Vec<&HttpGrant> = self.grants.iter().filter(|g| g.matches_url(url)).collect();
        if matching.is_empty() {
            return Err(PolicyError::UrlNotAllowed {
                url: url.to_string(),
            });
        }
        if matching
            .iter()
            .any(|g| g.methods.iter().any(|m| m == method))
        {
            return Ok(());
        }
        let mut granted: Vec<&str> = matching
            .iter()
            .flat_map(|g| g.methods.iter().map(String::as_str))
            .collect();
        granted.sort_unstable();
        granted.dedup();
        Err(PolicyError::MethodNotAllowed {
            method: method.to_string(),
            url: url.to_string(),
            granted: granted.join(", "),
        })
    }
}

impl HttpGrant {
    fn compile(index: usize, declared: &DeclaredHttp) -> Result<Self, GrantError> {
        let bad_url = |problem: String| GrantError {
            index,
            field: GrantField::Url,
            problem,
        };
        let pattern = declared.url.trim();
        let (scheme, rest) = pattern
            .split_once("://")
            .ok_or_else(|| bad_url(format!("{pattern:?} must start with http:// or https://")))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(bad_url(format!(
                "{pattern:?} has scheme {scheme:?}; only http and https are allowed"
            )));
        }
        if rest.contains(['?', '#', '@', '\\']) {
            return Err(bad_url(format!(
                "{pattern:?} may not contain a query, fragment, user info or backslash"
            )));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (host_text, port) =
            split_port(authority).map_err(|p| bad_url(format!("{pattern:?}: {p}")))?;
        // No port in the pattern: only the scheme's default port is granted.
        let port = port.unwrap_or(PortPattern::Exact(if scheme == "https" { 443 } else { 80 }));
        let (wildcard, bare_host) = match host_text.strip_prefix("*.") {
            Some(h) => (true, h),
            None => (false, host_text),
        };
        if bare_host.is_empty() || bare_host.contains('*') {
            return Err(bad_url(format!(
                "{pattern:?}: a host wildcard must be a leading `*.` followed by a domain"
            )));
        }
        // Let the URL parser normalise the host (case, IDNA, IPv4 forms) so
        // the grant compares like the requests it will be checked against.
        let normalised = Url::parse(&format!("{scheme}://{bare_host}/"))
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .ok_or_else(|| bad_url(format!("{pattern:?}: {bare_host:?} is not a valid host")))?;
        let host = if wildcard {
            HostPattern::SubdomainOf(format!(".{normalised}"))
        } else {
            HostPattern::Exact(normalised)
        };
        let path = if path.is_empty() {
            PathPattern::Any
        } else if path.contains('*') {
            PathPattern::Glob(path.to_string())
        } else if path.ends_with('/') {
            PathPattern::Prefix(path.to_string())
        } else {
            PathPattern::Exact(path.to_string())
        };
        let mut methods = Vec::new();
        for method in &declared.methods {
            let upper = method.to_ascii_uppercase();
            if !KNOWN_METHODS.contains(&upper.as_str()) {
                return Err(GrantError {
                    index,
                    field: GrantField::Methods,
                    problem: format!("{method:?} is not one of {}", KNOWN_METHODS.join(", ")),
                });
            }
            methods.push(upper);
        }
        if methods.is_empty() {
            return Err(GrantError {
                index,
                field: GrantField::Methods,
                problem: "must list at least one method".to_string(),
            });
        }
        Ok(Self {
            pattern: pattern.to_string(),
            scheme,
            host,
            port,
            path,
            methods,
        })
    }

    fn matches_url(&self, url: &Url) -> bool {
        if url.scheme() != self.scheme {
            return false;
        }
        let Some(host) = url.host_str() else {
            return false;
        };
        let host_ok = match &self.host {
            HostPattern::Exact(h) => host == h,
            HostPattern::SubdomainOf(suffix) => {
                host.len() > suffix.len() && host.ends_with(suffix.as_str())
            }
        };
        let port_ok = match self.port {
            PortPattern::Any => true,
            PortPattern::Exact(p) => url.port_or_known_default() == Some(p),
        };
        let path = url.path();
        let path_ok = match &self.path {
            PathPattern::Any => true,
            PathPattern::Exact(p) => path == p,
            PathPattern::Prefix(p) => path.starts_with(p.as_str()),
            PathPattern::Glob(g) => glob_match(g.as_bytes(), path.as_bytes()),
        };
        host_ok && port_ok && path_ok
    }
}

impl fmt::Display for HttpGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", self.pattern, self.methods.join(", "))
    }
}

/// Splits `host[:port]` (IPv6 in brackets); `None` when no port is given.
fn split_port(authority: &str) -> Result<(&str, Option<PortPattern>), String> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let end = rest.find(']').ok_or("unclosed [ in IPv6 host")?;
        let after = &rest[end + 1..];
        (&authority[..end + 2], after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some("*") => Some(PortPattern::Any),
        Some(p) => Some(PortPattern::Exact(
            p.parse().map_err(|_| format!("{p:?} is not a port"))?,
        )),
    };
    Ok((host, port))
}

/// `*` matches any run of bytes (including `/`); everything else literally.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(entries: &[(&str, &[&str])]) -> HttpPolicy {
        let declared: Vec<DeclaredHttp> = entries
            .iter()
            .map(|(url, methods)| DeclaredHttp {
                url: url.to_string(),
                methods: methods.iter().map(|m| m.to_string()).collect(),
            })
            .collect();
        HttpPolicy::from_declared(&declared).unwrap()
    }

    fn allowed(policy: &HttpPolicy, method: &str, url: &str) -> bool {
        policy.check(method, &Url::parse(url).unwrap()).is_ok()
    }

    #[test]
    fn empty_policy_denies_everything() {
        assert!(!allowed(
            &HttpPolicy::default(),
            "GET",
            "https://example.com/"
        ));
    }

    /// (pattern, methods, request method, request URL, expected)
    #[test]
    fn pattern_matching_table() {
        let cases: &[(&str, &[&str], &str, &str, bool)] = &[
            (
                "https://api.example.com/v1/*",
                &["GET"],
                "GET",
                "https://api.example.com/v1/items",
                true,
            ),
            (
                "https://api.example.com/v1/*",
                &["GET"],
                "GET",
                "https://api.example.com/v1/a/b?q=1",
                true,
            ),
            (
                "https://api.example.com/v1/*",
                &["GET"],
                "GET",
                "https://api.example.com/v2/items",
                false,
            ),
            (
                "https://api.example.com/v1/*",
                &["GET"],
                "GET",
                "https://api.example.com/v1/../admin",
                false,
            ),
            (
                "https://api.example.com/v1/*",
                &["GET"],
                "GET",
                "https://api.example.com/v1/%2e%2e/admin",
                false,
            ),
            (
                "https://api.example.com/v1/*",
                &["GET"],
                "GET",
                "http://api.example.com/v1/x",
                false,
            ),
            (
                "https://api.example.com/v1/*",
                &["GET"],
                "GET",
                "https://api.example.com:8443/v1/x",
                false,
            ),
            (
                "https://api.example.com/v1/*",
                &["GET"],
                "GET",
                "https://API.Example.COM/v1/x",
                true,
            ),
            (
                "https://api.example.com/v1/*",
                &["GET"],
                "GET",
                "https://api.example.com.evil.io/v1/x",
                false,
            ),
            (
                "https://api.example.com/v1/*",
                &["GET"],
                "POST",
                "https://api.example.com/v1/x",
                false,
            ),
            (
                "https://api.example.com",
                &["GET"],
                "GET",
                "https://api.example.com/anything/at/all",
                true,
            ),
            (
                "https://api.example.com/status",
                &["GET"],
                "GET",
                "https://api.example.com/status",
                true,
            ),
            (
                "https://api.example.com/status",
                &["GET"],
                "GET",
                "https://api.example.com/status/x",
                false,
            ),
            (
                "https://api.example.com/api/",
                &["GET"],
                "GET",
                "https://api.example.com/api/x/y",
                true,
            ),
            (
                "https://api.example.com/api/",
                &["GET"],
                "GET",
                "https://api.example.com/apix",
                false,
            ),
            (
                "https://*.example.com/",
                &["GET"],
                "GET",
                "https://a.b.example.com/",
                true,
            ),
            (
                "https://*.example.com/",
                &["GET"],
                "GET",
                "https://example.com/",
                false,
            ),
            (
                "https://*.example.com/",
                &["GET"],
                "GET",
                "https://badexample.com/",
                false,
            ),
            (
                "http://127.0.0.1:8080/*",
                &["POST"],
                "POST",
                "http://127.0.0.1:8080/hook",
                true,
            ),
            (
                "http://127.0.0.1:8080/*",
                &["POST"],
                "POST",
                "http://127.0.0.1:8081/hook",
                false,
            ),
            (
                "http://127.0.0.1:*/*",
                &["GET"],
                "GET",
                "http://127.0.0.1:9/x",
                true,
            ),
            (
                "http://127.0.0.1/*",
                &["GET"],
                "GET",
                "http://2130706433/x",
                true,
            ),
            (
                "http://[::1]:9000/x/*",
                &["GET"],
                "GET",
                "http://[::1]:9000/x/1",
                true,
            ),
            (
                "https://h.io/*/status",
                &["get"],
                "GET",
                "https://h.io/a/b/status",
                true,
            ),
            (
                "https://h.io/*/status",
                &["GET"],
                "GET",
                "https://h.io/a/b/status/x",
                false,
            ),
        ];
        for (pattern, methods, method, url, expected) in cases {
            let p = policy(&[(pattern, methods)]);
            assert_eq!(
                allowed(&p, method, url),
                *expected,
                "{method} {url} against {pattern}"
            );
        }
    }

    #[test]
    fn denial_says_why() {
        let p = policy(&[("https://h.io/*", &["GET", "HEAD"])]);
        let err = p
            .check("DELETE", &Url::parse("https://h.io/x").unwrap())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "method DELETE is not granted for https://h.io/x (granted: GET, HEAD)"
        );
        let err = p
            .check("GET", &Url::parse("https://other.io/").unwrap())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "URL https://other.io/ matches no http grant"
        );
    }

    #[test]
    fn invalid_patterns_are_rejected() {
        for bad in [
            "ftp://h.io/",
            "h.io/x",
            "https://*/x",
            "https://a.*.io/",
            "https://user@h.io/",
            "https://h.io/?q=1",
            "https://h.io:99999/",
            "https:///x",
        ] {
            let declared = [DeclaredHttp {
                url: bad.to_string(),
                methods: vec!["GET".into()],
            }];
            let err = HttpPolicy::from_declared(&declared)
                .unwrap_err()
                .to_string();
            assert!(err.contains("capabilities.http[0].url"), "{bad}: {err}");
        }
    }

    /// Found by fuzzing (fuzz/fuzz_targets/url_grant.rs): a grant written
    /// with a trailing dot reached its host, but the reach report did not
    /// list it.
    #[test]
    fn grants_with_a_trailing_dot_are_reported_as_reaching_their_host() {
        let p = policy(&[
            ("https://h.io./", &["GET"]),
            ("https://*.example.com./", &["GET"]),
        ]);
        assert!(allowed(&p, "GET", "https://h.io./"));
        for host in ["h.io", "h.io.", "H.IO"] {
            assert_eq!(p.grants_reaching(host).len(), 1, "{host}");
        }
        assert_eq!(p.grants_reaching("a.example.com.").len(), 1);
        assert!(p.grants_reaching("other.io").is_empty());
    }

    #[test]
    fn glob_matching() {
        assert!(glob_match(b"/a/*", b"/a/"));
        assert!(glob_match(b"*", b""));
        assert!(glob_match(b"/a/*/c*", b"/a/b/x/cd"));
        assert!(!glob_match(b"/a/*/c", b"/a/b/cd"));
    }
}
