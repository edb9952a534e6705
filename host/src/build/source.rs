//! A runbook's source as the server receives and keeps it: relative paths
//! to UTF-8 text, checked before anything touches the disk, and stored as
//! one content-addressed bundle beside the components.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// The longest path accepted, in bytes.
pub const MAX_PATH_BYTES: usize = 512;
/// The deepest folder nesting accepted.
pub const MAX_DEPTH: usize = 16;

/// Checked source files: every path is relative, normal and not hidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFiles {
    files: BTreeMap<String, String>,
}

/// How much source one build may send.
#[derive(Debug, Clone, Copy)]
pub struct SourceLimits {
    pub max_files: usize,
    pub max_bytes: usize,
}

impl SourceFiles {
    /// Checks `files` against `limits` and the path rules; the error names
    /// the problem (and the path) for a 400.
    pub fn new(files: BTreeMap<String, String>, limits: SourceLimits) -> Result<Self, String> {
        if files.is_empty() {
            return Err("`files` is empty: send at least runbook.toml and the source".into());
        }
        if files.len() > limits.max_files {
            return Err(format!(
                "too many files: {} (at most {})",
                files.len(),
                limits.max_files
            ));
        }
        let total: usize = files.iter().map(|(p, t)| p.len() + t.len()).sum();
        if total > limits.max_bytes {
            return Err(format!(
                "too many bytes: {total} in all (at most {})",
                limits.max_bytes
            ));
        }
        for path in files.keys() {
            check_path(path)?;
        }
        // `a` and `a/b` cannot both be files.
        for path in files.keys() {
            let mut prefix = String::new();
            for part in path.split('/') {
                if !prefix.is_empty() && files.contains_key(&prefix) {
                    return Err(format!(
                        "{prefix:?} is a file, so {path:?} cannot be inside it"
                    ));
                }
                if !prefix.is_empty() {
                    prefix.push('/');
                }
                prefix.push_str(part);
            }
        }
        Ok(Self { files })
    }

    pub fn get(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    pub fn files(&self) -> &BTreeMap<String, String> {
        &self.files
    }

    pub fn into_files(self) -> BTreeMap<String, String> {
        self.files
    }

    /// The stored form: a JSON object of path → text, keys sorted, so the
    /// same files are always the same bytes (and the same sha256).
    pub fn bundle(&self) -> Vec<u8> {
        serde_json::to_vec(&self.files).unwrap_or_default()
    }

    /// Reads a stored bundle back.
    pub fn from_bundle(bytes: &[u8]) -> Result<BTreeMap<String, String>, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("the stored source is unreadable: {e}"))
    }

    pub fn digest(bundle: &[u8]) -> String {
        hex::encode(Sha256::digest(bundle))
    }

    /// Writes every file under `dir`.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        for (relative, text) in &self.files {
            let path = dir.join(relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, text)?;
        }
        Ok(())
    }
}

/// One path: `/`-separated parts, none empty, `.`, `..` or hidden (a
/// leading dot would let `.cargo/config.toml` reconfigure the build), no
/// backslash or control character, not absolute.
fn check_path(path: &str) -> Result<(), String> {
    let refuse = |why: &str| Err(format!("file path {path:?}: {why}"));
    if path.is_empty() {
        return refuse("empty name");
    }
    if path.len() > MAX_PATH_BYTES {
        return refuse(&format!("longer than {MAX_PATH_BYTES} bytes"));
    }
    if path.starts_with('/') {
        return refuse("absolute paths are refused; send paths relative to the runbook folder");
    }
    if path.chars().any(|c| c == '\\' || c.is_control()) {
        return refuse("backslashes and control characters are refused");
    }
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() > MAX_DEPTH {
        return refuse(&format!("nested deeper than {MAX_DEPTH} folders"));
    }
    for part in parts {
        match part {
            "" => return refuse("empty name (a doubled or trailing `/`)"),
            ".." => return refuse("`..` is refused: paths stay inside the runbook folder"),
            "." => return refuse("`.` parts are refused"),
            p if p.starts_with('.') => return refuse("hidden files and folders are refused"),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SourceLimits = SourceLimits {
        max_files: 4,
        max_bytes: 100,
    };

    fn files(paths: &[&str]) -> BTreeMap<String, String> {
        paths.iter().map(|p| (p.to_string(), "x".into())).collect()
    }

    #[test]
    fn paths_stay_inside_the_runbook_folder() {
        for (path, why) in [
            ("/etc/passwd", "absolute"),
            ("../x", "`..`"),
            ("a/../../x", "`..`"),
            ("", "empty name"),
            ("a//b", "empty name"),
            ("a/", "empty name"),
            ("./a", "`.`"),
            (".cargo/config.toml", "hidden"),
            ("a\\b", "backslash"),
            ("a\0b", "control"),
        ] {
            let err = SourceFiles::new(files(&[path]), LIMITS).unwrap_err();
            assert!(err.contains(why), "{path:?}: {err}");
        }
        assert!(SourceFiles::new(files(&["runbook.toml", "src/lib.rs"]), LIMITS).is_ok());
        let err = SourceFiles::new(files(&["a", "a/b"]), LIMITS).unwrap_err();
        assert!(err.contains("is a file"), "{err}");
    }

    #[test]
    fn limits_name_the_problem() {
        let err = SourceFiles::new(files(&["a", "b", "c", "d", "e"]), LIMITS).unwrap_err();
        assert!(err.starts_with("too many files: 5"), "{err}");
        let big = BTreeMap::from([("a".to_string(), "x".repeat(200))]);
        let err = SourceFiles::new(big, LIMITS).unwrap_err();
        assert!(err.starts_with("too many bytes"), "{err}");
        let err = SourceFiles::new(BTreeMap::new(), LIMITS).unwrap_err();
        assert!(err.contains("empty"), "{err}");
    }

    #[test]
    fn the_bundle_is_stable_and_reads_back() {
        let source = SourceFiles::new(files(&["b", "a/c"]), LIMITS).unwrap();
        let bundle = source.bundle();
        assert_eq!(bundle, br#"{"a/c":"x","b":"x"}"#);
        assert_eq!(&SourceFiles::from_bundle(&bundle).unwrap(), source.files());
    }
}
