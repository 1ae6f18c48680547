//! Pseudonyms of subjects (people): `HMAC-SHA256(subject key, context ‖ org id ‖ actor id)` under
//! a random key per subject. Erasure deletes the key, after which nobody can link the pseudonym
//! in the chain back to the person.

use hmac::{Hmac, Mac as _};
use rand::RngCore as _;
use sha2::Sha256;
use uuid::Uuid;
use zeroize::Zeroizing;

/// Domain separation prefix of the pseudonym input.
pub const PSEUDONYM_CONTEXT: &[u8] = b"keyward.audit.subject.v1";

/// A fresh random 256-bit subject key.
pub fn new_key() -> Zeroizing<Vec<u8>> {
    let mut key = Zeroizing::new(vec![0u8; 32]);
    rand::rng().fill_bytes(&mut key);
    key
}

/// The pseudonym of `actor_id` in `org_id` under `key`.
pub fn pseudonym(key: &[u8], org_id: Uuid, actor_id: &str) -> Vec<u8> {
    // HMAC accepts keys of any length; the error branch is unreachable but handled anyway.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(PSEUDONYM_CONTEXT);
    mac.update(org_id.as_bytes());
    mac.update(actor_id.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_depend_on_key_org_and_actor() {
        let (k1, k2) = (new_key(), new_key());
        let org = Uuid::now_v7();
        let p = pseudonym(&k1, org, "u1");
        assert_eq!(p.len(), 32);
        assert_eq!(p, pseudonym(&k1, org, "u1"));
        assert_ne!(p, pseudonym(&k2, org, "u1"));
        assert_ne!(p, pseudonym(&k1, Uuid::now_v7(), "u1"));
        assert_ne!(p, pseudonym(&k1, org, "u2"));
    }
}
