//! Encryption of tenant secrets at rest: XChaCha20-Poly1305 (RustCrypto)
//! under a 256-bit master key, with the tenant and the secret's name as
//! associated data — a sealed value copied to another tenant or name does
//! not open. Each sealed value names the key it was sealed with (`key_id`,
//! a fingerprint of the key), so a rotation can proceed one secret at a time.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Length of a master key in bytes.
pub const KEY_BYTES: usize = 32;

/// A master key and the cipher built from it. Never printed.
#[derive(Clone)]
pub struct Vault {
    cipher: XChaCha20Poly1305,
    key_id: String,
    /// Signs Studio session cookies. Derived from the master key, so every
    /// host of a deployment (which shares it) accepts the same sessions.
    session_key: [u8; KEY_BYTES],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("key_id", &self.key_id)
            .finish()
    }
}

/// A secret value as stored: never the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// Which master key sealed it (see [`Vault::key_id`]).
    pub key_id: String,
    /// 24-byte random nonce, hex.
    pub nonce: String,
    /// Ciphertext and tag, hex.
    pub ciphertext: String,
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the secrets key must be {KEY_BYTES} bytes written as {} hex digits", KEY_BYTES * 2)]
    BadKey,
    #[error(
        "secret was sealed with key {found}, but the server's key is {expected}; run `wolfe rotate-secrets-key` or configure the right key"
    )]
    WrongKey { found: String, expected: String },
    #[error("secret could not be decrypted: it was altered, or belongs to another tenant or name")]
    Tampered,
    #[error("cannot read or create the secrets key file {path}: {message}")]
    KeyFile { path: String, message: String },
}

impl Vault {
    /// A vault from a key written as hex (64 digits).
    pub fn from_hex(text: &str) -> Result<Self, VaultError> {
        let bytes = hex::decode(text.trim()).map_err(|_| VaultError::BadKey)?;
        let key: [u8; KEY_BYTES] = bytes.try_into().map_err(|_| VaultError::BadKey)?;
        Ok(Self::from_key(&key))
    }

    fn from_key(key: &[u8; KEY_BYTES]) -> Self {
        let key_id =
            hex::encode(&Sha256::digest([b"wolfe-secrets-key:".as_slice(), key].concat())[..8]);
        let session_key = Sha256::digest([b"wolfe-session-key:".as_slice(), key].concat()).into();
        Self {
            cipher: XChaCha20Poly1305::new(Key::from_slice(key)),
            key_id,
            session_key,
        }
    }

    /// HMAC-SHA256 of a session cookie's payload, hex.
    pub fn sign_session(&self, payload: &str) -> String {
        hex::encode(self.session_mac(payload).finalize().into_bytes())
    }

    /// Whether `mac_hex` is the signature of `payload`, in constant time.
    pub fn verify_session(&self, payload: &str, mac_hex: &str) -> bool {
        let Ok(mac) = hex::decode(mac_hex) else {
            return false;
        };
        self.session_mac(payload).verify_slice(&mac).is_ok()
    }

    fn session_mac(&self, payload: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.session_key)
            .expect("HMAC takes a key of any length");
        mac.update(payload.as_bytes());
        mac
    }

    /// A fresh random key, as hex.
    pub fn generate_hex() -> String {
        let mut key = [0u8; KEY_BYTES];
        rand::rng().fill_bytes(&mut key);
        hex::encode(key)
    }

    /// Reads the key file, or creates it (mode 0600) with a fresh key when it
    /// does not exist. Returns the vault and whether the file was created.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), VaultError> {
        let fail = |message: String| VaultError::KeyFile {
            path: path.display().to_string(),
            message,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((Self::from_hex(&text)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate_hex();
                write_private(path, &key).map_err(|e| fail(e.to_string()))?;
                Ok((Self::from_hex(&key)?, true))
            }
            Err(e) => Err(fail(e.to_string())),
        }
    }

    /// The key's fingerprint: recorded with every sealed value.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn seal(&self, tenant: &str, name: &str, value: &str) -> Sealed {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let aad = associated_data(tenant, name);
        let ciphertext = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: value.as_bytes(),
                    aad: &aad,
                },
            )
            .expect("XChaCha20-Poly1305 encryption of an in-memory value cannot fail");
        Sealed {
            key_id: self.key_id.clone(),
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ciphertext),
        }
    }

    pub fn open(&self, tenant: &str, name: &str, sealed: &Sealed) -> Result<String, VaultError> {
        if sealed.key_id != self.key_id {
            return Err(VaultError::WrongKey {
                found: sealed.key_id.clone(),
                expected: self.key_id.clone(),
            });
        }
        let nonce = hex::decode(&sealed.nonce).map_err(|_| VaultError::Tampered)?;
        let ciphertext = hex::decode(&sealed.ciphertext).map_err(|_| VaultError::Tampered)?;
        if nonce.len() != 24 {
            return Err(VaultError::Tampered);
        }
        let aad = associated_data(tenant, name);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::Tampered)?;
        String::from_utf8(plain).map_err(|_| VaultError::Tampered)
    }
}

/// Binds a sealed value to its tenant and name.
fn associated_data(tenant: &str, name: &str) -> Vec<u8> {
    format!("wolfe-secret\0{tenant}\0{name}").into_bytes()
}

/// Writes a new file readable by its owner only.
pub(crate) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_signatures_verify_only_under_the_same_master_key() {
        let key = Vault::generate_hex();
        let (one, same) = (
            Vault::from_hex(&key).unwrap(),
            Vault::from_hex(&key).unwrap(),
        );
        let other = Vault::from_hex(&Vault::generate_hex()).unwrap();
        let mac = one.sign_session("v1.abc.123");
        assert!(
            same.verify_session("v1.abc.123", &mac),
            "another host, same key"
        );
        assert!(!same.verify_session("v1.abc.124", &mac), "another payload");
        assert!(!other.verify_session("v1.abc.123", &mac), "another key");
        assert!(!one.verify_session("v1.abc.123", "not hex"));
        assert!(!one.verify_session("v1.abc.123", &mac[..10]));
    }

    #[test]
    fn sealed_values_open_only_for_their_tenant_name_and_key() {
        let vault = Vault::from_hex(&Vault::generate_hex()).unwrap();
        let sealed = vault.seal("acme", "DB_PASSWORD", "hunter2");
        assert!(!sealed.ciphertext.contains(&hex::encode("hunter2")));
        assert_eq!(
            vault.open("acme", "DB_PASSWORD", &sealed).unwrap(),
            "hunter2"
        );
        assert!(matches!(
            vault.open("other", "DB_PASSWORD", &sealed),
            Err(VaultError::Tampered)
        ));
        assert!(matches!(
            vault.open("acme", "API_TOKEN", &sealed),
            Err(VaultError::Tampered)
        ));
        let mut altered = sealed.clone();
        let last = altered.ciphertext.pop().unwrap();
        altered.ciphertext.push(if last == '0' { '1' } else { '0' });
        assert!(matches!(
            vault.open("acme", "DB_PASSWORD", &altered),
            Err(VaultError::Tampered)
        ));
        let other = Vault::from_hex(&Vault::generate_hex()).unwrap();
        assert!(matches!(
            other.open("acme", "DB_PASSWORD", &sealed),
            Err(VaultError::WrongKey { .. })
        ));
        // The same value sealed twice differs (random nonces).
        assert_ne!(vault.seal("acme", "X", "v"), vault.seal("acme", "X", "v"));
    }

    #[test]
    fn key_files_are_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.key");
        let (first, created) = Vault::load_or_create(&path).unwrap();
        assert!(created);
        let (second, created) = Vault::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(first.key_id(), second.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(Vault::from_hex("abcd"), Err(VaultError::BadKey)));
        assert!(!format!("{first:?}").contains(&std::fs::read_to_string(&path).unwrap()));
    }
}
