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

/// Checks a path's syntax, for validating configuration up front.
pub fn validate(path: &str) -> Result<(), String> {
    if path.starts_with('/') {
        return Ok(());
    }
    let trimmed = path.strip_prefix("$.").unwrap_or(path);
    if trimmed.is_empty() {
        return Err("a path may not be empty".into());
    }
    if segments(trimmed).any(str::is_empty) {
        return Err(format!("path {path:?} has an empty segment"));
    }
    Ok(())
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
}
