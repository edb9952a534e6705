//! Parameter mapping: a rule's `params` object is rendered against the event
//! envelope into the runbook's input. Every string is a minijinja template;
//! a string that is exactly one `{{ expression }}` keeps the JSON type of
//! what it evaluates to (a number stays a number, an object an object).
//! Non-string values pass through unchanged.

use crate::ingest::event::ENVELOPE_FIELDS;
use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

/// What `events` holds where a template is rendered.
#[derive(Debug, Clone, Copy)]
pub enum Events<'a> {
    /// Nothing: the params of a rule that does not correlate, and every
    /// `policy.key` (rendered per event, before any correlation).
    Absent,
    /// A threshold's envelopes, oldest first.
    List,
    /// A multi-event rule's envelope per condition name.
    ByCondition(&'a [&'a str]),
}

/// Steps (minijinja fuel) one template may take per render: a loop over an
/// event's alerts takes thousands; nested `range` loops would run for
/// minutes on the thread that accepts the event.
pub const TEMPLATE_FUEL: u64 = 1_000_000;

/// The most one template may render to: its text, or the JSON of the value
/// a whole `{{ expression }}` keeps. A loop of large strings would
/// otherwise grow until the host runs out of memory.
pub const MAX_RENDERED_BYTES: usize = 16 * 1024 * 1024;

/// The methods minijinja gives a map (`event.items()`), which are not keys.
const MAP_METHODS: [&str; 4] = ["items", "keys", "values", "get"];

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

/// Checks every template in `params` reads only what its context has: the
/// envelope's fields, `event`, `events` as `events` says, and minijinja's
/// globals. Rendering is strict, so any other name would fail every
/// execution `invalid_input`. Errors name the param (`params.x: …`).
pub fn check_variables(params: &Value, events: Events<'_>) -> Result<(), String> {
    let env = template_env();
    walk_strings(params, "params", &mut |path, s| {
        read_variables(&env, s)
            .iter()
            .try_for_each(|name| check_variable(name, events))
            .map_err(|e| format!("{path}: {e}"))
    })
}

/// Whether a template reads anything from its context: one that does not
/// renders the same for every event.
pub fn reads_context(template: &str) -> bool {
    !read_variables(&template_env(), template).is_empty()
}

/// The context variables a template reads, with their attribute chains
/// (`data.labels.service`), sorted; minijinja's globals (`range`, `dict`,
/// …) are not among them. Empty when it does not compile: that is
/// [`validate_params`]'s to report.
fn read_variables(env: &Environment<'_>, template: &str) -> Vec<String> {
    let names = match whole_expression(template) {
        Some(expr) => env
            .compile_expression(expr)
            .map(|e| e.undeclared_variables(true)),
        None => env
            .template_from_str(template)
            .map(|t| t.undeclared_variables(true)),
    };
    let mut names: Vec<String> = names
        .unwrap_or_default()
        .into_iter()
        .filter(|name| {
            let first = name.split('.').next().unwrap_or_default();
            !env.globals().any(|(global, _)| global == first)
        })
        .collect();
    names.sort();
    names
}

/// Checks one variable (`data.x`, `events.offline.data`) against the
/// context [`crate::rules`] builds for templates.
fn check_variable(name: &str, events: Events<'_>) -> Result<(), String> {
    let mut parts = name.split('.');
    let first = parts.next().unwrap_or_default();
    let second = parts.next().filter(|s| !MAP_METHODS.contains(s));
    match (first, second) {
        (field, _) if ENVELOPE_FIELDS.contains(&field) => Ok(()),
        ("event", Some(field)) if !ENVELOPE_FIELDS.contains(&field) => Err(format!(
            "`event.{field}` is not there: the event has {}",
            ENVELOPE_FIELDS.join(", ")
        )),
        ("event", _) => Ok(()),
        ("events", _) if matches!(events, Events::Absent) => Err(
            "`events` is there only in the params of a rule that correlates (`all` or `policy.threshold`)"
                .into(),
        ),
        ("events", Some(condition)) => match events {
            Events::ByCondition(names) if !names.contains(&condition) => Err(format!(
                "`events.{condition}`: no condition is named {condition:?} (the conditions are {})",
                names.join(", ")
            )),
            _ => Ok(()),
        },
        ("events", None) => Ok(()),
        (other, _) => Err(format!(
            "`{other}` is not a variable here: templates see {}, `event` (the whole envelope){} (did you mean `data.{name}`?)",
            ENVELOPE_FIELDS.join(", "),
            match events {
                Events::Absent => "",
                _ => " and `events`",
            }
        )),
    }
}

fn template_env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Runbook inputs are JSON, not HTML.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_fuel(Some(TEMPLATE_FUEL));
    env
}

/// Rendered output that refuses to grow past [`MAX_RENDERED_BYTES`]; with
/// `count_only`, it counts without keeping.
#[derive(Default)]
struct Bounded {
    bytes: Vec<u8>,
    len: usize,
    count_only: bool,
    exceeded: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.len + buf.len() > MAX_RENDERED_BYTES {
            self.exceeded = true;
            return Err(std::io::Error::other("rendered output too large"));
        }
        self.len += buf.len();
        if !self.count_only {
            self.bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn too_large(path: &str) -> String {
    format!("{path}: renders to more than {MAX_RENDERED_BYTES} bytes")
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
                // A string is measured as it is (serializing one scans it all).
                if result
                    .as_str()
                    .is_some_and(|s| s.len() > MAX_RENDERED_BYTES)
                {
                    return Err(too_large(path));
                }
                let mut size = Bounded {
                    count_only: true,
                    ..Bounded::default()
                };
                if serde_json::to_writer(&mut size, &result).is_err() && size.exceeded {
                    return Err(too_large(path));
                }
                return serde_json::to_value(&result).map_err(|e| format!("{path}: {e}"));
            }
            let template = env
                .template_from_str(s)
                .map_err(|e| format!("{path}: {e}"))?;
            let mut out = Bounded::default();
            let rendered = template.render_captured_to(ctx, &mut out);
            if out.exceeded {
                return Err(too_large(path));
            }
            rendered.map_err(|e| format!("{path}: {e}"))?;
            String::from_utf8(out.bytes)
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

    /// Found by fuzzing (fuzz/fuzz_targets/params_template.rs): nested
    /// `range` loops rendered for minutes, and a loop of large strings grew
    /// without bound, on the thread accepting the event.
    #[test]
    fn templates_are_bounded_in_steps_and_in_size() {
        let envelope = json!({"data": {"alerts": [1, 2]}});
        let started = std::time::Instant::now();
        let nested = "{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}";
        let err = render_params(&json!({"x": nested}), &envelope).unwrap_err();
        assert!(err.starts_with("params.x") && err.contains("fuel"), "{err}");
        let big = "{% for i in range(100000) %}{{ \"x\" * 1000000 }}{% endfor %}";
        let err = render_params(&json!({"x": big}), &envelope).unwrap_err();
        assert_eq!(err, too_large("params.x"));
        let kept = "{{ \"x\" * 20000000 }}";
        let err = render_params(&json!({"x": kept}), &envelope).unwrap_err();
        assert_eq!(err, too_large("params.x"));
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        // Within the bounds, loops still render.
        let list = "{% for a in data.alerts %}{{ a }},{% endfor %}";
        assert_eq!(
            render_params(&json!({"x": list}), &envelope).unwrap(),
            json!({"x": "1,2,"})
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

    #[test]
    fn templates_may_read_only_what_their_context_has() {
        let conditions = ["offline", "urp"];
        let all = Events::ByCondition(&conditions);
        let fine = [
            ("{{ data.labels.service }}", Events::Absent),
            (
                "{{ event.data.x }} at {{ time }} from {{ source }}",
                Events::Absent,
            ),
            (
                "{{ metadata.sqs.message_id }} {{ id }} {{ type }}",
                Events::Absent,
            ),
            ("{{ event }}", Events::Absent),
            ("{{ event.items() | list | length }}", Events::Absent),
            (
                "{% for a in data.alerts %}{{ a.labels }}{{ loop.index }}{% endfor %}",
                Events::Absent,
            ),
            ("{% set s = data.x %}{{ s.y }}", Events::Absent),
            (
                "{{ range(3) | list }} {{ dict(a=1) }} {{ namespace() }}",
                Events::Absent,
            ),
            ("{{ data.x | default('none') | upper }}", Events::Absent),
            ("{{ events | length }}", Events::List),
            ("{{ events[0].data }}", Events::List),
            ("{{ events.offline.data.since }}", all),
            ("{{ events['urp'] }} {{ events.keys() | list }}", all),
            ("no template at all", Events::Absent),
            ("{{ unclosed", Events::Absent),
        ];
        for (template, events) in fine {
            let params = json!({"x": template});
            assert_eq!(check_variables(&params, events), Ok(()), "{template}");
        }
        let refused = [
            ("{{ labels.service }}", Events::Absent, "`labels`"),
            (
                "{{ labels.service }}",
                Events::Absent,
                "data.labels.service",
            ),
            ("{{ event.labels }}", Events::Absent, "`event.labels`"),
            ("{{ events }}", Events::Absent, "correlates"),
            ("{{ events.c.data }}", all, "`events.c`"),
            (
                "{% if data.x %}{{ Data.y }}{% endif %}",
                Events::Absent,
                "`Data`",
            ),
            ("{{ loop.index }}", Events::Absent, "`loop`"),
        ];
        for (template, events, why) in refused {
            let err = check_variables(&json!({"a": [template]}), events).unwrap_err();
            assert!(
                err.starts_with("params.a[0]: ") && err.contains(why),
                "{template}: {err}"
            );
        }
    }

    #[test]
    fn a_template_reads_its_context_only_through_a_variable() {
        let cases = [
            ("{{ data.x }}", true),
            ("svc-{{ event.source }}", true),
            ("fixed", false),
            ("{{ 'fixed' }}", false),
            ("{{ range(2) | list }}", false),
            ("{% set x = 1 %}{{ x }}", false),
        ];
        for (template, reads) in cases {
            assert_eq!(reads_context(template), reads, "{template}");
        }
    }
}
