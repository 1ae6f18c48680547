//! The gateway's server-side secrets, from configuration (random per process when unset).

use keyward_crypto::{Kek, SecretBytes, StaticKeyProvider};
use secrecy::ExposeSecret as _;

use super::jwt::JwtKeys;
use super::password::Hasher;
use crate::config::Config;

/// Shortest accepted JWT secret and pepper.
pub const MIN_SECRET_LEN: usize = 32;

/// Everything the gateway signs, MACs or seals with.
pub struct Keys {
    pub jwt: JwtKeys,
    /// Virtual-key HMAC pepper.
    pub pepper: SecretBytes,
    /// Seals TOTP secrets.
    pub totp: StaticKeyProvider,
    pub hasher: Hasher,
}

impl Keys {
    /// Keys from `cfg`. Returns also the names of settings that were unset and replaced by
    /// random per-process values, for the caller to warn about.
    ///
    /// # Errors
    /// A message naming the setting that is too short or malformed.
    pub fn from_config(cfg: &Config) -> Result<(Self, Vec<&'static str>), String> {
        let mut ephemeral = Vec::new();
        let jwt_secret = secret_or_random(
            cfg.jwt_secret.as_ref(),
            "api_gateway.jwt_secret",
            &mut ephemeral,
        )?;
        let pepper = secret_or_random(
            cfg.vkey_pepper.as_ref(),
            "api_gateway.vkey_pepper",
            &mut ephemeral,
        )?;
        let totp = match &cfg.totp_key {
            Some(spec) => StaticKeyProvider::parse(spec.expose_secret())
                .map_err(|e| format!("api_gateway.totp_key: {e}"))?,
            None => {
                ephemeral.push("api_gateway.totp_key");
                let kek = Kek::generate().map_err(|e| format!("random key: {e}"))?;
                StaticKeyProvider::new([(1, kek)]).map_err(|e| e.to_string())?
            }
        };
        let hasher = Hasher::new(cfg.auth.argon2_m_cost_kib, cfg.auth.argon2_t_cost)
            .map_err(|e| format!("api_gateway.auth: {e}"))?;
        Ok((
            Self {
                jwt: JwtKeys::new(jwt_secret.expose(), cfg.auth.access_ttl_secs),
                pepper,
                totp,
                hasher,
            },
            ephemeral,
        ))
    }

    /// HMAC-SHA256 of a virtual key under the pepper: the only form a key is stored in.
    pub fn vkey_hash(&self, key: &str) -> Vec<u8> {
        keyward_crypto::hmac_sha256(self.pepper.expose(), key.as_bytes()).to_vec()
    }
}

fn secret_or_random(
    value: Option<&secrecy::SecretString>,
    name: &'static str,
    ephemeral: &mut Vec<&'static str>,
) -> Result<SecretBytes, String> {
    match value {
        Some(v) if v.expose_secret().len() >= MIN_SECRET_LEN => {
            Ok(SecretBytes::copy_from(v.expose_secret().as_bytes()))
        }
        Some(_) => Err(format!("{name} must be at least {MIN_SECRET_LEN} bytes")),
        None => {
            ephemeral.push(name);
            let kek = Kek::generate().map_err(|e| format!("random key: {e}"))?;
            Ok(SecretBytes::copy_from(kek.expose()))
        }
    }
}
