//! Input generators shared by the fuzz targets. Structured inputs (JSON
//! values, JSON paths, URL patterns, templates) are built from Wolfe's own
//! vocabulary most of the time, so that paths find fields, templates name
//! variables that exist and grants match requests; the rest of the time
//! they are arbitrary text, so nothing is only ever tried in its nice form.
//!
//! Every target also takes a "raw" input (the bytes as the text a user or
//! sender would send), which is what the committed seeds in `corpus/` are.

use arbitrary::{Result, Unstructured};
use serde_json::{Map, Number, Value};

/// Words of events, rules and SNS envelopes.
pub const WORDS: &[&str] = &[
    "data",
    "alerts",
    "labels",
    "alertname",
    "fingerprint",
    "status",
    "startsAt",
    "severity",
    "service",
    "instance",
    "id",
    "type",
    "source",
    "time",
    "event",
    "events",
    "metadata",
    "kind",
    "Type",
    "Message",
    "Notification",
    "MessageAttributes",
    "Value",
    "firing",
    "page",
    "checkout",
    "0",
    "1",
    "2",
    "a",
    "b",
    "",
    "$",
    "$.",
    "/",
    "*",
    "x.y",
    "[0]",
    "~1",
    "é",
];

/// Arbitrary text of at most `max` characters.
pub fn text(u: &mut Unstructured<'_>, max: usize) -> Result<String> {
    let s: &str = u.arbitrary()?;
    Ok(s.chars().take(max).collect())
}

/// A word of the vocabulary, or (one time in four) arbitrary text.
pub fn word(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(3u8, 4)? {
        Ok(u.choose(WORDS)?.to_string())
    } else {
        text(u, 24)
    }
}

/// A JSON value at most `depth` levels deep.
pub fn json(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    let kinds = if depth == 0 { 5 } else { 7 };
    Ok(match u.int_in_range(0..=kinds)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(u.int_in_range(-3i64..=100)?),
        3 => match u.int_in_range(0..=2)? {
            0 => Value::from(u.arbitrary::<i64>()?),
            1 => Value::from(u.arbitrary::<u64>()?),
            _ => Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        },
        4 | 5 => Value::String(word(u)?),
        6 => {
            let n = u.int_in_range(0..=4)?;
            Value::Array((0..n).map(|_| json(u, depth - 1)).collect::<Result<_>>()?)
        }
        _ => {
            let n = u.int_in_range(0..=4)?;
            let mut map = Map::new();
            for _ in 0..n {
                map.insert(word(u)?, json(u, depth - 1)?);
            }
            Value::Object(map)
        }
    })
}

/// An event envelope as rules and templates see it.
pub fn envelope(u: &mut Unstructured<'_>, source: &str, event_type: &str) -> Result<Value> {
    let mut data = json(u, 4)?;
    // Mostly an object, like real event data.
    if !data.is_object() && u.ratio(3u8, 4)? {
        let mut map = Map::new();
        map.insert(word(u)?, data);
        data = Value::Object(map);
    }
    Ok(serde_json::json!({
        "id": "0196f2c1-0000-7000-8000-000000000001",
        "source": source,
        "type": event_type,
        "time": "2026-12-02T06:00:00.000000Z",
        "data": data,
        "metadata": json(u, 2)?,
    }))
}

/// A JSON path in any of the forms `rules::path` reads (dotted, brackets,
/// `$.`, JSON Pointer), or arbitrary text.
pub fn path(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=5)? {
        0 => text(u, 32)?,
        1 => u
            .choose(&["", "$", "$.", ".", "[", "]", "[]", "/", "a..b", "a.", ".a"])?
            .to_string(),
        2 => {
            let mut p = String::from("/");
            let n = u.int_in_range(0..=4)?;
            for i in 0..n {
                if i > 0 {
                    p.push('/');
                }
                p.push_str(&word(u)?);
            }
            p
        }
        _ => {
            let mut p = if u.ratio(1u8, 4)? {
                "$.".to_string()
            } else {
                String::new()
            };
            let n = u.int_in_range(1..=4)?;
            for i in 0..n {
                if u.ratio(1u8, 4)? {
                    let index = u.int_in_range(0..=3)?;
                    if i > 0 && u.arbitrary()? {
                        p.push_str(&format!("[{index}]"));
                        continue;
                    }
                    if i > 0 {
                        p.push('.');
                    }
                    p.push_str(&index.to_string());
                } else {
                    if i > 0 {
                        p.push('.');
                    }
                    p.push_str(&word(u)?);
                }
            }
            p
        }
    })
}

/// A source or type pattern: a name or a `*` glob.
pub fn glob_pattern(u: &mut Unstructured<'_>) -> Result<String> {
    let n = u.int_in_range(1..=4)?;
    let mut p = String::new();
    for _ in 0..n {
        if u.ratio(1u8, 3)? {
            p.push('*');
        } else {
            p.push_str(u.choose(&[
                "alert", ".", "firing", "Service", "Down", "a", "b", "ab", "é", "",
            ])?);
        }
    }
    Ok(p)
}

/// An event source or type name to match patterns against.
pub fn name(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(1u8, 4)? {
        return text(u, 24);
    }
    let n = u.int_in_range(0..=4)?;
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(u.choose(&[
            "alert", ".", "firing", "Service", "Down", "a", "b", "ab", "é", "*",
        ])?);
    }
    Ok(s)
}

/// A minijinja template: fragments of the forms rules use, or text.
pub fn template(u: &mut Unstructured<'_>) -> Result<String> {
    const FRAGMENTS: &[&str] = &[
        "{{ ",
        " }}",
        "{% ",
        " %}",
        "{{ data }}",
        "{{ data.labels.service }}",
        "{{ data.alerts | length }}",
        "{{ event.data }}",
        "{{ events }}",
        "{{ id }}",
        "{{ type }}",
        "{% for a in data.alerts %}",
        "{% for i in range(100000) %}",
        "{% endfor %}",
        "{% if data.status == \"firing\" %}",
        "{% else %}",
        "{% endif %}",
        "{% set x = 1 %}",
        "{% raw %}",
        "{% endraw %}",
        "{% macro m(x) %}",
        "{% endmacro %}",
        "{{ m(1) }}",
        "{#",
        "#}",
        "data",
        ".labels",
        "[0]",
        "['a']",
        " | upper",
        " | lower",
        " | tojson",
        " | default(1)",
        " | join(',')",
        " | items",
        " | list",
        " | sort",
        " ~ ",
        " + ",
        " * ",
        " // ",
        " % ",
        " and ",
        " if ",
        " else ",
        "range(3)",
        "range(100000)",
        "\"x\" * 1000000",
        "1e308",
        "-9223372036854775808",
        "\"text\"",
        "x",
        "loop.index",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        "\n",
    ];
    let n = u.int_in_range(1..=8)?;
    let mut t = String::new();
    for _ in 0..n {
        if u.ratio(7u8, 8)? {
            t.push_str(u.choose(FRAGMENTS)?);
        } else {
            t.push_str(&text(u, 16)?);
        }
    }
    Ok(t)
}

/// A `capabilities.http` URL pattern, from parts a manifest might use.
pub fn url_pattern(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(1u8, 8)? {
        return text(u, 48);
    }
    let scheme = u.choose(&["https", "http", "HTTPS", "ftp", "", "https:"])?;
    let host = u.choose(&[
        "api.example.com",
        "*.example.com",
        "example.com",
        "EXAMPLE.com",
        "h.io",
        "h.io.",
        "127.0.0.1",
        "2130706433",
        "0x7f.1",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::1",
        "localhost",
        "b\u{fc}cher.de",
        "xn--bcher-kva.de",
        "*",
        "*.",
        "a.*.io",
        "a b",
        "%41.io",
        "",
    ])?;
    let port = u.choose(&[
        "", "", ":443", ":80", ":8080", ":*", ":0", ":65536", ":+80", ":", "::80",
    ])?;
    let path = url_path(u)?;
    Ok(format!("{scheme}://{host}{port}{path}"))
}

/// A path of a pattern or a request.
pub fn url_path(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(1u8, 6)? {
        return text(u, 24);
    }
    Ok(u.choose(&[
        "",
        "/",
        "/v1/*",
        "/v1/items",
        "/api/",
        "/api/x/y",
        "/status",
        "/*/status",
        "/a/b/status",
        "/catalog/services/*",
        "/slack/*",
        "/v1/../admin",
        "/v1/%2e%2e/admin",
        "/v1/./x",
        "/v1//x",
        "/V1/x",
        "/a b",
        "/\u{fc}",
        "/*",
        "/**",
        "/x/*/y*",
    ])?
    .to_string())
}

/// A request URL: a host that some pattern names (or almost does), a
/// port, a path, sometimes user info, a query and a fragment.
pub fn request_url(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(1u8, 8)? {
        return text(u, 64);
    }
    let scheme = u.choose(&["https", "http", "HTTP", "ftp", "file"])?;
    let user = u.choose(&["", "", "", "user@", "user:pw@", "api.example.com@"])?;
    let host = u.choose(&[
        "api.example.com",
        "API.Example.COM",
        "a.example.com",
        "a.b.example.com",
        "example.com",
        "badexample.com",
        "api.example.com.evil.io",
        "api.example.com.",
        "h.io",
        "h.io.",
        "127.0.0.1",
        "127.1",
        "0177.0.0.1",
        "2130706433",
        "0x7f000001",
        "10.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::127.0.0.1]",
        "[fe80::1]",
        "[fd00::1]",
        "[::]",
        "0.0.0.0",
        "8.8.8.8",
        "localhost",
        "b\u{fc}cher.de",
        "xn--bcher-kva.de",
        "%61pi.example.com",
    ])?;
    let port = u.choose(&["", "", ":443", ":80", ":8080", ":9", ":0443", ":65535"])?;
    let path = url_path(u)?;
    let query = u.choose(&["", "", "?q=1", "?../admin", "?"])?;
    let fragment = u.choose(&["", "", "#f", "#/../x"])?;
    Ok(format!(
        "{scheme}://{user}{host}{port}{path}{query}{fragment}"
    ))
}

/// Methods a grant lists or a request uses.
pub fn method(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(1u8, 8)? {
        return text(u, 8);
    }
    Ok(u.choose(&[
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get", "Post", "TRACE",
        "CONNECT", "",
    ])?
    .to_string())
}

/// The sample Alertmanager post (`examples/alertmanager/alert.json`).
pub fn sample_alert() -> Value {
    serde_json::json!({
        "receiver": "wolfe",
        "status": "firing",
        "alerts": [{
            "status": "firing",
            "fingerprint": "f1",
            "labels": {"alertname": "ServiceDown", "service": "checkout", "severity": "page", "instance": "127.0.0.1:9"},
            "annotations": {"summary": "checkout health check failing"},
            "startsAt": "2026-11-21T06:00:00Z"
        }],
        "groupLabels": {"alertname": "ServiceDown"},
        "version": "4"
    })
}

/// The envelope of one split Alertmanager alert, as rules see it.
pub fn sample_envelope() -> Value {
    serde_json::json!({
        "id": "0196f2c1-0000-7000-8000-000000000001",
        "source": "alertmanager",
        "type": "ServiceDown",
        "time": "2026-12-02T06:00:00.000000Z",
        "data": sample_alert()["alerts"][0].clone(),
        "metadata": {},
    })
}

/// Wildcard matching by dynamic programming: the oracle for
/// `rules::glob::matches` (`*` matches any run of characters).
pub fn glob_oracle(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    // row[j]: whether p[..i] matches t[..j].
    let mut row = vec![false; t.len() + 1];
    row[0] = true;
    for &c in p {
        let mut next = vec![false; t.len() + 1];
        if c == b'*' {
            let mut any = false;
            for j in 0..=t.len() {
                any |= row[j];
                next[j] = any;
            }
        } else {
            for j in 1..=t.len() {
                next[j] = row[j - 1] && t[j - 1] == c;
            }
        }
        row = next;
    }
    row[t.len()]
}

#[cfg(test)]
mod tests {
    use super::glob_oracle;

    #[test]
    fn the_glob_oracle_agrees_with_the_documented_cases() {
        assert!(glob_oracle("*", ""));
        assert!(glob_oracle("a*b*c", "a-b-b-c"));
        assert!(!glob_oracle("a*b*c", "a-c-b"));
        assert!(!glob_oracle("*ab*ab", "ab"));
        assert!(glob_oracle("*ab*ab", "abab"));
        assert!(!glob_oracle("alert", "alerts"));
    }
}
