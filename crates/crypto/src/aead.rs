//! Thin AES-256-GCM helpers over the `aes-gcm` crate, plus OS randomness.
//!
//! Everything that encrypts in this crate goes through here, so key and nonce sizes and the
//! mapping of every decryption failure to [`Error::Open`] live in one place.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead as _, KeyInit as _, Nonce, Payload};
use rand::TryRngCore as _;
use rand::rngs::OsRng;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// AES-256 key length in bytes.
pub const KEY_LEN: usize = 32;
/// AES-GCM nonce length in bytes (96 bits).
pub const NONCE_LEN: usize = 12;
/// AES-GCM authentication tag length in bytes.
pub const TAG_LEN: usize = 16;

/// Fills a fresh array from the operating system's CSPRNG.
pub(crate) fn random_array<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    OsRng.try_fill_bytes(&mut out).map_err(|_| Error::Random)?;
    Ok(out)
}

/// A fresh random 256-bit key, zeroed on drop.
pub(crate) fn random_key() -> Result<Zeroizing<[u8; KEY_LEN]>> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    OsRng
        .try_fill_bytes(key.as_mut_slice())
        .map_err(|_| Error::Random)?;
    Ok(key)
}

/// Encrypts `plaintext`; returns ciphertext with the tag appended.
pub(crate) fn encrypt(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| Error::Seal)?;
    let nonce = Nonce::<Aes256Gcm>::from(*nonce);
    cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| Error::Seal)
}

/// Decrypts and authenticates; any failure is [`Error::Open`].
pub(crate) fn decrypt(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| Error::Open)?;
    let nonce = Nonce::<Aes256Gcm>::from(*nonce);
    cipher
        .decrypt(
            &nonce,
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| Error::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_aad_binding() {
        let key = random_key().unwrap();
        let nonce = random_array::<NONCE_LEN>().unwrap();
        let ct = encrypt(&key, &nonce, b"aad", b"hello").unwrap();
        assert_eq!(ct.len(), 5 + TAG_LEN);
        assert_eq!(
            decrypt(&key, &nonce, b"aad", &ct).unwrap().as_slice(),
            b"hello"
        );
        assert!(matches!(
            decrypt(&key, &nonce, b"other", &ct),
            Err(Error::Open)
        ));
    }

    #[test]
    fn random_values_differ() {
        assert_ne!(random_array::<16>().unwrap(), random_array::<16>().unwrap());
        assert_ne!(*random_key().unwrap(), *random_key().unwrap());
    }
}
