//! Key-encryption keys (KEKs) and where they come from.
//!
//! A [`KeyProvider`] hands out versioned KEKs. Envelope encryption asks it for the current
//! version when sealing and for the record's version when opening, so a cloud KMS can implement
//! the trait later without touching the envelope code. [`StaticKeyProvider`] covers the
//! `KEYWARD_KEK` environment variable and key files.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use zeroize::Zeroizing;

use crate::aead::{KEY_LEN, random_key};
use crate::error::{Error, Result};
use crate::secret::SecretString;

/// Standard base64, padding optional (operators paste keys with or without `=`).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A 256-bit key-encryption key, zeroed on drop. No `Debug`/`Display`.
#[derive(Clone)]
pub struct Kek(Zeroizing<[u8; KEY_LEN]>);

impl Kek {
    /// Wraps raw key bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Adopts an already-zeroizing key without another copy.
    pub(crate) fn from_zeroizing(key: Zeroizing<[u8; KEY_LEN]>) -> Self {
        Self(key)
    }

    /// Copies a 32-byte slice.
    ///
    /// # Errors
    /// [`Error::KeyConfig`] when the slice is not exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != KEY_LEN {
            return Err(Error::KeyConfig(format!(
                "a KEK must be {KEY_LEN} bytes, got {}",
                bytes.len()
            )));
        }
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(bytes);
        Ok(Self(key))
    }

    /// Decodes standard base64 (padding optional) of exactly 32 bytes.
    ///
    /// # Errors
    /// [`Error::KeyConfig`] when the text is not base64 or not 32 bytes; the message never
    /// contains the text.
    pub fn from_base64(text: &str) -> Result<Self> {
        let bytes = Zeroizing::new(
            BASE64
                .decode(text.trim())
                .map_err(|_| Error::KeyConfig("a KEK is not valid base64".to_owned()))?,
        );
        Self::from_slice(&bytes)
    }

    /// A fresh random KEK (for `keyward kek generate` and tests).
    ///
    /// # Errors
    /// [`Error::Random`] when the OS random number generator fails.
    pub fn generate() -> Result<Self> {
        random_key().map(Self::from_zeroizing)
    }

    /// The key encoded as standard base64, the format [`Kek::from_base64`] reads.
    #[must_use]
    pub fn to_base64(&self) -> SecretString {
        SecretString::new(BASE64.encode(self.0.as_slice()))
    }

    /// The raw key bytes.
    #[must_use]
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

/// A source of versioned KEKs. Implemented here by [`StaticKeyProvider`] and
/// [`crate::PassphraseKeyProvider`]; a cloud KMS plugin implements it too.
pub trait KeyProvider: Send + Sync {
    /// The version new data keys are wrapped with.
    fn current_version(&self) -> u32;

    /// The KEK for `version`.
    ///
    /// # Errors
    /// [`Error::UnknownKekVersion`] when the version is not configured; a remote provider may
    /// return other errors.
    fn kek(&self, version: u32) -> Result<Kek>;

    /// Every version this provider can open, ascending.
    fn versions(&self) -> Vec<u32>;
}

/// KEKs held in memory, parsed from configuration.
///
/// The current version is the highest one: rotating means appending `N+1:…` to the list, after
/// which new secrets use it and the vault rewraps old records in the background; the old entry
/// is removed only once the rewrap has converged.
pub struct StaticKeyProvider {
    keks: BTreeMap<u32, Kek>,
    current: u32,
}

impl StaticKeyProvider {
    /// Builds a provider from `(version, kek)` pairs.
    ///
    /// # Errors
    /// [`Error::KeyConfig`] when the list is empty, a version is 0 or repeated.
    pub fn new(keks: impl IntoIterator<Item = (u32, Kek)>) -> Result<Self> {
        let mut map = BTreeMap::new();
        for (version, kek) in keks {
            if version == 0 {
                return Err(Error::KeyConfig("KEK versions start at 1".to_owned()));
            }
            if map.insert(version, kek).is_some() {
                return Err(Error::KeyConfig(format!(
                    "KEK version {version} is listed twice"
                )));
            }
        }
        let current = map
            .keys()
            .next_back()
            .copied()
            .ok_or_else(|| Error::KeyConfig("no KEK configured".to_owned()))?;
        Ok(Self { keks: map, current })
    }

    /// Parses a `KEYWARD_KEK`-style value: either one bare base64 key (version 1) or a list
    /// `"1:BASE64,2:BASE64"`. Entries may also be separated by newlines or `;`, and blank
    /// entries and `#` comment lines are ignored, so the same format works in a key file.
    ///
    /// # Errors
    /// [`Error::KeyConfig`] naming the offending entry by position, never by content.
    pub fn parse(spec: &str) -> Result<Self> {
        let entries: Vec<&str> = spec
            .split(['\n', ',', ';'])
            .map(str::trim)
            .filter(|entry| !entry.is_empty() && !entry.starts_with('#'))
            .collect();
        if let [single] = entries.as_slice()
            && !single.contains(':')
        {
            return Self::new([(1, Kek::from_base64(single)?)]);
        }
        let mut keks = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let position = index + 1;
            // The standard base64 alphabet has no ':', so the first ':' ends the version.
            let (version, key) = entry.split_once(':').ok_or_else(|| {
                Error::KeyConfig(format!(
                    "entry {position} is not of the form VERSION:BASE64"
                ))
            })?;
            let version: u32 = version.trim().parse().map_err(|_| {
                Error::KeyConfig(format!(
                    "entry {position} has a version that is not a number"
                ))
            })?;
            let kek = Kek::from_base64(key).map_err(|err| match err {
                Error::KeyConfig(reason) => {
                    Error::KeyConfig(format!("entry {position} (version {version}): {reason}"))
                }
                other => other,
            })?;
            keks.push((version, kek));
        }
        Self::new(keks)
    }

    /// Reads [`StaticKeyProvider::parse`]'s format from a file.
    ///
    /// On Unix the file must not be readable or writable by "other" users (mode `o+r`/`o+w`);
    /// such a file is refused with [`Error::InsecureKeyFile`] before its content is read.
    ///
    /// # Errors
    /// [`Error::KeyFileIo`], [`Error::InsecureKeyFile`] or [`Error::KeyConfig`].
    pub fn from_file(path: &Path) -> Result<Self> {
        check_key_file_permissions(path)?;
        let content = std::fs::read_to_string(path)
            .map(Zeroizing::new)
            .map_err(|source| Error::KeyFileIo {
                path: path.to_owned(),
                source,
            })?;
        Self::parse(&content)
    }
}

impl KeyProvider for StaticKeyProvider {
    fn current_version(&self) -> u32 {
        self.current
    }

    fn kek(&self, version: u32) -> Result<Kek> {
        self.keks
            .get(&version)
            .cloned()
            .ok_or(Error::UnknownKekVersion(version))
    }

    fn versions(&self) -> Vec<u32> {
        self.keks.keys().copied().collect()
    }
}

#[cfg(unix)]
fn check_key_file_permissions(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let metadata = std::fs::metadata(path).map_err(|source| Error::KeyFileIo {
        path: path.to_owned(),
        source,
    })?;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o006 != 0 {
        return Err(Error::InsecureKeyFile {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_key_file_permissions(_path: &Path) -> Result<()> {
    // No portable permission model to check; operators rely on the platform's ACLs.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8";

    #[test]
    fn bare_base64_is_version_one() {
        let p = StaticKeyProvider::parse(K1).unwrap();
        assert_eq!(p.current_version(), 1);
        assert_eq!(p.versions(), vec![1]);
        assert_eq!(p.kek(1).unwrap().expose()[31], 31);
    }

    #[test]
    fn list_picks_the_highest_version_as_current() {
        let p = StaticKeyProvider::parse(&format!(" 2:{K2} , 1:{K1} ")).unwrap();
        assert_eq!(p.current_version(), 2);
        assert_eq!(p.versions(), vec![1, 2]);
        assert_eq!(p.kek(2).unwrap().expose()[0], 32);
        assert!(matches!(p.kek(3), Err(Error::UnknownKekVersion(3))));
    }

    #[test]
    fn file_format_allows_comments_and_newlines() {
        let p = StaticKeyProvider::parse(&format!("# keyward KEKs\n1:{K1}\n\n3:{K2}\n")).unwrap();
        assert_eq!(p.versions(), vec![1, 3]);
    }

    #[test]
    fn bad_specs_are_rejected_without_echoing_key_material() {
        let secretish = "c2VjcmV0LXNlY3JldC1zZWNyZXQ";
        for spec in [
            String::new(),
            "not base64 !!".to_owned(),
            secretish.to_owned(),
            format!("x:{K1}"),
            format!("0:{K1}"),
            format!("1:{K1},1:{K2}"),
            format!("1:{K1},2:{secretish}"),
            format!("1:{K1},{K2}"),
        ] {
            let err = StaticKeyProvider::parse(&spec).err().unwrap();
            let msg = err.to_string();
            assert!(matches!(err, Error::KeyConfig(_)), "{spec}: {msg}");
            assert!(
                !msg.contains(secretish) && !msg.contains(&K1[..10]),
                "{msg}"
            );
        }
    }

    #[test]
    fn generated_kek_round_trips_through_base64() {
        let kek = Kek::generate().unwrap();
        let again = Kek::from_base64(kek.to_base64().expose()).unwrap();
        assert_eq!(kek.expose(), again.expose());
    }
}
