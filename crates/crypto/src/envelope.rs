//! Envelope encryption of stored secrets.
//!
//! Each secret gets its own random 256-bit data key (DEK) and is sealed with AES-256-GCM under a
//! random 96-bit nonce. The DEK is then wrapped (AES-256-GCM again) by the key provider's current
//! KEK. Both encryptions authenticate the row's [`Aad`]; the DEK wrap also authenticates the KEK
//! version. Rotation ([`rewrap`]) re-encrypts only the 32-byte DEK, never the secret.
//!
//! Nonce budget: a DEK encrypts exactly one message, so only the KEK accumulates random nonces.
//! The vault counts wraps per KEK version and calls [`check_wrap_budget`] before each one.

pub(crate) mod aad;
mod sealed;

pub use aad::Aad;
pub use sealed::{Sealed, WRAPPED_DEK_LEN};

use zeroize::Zeroizing;

use crate::aead::{self, KEY_LEN, NONCE_LEN, random_array, random_key};
use crate::error::{Error, Result};
use crate::kek::{Kek, KeyProvider};
use crate::secret::SecretBytes;

/// NIST SP 800-38D §8.3: with random 96-bit nonces, one key may perform at most 2^32
/// encryptions, keeping the nonce collision probability below 2^-32.
pub const NIST_RANDOM_NONCE_LIMIT: u64 = 1 << 32;

/// Wraps one KEK version may perform before Keyward refuses: half the NIST limit, as a margin
/// for counters that lag (crashed writers, several vault replicas).
pub const KEK_WRAP_BUDGET: u64 = NIST_RANDOM_NONCE_LIMIT / 2;

/// Refuses a new wrap once `count` wraps have already been made under the current KEK.
///
/// # Errors
/// [`Error::WrapBudgetExhausted`] (whose message says to rotate the KEK) when
/// `count >= KEK_WRAP_BUDGET`.
pub fn check_wrap_budget(count: u64) -> Result<()> {
    if count >= KEK_WRAP_BUDGET {
        return Err(Error::WrapBudgetExhausted {
            count,
            limit: KEK_WRAP_BUDGET,
        });
    }
    Ok(())
}

/// Seals `plaintext` for the row `aad` under a fresh data key wrapped by the current KEK.
///
/// # Errors
/// [`Error::Random`], [`Error::Seal`], or the provider's error for its current KEK.
pub fn seal(keys: &dyn KeyProvider, aad: &Aad<'_>, plaintext: &[u8]) -> Result<Sealed> {
    let dek = random_key()?;
    let nonce = random_array::<NONCE_LEN>()?;
    let ciphertext = aead::encrypt(&dek, &nonce, &aad.for_secret(), plaintext)?;
    let kek_version = keys.current_version();
    let kek = keys.kek(kek_version)?;
    let (wrapped_dek, dek_nonce) = wrap_dek(&kek, aad, kek_version, &dek)?;
    Ok(Sealed {
        ciphertext,
        nonce,
        wrapped_dek,
        dek_nonce,
        kek_version,
    })
}

/// Opens a record sealed for the row `aad`.
///
/// # Errors
/// [`Error::UnknownKekVersion`] when the provider lacks the record's KEK version (a
/// configuration problem, reported as such); otherwise every failure — wrong KEK, wrong row,
/// any tampered byte — is the same [`Error::Open`].
pub fn open(keys: &dyn KeyProvider, aad: &Aad<'_>, sealed: &Sealed) -> Result<SecretBytes> {
    let dek = unwrap_dek(keys, aad, sealed)?;
    let plaintext = aead::decrypt(&dek, &sealed.nonce, &aad.for_secret(), &sealed.ciphertext)?;
    Ok(SecretBytes::from_zeroizing(plaintext))
}

/// Re-wraps the record's data key under KEK `to_version`; the ciphertext and its nonce are
/// unchanged. The whole record is authenticated first, so a record that would not open is
/// reported instead of being silently carried forward. Idempotent: a record already at
/// `to_version` is returned unchanged.
///
/// # Errors
/// As [`open`], plus the provider's error for `to_version` and [`Error::Random`].
pub fn rewrap(
    keys: &dyn KeyProvider,
    aad: &Aad<'_>,
    sealed: &Sealed,
    to_version: u32,
) -> Result<Sealed> {
    let dek = unwrap_dek(keys, aad, sealed)?;
    // Authenticate the ciphertext too; the plaintext is dropped (and zeroed) at once.
    drop(aead::decrypt(
        &dek,
        &sealed.nonce,
        &aad.for_secret(),
        &sealed.ciphertext,
    )?);
    if sealed.kek_version == to_version {
        return Ok(sealed.clone());
    }
    let kek = keys.kek(to_version)?;
    let (wrapped_dek, dek_nonce) = wrap_dek(&kek, aad, to_version, &dek)?;
    Ok(Sealed {
        wrapped_dek,
        dek_nonce,
        kek_version: to_version,
        ..sealed.clone()
    })
}

fn wrap_dek(
    kek: &Kek,
    aad: &Aad<'_>,
    kek_version: u32,
    dek: &[u8; KEY_LEN],
) -> Result<([u8; WRAPPED_DEK_LEN], [u8; NONCE_LEN])> {
    let dek_nonce = random_array::<NONCE_LEN>()?;
    let wrapped = aead::encrypt(kek.expose(), &dek_nonce, &aad.for_dek(kek_version), dek)?;
    let wrapped = wrapped.as_slice().try_into().map_err(|_| Error::Seal)?;
    Ok((wrapped, dek_nonce))
}

fn unwrap_dek(
    keys: &dyn KeyProvider,
    aad: &Aad<'_>,
    sealed: &Sealed,
) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    let kek = keys.kek(sealed.kek_version)?;
    let dek = aead::decrypt(
        kek.expose(),
        &sealed.dek_nonce,
        &aad.for_dek(sealed.kek_version),
        &sealed.wrapped_dek,
    )?;
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    if dek.len() != KEY_LEN {
        return Err(Error::Open);
    }
    out.copy_from_slice(&dek);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kek::StaticKeyProvider;

    fn provider() -> StaticKeyProvider {
        StaticKeyProvider::new([(1, Kek::generate().unwrap()), (2, Kek::generate().unwrap())])
            .unwrap()
    }

    #[test]
    fn seal_uses_the_current_version_and_opens() {
        let keys = provider();
        let aad = Aad::new("org", "key", "openai", 1);
        let sealed = seal(&keys, &aad, b"sk-secret").unwrap();
        assert_eq!(sealed.kek_version, 2);
        assert_eq!(sealed.ciphertext.len(), 9 + aead::TAG_LEN);
        assert_eq!(open(&keys, &aad, &sealed).unwrap().expose(), b"sk-secret");
    }

    #[test]
    fn two_seals_of_the_same_plaintext_differ() {
        let keys = provider();
        let aad = Aad::new("org", "key", "openai", 1);
        let a = seal(&keys, &aad, b"same").unwrap();
        let b = seal(&keys, &aad, b"same").unwrap();
        assert_ne!(a.ciphertext, b.ciphertext);
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.wrapped_dek, b.wrapped_dek);
    }

    #[test]
    fn missing_kek_version_is_reported_as_configuration() {
        let keys = provider();
        let aad = Aad::new("org", "key", "openai", 1);
        let mut sealed = seal(&keys, &aad, b"x").unwrap();
        sealed.kek_version = 7;
        assert!(matches!(
            open(&keys, &aad, &sealed),
            Err(Error::UnknownKekVersion(7))
        ));
    }

    #[test]
    fn relabelled_kek_version_fails_to_open() {
        let k = Kek::generate().unwrap();
        let keys = StaticKeyProvider::new([(1, k.clone()), (2, k)]).unwrap();
        let aad = Aad::new("org", "key", "openai", 1);
        let mut sealed = seal(&keys, &aad, b"x").unwrap();
        sealed.kek_version = 1;
        assert!(matches!(open(&keys, &aad, &sealed), Err(Error::Open)));
    }

    #[test]
    fn wrap_budget_refuses_at_the_margin() {
        assert_eq!(KEK_WRAP_BUDGET, 1 << 31);
        assert!(check_wrap_budget(0).is_ok());
        assert!(check_wrap_budget(KEK_WRAP_BUDGET - 1).is_ok());
        let err = check_wrap_budget(KEK_WRAP_BUDGET).unwrap_err();
        assert!(err.to_string().contains("rotate the KEK"), "{err}");
        assert!(check_wrap_budget(u64::MAX).is_err());
    }
}
