//! Params templates (`rules::params`) through a rule, as the pipeline
//! renders them: `params` and `policy.key` rendered against an event.
//!
//! Inputs: a `params` JSON value (raw, starting with `{`), one template
//! (raw text that is not JSON), or templates and an event built from parts
//! (first byte 0).
//! Properties: rendering is pure; params that do not validate never
//! render; a rendered key is 1 to `MAX_KEY_BYTES` bytes.
#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use wolfe::registry::Environment;
use wolfe::rules::params::validate_params;
use wolfe::rules::{CompiledRule, MAX_KEY_BYTES, Rule, RuleSpec};
use wolfe::safety::policy::Policy;

fuzz_target!(|data: &[u8]| {
    match data.first() {
        None => {}
        Some(0) => {
            let _ = structured(&mut Unstructured::new(&data[1..]));
        }
        Some(b'{') if serde_json::from_slice::<Value>(data).is_ok() => {
            let params = serde_json::from_slice(data).expect("just parsed");
            check(params, None, &wolfe_fuzz::sample_envelope());
        }
        Some(_) => {
            let Ok(template) = std::str::from_utf8(data) else {
                return;
            };
            // One params template (keys come from the structured inputs).
            let params = Value::String(template.to_string());
            check(params, None, &wolfe_fuzz::sample_envelope());
        }
    }
});

fn structured(u: &mut Unstructured<'_>) -> Result<()> {
    let n = u.int_in_range(1..=3)?;
    let mut params = Map::new();
    for _ in 0..n {
        let value = if u.ratio(3u8, 4)? {
            Value::String(wolfe_fuzz::template(u)?)
        } else {
            wolfe_fuzz::json(u, 2)?
        };
        params.insert(wolfe_fuzz::word(u)?, value);
    }
    let key = if u.arbitrary()? {
        Some(wolfe_fuzz::template(u)?)
    } else {
        None
    };
    let envelope = wolfe_fuzz::envelope(u, "alertmanager", "ServiceDown")?;
    check(Value::Object(params), key, &envelope);
    Ok(())
}

fn check(params: Value, key: Option<String>, envelope: &Value) {
    let spec = RuleSpec {
        source: None,
        event_type: None,
        criteria: Vec::new(),
        runbook: "hello".into(),
        environment: Environment::Dev,
        params: Some(params.clone()),
        enabled: true,
        policy: key.map(|key| Policy {
            key: Some(key),
            ..Policy::default()
        }),
        all: Vec::new(),
        within_secs: None,
    };
    let valid = validate_params(&params);
    let spec_valid = spec.validate();
    if valid.is_err() {
        assert!(spec_valid.is_err(), "a rule with invalid params validates");
    }
    let rule = Rule {
        name: "fuzz".into(),
        spec,
        updated_at: "2026-12-02T00:00:00.000000Z".into(),
    };
    let compiled = CompiledRule::compile(rule).expect("a rule without criteria compiles");
    let input = compiled.render_input(envelope);
    if valid.is_err() {
        assert!(
            input.is_err(),
            "invalid params rendered: {input:?} ({valid:?})"
        );
    }
    assert_eq!(input, compiled.render_input(envelope), "rendering is pure");
    let key = compiled.render_key(envelope);
    if let Ok(key) = &key {
        assert!(
            !key.is_empty() && key.len() <= MAX_KEY_BYTES,
            "key of {} bytes",
            key.len()
        );
    }
    assert_eq!(
        key,
        compiled.render_key(envelope),
        "rendering a key is pure"
    );
}
