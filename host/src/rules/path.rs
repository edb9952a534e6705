//! JSON paths over an event: dotted `data.alerts.0.labels.severity`, also
//! written `data.alerts[0].labels.severity` or `$.data.alerts[0]…`, or a JSON
//! Pointer (RFC 6901) `/data/alerts/0/labels/severity`.

use serde_json::Value;

/// Looks up `path` in `value`; `None` when any step is missing.
pub fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if path.starts_with('/') {
        return value.pointer(path);
    }
    let path = path.strip_prefix("$.").unwrap_or(path);
    if path.is_empty() || path == "$" {
        return Some(value);
    }
    let mut current = value;
    for segment in segments(path) {
        current = match current {
            Value::Object(map) => map.get(segment)?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Checks a path's syntax, for validating configuration up front: a path
/// that passes can resolve; one that cannot never would.
pub fn validate(path: &str) -> Result<(), String> {
    if path.starts_with('/') {
        return Ok(());
    }
    let trimmed = path.strip_prefix("$.").unwrap_or(path);
    if trimmed.is_empty() {
        return Err("a path may not be empty".into());
    }
    check_brackets(trimmed).map_err(|m| format!("path {path:?}: {m}"))?;
    if segments(trimmed).any(str::is_empty) {
        return Err(format!("path {path:?} has an empty segment"));
    }
    Ok(())
}

/// Brackets hold an array index and nothing else: [`lookup`] reads `[*]`,
/// `[-1]`, `["a.b"]` or `[?(@.a)]` as a key no event has, so such a path
/// would never resolve.
fn check_brackets(path: &str) -> Result<(), String> {
    let mut rest = path;
    while let Some(at) = rest.find(['[', ']']) {
        if rest[at..].starts_with(']') {
            return Err("has a `]` without its `[`".into());
        }
        let after = &rest[at + 1..];
        let close = after.find(']').ok_or("has a `[` without its `]`")?;
        let inside = &after[..close];
        if inside.is_empty() || !inside.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "`[{inside}]` is not an array index: brackets hold digits only (`[0]`; \
                 no wildcards, negative indexes, quoted keys or filters); for a key with \
                 `.` or `[` in it, write a JSON Pointer (`/data/a.b/0`)"
            ));
        }
        rest = &after[close + 1..];
        if !(rest.is_empty() || rest.starts_with(['.', '['])) {
            return Err(format!(
                "`[{inside}]` must be followed by `.`, `[` or the end"
            ));
        }
    }
    Ok(())
}

/// The first step of a path (`data` in `data.x`, `$.data[0]` and
/// `/data/x`): which field of the value it starts at.
pub fn first_segment(path: &str) -> &str {
    match path.strip_prefix('/') {
        Some(pointer) => pointer.split('/').next().unwrap_or_default(),
        None => {
            let path = path.strip_prefix("$.").unwrap_or(path);
            segments(path).next().unwrap_or_default()
        }
    }
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split(['.', '['])
        .map(|s| s.strip_suffix(']').unwrap_or(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn looks_up_objects_and_arrays() {
        let v = json!({"data": {"alerts": [{"labels": {"sev": "page"}}]}});
        assert_eq!(lookup(&v, "data.alerts.0.labels.sev"), Some(&json!("page")));
        assert_eq!(
            lookup(&v, "data.alerts[0].labels.sev"),
            Some(&json!("page"))
        );
        assert_eq!(lookup(&v, "$.data.alerts"), Some(&v["data"]["alerts"]));
        assert_eq!(lookup(&v, "data.alerts.1"), None);
        assert_eq!(lookup(&v, "data.missing.x"), None);
        assert_eq!(lookup(&v, "$"), Some(&v));
        assert_eq!(
            lookup(&v, "/data/alerts/0/labels/sev"),
            Some(&json!("page"))
        );
        assert!(validate("a..b").is_err());
        assert!(validate("a.b[2].c").is_ok());
    }

    #[test]
    fn paths_that_could_never_resolve_are_refused() {
        let ok = [
            "data.alerts[0].labels",
            "data.alerts.0",
            "a[0][12].b",
            "$.data[3]",
            "$",
            "/data/a.b/[*]",
        ];
        for path in ok {
            assert_eq!(validate(path), Ok(()), "{path}");
        }
        let refused = [
            ("data.alerts[*].labels", "[*]"),
            ("data.alerts[-1]", "[-1]"),
            (r#"data["a.b"]"#, "JSON Pointer"),
            ("data.alerts[?(@.a)]", "not an array index"),
            ("data.alerts[]", "[]"),
            ("data.alerts]", "without its `[`"),
            ("data.a]b", "without its `[`"),
            ("data.alerts[0", "without its `]`"),
            ("data.alerts[0]x", "followed by"),
        ];
        for (path, why) in refused {
            let err = validate(path).unwrap_err();
            assert!(
                err.starts_with(&format!("path {path:?}: ")),
                "{path}: {err}"
            );
            assert!(err.contains(why), "{path}: {err}");
        }
    }

    #[test]
    fn the_first_segment_is_where_a_path_starts() {
        let cases = [
            ("data.x", "data"),
            ("$.data[0]", "data"),
            ("labels[2].x", "labels"),
            ("/metadata/sqs", "metadata"),
            ("type", "type"),
        ];
        for (path, first) in cases {
            assert_eq!(first_segment(path), first, "{path}");
        }
    }
}
