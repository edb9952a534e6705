//! The upload-time import check: every interface a component imports is
//! listed, and anything the host does not offer is refused with its name —
//! before the component is stored, and before the linker would refuse it
//! with a less helpful message at the first missing name.

use wasmtime::Engine;
use wasmtime::component::Component;

/// Interfaces a runbook may import, by package prefix and version range.
/// `wolfe:runbook` is the capability world; the WASI 0.2 interfaces are
/// the ones the host links (locked down: no preopens, no environment,
/// sockets denied; see `sandbox/state.rs`). Python and JavaScript toolchains
/// import filesystem and sockets unconditionally, so they are offered as
/// stubs that refuse every use rather than refused at upload.
const OFFERED: &[(&str, &str)] = &[
    ("wolfe:runbook/", "0.1."),
    ("wasi:io/", "0.2."),
    ("wasi:clocks/", "0.2."),
    ("wasi:random/", "0.2."),
    ("wasi:cli/", "0.2."),
    ("wasi:filesystem/", "0.2."),
    ("wasi:sockets/", "0.2."),
    ("wasi:http/types", "0.2."),
    ("wasi:http/outgoing-handler", "0.2."),
];

/// The import names of a compiled component, sorted.
pub fn imports_of(engine: &Engine, component: &Component) -> Vec<String> {
    let mut names: Vec<String> = component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    names.sort();
    names
}

/// The imports in `names` that the host does not offer.
pub fn refused(names: &[String]) -> Vec<String> {
    names
        .iter()
        .filter(|name| !is_offered(name))
        .cloned()
        .collect()
}

fn is_offered(name: &str) -> bool {
    let (interface, version) = name.split_once('@').unwrap_or((name, ""));
    OFFERED.iter().any(|(prefix, range)| {
        let matches_interface = if prefix.ends_with('/') {
            interface.starts_with(prefix) && interface.len() > prefix.len()
        } else {
            interface == *prefix
        };
        matches_interface && version.starts_with(range)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offered_and_refused_imports() {
        for ok in [
            "wolfe:runbook/http@0.1.0",
            "wasi:io/streams@0.2.12",
            "wasi:cli/environment@0.2.6",
            "wasi:sockets/tcp@0.2.0",
            "wasi:http/outgoing-handler@0.2.10",
        ] {
            assert!(is_offered(ok), "{ok}");
        }
        for refused in [
            "acme:backdoor/shell@1.0.0",
            "wasi:http/incoming-handler@0.2.0",
            "wasi:io/streams@0.3.0",
            "wasi:keyvalue/store@0.2.0",
            "wolfe:runbook/http",
            "wolfe:runbook/@0.1.0",
            "wolfe:runbookx/http@0.1.0",
            "env",
        ] {
            assert!(!is_offered(refused), "{refused}");
        }
    }
}
