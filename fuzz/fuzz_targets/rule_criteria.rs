//! Rule criteria and matching (`rules`, `rules::criteria`, `rules::glob`):
//! a rule as the API receives it (JSON) or built from parts, validated,
//! compiled and matched against an event.
//!
//! Properties: a rule that validates compiles; matching is pure; `explain`
//! agrees with `matches`; `ne` is the negation of `eq` and `exists: false`
//! of `exists: true`; the `*` globs agree with a dynamic-programming oracle.
#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wolfe::registry::Environment;
use wolfe::rules::criteria::{CompiledCriterion, Criterion, Op};
use wolfe::rules::glob;
use wolfe::rules::{CompiledRule, Rule, RuleSpec};
use wolfe::store::model::rule::Condition;

const OPS: &[Op] = &[
    Op::Eq,
    Op::Ne,
    Op::Lt,
    Op::Le,
    Op::Gt,
    Op::Ge,
    Op::In,
    Op::Contains,
    Op::Matches,
    Op::Exists,
];

fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&b'{') {
        // Raw: the JSON body of `PUT /v1/tenants/{t}/rules/{name}`.
        let Ok(spec) = serde_json::from_slice::<RuleSpec>(data) else {
            return;
        };
        let envelope = wolfe_fuzz::sample_envelope();
        check(spec, "alertmanager", "ServiceDown", &envelope);
        check_glob_oracle("alertmanager", "ServiceDown");
        return;
    }
    let _ = structured(&mut Unstructured::new(data));
});

fn structured(u: &mut Unstructured<'_>) -> Result<()> {
    let mut spec = RuleSpec {
        source: None,
        event_type: None,
        criteria: criteria(u)?,
        runbook: "hello".into(),
        environment: Environment::Dev,
        params: None,
        enabled: u.ratio(7u8, 8)?,
        policy: None,
        all: Vec::new(),
        within_secs: None,
    };
    if u.arbitrary()? {
        spec.source = Some(wolfe_fuzz::glob_pattern(u)?);
    }
    if u.arbitrary()? {
        spec.event_type = Some(wolfe_fuzz::glob_pattern(u)?);
    }
    if u.ratio(1u8, 4)? {
        // A multi-event rule.
        let n = u.int_in_range(0..=3)?;
        for i in 0..n {
            spec.all.push(Condition {
                name: if u.ratio(7u8, 8)? {
                    format!("c{i}")
                } else {
                    wolfe_fuzz::word(u)?
                },
                source: if u.arbitrary()? {
                    Some(wolfe_fuzz::glob_pattern(u)?)
                } else {
                    None
                },
                event_type: if u.arbitrary()? {
                    Some(wolfe_fuzz::glob_pattern(u)?)
                } else {
                    None
                },
                criteria: criteria(u)?,
            });
        }
        spec.within_secs = Some(u.int_in_range(0..=120)?);
        if u.arbitrary()? {
            spec.source = None;
            spec.event_type = None;
            spec.criteria.clear();
        }
    }
    let source = wolfe_fuzz::name(u)?;
    let event_type = wolfe_fuzz::name(u)?;
    let envelope = wolfe_fuzz::envelope(u, &source, &event_type)?;
    for pattern in [&spec.source, &spec.event_type].into_iter().flatten() {
        check_glob_oracle(pattern, &source);
        check_glob_oracle(pattern, &event_type);
    }
    check(spec, &source, &event_type, &envelope);
    Ok(())
}

fn criteria(u: &mut Unstructured<'_>) -> Result<Vec<Criterion>> {
    let n = u.int_in_range(0..=3)?;
    (0..n)
        .map(|_| {
            let op = *u.choose(OPS)?;
            let value = match op {
                Op::Matches if u.ratio(3u8, 4)? => Value::String(
                    u.choose(&[
                        "^disk .* db-[0-9]+$",
                        "fir(ing|ed)",
                        "(a+)+$",
                        "\\p{L}+",
                        "[",
                        "(?i)CHECKOUT",
                        "^$",
                        "a{1000}{1000}",
                        ".*.*.*.*=.*",
                    ])?
                    .to_string(),
                ),
                _ => wolfe_fuzz::json(u, 2)?,
            };
            Ok(Criterion {
                path: wolfe_fuzz::path(u)?,
                op,
                value,
            })
        })
        .collect()
}

fn check(spec: RuleSpec, source: &str, event_type: &str, envelope: &Value) {
    let valid = spec.validate();
    let rule = Rule {
        name: "fuzz".into(),
        spec: spec.clone(),
        updated_at: "2026-12-02T00:00:00.000000Z".into(),
    };
    let compiled = CompiledRule::compile(rule);
    if valid.is_ok() {
        assert!(
            compiled.is_ok(),
            "a valid rule compiles: {:?}",
            compiled.err()
        );
    }
    let Ok(compiled) = compiled else {
        return;
    };
    let matched = compiled.matches(source, event_type, envelope);
    assert_eq!(
        matched,
        compiled.matches(source, event_type, envelope),
        "matching is pure"
    );
    let explained = compiled.explain(source, event_type, envelope);
    assert_eq!(
        explained.matched, matched,
        "explain agrees with matches: {explained:?}"
    );
    let met = compiled.matched_conditions(source, event_type, envelope);
    if !spec.all.is_empty() {
        assert_eq!(matched, spec.enabled && !met.is_empty());
    }
    for criterion in spec
        .criteria
        .iter()
        .chain(spec.all.iter().flat_map(|c| &c.criteria))
    {
        let Ok(c) = CompiledCriterion::compile(0, criterion) else {
            continue;
        };
        let result = c.matches(envelope);
        let negated = match (criterion.op, &criterion.value) {
            (Op::Eq, v) => Some(Criterion {
                op: Op::Ne,
                value: v.clone(),
                ..criterion.clone()
            }),
            (Op::Ne, v) => Some(Criterion {
                op: Op::Eq,
                value: v.clone(),
                ..criterion.clone()
            }),
            (Op::Exists, v) => Some(Criterion {
                value: Value::Bool(!v.as_bool().unwrap_or(true)),
                ..criterion.clone()
            }),
            _ => None,
        };
        if let Some(negated) = negated {
            let n = CompiledCriterion::compile(0, &negated).expect("the negation compiles too");
            assert_ne!(result, n.matches(envelope), "{criterion:?} and {negated:?}");
        }
    }
}

fn check_glob_oracle(pattern: &str, text: &str) {
    assert_eq!(
        glob::matches(pattern, text),
        wolfe_fuzz::glob_oracle(pattern, text),
        "glob {pattern:?} against {text:?}"
    );
}
