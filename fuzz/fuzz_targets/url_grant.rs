//! URL grants (`url_grants`): `capabilities.http` patterns
//! compiled by `HttpPolicy::from_declared`.
//!
//! Inputs: lines of `PATTERN [METHOD,METHOD…]` (raw), or patterns built
//! from parts (first byte 0). Properties: every accepted pattern is one
//! grant, kept as written (trimmed), with known upper-case methods; and a
//! grant admits the URLs it describes (its wildcards filled in), for its
//! first method, whenever that URL is already in normal form.
#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use url::Url;
use wolfe::url_grants::KNOWN_METHODS;
use wolfe::capabilities::http::{HttpPolicy, PolicyError};
use wolfe::manifest::DeclaredHttp;

fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&0) {
        let _ = structured(&mut Unstructured::new(&data[1..]));
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let declared: Vec<DeclaredHttp> = text
        .lines()
        .take(16)
        .map(|line| {
            let (url, methods) = line.split_once(' ').unwrap_or((line, ""));
            let methods: Vec<String> = methods
                .split(',')
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect();
            DeclaredHttp {
                url: url.to_string(),
                methods: if methods.is_empty() {
                    vec!["GET".into()]
                } else {
                    methods
                },
            }
        })
        .collect();
    check(&declared);
});

fn structured(u: &mut Unstructured<'_>) -> Result<()> {
    let n = u.int_in_range(1..=4)?;
    let declared = (0..n)
        .map(|_| {
            let m = u.int_in_range(0..=3)?;
            Ok(DeclaredHttp {
                url: wolfe_fuzz::url_pattern(u)?,
                methods: (0..m)
                    .map(|_| wolfe_fuzz::method(u))
                    .collect::<Result<_>>()?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    check(&declared);
    Ok(())
}

fn check(declared: &[DeclaredHttp]) {
    let Ok(policy) = HttpPolicy::from_declared(declared) else {
        return;
    };
    assert_eq!(policy.grants().len(), declared.len());
    for (grant, d) in policy.grants().iter().zip(declared) {
        assert_eq!(grant.pattern, d.url.trim());
        let shown = grant.to_string();
        for m in &d.methods {
            let upper = m.to_ascii_uppercase();
            assert!(KNOWN_METHODS.contains(&upper.as_str()), "{m:?} granted");
            assert!(shown.contains(&upper), "{shown:?} shows {upper:?}");
        }
        let alone = HttpPolicy::from_declared(std::slice::from_ref(d)).expect("valid alone too");
        let Some(url) = instance(&grant.pattern) else {
            continue;
        };
        let method = d.methods[0].to_ascii_uppercase();
        for p in [&policy, &alone] {
            match p.check(&method, &url) {
                Ok(()) => {}
                Err(e @ PolicyError::UrlNotAllowed { .. }) => {
                    panic!(
                        "grant {:?} refuses {url} which it describes: {e}",
                        grant.pattern
                    )
                }
                Err(e) => panic!("grant {:?} refuses {method} {url}: {e}", grant.pattern),
            }
        }
        let host = url.host_str().expect("an http URL has a host");
        assert!(
            !policy.grants_reaching(host).is_empty(),
            "no grant reaches {host}"
        );
    }
}

/// A URL the pattern describes: `*.` host → `w.`, port `*` → 1, path `*`
/// → `x`. `None` when it does not parse, or the parser would normalise its
/// path (a request's path is compared after normalisation).
fn instance(pattern: &str) -> Option<Url> {
    let (scheme, rest) = pattern.split_once("://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let authority = match authority.strip_prefix("*.") {
        Some(host) => format!("w.{host}"),
        None => authority.to_string(),
    };
    let authority = match authority.strip_suffix(":*") {
        Some(host) => format!("{host}:1"),
        None => authority,
    };
    let path = if path.is_empty() {
        "/".to_string()
    } else {
        path.replace('*', "x")
    };
    let url = Url::parse(&format!("{scheme}://{authority}{path}")).ok()?;
    (url.path() == path && url.query().is_none() && url.fragment().is_none()).then_some(url)
}
