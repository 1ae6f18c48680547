//! Access tokens: HS256 JWTs (`jsonwebtoken`) of 15 minutes, bound to a session.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use keyward_core::id::{OrgId, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;

/// Roles that must use TOTP when their org requires it.
pub const PRIVILEGED_ROLES: [&str; 2] = ["owner", "admin"];

const ISSUER: &str = "keyward";
const AUDIENCE: &str = "keyward-api";

/// What an access token says.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// The org the session is signed in to.
    pub org: String,
    /// Session (refresh-token family) id; revoking it ends the token at once.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

impl Claims {
    /// The ids inside, or 401.
    pub fn ids(&self) -> Result<(UserId, OrgId, Uuid), ApiError> {
        let bad = || ApiError::unauthenticated("invalid access token");
        Ok((
            self.sub.parse().map_err(|_| bad())?,
            self.org.parse().map_err(|_| bad())?,
            self.sid.parse().map_err(|_| bad())?,
        ))
    }
}

/// Signs and verifies access tokens.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: u64,
}

impl JwtKeys {
    /// Keys from a shared secret (at least 32 bytes, checked by the caller).
    pub fn new(secret: &[u8], ttl_secs: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs,
        }
    }

    /// Lifetime of the tokens issued, in seconds.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// A new token for `user` in `org`, session `sid`.
    ///
    /// # Errors
    /// Only when signing fails (never with an HMAC key).
    pub fn issue(&self, user: UserId, org: OrgId, sid: Uuid) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user.to_string(),
            org: org.to_string(),
            sid: sid.to_string(),
            iat: now,
            exp: now.saturating_add(i64::try_from(self.ttl_secs).unwrap_or(i64::MAX)),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal(&e))
    }

    /// The claims of a valid, unexpired token.
    ///
    /// # Errors
    /// Any signature, algorithm, issuer, audience or expiry problem.
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map(|d| d.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_under_their_key_and_algorithm() {
        let keys = JwtKeys::new(&[7u8; 32], 900);
        let (u, o, s) = (UserId::new(), OrgId::new(), Uuid::now_v7());
        let token = keys.issue(u, o, s).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!(claims.ids().unwrap(), (u, o, s));
        assert!(claims.exp - claims.iat == 900);
        assert!(JwtKeys::new(&[8u8; 32], 900).verify(&token).is_err());
        // alg=none and tampered payloads are refused.
        let mut parts: Vec<&str> = token.split('.').collect();
        let none = base64_url(r#"{"alg":"none","typ":"JWT"}"#);
        parts[0] = &none;
        assert!(keys.verify(&parts.join(".")).is_err());
    }

    #[test]
    fn expired_tokens_are_refused() {
        let keys = JwtKeys::new(&[7u8; 32], 0);
        let mut k2 = JwtKeys::new(&[7u8; 32], 0);
        k2.validation.leeway = 0;
        let token = keys
            .issue(UserId::new(), OrgId::new(), Uuid::now_v7())
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert!(k2.verify(&token).is_err());
    }

    fn base64_url(s: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }
}
