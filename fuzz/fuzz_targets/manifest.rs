//! `runbook.toml`: `Manifest::parse` on any text. A manifest it accepts
//! writes back (TOML, and JSON as stored with a version) to text that
//! parses to the same manifest, and its grants compile.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wolfe::capabilities::Grants;
use wolfe::manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(manifest) = Manifest::parse(text) else {
        return;
    };
    let written = toml::to_string(&manifest).expect("a parsed manifest serializes");
    let again = Manifest::parse(&written)
        .unwrap_or_else(|e| panic!("{written:?} written back does not parse: {e}"));
    assert_eq!(again, manifest, "TOML round trip of {text:?}");
    let stored = serde_json::to_value(&manifest).expect("a manifest is JSON");
    let loaded: Manifest = serde_json::from_value(stored).expect("a stored manifest loads");
    assert_eq!(loaded, manifest, "JSON round trip of {text:?}");
    let grants = Grants::from_manifest(&manifest).expect("a valid manifest's grants compile");
    assert_eq!(grants.http.grants().len(), manifest.capabilities.http.len());
});
