//! Webhook signatures. Receivers check them as `docs/alerts.md` describes; [`verify`] is the
//! reference implementation (Rust receivers can call it).
//!
//! `X-Keyward-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." ‖ body)>`

use std::time::Duration;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-keyward-signature";
/// The delivery id header (stable across retries: receivers deduplicate on it).
pub const DELIVERY_HEADER: &str = "x-keyward-delivery";
/// The event type header (`alert.fired`, `alert.escalation`, ...).
pub const EVENT_HEADER: &str = "x-keyward-event";
/// The replay window receivers should enforce.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(300);

/// The signature header value for `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = keyward_crypto::hmac_sha256(secret, &signed_payload(timestamp, body));
    format!("t={timestamp},v1={}", hex::encode(tag))
}

fn signed_payload(timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut msg = format!("{timestamp}.").into_bytes();
    msg.extend_from_slice(body);
    msg
}

/// Why a signature was rejected.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("malformed signature header")]
    Malformed,
    #[error("timestamp outside the replay window")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
}

/// Checks a signature header against `body` at `now` (unix seconds): the timestamp must be
/// within `window` of now, and one `v1` tag must match (several are allowed during secret
/// rotation).
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    window: Duration,
) -> Result<(), Rejected> {
    let mut timestamp = None;
    let mut tags = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => timestamp = v.parse::<i64>().ok(),
            Some(("v1", v)) => tags.push(hex::decode(v).map_err(|_| Rejected::Malformed)?),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(Rejected::Malformed)?;
    if tags.is_empty() {
        return Err(Rejected::Malformed);
    }
    let window = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
    if now.abs_diff(timestamp) > window.unsigned_abs() {
        return Err(Rejected::Stale);
    }
    let msg = signed_payload(timestamp, body);
    if tags
        .iter()
        .any(|t| keyward_crypto::hmac_sha256_verify(secret, &msg, t))
    {
        Ok(())
    } else {
        Err(Rejected::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_tampering_or_age_is_rejected() {
        let secret = b"whsec_test";
        let body = br#"{"type":"alert.fired"}"#;
        let header = sign(secret, 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(
            verify(secret, &header, body, 1_700_000_010, REPLAY_WINDOW),
            Ok(())
        );
        assert_eq!(
            verify(
                secret,
                &header,
                br#"{"type":"alert.fixed"}"#,
                1_700_000_010,
                REPLAY_WINDOW
            ),
            Err(Rejected::Mismatch)
        );
        assert_eq!(
            verify(secret, &header, body, 1_700_000_301, REPLAY_WINDOW),
            Err(Rejected::Stale)
        );
        assert_eq!(
            verify(b"other", &header, body, 1_700_000_000, REPLAY_WINDOW),
            Err(Rejected::Mismatch)
        );
        assert_eq!(
            verify(secret, "v1=zz", body, 0, REPLAY_WINDOW),
            Err(Rejected::Malformed)
        );
        // A rotated secret: either tag may match.
        let both = format!("{header},v1={}", "00".repeat(32));
        assert_eq!(
            verify(secret, &both, body, 1_700_000_000, REPLAY_WINDOW),
            Ok(())
        );
    }
}
