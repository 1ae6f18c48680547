//! Self-describing encrypted blobs for exporting and importing secrets (backups).
//!
//! Layout (all integers big-endian):
//!
//! ```text
//! "KWBK" | format 0x01 | mode
//! mode 0x01 (passphrase): m_cost_kib u32 | t_cost u32 | p_cost u32 | salt_len u8 | salt
//! mode 0x02 (raw key):    (nothing)
//! nonce (12) | AES-256-GCM ciphertext with tag
//! ```
//!
//! The whole header (everything before the ciphertext) plus the caller's `aad_label` is the
//! AEAD associated data, so changing any header byte, or opening with another label, fails.
//! Passphrase blobs use a fresh random 16-byte salt each, hence a fresh key.

use crate::aead::{self, NONCE_LEN, TAG_LEN, random_array};
use crate::envelope::aad::push_prefixed;
use crate::error::{Error, Result};
use crate::kek::Kek;
use crate::passphrase::{KdfParams, MIN_SALT_LEN, derive_kek};
use crate::secret::SecretBytes;

const MAGIC: &[u8; 4] = b"KWBK";
const FORMAT_V1: u8 = 1;
const MODE_PASSPHRASE: u8 = 1;
const MODE_KEY: u8 = 2;
/// Salt length written by this version.
const SALT_LEN: usize = 16;
/// Longest salt accepted when reading.
const MAX_SALT_LEN: usize = 64;

/// Encrypts `plaintext` under a key derived from `passphrase` with [`KdfParams::DEFAULT`].
///
/// # Errors
/// [`Error::KeyDerivation`] for an empty passphrase; [`Error::Random`], [`Error::Seal`].
pub fn seal_with_passphrase(
    passphrase: &[u8],
    plaintext: &[u8],
    aad_label: &str,
) -> Result<Vec<u8>> {
    seal_with_passphrase_params(passphrase, plaintext, aad_label, KdfParams::DEFAULT)
}

/// [`seal_with_passphrase`] with explicit Argon2id parameters (recorded in the blob).
///
/// # Errors
/// As [`seal_with_passphrase`], plus [`Error::KeyDerivation`] for out-of-range parameters.
pub fn seal_with_passphrase_params(
    passphrase: &[u8],
    plaintext: &[u8],
    aad_label: &str,
    params: KdfParams,
) -> Result<Vec<u8>> {
    let salt = random_array::<SALT_LEN>()?;
    let key = derive_kek(passphrase, &salt, params)?;
    let mut header = header(MODE_PASSPHRASE);
    for value in [params.m_cost_kib, params.t_cost, params.p_cost] {
        header.extend_from_slice(&value.to_be_bytes());
    }
    header.push(SALT_LEN as u8);
    header.extend_from_slice(&salt);
    seal_blob(&key, header, plaintext, aad_label)
}

/// Opens a blob made by [`seal_with_passphrase`].
///
/// # Errors
/// [`Error::Open`] for a wrong passphrase, wrong label or any altered byte;
/// [`Error::Malformed`] for something that is not a passphrase blob;
/// [`Error::KeyDerivation`] when the recorded parameters exceed [`KdfParams::MAX`].
pub fn open_with_passphrase(
    passphrase: &[u8],
    blob: &[u8],
    aad_label: &str,
) -> Result<SecretBytes> {
    let mut reader = Reader::new(blob, MODE_PASSPHRASE)?;
    let params = KdfParams {
        m_cost_kib: reader.u32()?,
        t_cost: reader.u32()?,
        p_cost: reader.u32()?,
    };
    let salt_len = usize::from(reader.take(1)?[0]);
    if !(MIN_SALT_LEN..=MAX_SALT_LEN).contains(&salt_len) {
        return Err(Error::Malformed("backup salt length is out of range"));
    }
    let salt = reader.take(salt_len)?;
    let key = derive_kek(passphrase, salt, params)?;
    reader.open(&key, aad_label)
}

/// Encrypts `plaintext` under a raw 256-bit backup key.
///
/// # Errors
/// [`Error::Random`], [`Error::Seal`].
pub fn seal_with_key(key: &Kek, plaintext: &[u8], aad_label: &str) -> Result<Vec<u8>> {
    seal_blob(key, header(MODE_KEY), plaintext, aad_label)
}

/// Opens a blob made by [`seal_with_key`].
///
/// # Errors
/// [`Error::Open`] for a wrong key, wrong label or any altered byte; [`Error::Malformed`] for
/// something that is not a key blob.
pub fn open_with_key(key: &Kek, blob: &[u8], aad_label: &str) -> Result<SecretBytes> {
    Reader::new(blob, MODE_KEY)?.open(key, aad_label)
}

fn header(mode: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_V1);
    out.push(mode);
    out
}

fn associated_data(header: &[u8], aad_label: &str) -> Vec<u8> {
    let mut out = header.to_vec();
    push_prefixed(&mut out, aad_label.as_bytes());
    out
}

/// Appends the nonce to `header` and the ciphertext after it.
fn seal_blob(key: &Kek, mut blob: Vec<u8>, plaintext: &[u8], aad_label: &str) -> Result<Vec<u8>> {
    let nonce = random_array::<NONCE_LEN>()?;
    blob.extend_from_slice(&nonce);
    let ciphertext = aead::encrypt(
        key.expose(),
        &nonce,
        &associated_data(&blob, aad_label),
        plaintext,
    )?;
    blob.extend_from_slice(&ciphertext);
    Ok(blob)
}

/// Walks a blob's header.
struct Reader<'a> {
    blob: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(blob: &'a [u8], expected_mode: u8) -> Result<Self> {
        let mut reader = Self { blob, pos: 0 };
        if reader.take(MAGIC.len())? != MAGIC {
            return Err(Error::Malformed("not a keyward backup"));
        }
        if reader.take(1)?[0] != FORMAT_V1 {
            return Err(Error::Malformed(
                "unsupported keyward backup format version",
            ));
        }
        match (reader.take(1)?[0], expected_mode) {
            (mode, expected) if mode == expected => Ok(reader),
            (MODE_PASSPHRASE, _) => {
                Err(Error::Malformed("this backup is protected by a passphrase"))
            }
            (MODE_KEY, _) => Err(Error::Malformed("this backup is protected by a backup key")),
            _ => Err(Error::Malformed("unknown keyward backup protection mode")),
        }
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|end| *end <= self.blob.len());
        let end = end.ok_or(Error::Malformed("keyward backup is truncated"))?;
        let out = &self.blob[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32> {
        let bytes = self.take(4)?;
        let bytes = bytes
            .try_into()
            .map_err(|_| Error::Malformed("keyward backup is truncated"))?;
        Ok(u32::from_be_bytes(bytes))
    }

    /// Reads the nonce and decrypts the rest.
    fn open(mut self, key: &Kek, aad_label: &str) -> Result<SecretBytes> {
        let nonce: [u8; NONCE_LEN] = self
            .take(NONCE_LEN)?
            .try_into()
            .map_err(|_| Error::Malformed("keyward backup is truncated"))?;
        let (header, ciphertext) = self.blob.split_at(self.pos);
        if ciphertext.len() < TAG_LEN {
            return Err(Error::Malformed("keyward backup is truncated"));
        }
        let plaintext = aead::decrypt(
            key.expose(),
            &nonce,
            &associated_data(header, aad_label),
            ciphertext,
        )?;
        Ok(SecretBytes::from_zeroizing(plaintext))
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

    #[test]
    fn key_blob_round_trip_and_label_binding() {
        let key = Kek::generate().unwrap();
        let blob = seal_with_key(&key, b"payload", "org-1").unwrap();
        assert_eq!(&blob[..6], b"KWBK\x01\x02");
        assert_eq!(
            open_with_key(&key, &blob, "org-1").unwrap().expose(),
            b"payload"
        );
        assert!(matches!(
            open_with_key(&key, &blob, "org-2"),
            Err(Error::Open)
        ));
        let other = Kek::generate().unwrap();
        assert!(matches!(
            open_with_key(&other, &blob, "org-1"),
            Err(Error::Open)
        ));
    }

    #[test]
    fn passphrase_blob_records_its_parameters() {
        let blob = seal_with_passphrase_params(b"pw", b"payload", "l", FAST).unwrap();
        assert_eq!(&blob[..6], b"KWBK\x01\x01");
        assert_eq!(&blob[6..18], &[0, 0, 0, 64, 0, 0, 0, 1, 0, 0, 0, 1]);
        assert_eq!(blob[18], 16);
        assert_eq!(blob.len(), 19 + 16 + NONCE_LEN + 7 + TAG_LEN);
    }

    #[test]
    fn mode_mismatch_and_garbage_are_malformed() {
        let key = Kek::generate().unwrap();
        let key_blob = seal_with_key(&key, b"x", "l").unwrap();
        let pass_blob = seal_with_passphrase_params(b"pw", b"x", "l", FAST).unwrap();
        assert!(matches!(
            open_with_passphrase(b"pw", &key_blob, "l"),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            open_with_key(&key, &pass_blob, "l"),
            Err(Error::Malformed(_))
        ));
        for bad in [
            &b""[..],
            b"KWBK",
            b"XXXX\x01\x02",
            b"KWBK\x02\x02",
            b"KWBK\x01\x09",
        ] {
            assert!(matches!(
                open_with_key(&key, bad, "l"),
                Err(Error::Malformed(_))
            ));
        }
        assert!(matches!(
            open_with_key(&key, &key_blob[..25], "l"),
            Err(Error::Malformed(_))
        ));
    }

    #[test]
    fn oversized_recorded_parameters_are_refused_before_deriving() {
        let mut blob = seal_with_passphrase_params(b"pw", b"x", "l", FAST).unwrap();
        blob[6..10].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            open_with_passphrase(b"pw", &blob, "l"),
            Err(Error::KeyDerivation(_))
        ));
    }
}
