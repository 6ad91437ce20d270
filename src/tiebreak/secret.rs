//! The LLM API key and its storage form (storage-and-api.md §4).
//!
//! * [`ApiKey`] wraps the key so it cannot be logged by accident: `Debug` masks it
//!   and there is no `Display`; [`ApiKey::expose`] is called only where the HTTP
//!   header is built.
//! * [`EncryptionKey`] is the Fernet key from `EVENT_DEDUP_ENCRYPTION_KEY`, checked
//!   when the settings are read (URL-safe base64 of 32 bytes).
//! * Stored form: a Fernet token with an encryption key, else `plain:` + key (and
//!   one warning per process). Reading a token without the encryption key is an
//!   error, never a silent "no key".

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

/// Prefix of a key stored without encryption.
pub const PLAIN_PREFIX: &str = "plain:";

/// An LLM API key. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// `None` for an empty (or blank) key: an empty key means "no key".
    pub fn new(key: impl Into<String>) -> Option<Self> {
        let key = key.into();
        (!key.trim().is_empty()).then_some(ApiKey(key))
    }

    /// The key itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// A validated Fernet key. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKey(String);

impl EncryptionKey {
    /// Checks that `key` is a Fernet key (URL-safe base64 of 32 bytes).
    pub fn parse(key: &str) -> Result<Self, String> {
        let key = key.trim();
        fernet::Fernet::new(key)
            .map(|_| EncryptionKey(key.to_string()))
            .ok_or_else(|| "not a Fernet key (URL-safe base64 of 32 bytes)".to_string())
    }

    /// A fresh random key (for tests and for operators generating one).
    pub fn generate() -> Self {
        EncryptionKey(fernet::Fernet::generate_key())
    }

    fn fernet(&self) -> Result<fernet::Fernet, SecretError> {
        fernet::Fernet::new(&self.0).ok_or(SecretError::BadEncryptionKey)
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey(***)")
    }
}

/// Why a stored key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the stored LLM API key is encrypted but EVENT_DEDUP_ENCRYPTION_KEY is not set")]
    NoEncryptionKey,
    #[error("the stored LLM API key cannot be decrypted with EVENT_DEDUP_ENCRYPTION_KEY (wrong key or corrupted value)")]
    Undecryptable,
    #[error("EVENT_DEDUP_ENCRYPTION_KEY is not a valid Fernet key")]
    BadEncryptionKey,
}

/// Set once the "stored without encryption" warning was logged.
static PLAIN_WARNED: AtomicBool = AtomicBool::new(false);

/// The value for `config_settings.encrypted_api_key`.
pub fn seal(key: &ApiKey, encryption: Option<&EncryptionKey>) -> Result<String, SecretError> {
    match encryption {
        Some(e) => Ok(e.fernet()?.encrypt(key.expose().as_bytes())),
        None => {
            if !PLAIN_WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "EVENT_DEDUP_ENCRYPTION_KEY is not set: the LLM API key is stored unencrypted (plain:)"
                );
            }
            Ok(format!("{PLAIN_PREFIX}{}", key.expose()))
        }
    }
}

/// Reads a stored value: `plain:` + key, or a Fernet token (needs the encryption key).
/// `Ok(None)` for an empty stored key.
pub fn open(
    stored: &str,
    encryption: Option<&EncryptionKey>,
) -> Result<Option<ApiKey>, SecretError> {
    if let Some(rest) = stored.strip_prefix(PLAIN_PREFIX) {
        return Ok(ApiKey::new(rest));
    }
    if stored.is_empty() {
        return Ok(None);
    }
    let fernet = encryption.ok_or(SecretError::NoEncryptionKey)?.fernet()?;
    let bytes = fernet
        .decrypt(stored)
        .map_err(|_| SecretError::Undecryptable)?;
    let text = String::from_utf8(bytes).map_err(|_| SecretError::Undecryptable)?;
    Ok(ApiKey::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fernet_round_trip_hides_the_key() {
        let enc = EncryptionKey::generate();
        let key = ApiKey::new("sk-secret-123").unwrap();
        let sealed = seal(&key, Some(&enc)).unwrap();
        assert!(!sealed.contains("sk-secret-123"));
        assert!(!sealed.starts_with(PLAIN_PREFIX));
        assert_eq!(open(&sealed, Some(&enc)).unwrap(), Some(key));
    }

    #[test]
    fn plain_fallback_and_missing_encryption_key() {
        let key = ApiKey::new("sk-secret-123").unwrap();
        let sealed = seal(&key, None).unwrap();
        assert_eq!(sealed, "plain:sk-secret-123");
        assert_eq!(open(&sealed, None).unwrap(), Some(key.clone()));
        let token = seal(&key, Some(&EncryptionKey::generate())).unwrap();
        assert_eq!(open(&token, None), Err(SecretError::NoEncryptionKey));
        assert_eq!(
            open(&token, Some(&EncryptionKey::generate())),
            Err(SecretError::Undecryptable)
        );
        assert_eq!(open("plain:", None), Ok(None));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = ApiKey::new("sk-secret-123").unwrap();
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        assert!(EncryptionKey::parse("not a key").is_err());
        let enc = EncryptionKey::generate();
        assert!(!format!("{enc:?}").contains(&enc.0));
        assert!(EncryptionKey::parse(&enc.0).is_ok());
    }
}
