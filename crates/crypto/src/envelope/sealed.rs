//! The stored form of an envelope-encrypted secret.

use std::fmt;

use crate::aead::{KEY_LEN, NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};

/// Length of a wrapped data key: the 32-byte key plus the 16-byte GCM tag.
pub const WRAPPED_DEK_LEN: usize = KEY_LEN + TAG_LEN;

/// Magic and format version at the start of [`Sealed::to_bytes`].
const MAGIC: &[u8; 4] = b"KWE\x01";
/// Bytes before the ciphertext in [`Sealed::to_bytes`].
const HEADER_LEN: usize = MAGIC.len() + 4 + NONCE_LEN + NONCE_LEN + WRAPPED_DEK_LEN;

/// An envelope-encrypted secret. None of it is secret: store the fields in columns (see
/// [`Sealed::from_parts`]) or as one blob ([`Sealed::to_bytes`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The secret encrypted under its data key, GCM tag appended.
    pub ciphertext: Vec<u8>,
    /// Nonce of `ciphertext`.
    pub nonce: [u8; NONCE_LEN],
    /// The data key encrypted under the KEK, GCM tag appended.
    pub wrapped_dek: [u8; WRAPPED_DEK_LEN],
    /// Nonce of `wrapped_dek`.
    pub dek_nonce: [u8; NONCE_LEN],
    /// Version of the KEK that wrapped the data key.
    pub kek_version: u32,
}

impl Sealed {
    /// Rebuilds a record from database columns, checking the fixed-size fields.
    ///
    /// # Errors
    /// [`Error::Malformed`] when a nonce or the wrapped key has the wrong length.
    pub fn from_parts(
        ciphertext: Vec<u8>,
        nonce: &[u8],
        wrapped_dek: &[u8],
        dek_nonce: &[u8],
        kek_version: u32,
    ) -> Result<Self> {
        Ok(Self {
            ciphertext,
            nonce: nonce
                .try_into()
                .map_err(|_| Error::Malformed("nonce must be 12 bytes"))?,
            wrapped_dek: wrapped_dek
                .try_into()
                .map_err(|_| Error::Malformed("wrapped data key must be 48 bytes"))?,
            dek_nonce: dek_nonce
                .try_into()
                .map_err(|_| Error::Malformed("data key nonce must be 12 bytes"))?,
            kek_version,
        })
    }

    /// One self-describing blob: `"KWE" 0x01 | kek_version (u32 BE) | nonce | dek_nonce |
    /// wrapped_dek | ciphertext`.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.ciphertext.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.kek_version.to_be_bytes());
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.dek_nonce);
        out.extend_from_slice(&self.wrapped_dek);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Parses [`Sealed::to_bytes`]'s format.
    ///
    /// # Errors
    /// [`Error::Malformed`] when the magic, format version or length is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (header, ciphertext) = bytes
            .split_at_checked(HEADER_LEN)
            .ok_or(Error::Malformed("sealed record is truncated"))?;
        let (magic, rest) = header.split_at(MAGIC.len());
        if magic != MAGIC {
            return Err(Error::Malformed(
                "not a keyward sealed record of a known format",
            ));
        }
        let (version, rest) = rest.split_at(4);
        let (nonce, rest) = rest.split_at(NONCE_LEN);
        let (dek_nonce, wrapped_dek) = rest.split_at(NONCE_LEN);
        let kek_version = u32::from_be_bytes(
            version
                .try_into()
                .map_err(|_| Error::Malformed("sealed record is truncated"))?,
        );
        Self::from_parts(
            ciphertext.to_vec(),
            nonce,
            wrapped_dek,
            dek_nonce,
            kek_version,
        )
    }
}

/// Shows sizes and the KEK version only; the bytes are not secret but are noise in logs.
impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("ciphertext_len", &self.ciphertext.len())
            .field("kek_version", &self.kek_version)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Sealed {
        Sealed {
            ciphertext: vec![7; 40],
            nonce: [1; NONCE_LEN],
            wrapped_dek: [2; WRAPPED_DEK_LEN],
            dek_nonce: [3; NONCE_LEN],
            kek_version: 9,
        }
    }

    #[test]
    fn bytes_round_trip() {
        let s = sample();
        assert_eq!(Sealed::from_bytes(&s.to_bytes()).unwrap(), s);
        assert_eq!(s.to_bytes().len(), HEADER_LEN + 40);
    }

    #[test]
    fn malformed_input_is_rejected() {
        let bytes = sample().to_bytes();
        assert!(matches!(
            Sealed::from_bytes(&bytes[..HEADER_LEN - 1]),
            Err(Error::Malformed(_))
        ));
        let mut wrong_magic = bytes.clone();
        wrong_magic[3] = 2;
        assert!(matches!(
            Sealed::from_bytes(&wrong_magic),
            Err(Error::Malformed(_))
        ));
        assert!(Sealed::from_parts(vec![], &[0; 11], &[0; 48], &[0; 12], 1).is_err());
        assert!(Sealed::from_parts(vec![], &[0; 12], &[0; 47], &[0; 12], 1).is_err());
        assert!(Sealed::from_parts(vec![], &[0; 12], &[0; 48], &[0; 13], 1).is_err());
    }

    #[test]
    fn debug_shows_no_bytes() {
        let dbg = format!("{:?}", sample());
        assert_eq!(dbg, "Sealed { ciphertext_len: 40, kek_version: 9, .. }");
    }
}
