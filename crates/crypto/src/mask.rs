//! Safe-to-display forms of a secret.

use sha2::{Digest as _, Sha256};

/// Key prefixes that are public constants of their provider, longest first so the most specific
/// one wins.
const KNOWN_PREFIXES: &[&str] = &[
    "sk-svcacct-",
    "sk-admin-",
    "sk-proj-",
    "sk-ant-",
    "pplx-",
    "AIza",
    "AKIA",
    "ASIA",
    "sk-",
    "kw_",
];

/// Secrets shorter than this (in characters) are masked completely.
const MIN_LEN_TO_SHOW_LAST4: usize = 16;

/// Domain separator for [`fingerprint`], so the value never equals another SHA-256 use.
const FINGERPRINT_DOMAIN: &[u8] = b"keyward/fingerprint/v1\0";

/// Masks a secret for display: the provider's public prefix if it has a known one, `…`, and
/// the last four characters, e.g. `sk-proj-…Wxyz` or `…c0de`. Secrets shorter than 16 characters
/// become `****`, since their last four would be a large share of the secret.
#[must_use]
pub fn mask_last4(secret: &str) -> String {
    let char_count = secret.chars().count();
    if char_count < MIN_LEN_TO_SHOW_LAST4 {
        return "****".to_owned();
    }
    let prefix = KNOWN_PREFIXES
        .iter()
        .find(|prefix| secret.starts_with(**prefix))
        .copied()
        .unwrap_or("");
    let last4_start = secret
        .char_indices()
        .nth(char_count - 4)
        .map_or(secret.len(), |(index, _)| index);
    format!("{prefix}…{}", &secret[last4_start..])
}

/// A stable, non-reversible identifier of a secret: hex of the first 8 bytes of
/// SHA-256(`"keyward/fingerprint/v1\0"` ‖ secret).
///
/// It lets operators tell two keys apart or spot the same key stored twice without seeing it.
/// It is only meant for high-entropy secrets (provider API keys), whose 64-bit digests cannot
/// be brute-forced back to the key.
#[must_use]
pub fn fingerprint(secret: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(FINGERPRINT_DOMAIN)
        .chain_update(secret)
        .finalize();
    hex::encode(&digest[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_known_prefixes_and_last4() {
        let cases = [
            ("sk-proj-FAKEfakeFAKEfakeFAKEfakeFAKE1234", "sk-proj-…1234"),
            (
                "sk-ant-api03-FAKEfakeFAKEfakeFAKEfakeFA-9876",
                "sk-ant-…9876",
            ),
            ("sk-svcacct-FAKEfakeFAKEfakeFAKE-xyzw", "sk-svcacct-…xyzw"),
            ("sk-abcdefghijklmnopqrstuvwxyzABCD", "sk-…ABCD"),
            ("AIzaSyA1234567890abcdefghijklmnopqrs", "AIza…pqrs"),
            ("AKIAIOSFODNN7EXAMPLE", "AKIA…MPLE"),
            ("pplx-0123456789abcdef0123456789abcdef", "pplx-…cdef"),
            ("kw_3b5R9xQ2mL7vN4pK8sJ1tY6wZ0aB", "kw_…Z0aB"),
            ("0123456789abcdef0123456789abcdef", "…cdef"),
        ];
        for (secret, expected) in cases {
            assert_eq!(mask_last4(secret), expected, "{secret}");
        }
    }

    #[test]
    fn short_secrets_are_fully_masked() {
        for secret in ["", "abc", "sk-1234", "123456789012345"] {
            assert_eq!(mask_last4(secret), "****");
        }
        assert_eq!(mask_last4("1234567890123456"), "…3456");
    }

    #[test]
    fn handles_multibyte_characters() {
        assert_eq!(mask_last4("ééééééééééééééééabçd"), "…abçd");
    }

    #[test]
    fn fingerprint_is_stable_short_and_domain_separated() {
        let fp = fingerprint(b"sk-test");
        assert_eq!(fp.len(), 16);
        assert_eq!(fp, fingerprint(b"sk-test"));
        assert_ne!(fp, fingerprint(b"sk-tesu"));
        let plain = Sha256::digest(b"sk-test");
        assert_ne!(fp, hex::encode(&plain[..8]));
    }
}
