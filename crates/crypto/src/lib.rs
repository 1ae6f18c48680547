//! Keyward's cryptography: envelope encryption of stored provider keys, KEK providers,
//! encrypted backups, key masking and fingerprints, HMAC helpers, and the leak-guard
//! redaction function.
//!
//! Primitives come from RustCrypto (`aes-gcm`, `argon2`, `sha2`, `hmac`); this crate only
//! composes them. Plaintext is held in [`SecretBytes`]/[`SecretString`], which zero their memory
//! and implement neither `Debug` nor `Display`, and no error message carries key material.

mod aead;
pub mod backup;
pub mod envelope;
mod error;
pub mod kek;
pub mod mac;
pub mod mask;
pub mod passphrase;
pub mod redact;
pub mod secret;

pub use aead::{KEY_LEN, NONCE_LEN, TAG_LEN};
pub use backup::{
    open_with_key, open_with_passphrase, seal_with_key, seal_with_passphrase,
    seal_with_passphrase_params,
};
pub use envelope::{
    Aad, KEK_WRAP_BUDGET, NIST_RANDOM_NONCE_LIMIT, Sealed, WRAPPED_DEK_LEN, check_wrap_budget,
    open, rewrap, seal,
};
pub use error::{Error, Result};
pub use kek::{Kek, KeyProvider, StaticKeyProvider};
pub use mac::{ct_eq, hmac_sha256, hmac_sha256_verify};
pub use mask::{fingerprint, mask_last4};
pub use passphrase::{KdfParams, PassphraseKeyProvider, derive_kek};
pub use redact::{redact, redact_bytes};
pub use secret::{SecretBytes, SecretString};
