//! KEKs derived from a passphrase with Argon2id.

use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use crate::aead::KEY_LEN;
use crate::error::{Error, Result};
use crate::kek::{Kek, KeyProvider};

/// Smallest salt accepted, in bytes.
pub const MIN_SALT_LEN: usize = 16;

/// Argon2id cost parameters.
///
/// The default, m = 19 456 KiB (19 MiB), t = 2, p = 1, is the OWASP Password Storage Cheat
/// Sheet's baseline for Argon2id and the `argon2` crate's default: about 20–50 ms per derivation
/// on a server core, paid once at startup (provider) or once per export/import (backup).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory cost in KiB.
    pub m_cost_kib: u32,
    /// Number of passes.
    pub t_cost: u32,
    /// Degree of parallelism.
    pub p_cost: u32,
}

impl KdfParams {
    /// The production parameters (m = 19 456 KiB, t = 2, p = 1).
    pub const DEFAULT: Self = Self {
        m_cost_kib: 19_456,
        t_cost: 2,
        p_cost: 1,
    };

    /// Upper bounds accepted when the parameters come from untrusted input (a backup blob):
    /// 1 GiB of memory, 16 passes, 16 lanes. They keep a crafted blob from exhausting the host.
    pub const MAX: Self = Self {
        m_cost_kib: 1 << 20,
        t_cost: 16,
        p_cost: 16,
    };

    /// Checks the parameters against [`KdfParams::MAX`] and Argon2's own minimums.
    pub(crate) fn to_argon2(self) -> Result<Params> {
        if self.m_cost_kib > Self::MAX.m_cost_kib
            || self.t_cost > Self::MAX.t_cost
            || self.p_cost > Self::MAX.p_cost
        {
            return Err(Error::KeyDerivation(
                "argon2 parameters exceed the accepted maximum",
            ));
        }
        Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(KEY_LEN))
            .map_err(|_| Error::KeyDerivation("argon2 parameters are below the minimum"))
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Derives a 256-bit key from `passphrase` and `salt` with Argon2id v1.3.
///
/// The passphrase is used byte for byte (no Unicode normalization).
///
/// # Errors
/// [`Error::KeyDerivation`] for an empty passphrase, a salt shorter than [`MIN_SALT_LEN`] or
/// parameters out of range.
pub fn derive_kek(passphrase: &[u8], salt: &[u8], params: KdfParams) -> Result<Kek> {
    if passphrase.is_empty() {
        return Err(Error::KeyDerivation("the passphrase is empty"));
    }
    if salt.len() < MIN_SALT_LEN {
        return Err(Error::KeyDerivation("the salt must be at least 16 bytes"));
    }
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.to_argon2()?);
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    argon
        .hash_password_into(passphrase, salt, out.as_mut_slice())
        .map_err(|_| Error::KeyDerivation("argon2 rejected the input"))?;
    Ok(Kek::from_zeroizing(out))
}

/// A single-version [`KeyProvider`] whose KEK is derived from a passphrase.
///
/// The derivation runs once, in the constructor; the salt must be stored next to the
/// configuration (it is not secret) and never change for a given version. To rotate, derive the
/// new version's KEK with [`derive_kek`] and combine both in a
/// [`crate::StaticKeyProvider::new`].
pub struct PassphraseKeyProvider {
    version: u32,
    kek: Kek,
}

impl PassphraseKeyProvider {
    /// Derives the KEK for `version` with [`KdfParams::DEFAULT`].
    ///
    /// # Errors
    /// See [`derive_kek`]; also [`Error::KeyConfig`] for version 0.
    pub fn new(version: u32, passphrase: &[u8], salt: &[u8]) -> Result<Self> {
        Self::with_params(version, passphrase, salt, KdfParams::DEFAULT)
    }

    /// Derives the KEK with explicit parameters (tests use cheap ones).
    ///
    /// # Errors
    /// See [`PassphraseKeyProvider::new`].
    pub fn with_params(
        version: u32,
        passphrase: &[u8],
        salt: &[u8],
        params: KdfParams,
    ) -> Result<Self> {
        if version == 0 {
            return Err(Error::KeyConfig("KEK versions start at 1".to_owned()));
        }
        let kek = derive_kek(passphrase, salt, params)?;
        Ok(Self { version, kek })
    }
}

impl KeyProvider for PassphraseKeyProvider {
    fn current_version(&self) -> u32 {
        self.version
    }

    fn kek(&self, version: u32) -> Result<Kek> {
        if version == self.version {
            Ok(self.kek.clone())
        } else {
            Err(Error::UnknownKekVersion(version))
        }
    }

    fn versions(&self) -> Vec<u32> {
        vec![self.version]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: KdfParams = KdfParams {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };
    const SALT: &[u8] = b"keyward-test-salt";

    #[test]
    fn default_parameters_are_the_documented_ones() {
        assert_eq!(
            KdfParams::default(),
            KdfParams {
                m_cost_kib: 19_456,
                t_cost: 2,
                p_cost: 1
            }
        );
        assert!(KdfParams::DEFAULT.to_argon2().is_ok());
    }

    #[test]
    fn derivation_depends_on_passphrase_salt_and_params() {
        let base = derive_kek(b"correct horse", SALT, FAST).unwrap();
        let other_pass = derive_kek(b"correct horsf", SALT, FAST).unwrap();
        let other_salt = derive_kek(b"correct horse", b"keyward-test-salu", FAST).unwrap();
        let other_params =
            derive_kek(b"correct horse", SALT, KdfParams { t_cost: 2, ..FAST }).unwrap();
        for other in [other_pass, other_salt, other_params] {
            assert_ne!(base.expose(), other.expose());
        }
    }

    #[test]
    fn rejects_weak_inputs_and_oversized_params() {
        assert!(matches!(
            derive_kek(b"", SALT, FAST),
            Err(Error::KeyDerivation(_))
        ));
        assert!(matches!(
            derive_kek(b"pw", b"short", FAST),
            Err(Error::KeyDerivation(_))
        ));
        let huge = KdfParams {
            m_cost_kib: u32::MAX,
            ..FAST
        };
        assert!(matches!(
            derive_kek(b"pw", SALT, huge),
            Err(Error::KeyDerivation(_))
        ));
        let tiny = KdfParams {
            m_cost_kib: 1,
            ..FAST
        };
        assert!(matches!(
            derive_kek(b"pw", SALT, tiny),
            Err(Error::KeyDerivation(_))
        ));
    }

    #[test]
    fn provider_serves_only_its_version() {
        let p = PassphraseKeyProvider::with_params(4, b"pw", SALT, FAST).unwrap();
        assert_eq!(p.current_version(), 4);
        assert_eq!(p.versions(), vec![4]);
        assert!(p.kek(4).is_ok());
        assert!(matches!(p.kek(3), Err(Error::UnknownKekVersion(3))));
        assert!(PassphraseKeyProvider::with_params(0, b"pw", SALT, FAST).is_err());
    }
}
