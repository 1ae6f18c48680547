//! Random bearer secrets: virtual keys (`kw_…`), refresh tokens (`kw_rt_…`) and invitation
//! tokens (`kw_inv_…`). All are 32 bytes from the OS random generator, base62-encoded, so the
//! leak guard's `kw_` pattern redacts every one of them.

use keyward_crypto::SecretString;
use rand::TryRngCore as _;
use sha2::{Digest as _, Sha256};

use crate::error::ApiError;

const BASE62: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Virtual keys.
pub const VKEY_PREFIX: &str = "kw_";
/// Refresh tokens.
pub const REFRESH_PREFIX: &str = "kw_rt_";
/// Invitation tokens.
pub const INVITE_PREFIX: &str = "kw_inv_";

/// `prefix` + base62 of 32 random bytes.
///
/// # Errors
/// When the OS random generator fails.
pub fn generate(prefix: &str) -> Result<SecretString, ApiError> {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng
        .try_fill_bytes(bytes.as_mut())
        .map_err(|e| ApiError::internal(&e))?;
    let mut out = String::with_capacity(prefix.len() + 44);
    out.push_str(prefix);
    out.push_str(&base_x::encode(BASE62, bytes.as_ref()));
    Ok(SecretString::new(out))
}

/// SHA-256 of a high-entropy token (refresh and invitation tokens are stored this way).
pub fn sha256(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_base62_and_unique() {
        let a = generate(VKEY_PREFIX).unwrap();
        let b = generate(VKEY_PREFIX).unwrap();
        assert!(a.expose().starts_with("kw_"));
        assert!(a.expose().len() >= 3 + 40, "{}", a.expose().len());
        assert!(a.expose()[3..].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a.expose(), b.expose());
        let r = generate(REFRESH_PREFIX).unwrap();
        let text = format!("key {} and {}", a.expose(), r.expose());
        let redacted = keyward_crypto::redact(&text);
        assert!(!redacted.contains(&r.expose()[8..]), "{redacted}");
        assert!(!redacted.contains(&a.expose()[5..]), "{redacted}");
    }
}
