//! Finding secret values in text: a secret, and the encodings a runbook
//! reaches for without thinking (URL, base64, hex, JSON escaping), replaced
//! by [`REDACTED`]. The sandbox redacts an execution's record with it
//! (`sandbox::redact`); a replay uses it to see a request made with a
//! secret's stand-in as the recorded one (`capabilities::transcript`).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// Shorter values are not redacted: they would shred unrelated text while
/// hiding nothing an attacker could not guess.
pub const MIN_REDACTED_LEN: usize = 4;
pub const REDACTED: &str = "[REDACTED]";

/// Every form of every secret worth looking for.
pub struct Redactor {
    /// Longest first, so a form containing another is removed whole.
    forms: Vec<String>,
}

impl Redactor {
    /// Whether there is nothing to look for (no secret long enough).
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    pub fn new(secrets: &[String]) -> Self {
        let mut forms: Vec<String> = secrets
            .iter()
            .filter(|s| s.len() >= MIN_REDACTED_LEN)
            .flat_map(|s| encodings(s))
            .collect();
        forms.sort_by_key(|s| std::cmp::Reverse(s.len()));
        forms.dedup();
        Self { forms }
    }

    pub fn scrub(&self, text: &mut String) {
        // Most strings (header names, methods, short values) are shorter
        // than any form: nothing to search.
        if self
            .forms
            .last()
            .is_none_or(|shortest| text.len() < shortest.len())
        {
            return;
        }
        for form in &self.forms {
            if text.contains(form.as_str()) {
                *text = text.replace(form.as_str(), REDACTED);
            }
        }
    }
}

/// The secret and the forms it commonly takes when a runbook puts it in a
/// URL, a header or a JSON string.
fn encodings(secret: &str) -> Vec<String> {
    let bytes = secret.as_bytes();
    // Serializing a string cannot fail; the quotes around it are dropped.
    let json = serde_json::to_string(secret).unwrap_or_else(|_| format!("\"{secret}\""));
    let mut forms = vec![
        secret.to_string(),
        percent_encode(bytes),
        url::form_urlencoded::byte_serialize(bytes).collect(),
        json[1..json.len() - 1].to_string(),
        hex::encode(bytes),
        hex::encode_upper(bytes),
    ];
    for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
        forms.push(engine.encode(bytes));
    }
    forms.retain(|f| f.len() >= MIN_REDACTED_LEN);
    forms
}

/// Percent-encodes every byte but RFC 3986's unreserved characters, in
/// upper- and lower-case hex alike.
fn percent_encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t/p@ss word+";

    fn scrubbed(secret: &str, text: &str) -> String {
        let mut text = text.to_string();
        Redactor::new(&[secret.to_string()]).scrub(&mut text);
        text
    }

    #[test]
    fn removes_the_secret_and_its_common_encodings() {
        for form in encodings(SECRET) {
            let text = format!("before {form} after");
            assert_eq!(
                scrubbed(SECRET, &text),
                format!("before {REDACTED} after"),
                "{form}"
            );
        }
        // Spot checks that the encodings are the ones a runbook would make.
        let forms = encodings(SECRET);
        for expected in [
            "s3cr3t%2Fp%40ss%20word%2B",
            "s3cr3t%2Fp%40ss+word%2B",
            "czNjcjN0L3BAc3Mgd29yZCs=",
            "czNjcjN0L3BAc3Mgd29yZCs",
            "7333637233742f7040737320776f72642b",
        ] {
            assert!(forms.iter().any(|f| f == expected), "missing {expected}");
        }
    }

    #[test]
    fn json_escaped_secrets_are_found_in_json_text() {
        let secret = "line1\nq\"uote";
        let logged = format!("body={}", serde_json::json!({ "token": secret }));
        assert_eq!(
            scrubbed(secret, &logged),
            format!("body={{\"token\":\"{REDACTED}\"}}")
        );
    }

    #[test]
    fn leaves_unrelated_text_and_short_values_alone() {
        assert_eq!(scrubbed(SECRET, "nothing to see"), "nothing to see");
        assert_eq!(scrubbed("abc", "https://x.test/abc"), "https://x.test/abc");
    }
}
