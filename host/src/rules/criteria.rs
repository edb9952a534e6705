//! Rule criteria: `{path, op, value}` tests over the event envelope
//! `{id, source, type, time, data, metadata}`. All criteria of a rule must
//! hold.

use super::path;
use crate::ingest::event::ENVELOPE_FIELDS;
use serde_json::Value;

pub use crate::store::model::rule::{Criterion, Op};

/// A criterion checked once at configuration time (regex compiled).
#[derive(Debug, Clone)]
pub struct CompiledCriterion {
    criterion: Criterion,
    regex: Option<regex::Regex>,
}

impl CompiledCriterion {
    /// Compiles a list; the error names the first bad one (`criteria[i]…`).
    pub fn compile_all(criteria: &[Criterion]) -> Result<Vec<Self>, String> {
        criteria
            .iter()
            .enumerate()
            .map(|(i, c)| Self::compile(i, c))
            .collect()
    }

    /// Validates path, operand type and regex; errors name the criterion.
    pub fn compile(index: usize, criterion: &Criterion) -> Result<Self, String> {
        let at = |m: String| format!("criteria[{index}]: {m}");
        path::validate(&criterion.path).map_err(at)?;
        let value = &criterion.value;
        let regex = match criterion.op {
            Op::Matches => {
                let pattern = value
                    .as_str()
                    .ok_or_else(|| at("`matches` needs a string regex as value".into()))?;
                Some(
                    regex::RegexBuilder::new(pattern)
                        .size_limit(1 << 20)
                        .build()
                        .map_err(|e| at(format!("invalid regex: {e}")))?,
                )
            }
            Op::In if !value.is_array() => return Err(at("`in` needs an array as value".into())),
            Op::Lt | Op::Le | Op::Gt | Op::Ge if !(value.is_number() || value.is_string()) => {
                return Err(at("ordering needs a number or string value".into()));
            }
            Op::Exists if !(value.is_null() || value.is_boolean()) => {
                return Err(at("`exists` takes true, false or no value".into()));
            }
            _ => None,
        };
        Ok(Self {
            criterion: criterion.clone(),
            regex,
        })
    }

    /// The criterion as configured.
    pub fn criterion(&self) -> &Criterion {
        &self.criterion
    }

    pub fn matches(&self, envelope: &Value) -> bool {
        let c = &self.criterion;
        let field = path::lookup(envelope, &c.path);
        match c.op {
            Op::Exists => field.is_some() == c.value.as_bool().unwrap_or(true),
            Op::Eq => field.is_some_and(|f| loosely_equal(f, &c.value)),
            Op::Ne => !field.is_some_and(|f| loosely_equal(f, &c.value)),
            Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                field.and_then(|f| compare(f, &c.value)).is_some_and(|o| {
                    use std::cmp::Ordering::*;
                    matches!(
                        (c.op, o),
                        (Op::Lt, Less)
                            | (Op::Le, Less | Equal)
                            | (Op::Gt, Greater)
                            | (Op::Ge, Greater | Equal)
                    )
                })
            }
            Op::In => field.is_some_and(|f| {
                c.value
                    .as_array()
                    .is_some_and(|options| options.iter().any(|o| loosely_equal(f, o)))
            }),
            Op::Contains => match field {
                Some(Value::String(s)) => c.value.as_str().is_some_and(|needle| s.contains(needle)),
                Some(Value::Array(items)) => items.iter().any(|i| loosely_equal(i, &c.value)),
                _ => false,
            },
            Op::Matches => match (field, &self.regex) {
                (Some(Value::String(s)), Some(re)) => re.is_match(s),
                _ => false,
            },
        }
    }
}

/// Checks what compiles but could never take effect, when a rule or a
/// silence is stored (not in [`CompiledCriterion::compile`], which must keep
/// accepting what was stored before): a path outside the envelope, and `in`
/// with no option. Errors name the criterion (`criteria[i].path: …`).
pub fn check_can_match(criteria: &[Criterion]) -> Result<(), String> {
    for (i, c) in criteria.iter().enumerate() {
        check_envelope_path(&c.path).map_err(|m| format!("criteria[{i}].path: {m}"))?;
        if c.op == Op::In && c.value.as_array().is_some_and(Vec::is_empty) {
            return Err(format!(
                "criteria[{i}].value: `in` with no option never matches; name at least one"
            ));
        }
    }
    Ok(())
}

/// Checks a path starts at a field of the envelope. Any other path never
/// resolves, so with `ne` or `exists: false` it would match every event
/// (a silence that silences everything).
pub fn check_envelope_path(path: &str) -> Result<(), String> {
    let first = path::first_segment(path);
    if path == "$" || ENVELOPE_FIELDS.contains(&first) {
        return Ok(());
    }
    let hint = match path.strip_prefix("event.") {
        Some(rest) => format!("write {rest:?}: paths start inside the event"),
        None if ENVELOPE_FIELDS.contains(&first.to_ascii_lowercase().as_str()) => {
            "field names are lower case".to_string()
        }
        None => format!("did you mean \"data.{path}\"?"),
    };
    Err(format!(
        "{path:?} is outside the event: a path starts at one of {} ({hint})",
        ENVELOPE_FIELDS.join(", ")
    ))
}

/// Numbers compare by value (1 == 1.0). A string field equals a number or
/// boolean value whose JSON text it is (`"3"` == `3`, `"true"` == `true`):
/// Alertmanager labels are always strings, while a matcher such as
/// `data.labels.shard=3` arrives as the number 3. Everything else compares
/// structurally.
fn loosely_equal(field: &Value, value: &Value) -> bool {
    match (field, value) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(s), Value::Number(n)) => *s == n.to_string(),
        (Value::String(s), Value::Bool(b)) => s == if *b { "true" } else { "false" },
        _ => field == value,
    }
}

/// Numbers against numbers, strings against strings; mixed is no match.
fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(path: &str, op: Op, value: Value, envelope: &Value) -> bool {
        CompiledCriterion::compile(
            0,
            &Criterion {
                path: path.into(),
                op,
                value,
            },
        )
        .unwrap()
        .matches(envelope)
    }

    #[test]
    fn every_operator() {
        let e = json!({"type": "alert", "data": {"sev": "page", "n": 5, "tags": ["db", "eu"], "msg": "disk full on db-7"}});
        let cases: Vec<(&str, Op, Value, bool)> = vec![
            ("type", Op::Eq, json!("alert"), true),
            ("type", Op::Eq, json!("other"), false),
            ("data.n", Op::Eq, json!(5.0), true),
            ("type", Op::Ne, json!("other"), true),
            ("data.missing", Op::Ne, json!("x"), true),
            ("data.n", Op::Lt, json!(6), true),
            ("data.n", Op::Le, json!(5), true),
            ("data.n", Op::Gt, json!(5), false),
            ("data.n", Op::Ge, json!(5), true),
            ("data.n", Op::Gt, json!("4"), false),
            ("data.sev", Op::Gt, json!("info"), true),
            ("data.sev", Op::In, json!(["page", "critical"]), true),
            ("data.sev", Op::In, json!(["info"]), false),
            ("data.tags", Op::Contains, json!("eu"), true),
            ("data.msg", Op::Contains, json!("disk full"), true),
            ("data.msg", Op::Contains, json!("cpu"), false),
            ("data.msg", Op::Matches, json!("^disk .* db-[0-9]+$"), true),
            ("data.n", Op::Matches, json!("5"), false),
            ("data.sev", Op::Exists, Value::Null, true),
            ("data.nope", Op::Exists, json!(false), true),
            ("data.nope", Op::Exists, json!(true), false),
        ];
        for (path, op, value, expected) in cases {
            assert_eq!(
                check(path, op, value.clone(), &e),
                expected,
                "{path} {op:?} {value}"
            );
        }
    }

    #[test]
    fn a_string_field_equals_a_number_or_bool_written_the_same() {
        let e = json!({"data": {"shard": "3", "flag": "true", "n": 3, "tags": ["3"]}});
        let cases: Vec<(&str, Op, Value, bool)> = vec![
            ("data.shard", Op::Eq, json!(3), true),
            ("data.shard", Op::Eq, json!(4), false),
            ("data.shard", Op::Eq, json!(3.0), false),
            ("data.shard", Op::Ne, json!(3), false),
            ("data.shard", Op::In, json!([1, 3]), true),
            ("data.flag", Op::Eq, json!(true), true),
            ("data.flag", Op::Eq, json!(false), false),
            ("data.tags", Op::Contains, json!(3), true),
            ("data.n", Op::Eq, json!(3.0), true),
            ("data.n", Op::Eq, json!("3"), false),
        ];
        for (path, op, value, expected) in cases {
            assert_eq!(
                check(path, op, value.clone(), &e),
                expected,
                "{path} {op:?} {value}"
            );
        }
    }

    #[test]
    fn criteria_that_could_never_take_effect_are_refused() {
        let criterion = |path: &str, op: Op, value: Value| Criterion {
            path: path.into(),
            op,
            value,
        };
        let fine = [
            criterion("data.labels.env", Op::Ne, json!("prod")),
            criterion("/metadata/sqs/message_id", Op::Exists, json!(true)),
            criterion("$.type", Op::Eq, json!("alert")),
            criterion("$", Op::Exists, Value::Null),
            criterion("data.sev", Op::In, json!(["page"])),
        ];
        assert_eq!(check_can_match(&fine), Ok(()));
        let refused = [
            (
                criterion("labels.env", Op::Ne, json!("prod")),
                "criteria[0].path",
                "data.labels.env",
            ),
            (
                criterion("event.data.x", Op::Eq, json!(1)),
                "criteria[0].path",
                "\"data.x\"",
            ),
            (
                criterion("/labels/env", Op::Exists, json!(false)),
                "criteria[0].path",
                "outside",
            ),
            (
                criterion("Data.x", Op::Eq, json!(1)),
                "criteria[0].path",
                "lower case",
            ),
            (
                criterion("data.sev", Op::In, json!([])),
                "criteria[0].value",
                "`in`",
            ),
        ];
        for (c, field, hint) in refused {
            let err = check_can_match(std::slice::from_ref(&c)).unwrap_err();
            assert!(err.starts_with(field) && err.contains(hint), "{c:?}: {err}");
        }
    }

    #[test]
    fn bad_criteria_are_rejected_with_their_index() {
        let bad = [
            Criterion {
                path: "a".into(),
                op: Op::Matches,
                value: json!("("),
            },
            Criterion {
                path: "a".into(),
                op: Op::In,
                value: json!("x"),
            },
            Criterion {
                path: "a..b".into(),
                op: Op::Eq,
                value: json!(1),
            },
            Criterion {
                path: "a".into(),
                op: Op::Lt,
                value: json!([1]),
            },
        ];
        for c in bad {
            let err = CompiledCriterion::compile(3, &c).unwrap_err();
            assert!(err.starts_with("criteria[3]"), "{err}");
        }
    }
}
