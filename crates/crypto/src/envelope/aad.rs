//! Associated data: what a sealed record is bound to.

/// Format byte that starts every encoding, so the layout can change without ambiguity.
const AAD_FORMAT_V1: u8 = 1;
/// Context label of the associated data that authenticates the secret's ciphertext.
const CONTEXT_SECRET: &[u8] = b"keyward/envelope/secret";
/// Context label of the associated data that authenticates the wrapped data key.
const CONTEXT_DEK: &[u8] = b"keyward/envelope/dek";

/// The row a secret belongs to. Sealing binds the ciphertext *and* the wrapped data key to
/// these values, so a record copied to another organization, key, provider or key version fails
/// to open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Aad<'a> {
    /// Owning organization id.
    pub org_id: &'a str,
    /// The key's own id.
    pub key_id: &'a str,
    /// Provider slug (`openai`, `anthropic`, …).
    pub provider: &'a str,
    /// Version of the stored key (incremented when the key value is replaced).
    pub version: u32,
}

impl<'a> Aad<'a> {
    /// Builds the associated data for one row.
    #[must_use]
    pub fn new(org_id: &'a str, key_id: &'a str, provider: &'a str, version: u32) -> Self {
        Self {
            org_id,
            key_id,
            provider,
            version,
        }
    }

    /// Canonical, unambiguous encoding: a format byte, then each string as a big-endian `u64`
    /// length followed by its UTF-8 bytes, then the version as a big-endian `u32`.
    ///
    /// Length prefixes mean `("a|b", "c")` and `("a", "b|c")` can never encode alike, whatever
    /// characters the ids contain.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            1 + 3 * 8 + self.org_id.len() + self.key_id.len() + self.provider.len() + 4,
        );
        out.push(AAD_FORMAT_V1);
        for field in [self.org_id, self.key_id, self.provider] {
            push_prefixed(&mut out, field.as_bytes());
        }
        out.extend_from_slice(&self.version.to_be_bytes());
        out
    }

    /// Associated data for the secret's ciphertext.
    pub(crate) fn for_secret(&self) -> Vec<u8> {
        let mut out = self.encode();
        push_prefixed(&mut out, CONTEXT_SECRET);
        out
    }

    /// Associated data for the wrapped data key; also binds the KEK version it is wrapped under.
    pub(crate) fn for_dek(&self, kek_version: u32) -> Vec<u8> {
        let mut out = self.encode();
        push_prefixed(&mut out, CONTEXT_DEK);
        out.extend_from_slice(&kek_version.to_be_bytes());
        out
    }
}

/// Appends `bytes` preceded by its length as a big-endian `u64`.
pub(crate) fn push_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    // usize is at most 64 bits on every supported target, so this never truncates.
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_stable() {
        let enc = Aad::new("o", "k", "openai", 2).encode();
        let mut expected = vec![1u8];
        for s in ["o", "k", "openai"] {
            expected.extend_from_slice(&(s.len() as u64).to_be_bytes());
            expected.extend_from_slice(s.as_bytes());
        }
        expected.extend_from_slice(&[0, 0, 0, 2]);
        assert_eq!(enc, expected);
    }

    #[test]
    fn shifting_separators_changes_the_encoding() {
        let a = Aad::new("org|1", "key", "openai", 1).encode();
        let b = Aad::new("org", "1|key", "openai", 1).encode();
        let c = Aad::new("org1", "", "keyopenai", 1).encode();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(b, c);
    }

    #[test]
    fn every_field_and_context_matters() {
        let base = Aad::new("org", "key", "openai", 1);
        let variants = [
            Aad {
                org_id: "org2",
                ..base
            },
            Aad {
                key_id: "key2",
                ..base
            },
            Aad {
                provider: "anthropic",
                ..base
            },
            Aad { version: 2, ..base },
        ];
        for v in variants {
            assert_ne!(v.encode(), base.encode());
        }
        assert_ne!(base.for_secret(), base.for_dek(1));
        assert_ne!(base.for_dek(1), base.for_dek(2));
    }
}
