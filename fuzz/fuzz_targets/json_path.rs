//! JSON paths (`rules::path`): `lookup` and `validate` on any path over any
//! value. A path walked down a value finds the node it was walked to, in
//! its dotted, bracket and `$.` forms; `$.` changes nothing; lookups are
//! pure.
#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wolfe::rules::path::{lookup, validate};

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let value = wolfe_fuzz::json(u, 5)?;
    let path = wolfe_fuzz::path(u)?;
    let found = lookup(&value, &path);
    assert_eq!(found, lookup(&value, &path), "lookup is pure");
    let valid = validate(&path);
    assert_eq!(valid, validate(&path));
    assert_eq!(lookup(&value, "$"), Some(&value));
    assert_eq!(lookup(&value, ""), Some(&value));
    if !path.starts_with('/') && !path.starts_with("$.") {
        assert_eq!(
            lookup(&value, &format!("$.{path}")),
            found,
            "`$.` prefix of {path:?}"
        );
    }
    walk(u, &value)
}

/// Walks down `value`, choosing keys and indices from the input, and
/// checks the path written for the walk finds the node reached.
fn walk(u: &mut Unstructured<'_>, value: &Value) -> Result<()> {
    let mut node = value;
    let mut path = String::new();
    let mut steps = 0;
    loop {
        let segment = match node {
            Value::Object(map) if !map.is_empty() => {
                let i = u.choose_index(map.len())?;
                let (key, child) = map.iter().nth(i).expect("index in range");
                // Keys the dotted syntax cannot write (a JSON Pointer can):
                // the walk ends.
                if key.is_empty() || key.contains(['.', '[', ']']) {
                    break;
                }
                node = child;
                format!(".{key}")
            }
            Value::Array(items) if !items.is_empty() => {
                let i = u.choose_index(items.len())?;
                node = &items[i];
                // The bracket form needs a segment before it.
                if steps > 0 && u.arbitrary()? {
                    format!("[{i}]")
                } else {
                    format!(".{i}")
                }
            }
            _ => break,
        };
        path.push_str(&segment);
        steps += 1;
        if u.ratio(1u8, 4)? {
            break;
        }
    }
    let path = path.strip_prefix('.').unwrap_or(&path);
    if path.is_empty() || path == "$" || path.starts_with("$.") || path.starts_with('/') {
        return Ok(());
    }
    assert_eq!(validate(path), Ok(()), "walked path {path:?}");
    assert_eq!(lookup(value, path), Some(node), "walked path {path:?}");
    assert_eq!(
        lookup(value, &format!("$.{path}")),
        Some(node),
        "walked path $.{path:?}"
    );
    Ok(())
}
