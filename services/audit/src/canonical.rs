//! The canonical, versioned encoding of a chain entry and the chain hash over it.
//!
//! `hash = SHA-256(prev_hash ‖ encode(entry))`, with `prev_hash` = 32 zero bytes for seq 1.
//! Format 1 (`encode`), all integers big-endian:
//!
//! | field | bytes |
//! |---|---|
//! | format version | `u8` = 1 |
//! | org id | 16 (UUID bytes) |
//! | seq | `u64` |
//! | event id | 16 (UUID bytes) |
//! | occurred at | `i64` microseconds since the Unix epoch (UTC) |
//! | recorded at | `i64` microseconds since the Unix epoch (UTC) |
//! | actor kind | `i32` (the `Actor.Kind` enum value) |
//! | actor id, subject id, action, resource type, resource id, outcome, reason, request id, service, before JSON, after JSON | each `u32` length ‖ bytes (UTF-8; subject id raw, empty when absent) |
//!
//! docs/audit.md restates this for external verifiers; the test vector below pins it.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The only entry format so far.
pub const FORMAT_V1: i16 = 1;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The `prev_hash` of an org's first entry.
pub const GENESIS: Hash = [0; 32];

/// Everything a chain hash covers: one entry exactly as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chained {
    pub org_id: Uuid,
    pub seq: u64,
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub actor_kind: i32,
    /// Empty for subjects (people): their id lives in the erasable subjects table.
    pub actor_id: String,
    /// The subject's pseudonym (HMAC under the per-subject key), when the actor is a subject.
    pub subject_id: Option<Vec<u8>>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    pub outcome: String,
    pub reason: String,
    pub request_id: String,
    pub service: String,
    pub before_json: String,
    pub after_json: String,
}

impl Chained {
    /// The format-1 canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.variable_len());
        out.push(1u8);
        out.extend_from_slice(self.org_id.as_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(self.event_id.as_bytes());
        out.extend_from_slice(&self.occurred_at.timestamp_micros().to_be_bytes());
        out.extend_from_slice(&self.recorded_at.timestamp_micros().to_be_bytes());
        out.extend_from_slice(&self.actor_kind.to_be_bytes());
        for field in self.variable_fields() {
            // Fields are bounded at ingest far below 4 GiB; saturate rather than wrap regardless.
            let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(field);
        }
        out
    }

    /// `SHA-256(prev ‖ encode(self))`.
    pub fn hash(&self, prev: &[u8]) -> Hash {
        let mut h = Sha256::new();
        h.update(prev);
        h.update(self.encode());
        h.finalize().into()
    }

    fn variable_fields(&self) -> [&[u8]; 11] {
        [
            self.actor_id.as_bytes(),
            self.subject_id.as_deref().unwrap_or_default(),
            self.action.as_bytes(),
            self.resource_type.as_bytes(),
            self.resource_id.as_bytes(),
            self.outcome.as_bytes(),
            self.reason.as_bytes(),
            self.request_id.as_bytes(),
            self.service.as_bytes(),
            self.before_json.as_bytes(),
            self.after_json.as_bytes(),
        ]
    }

    fn variable_len(&self) -> usize {
        self.variable_fields().iter().map(|f| 4 + f.len()).sum()
    }
}

/// Microsecond precision, as Postgres stores it: what is hashed is exactly what is stored.
pub fn truncate_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The entry of the documented test vector (docs/audit.md).
    pub(crate) fn vector() -> Chained {
        Chained {
            org_id: Uuid::parse_str("0190a0d2-7c4e-7a3b-8f00-000000000001").unwrap(),
            seq: 1,
            event_id: Uuid::parse_str("0190a0d2-7c4e-7a3b-8f00-0000000000e1").unwrap(),
            occurred_at: DateTime::from_timestamp_micros(1_720_000_000_000_000).unwrap(),
            recorded_at: DateTime::from_timestamp_micros(1_720_000_000_123_456).unwrap(),
            actor_kind: 2,
            actor_id: "vault".into(),
            subject_id: None,
            action: "provider_key.resolve".into(),
            resource_type: "provider_key".into(),
            resource_id: "pk_1".into(),
            outcome: "success".into(),
            reason: String::new(),
            request_id: "req-1".into(),
            service: "vault".into(),
            before_json: String::new(),
            after_json: String::new(),
        }
    }

    #[test]
    fn encoding_and_hash_match_the_documented_vector() {
        let e = vector();
        let enc = e.encode();
        assert_eq!(enc[0], 1);
        assert_eq!(enc.len(), 1 + 16 + 8 + 16 + 8 + 8 + 4 + 11 * 4 + 58);
        assert_eq!(
            hex::encode(e.hash(&GENESIS)),
            "64fb0905bdc36789c75c0a6ee41f29cab86fe73ee70e5aeaaf70a8dca6b18533"
        );
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = vector();
        let h = base.hash(&GENESIS);
        let mut variants = Vec::new();
        let mut v = base.clone();
        v.seq = 2;
        variants.push(v);
        let mut v = base.clone();
        v.recorded_at += chrono::Duration::microseconds(1);
        variants.push(v);
        let mut v = base.clone();
        v.subject_id = Some(vec![1; 32]);
        variants.push(v);
        let mut v = base.clone();
        v.outcome = "failure".into();
        variants.push(v);
        // Moving a byte between adjacent fields must change the hash (length prefixes).
        let mut v = base.clone();
        v.resource_type = "provider_ke".into();
        v.resource_id = "ypk_1".into();
        variants.push(v);
        for v in variants {
            assert_ne!(v.hash(&GENESIS), h);
        }
        assert_ne!(base.hash(&[1; 32]), h);
    }
}
