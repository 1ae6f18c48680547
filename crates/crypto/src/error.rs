//! The crate's error type.
//!
//! No variant ever carries key material, plaintext or a secret-derived value: messages name
//! what went wrong and where (a KEK version, an entry index, a file path), never the content.

use std::path::PathBuf;

/// Everything that can go wrong in `keyward-crypto`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A sealed record or backup blob did not authenticate.
    ///
    /// Deliberately one indistinguishable variant: it does not say whether the wrapped data key,
    /// the ciphertext, a nonce, the associated data or the KEK was wrong.
    #[error("decryption failed: the record is corrupt, was moved, or the key is wrong")]
    Open,
    /// Encryption itself failed (input larger than AES-GCM allows).
    #[error("encryption failed")]
    Seal,
    /// The operating system's random number generator failed.
    #[error("the operating system random number generator failed")]
    Random,
    /// The key provider has no KEK with this version.
    #[error("KEK version {0} is not configured")]
    UnknownKekVersion(u32),
    /// A KEK specification (`KEYWARD_KEK` value, key file content) is invalid.
    #[error("invalid KEK configuration: {0}")]
    KeyConfig(String),
    /// A key file is readable or writable by other users.
    #[error(
        "key file {path} has mode {mode:o} and is accessible by other users; \
         restrict it (chmod 600) before starting"
    )]
    InsecureKeyFile {
        /// The file that was refused.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file could not be read.
    #[error("cannot read key file {path}: {source}")]
    KeyFileIo {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// Argon2 rejected the passphrase, salt or cost parameters.
    #[error("key derivation failed: {0}")]
    KeyDerivation(&'static str),
    /// A serialized record or blob is structurally invalid (before any authentication).
    #[error("malformed encrypted data: {0}")]
    Malformed(&'static str),
    /// The KEK has wrapped as many data keys as is safe with random nonces.
    #[error(
        "the current KEK has wrapped {count} data keys, the safe limit is {limit}; rotate the KEK"
    )]
    WrapBudgetExhausted {
        /// Wraps performed so far under the KEK.
        count: u64,
        /// The limit that was reached.
        limit: u64,
    },
    /// Decrypted bytes were expected to be UTF-8 text but are not.
    #[error("secret is not valid UTF-8")]
    NotUtf8,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
