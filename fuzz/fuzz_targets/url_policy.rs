//! The URL policy check, as an outbound request meets it
//! (`capabilities::http`): the guest's URL parsed by `parse_url`, checked
//! against the grants (`HttpPolicy::check`), then its IP literal against
//! the address policy (`check_ip_literal`).
//!
//! Inputs: grants and a request built from parts (patterns and URLs that
//! nearly match each other), or raw lines: patterns, then `METHOD URL`
//! last. Properties: decisions are pure, and the same for the URL parsed
//! again from its text, and whatever its query and fragment; a grant more
//! never refuses what fewer grants allowed; only known upper-case methods
//! pass, to hosts some grant reaches; an IPv4 address and its IPv6-mapped
//! form get the same answer.
#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::net::IpAddr;
use wolfe::url_grants::KNOWN_METHODS;
use wolfe::capabilities::http::{
    AddressPolicy, HttpPolicy, PolicyError, check_ip_literal, parse_url,
};
use wolfe::manifest::DeclaredHttp;

fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&0) {
        let _ = structured(&mut Unstructured::new(&data[1..]));
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines: Vec<&str> = text.lines().take(16).collect();
    let Some(request) = lines.pop() else {
        return;
    };
    let (method, url) = request.split_once(' ').unwrap_or(("GET", request));
    let declared: Vec<DeclaredHttp> = lines
        .iter()
        .map(|line| {
            let (url, methods) = line.split_once(' ').unwrap_or((line, "GET"));
            DeclaredHttp {
                url: url.to_string(),
                methods: methods.split(',').map(str::to_string).collect(),
            }
        })
        .collect();
    check(&declared, method, url);
});

fn structured(u: &mut Unstructured<'_>) -> Result<()> {
    let n = u.int_in_range(0..=4)?;
    let declared = (0..n)
        .map(|_| {
            let m = u.int_in_range(1..=3)?;
            Ok(DeclaredHttp {
                url: wolfe_fuzz::url_pattern(u)?,
                methods: (0..m)
                    .map(|_| wolfe_fuzz::method(u))
                    .collect::<Result<_>>()?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let method = wolfe_fuzz::method(u)?;
    let url = wolfe_fuzz::request_url(u)?;
    check(&declared, &method, &url);
    Ok(())
}

fn check(declared: &[DeclaredHttp], method: &str, url: &str) {
    // Patterns that do not compile are left out, as a manifest would
    // refuse them.
    let declared: Vec<DeclaredHttp> = declared
        .iter()
        .filter(|d| HttpPolicy::from_declared(std::slice::from_ref(d)).is_ok())
        .cloned()
        .collect();
    let policy = HttpPolicy::from_declared(&declared).expect("each compiles alone");
    let Ok(url) = parse_url(url) else {
        return;
    };
    assert!(matches!(url.scheme(), "http" | "https"));
    assert!(url.username().is_empty() && url.password().is_none());
    let decision = policy.check(method, &url);
    assert_eq!(decision, policy.check(method, &url), "the check is pure");
    let reparsed = parse_url(url.as_str()).expect("a parsed URL parses again");
    assert_eq!(reparsed, url, "parsing {url} again");
    assert_eq!(policy.check(method, &reparsed), decision);
    let mut bare = url.clone();
    bare.set_query(None);
    bare.set_fragment(None);
    // The URL is part of a refusal's text: compare the decisions only.
    let kind = |r: &std::result::Result<(), PolicyError>| match r {
        Ok(()) => 0,
        Err(PolicyError::UrlNotAllowed { .. }) => 1,
        Err(PolicyError::MethodNotAllowed { .. }) => 2,
    };
    assert_eq!(
        kind(&policy.check(method, &bare)),
        kind(&decision),
        "query and fragment of {url}"
    );
    if decision.is_ok() {
        assert!(KNOWN_METHODS.contains(&method), "method {method:?} passed");
        let host = url.host_str().expect("a granted URL has a host");
        assert!(
            !policy.grants_reaching(host).is_empty(),
            "{url} passed, no grant reaches {host}"
        );
    }
    for k in 0..declared.len() {
        let fewer = HttpPolicy::from_declared(&declared[..k]).expect("a prefix compiles");
        if fewer.check(method, &url).is_ok() {
            assert!(
                decision.is_ok(),
                "grant {k}+ turned an allowed {url} into {decision:?}"
            );
        }
    }
    // The address check, with nothing allowed and with a CIDR allowed.
    for addresses in [
        AddressPolicy::default(),
        AddressPolicy::allowing(vec!["127.0.0.0/8".parse().expect("a CIDR")]),
    ] {
        let refused = check_ip_literal(&addresses, &url);
        assert_eq!(refused, check_ip_literal(&addresses, &reparsed));
        match url.host() {
            Some(url::Host::Ipv4(v4)) => {
                let mapped = IpAddr::V6(v4.to_ipv6_mapped());
                assert_eq!(addresses.check(v4.into()).is_ok(), refused.is_ok());
                assert_eq!(
                    addresses.check(mapped).is_ok(),
                    refused.is_ok(),
                    "{v4} as {mapped}"
                );
            }
            Some(url::Host::Ipv6(v6)) => {
                if let Some(v4) = v6.to_ipv4_mapped() {
                    assert_eq!(
                        addresses.check(v4.into()).is_ok(),
                        refused.is_ok(),
                        "{v6} as {v4}"
                    );
                }
            }
            _ => assert!(refused.is_ok(), "a name is checked by the resolver"),
        }
    }
}
