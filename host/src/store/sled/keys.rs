//! Key encoding: parts joined by NUL. Names never contain NUL (they are
//! validated identifiers), so a tenant's prefix `tenant\0` covers exactly its
//! records and nothing of a tenant whose name merely starts the same.

pub fn key(parts: &[&str]) -> Vec<u8> {
    let mut k = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(p.as_bytes());
    }
    k
}

/// `parts` joined and terminated by NUL: the prefix of everything below them.
pub fn prefix(parts: &[&str]) -> Vec<u8> {
    let mut k = key(parts);
    k.push(0);
    k
}

/// The last NUL-separated part of a key.
pub fn last_part(key: &[u8]) -> String {
    let start = key
        .iter()
        .rposition(|&b| b == 0)
        .map(|i| i + 1)
        .unwrap_or(0);
    String::from_utf8_lossy(&key[start..]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_do_not_overlap_between_similar_names() {
        let a = prefix(&["acme"]);
        assert!(key(&["acme", "x"]).starts_with(&a));
        assert!(!key(&["acme2", "x"]).starts_with(&a));
        assert_eq!(last_part(&key(&["t", "r", "v1"])), "v1");
    }
}
