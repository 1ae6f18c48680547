//! SQL of the `alert` schema. Runtime-checked `sqlx::query` with binds (the workspace builds
//! without a database); dynamic filters through `QueryBuilder`, never `format!`.

pub mod alerts;
pub mod channels;
pub mod deliveries;
pub mod outbox;
pub mod rules;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::{AlertError, Result};

/// Page size bounds of list calls.
pub fn page_size(requested: u32) -> i64 {
    i64::from(if requested == 0 {
        50
    } else {
        requested.min(500)
    })
}

/// A keyset cursor: the sort time and id of the last row of the previous page.
pub fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{}:{id}", at.timestamp_micros()))
}

/// Parses a cursor from [`encode_cursor`]; empty means the first page.
pub fn decode_cursor(cursor: &str) -> Result<Option<(DateTime<Utc>, Uuid)>> {
    if cursor.is_empty() {
        return Ok(None);
    }
    let bad = || AlertError::Invalid("page.cursor is not a cursor from this API".into());
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (micros, id) = text.split_once(':').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
    Ok(Some((at, Uuid::parse_str(id).map_err(|_| bad())?)))
}

/// Labels (a flat string map) as stored JSON, and back.
pub fn labels_json(labels: &std::collections::BTreeMap<String, String>) -> serde_json::Value {
    serde_json::to_value(labels).unwrap_or_default()
}

/// Labels from stored JSON; non-string values are skipped.
pub fn labels_from(v: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_rejected() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let id = Uuid::now_v7();
        assert_eq!(
            decode_cursor(&encode_cursor(at, id)).unwrap(),
            Some((at, id))
        );
        assert_eq!(decode_cursor("").unwrap(), None);
        assert!(decode_cursor("not-a-cursor").is_err());
        assert_eq!(page_size(0), 50);
        assert_eq!(page_size(10_000), 500);
    }
}
