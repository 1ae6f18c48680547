//! Ed25519 checkpoints: the signed message, the signer (key from config) and the set of public
//! keys a verifier trusts.
//!
//! Signed message, format 1: the 27 ASCII bytes `keyward.audit.checkpoint.v1` ‖ org id (16 UUID
//! bytes) ‖ seq (`u64` big-endian) ‖ the entry hash at seq (32 bytes) ‖ signed-at (`i64`
//! big-endian microseconds since the Unix epoch).

use base64::Engine as _;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use uuid::Uuid;
use zeroize::Zeroizing;

/// Domain separation prefix of the signed message.
pub const CHECKPOINT_CONTEXT: &[u8] = b"keyward.audit.checkpoint.v1";

/// What a checkpoint signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointBody {
    pub org_id: Uuid,
    pub seq: u64,
    pub hash: Vec<u8>,
    pub signed_at: DateTime<Utc>,
}

impl CheckpointBody {
    /// The exact bytes signed.
    pub fn message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(CHECKPOINT_CONTEXT.len() + 16 + 8 + 32 + 8);
        m.extend_from_slice(CHECKPOINT_CONTEXT);
        m.extend_from_slice(self.org_id.as_bytes());
        m.extend_from_slice(&self.seq.to_be_bytes());
        m.extend_from_slice(&self.hash);
        m.extend_from_slice(&self.signed_at.timestamp_micros().to_be_bytes());
        m
    }
}

/// A configuration problem with a key. Never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("audit.signing_key must be the base64 of a 32-byte Ed25519 seed")]
    BadSeed,
    #[error("audit.trusted_public_keys[{0}] must be the base64 of a 32-byte Ed25519 public key")]
    BadPublicKey(usize),
}

/// Signs checkpoints. Holds the private key; implements neither `Debug` nor `Display`.
pub struct CheckpointSigner {
    key: SigningKey,
}

impl CheckpointSigner {
    /// From the base64 of a 32-byte seed (`audit.signing_key`).
    pub fn from_base64_seed(seed: &str) -> Result<Self, KeyError> {
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(seed.trim())
                .map_err(|_| KeyError::BadSeed)?,
        );
        let seed: Zeroizing<[u8; 32]> =
            Zeroizing::new(bytes.as_slice().try_into().map_err(|_| KeyError::BadSeed)?);
        Ok(Self {
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// The public key checkpoints carry.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The signature over `body.message()`.
    pub fn sign(&self, body: &CheckpointBody) -> [u8; 64] {
        self.key.sign(&body.message()).to_bytes()
    }
}

/// The public keys whose checkpoints a verifier accepts: the current signer's plus earlier ones
/// (`audit.trusted_public_keys`) so checkpoints survive key rotation.
#[derive(Clone, Debug, Default)]
pub struct TrustedKeys {
    keys: Vec<VerifyingKey>,
}

impl TrustedKeys {
    /// The signer's key (if any) plus the configured base64 public keys.
    pub fn new(signer: Option<&CheckpointSigner>, extra: &[String]) -> Result<Self, KeyError> {
        let mut keys: Vec<VerifyingKey> =
            signer.map(|s| s.key.verifying_key()).into_iter().collect();
        for (i, k) in extra.iter().enumerate() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(k.trim())
                .map_err(|_| KeyError::BadPublicKey(i))?;
            let arr: [u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| KeyError::BadPublicKey(i))?;
            keys.push(VerifyingKey::from_bytes(&arr).map_err(|_| KeyError::BadPublicKey(i))?);
        }
        Ok(Self { keys })
    }

    /// Checks a stored checkpoint: its key must be trusted and its signature valid.
    pub fn check(
        &self,
        public_key: &[u8],
        body: &CheckpointBody,
        signature: &[u8],
    ) -> Result<(), &'static str> {
        let key = self
            .keys
            .iter()
            .find(|k| k.as_bytes().as_slice() == public_key)
            .ok_or("signed by a key that is not trusted")?;
        let sig = Signature::from_slice(signature).map_err(|_| "malformed signature")?;
        key.verify_strict(&body.message(), &sig)
            .map_err(|_| "signature is invalid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn body() -> CheckpointBody {
        CheckpointBody {
            org_id: Uuid::nil(),
            seq: 7,
            hash: vec![9; 32],
            signed_at: DateTime::from_timestamp_micros(1_720_000_000_000_000).unwrap(),
        }
    }

    #[test]
    fn signs_and_verifies_only_the_exact_body_and_trusted_keys() {
        let signer = CheckpointSigner::from_base64_seed(SEED).unwrap();
        let trusted = TrustedKeys::new(Some(&signer), &[]).unwrap();
        let sig = signer.sign(&body());
        assert_eq!(trusted.check(&signer.public_key(), &body(), &sig), Ok(()));
        let mut other = body();
        other.seq = 8;
        assert_eq!(
            trusted.check(&signer.public_key(), &other, &sig),
            Err("signature is invalid")
        );
        let stranger =
            CheckpointSigner::from_base64_seed("HxwdHhscGRoXGBUWExQREg8QDQ4LDAkKBwgFBgMEAQI=")
                .unwrap();
        let sig2 = stranger.sign(&body());
        assert_eq!(
            trusted.check(&stranger.public_key(), &body(), &sig2),
            Err("signed by a key that is not trusted")
        );
        let b64 = base64::engine::general_purpose::STANDARD.encode(stranger.public_key());
        let both = TrustedKeys::new(Some(&signer), &[b64]).unwrap();
        assert_eq!(both.check(&stranger.public_key(), &body(), &sig2), Ok(()));
    }

    #[test]
    fn bad_keys_are_config_errors_without_material() {
        assert!(matches!(
            CheckpointSigner::from_base64_seed("c2hvcnQ="),
            Err(KeyError::BadSeed)
        ));
        assert!(matches!(
            TrustedKeys::new(None, &["!!".into()]),
            Err(KeyError::BadPublicKey(0))
        ));
    }
}
