//! HMAC-SHA256 and constant-time comparison (virtual-key lookup hashes, webhook signatures).

use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

/// HMAC-SHA256 of `msg` under `key` (any key length, per RFC 2104).
#[must_use]
#[expect(
    clippy::expect_used,
    reason = "HMAC accepts keys of every length, so new_from_slice cannot fail"
)]
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// Compares two byte strings in time independent of their content (the length is not hidden).
#[must_use]
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Checks `tag` against HMAC-SHA256(`key`, `msg`) in constant time.
#[must_use]
pub fn hmac_sha256_verify(key: &[u8], msg: &[u8], tag: &[u8]) -> bool {
    ct_eq(&hmac_sha256(key, msg), tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_rfc4231_test_case_2() {
        let tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn long_and_empty_keys_work() {
        let long = [0xaa_u8; 131];
        assert_eq!(
            hex::encode(hmac_sha256(
                &long,
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        assert_ne!(hmac_sha256(b"", b"m"), hmac_sha256(b"k", b"m"));
    }

    #[test]
    fn compare_and_verify() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        let tag = hmac_sha256(b"k", b"m");
        assert!(hmac_sha256_verify(b"k", b"m", &tag));
        assert!(!hmac_sha256_verify(b"k", b"n", &tag));
        assert!(!hmac_sha256_verify(b"k", b"m", &tag[..31]));
    }
}
