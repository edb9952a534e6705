//! Parameter mapping: a rule's `params` object is rendered against the event
//! envelope into the runbook's input. Every string is a minijinja template;
//! a string that is exactly one `{{ expression }}` keeps the JSON type of
//! what it evaluates to (a number stays a number, an object an object).
//! Non-string values pass through unchanged.

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

/// Renders `params` with the envelope as the template context. Undefined
/// variables are errors, so a typo in a rule fails loudly, not silently empty.
pub fn render_params(params: &Value, envelope: &Value) -> Result<Value, String> {
    let env = template_env();
    render_value(&env, params, envelope, "params")
}

/// Checks every template in `params` compiles, naming the first bad one.
pub fn validate_params(params: &Value) -> Result<(), String> {
    let env = template_env();
    walk_strings(params, "params", &mut |path, s| {
        match whole_expression(s) {
            Some(expr) => env.compile_expression(expr).map(|_| ()),
            None => env.template_from_str(s).map(|_| ()),
        }
        .map_err(|e| format!("{path}: {e}"))
    })
}

fn template_env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Runbook inputs are JSON, not HTML.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

fn render_value(
    env: &Environment<'_>,
    value: &Value,
    ctx: &Value,
    path: &str,
) -> Result<Value, String> {
    match value {
        Value::String(s) => {
            if let Some(expr) = whole_expression(s) {
                let compiled = env
                    .compile_expression(expr)
                    .map_err(|e| format!("{path}: {e}"))?;
                let result = compiled.eval(ctx).map_err(|e| format!("{path}: {e}"))?;
                return serde_json::to_value(&result).map_err(|e| format!("{path}: {e}"));
            }
            env.render_str(s, ctx)
                .map(Value::String)
                .map_err(|e| format!("{path}: {e}"))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| render_value(env, v, ctx, &format!("{path}[{i}]")))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                Ok((
                    k.clone(),
                    render_value(env, v, ctx, &format!("{path}.{k}"))?,
                ))
            })
            .collect::<Result<_, String>>()
            .map(Value::Object),
        other => Ok(other.clone()),
    }
}

/// `"{{ data.x }}"` → `Some("data.x")`; anything with text around it → None.
fn whole_expression(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then_some(inner.trim())
}

fn walk_strings(
    value: &Value,
    path: &str,
    f: &mut impl FnMut(&str, &str) -> Result<(), String>,
) -> Result<(), String> {
    match value {
        Value::String(s) => f(path, s),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| walk_strings(v, &format!("{path}[{i}]"), f)),
        Value::Object(map) => map
            .iter()
            .try_for_each(|(k, v)| walk_strings(v, &format!("{path}.{k}"), f)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_templates_and_keeps_types() {
        let envelope = json!({"id": "e1", "type": "alert", "data": {"labels": {"service": "checkout", "replicas": 3}, "alerts": [1, 2]}});
        let params = json!({
            "service": "{{ data.labels.service }}",
            "replicas": "{{ data.labels.replicas }}",
            "labels": "{{ data.labels }}",
            "summary": "{{ data.labels.service | upper }} has {{ data.alerts | length }} alerts",
            "fixed": 7,
            "nested": {"event": "{{ id }}"},
        });
        let rendered = render_params(&params, &envelope).unwrap();
        assert_eq!(
            rendered,
            json!({
                "service": "checkout",
                "replicas": 3,
                "labels": {"service": "checkout", "replicas": 3},
                "summary": "CHECKOUT has 2 alerts",
                "fixed": 7,
                "nested": {"event": "e1"},
            })
        );
    }

    #[test]
    fn undefined_fields_and_bad_templates_are_errors_that_name_the_param() {
        let err = render_params(
            &json!({"a": {"b": "{{ data.nope.x }}"}}),
            &json!({"data": {}}),
        )
        .unwrap_err();
        assert!(err.starts_with("params.a.b"), "{err}");
        let err = validate_params(&json!({"x": "{{ unclosed"})).unwrap_err();
        assert!(err.starts_with("params.x"), "{err}");
        assert!(validate_params(&json!({"x": "{{ data.a }}", "y": "text {{ id }}"})).is_ok());
    }
}
