//! The upload-time import check: a component importing anything the host
//! does not offer is refused, naming the import; every real runbook's
//! imports pass and are recorded.

mod common;

use wolfe::sandbox::cache::LoadError;

/// A component that imports an interface no Wolfe host offers.
const ROGUE: &str = r#"(component
  (import "acme:backdoor/shell@1.0.0" (instance))
  (import "wasi:http/incoming-handler@0.2.0" (instance))
)"#;

#[test]
fn a_component_importing_what_the_host_does_not_offer_is_refused_by_name() {
    let sandbox = common::sandbox();
    let wasm = wat::parse_str(ROGUE).unwrap();
    let Err(e) = sandbox.load_component(&wasm) else {
        panic!("a rogue import was accepted")
    };
    match &e {
        LoadError::ForbiddenImports(names) => assert_eq!(
            names,
            &[
                "acme:backdoor/shell@1.0.0",
                "wasi:http/incoming-handler@0.2.0"
            ]
        ),
        other => panic!("wrong refusal: {other}"),
    }
    let message = e.to_string();
    assert!(message.contains("acme:backdoor/shell@1.0.0"), "{message}");
}

#[test]
fn every_language_imports_only_what_is_offered_and_the_list_is_kept() {
    let sandbox = common::sandbox();
    for guest in ["rust/conformance", "python/conformance", "js/conformance"] {
        let (_, wasm) = common::guest(guest);
        let loaded = sandbox
            .load_component(&wasm)
            .unwrap_or_else(|e| panic!("{guest}: {e}"));
        assert!(
            loaded
                .imports
                .iter()
                .any(|i| i.starts_with("wolfe:runbook/log@0.1")),
            "{guest}: {:?}",
            loaded.imports
        );
        assert!(loaded.imports.windows(2).all(|w| w[0] < w[1]), "sorted");
    }
}
