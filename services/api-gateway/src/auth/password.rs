//! Passwords: argon2id (PHC strings), hashed and verified off the async threads.

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use keyward_crypto::SecretString;

use crate::error::ApiError;

/// Shortest accepted password.
pub const MIN_LEN: usize = 12;
/// Longest accepted password (bytes), so hashing cost stays bounded.
pub const MAX_LEN: usize = 1024;

/// Hashes new passwords with the configured cost and verifies stored ones.
#[derive(Clone)]
pub struct Hasher {
    params: Params,
    /// A hash of a random password, verified against when the e-mail is unknown so both
    /// answers take the same time.
    dummy: Arc<String>,
}

impl Hasher {
    /// A hasher with memory `m_cost_kib` and `t_cost` iterations.
    ///
    /// # Errors
    /// When the parameters are out of argon2's range.
    pub fn new(m_cost_kib: u32, t_cost: u32) -> Result<Self, String> {
        let params = Params::new(m_cost_kib, t_cost, 1, None)
            .map_err(|e| format!("argon2 parameters: {e}"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let dummy = argon
            .hash_password(uuid::Uuid::new_v4().as_bytes())
            .map_err(|e| format!("argon2: {e}"))?
            .to_string();
        Ok(Self {
            params,
            dummy: Arc::new(dummy),
        })
    }

    /// Checks length rules; `field` names the request field.
    ///
    /// # Errors
    /// 422 naming `field`.
    pub fn check_strength(field: &str, password: &SecretString) -> Result<(), ApiError> {
        let n = password.expose().chars().count();
        if n < MIN_LEN {
            return Err(ApiError::unprocessable(
                field,
                format!("must be at least {MIN_LEN} characters"),
            ));
        }
        if password.len() > MAX_LEN {
            return Err(ApiError::unprocessable(
                field,
                format!("must be at most {MAX_LEN} bytes"),
            ));
        }
        Ok(())
    }

    /// The PHC string of `password`.
    ///
    /// # Errors
    /// 500 when hashing fails.
    pub async fn hash(&self, password: SecretString) -> Result<String, ApiError> {
        let params = self.params.clone();
        tokio::task::spawn_blocking(move || {
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(password.expose().as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| ApiError::internal(&e))
        })
        .await
        .map_err(|e| ApiError::internal(&e))?
    }

    /// Whether `password` matches `stored`; with no stored hash, burns the same time and fails.
    pub async fn verify(&self, stored: Option<String>, password: SecretString) -> bool {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy.as_ref().clone());
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(password.expose().as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
        .unwrap_or(false);
        ok && known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = Hasher::new(64, 1).unwrap();
        let hash = h
            .hash(SecretString::from("correct horse battery"))
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(
            h.verify(
                Some(hash.clone()),
                SecretString::from("correct horse battery")
            )
            .await
        );
        assert!(
            !h.verify(Some(hash), SecretString::from("wrong horse battery"))
                .await
        );
        assert!(!h.verify(None, SecretString::from("anything at all")).await);
    }

    #[test]
    fn strength_rules_name_the_field() {
        let err = Hasher::check_strength("password", &SecretString::from("short")).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("password"));
        assert!(
            Hasher::check_strength("password", &SecretString::from("long enough pass")).is_ok()
        );
    }
}
