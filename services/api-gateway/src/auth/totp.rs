//! TOTP (RFC 6238: SHA-1, 6 digits, 30 s) with `totp-rs`. Secrets are 20 random bytes,
//! envelope-encrypted (`keyward_crypto::seal`) under the gateway's TOTP key and bound to the
//! user id, so a row copied to another user does not open. A code's time step is remembered and
//! never accepted twice.

use keyward_crypto::{Aad, KeyProvider, Sealed, SecretBytes};
use rand::TryRngCore as _;
use totp_rs::{Algorithm, TOTP};

use crate::error::ApiError;

const ISSUER: &str = "Keyward";
const STEP: u64 = 30;

fn aad(user_id: &str) -> Aad<'_> {
    Aad::new("identity", user_id, "totp", 1)
}

/// A fresh random secret.
///
/// # Errors
/// When the OS random generator fails.
pub fn new_secret() -> Result<SecretBytes, ApiError> {
    let mut bytes = vec![0u8; 20];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| ApiError::internal(&e))?;
    Ok(SecretBytes::new(bytes))
}

/// Seals a secret for `user_id`.
///
/// # Errors
/// 500 when sealing fails.
pub fn seal(
    keys: &dyn KeyProvider,
    user_id: &str,
    secret: &SecretBytes,
) -> Result<Vec<u8>, ApiError> {
    keyward_crypto::seal(keys, &aad(user_id), secret.expose())
        .map(|s| s.to_bytes())
        .map_err(|e| ApiError::internal(&e))
}

/// Opens a sealed secret of `user_id`.
///
/// # Errors
/// 500 when the record does not open (wrong key, tampered row).
pub fn open(keys: &dyn KeyProvider, user_id: &str, sealed: &[u8]) -> Result<SecretBytes, ApiError> {
    let sealed = Sealed::from_bytes(sealed).map_err(|e| ApiError::internal(&e))?;
    keyward_crypto::open(keys, &aad(user_id), &sealed).map_err(|e| ApiError::internal(&e))
}

fn totp(secret: &SecretBytes, account: &str) -> Result<TOTP, ApiError> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        0,
        STEP,
        secret.expose().to_vec(),
        Some(ISSUER.to_string()),
        account.to_string(),
    )
    .map_err(|e| ApiError::internal(&e))
}

/// What an authenticator app needs: the base32 secret and the `otpauth://` URL.
///
/// # Errors
/// 500 on an invalid secret.
pub fn provisioning(secret: &SecretBytes, account: &str) -> Result<(String, String), ApiError> {
    let t = totp(secret, account)?;
    Ok((t.get_secret_base32(), t.get_url()))
}

/// The time step a valid `code` belongs to (current step ±1 for clock skew), if any.
///
/// # Errors
/// 500 on an invalid secret.
pub fn matching_step(
    secret: &SecretBytes,
    code: &str,
    unix_now: u64,
) -> Result<Option<u64>, ApiError> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let t = totp(secret, "")?;
    let now_step = unix_now / STEP;
    for step in [now_step.saturating_sub(1), now_step, now_step + 1] {
        let expected = t.generate(step * STEP);
        if keyward_crypto::ct_eq(expected.as_bytes(), code.as_bytes()) {
            return Ok(Some(step));
        }
    }
    Ok(None)
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}

/// The code for `secret` at `unix` (tests and the CLI's self-check use it).
///
/// # Errors
/// 500 on an invalid secret.
pub fn code_at(secret: &SecretBytes, unix: u64) -> Result<String, ApiError> {
    Ok(totp(secret, "")?.generate(unix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_crypto::{Kek, StaticKeyProvider};

    #[test]
    fn codes_match_their_step_with_skew() {
        let s = new_secret().unwrap();
        let now = 1_700_000_000;
        let code = code_at(&s, now).unwrap();
        assert_eq!(matching_step(&s, &code, now).unwrap(), Some(now / 30));
        assert_eq!(matching_step(&s, &code, now + 30).unwrap(), Some(now / 30));
        assert_eq!(matching_step(&s, &code, now + 120).unwrap(), None);
        assert_eq!(matching_step(&s, "12345", now).unwrap(), None);
    }

    #[test]
    fn sealed_secrets_are_bound_to_the_user() {
        let keys = StaticKeyProvider::new([(1, Kek::generate().unwrap())]).unwrap();
        let s = new_secret().unwrap();
        let sealed = seal(&keys, "user-a", &s).unwrap();
        assert_eq!(open(&keys, "user-a", &sealed).unwrap().expose(), s.expose());
        assert!(open(&keys, "user-b", &sealed).is_err());
    }
}
