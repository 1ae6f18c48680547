//! A UsageEvent checked and normalized into the row that is stored.

use chrono::{DateTime, Utc};
use keyward_proto::v1::UsageEvent;
use uuid::Uuid;

/// Longest accepted text field (provider, model, status, endpoint, request id).
const MAX_TEXT: usize = 256;

/// One event ready to be written, priced or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    pub event_id: Uuid,
    pub ts: DateTime<Utc>,
    pub org_id: Uuid,
    pub team_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub virtual_key_id: Option<Uuid>,
    pub provider_key_id: Option<Uuid>,
    pub provider: String,
    pub model: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_input_tokens: i64,
    pub cache_write_5m_tokens: i64,
    pub cache_write_1h_tokens: i64,
    pub reasoning_tokens: i64,
    pub latency_ms: i32,
    pub http_status: i16,
    pub status: String,
    pub request_id: String,
    pub endpoint: String,
    pub streamed: bool,
    /// Integer micro-dollars from the price in force at `ts`; 0 when unpriced.
    pub cost_micros: i64,
    /// False when the price book (with the org's overrides) has no price for the model at `ts`.
    pub priced: bool,
}

/// The time window events must fall into.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// Oldest accepted timestamp (the retention cutoff).
    pub oldest: DateTime<Utc>,
    /// Newest accepted timestamp (now plus the clock-skew allowance).
    pub newest: DateTime<Utc>,
}

/// Why an event can never be stored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn invalid(msg: impl Into<String>) -> Invalid {
    Invalid(msg.into())
}

fn uuid_field(name: &str, value: &str) -> Result<Uuid, Invalid> {
    Uuid::parse_str(value).map_err(|_| invalid(format!("{name} is not a UUID")))
}

fn opt_uuid(name: &str, value: Option<&String>) -> Result<Option<Uuid>, Invalid> {
    match value.map(String::as_str) {
        None | Some("") => Ok(None),
        Some(v) => uuid_field(name, v).map(Some),
    }
}

fn text(name: &str, value: &str, required: bool) -> Result<String, Invalid> {
    if required && value.trim().is_empty() {
        return Err(invalid(format!("{name} is required")));
    }
    if value.len() > MAX_TEXT {
        return Err(invalid(format!("{name} is longer than {MAX_TEXT} bytes")));
    }
    if value.contains('\0') {
        return Err(invalid(format!("{name} contains a NUL character")));
    }
    Ok(value.to_owned())
}

fn tokens(name: &str, value: u64) -> Result<i64, Invalid> {
    i64::try_from(value).map_err(|_| invalid(format!("{name} is out of range")))
}

/// Checks `ev` and builds its (not yet priced) row.
pub fn parse(ev: &UsageEvent, window: Window) -> Result<EventRow, Invalid> {
    let event_id = uuid_field("event_id", &ev.event_id)?;
    let ts = ev
        .ts
        .as_ref()
        .ok_or_else(|| invalid("ts is required"))
        .and_then(|t| {
            let nanos = u32::try_from(t.nanos).map_err(|_| invalid("ts is invalid"))?;
            DateTime::from_timestamp(t.seconds, nanos).ok_or_else(|| invalid("ts is invalid"))
        })?;
    if ts < window.oldest {
        return Err(invalid("ts is older than the retention period"));
    }
    if ts > window.newest {
        return Err(invalid("ts is in the future"));
    }
    Ok(EventRow {
        event_id,
        ts,
        org_id: uuid_field("org_id", &ev.org_id)?,
        team_id: opt_uuid("team_id", ev.team_id.as_ref())?,
        project_id: opt_uuid("project_id", ev.project_id.as_ref())?,
        user_id: opt_uuid("user_id", ev.user_id.as_ref())?,
        virtual_key_id: opt_uuid("virtual_key_id", ev.virtual_key_id.as_ref())?,
        provider_key_id: opt_uuid("provider_key_id", ev.provider_key_id.as_ref())?,
        provider: text("provider", &ev.provider, true)?.to_ascii_lowercase(),
        model: text("model", &ev.model, true)?,
        input_tokens: tokens("input_tokens", ev.input_tokens)?,
        output_tokens: tokens("output_tokens", ev.output_tokens)?,
        cached_input_tokens: tokens("cached_input_tokens", ev.cached_input_tokens)?,
        cache_write_5m_tokens: tokens("cache_write_5m_tokens", ev.cache_write_5m_tokens)?,
        cache_write_1h_tokens: tokens("cache_write_1h_tokens", ev.cache_write_1h_tokens)?,
        reasoning_tokens: tokens("reasoning_tokens", ev.reasoning_tokens)?,
        latency_ms: i32::try_from(ev.latency_ms).unwrap_or(i32::MAX),
        http_status: i16::try_from(ev.http_status)
            .map_err(|_| invalid("http_status is out of range"))?,
        status: text("status", &ev.status, true)?,
        request_id: text("request_id", &ev.request_id, false)?,
        endpoint: text("endpoint", &ev.endpoint, false)?,
        streamed: ev.streamed,
        cost_micros: 0,
        priced: false,
    })
}

impl EventRow {
    /// The token counts as the price book's [`keyward_pricing::Usage`].
    pub fn usage(&self) -> keyward_pricing::Usage {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        keyward_pricing::Usage {
            input_tokens: n(self.input_tokens),
            cached_input_tokens: n(self.cached_input_tokens),
            cache_write_5m_tokens: n(self.cache_write_5m_tokens),
            cache_write_1h_tokens: n(self.cache_write_1h_tokens),
            output_tokens: n(self.output_tokens),
            reasoning_tokens: n(self.reasoning_tokens),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn window() -> Window {
        let now = Utc::now();
        Window {
            oldest: now - Duration::days(30),
            newest: now + Duration::minutes(5),
        }
    }

    fn event() -> UsageEvent {
        let now = Utc::now();
        UsageEvent {
            event_id: Uuid::now_v7().to_string(),
            ts: Some(prost_types::Timestamp {
                seconds: now.timestamp(),
                nanos: 0,
            }),
            org_id: Uuid::now_v7().to_string(),
            team_id: Some(String::new()),
            provider: "OpenAI".into(),
            model: "gpt-4o".into(),
            status: "ok".into(),
            ..UsageEvent::default()
        }
    }

    #[test]
    fn accepts_and_normalizes() {
        let row = parse(&event(), window()).unwrap();
        assert_eq!(row.provider, "openai");
        assert_eq!(row.team_id, None, "an empty optional id is absent");
    }

    #[test]
    fn rejects_bad_fields_with_a_reason() {
        let mut e = event();
        e.org_id = "acme".into();
        assert_eq!(parse(&e, window()).unwrap_err().0, "org_id is not a UUID");
        let mut e = event();
        e.ts = None;
        assert_eq!(parse(&e, window()).unwrap_err().0, "ts is required");
        let mut e = event();
        e.ts = Some(prost_types::Timestamp {
            seconds: (Utc::now() - Duration::days(31)).timestamp(),
            nanos: 0,
        });
        assert!(parse(&e, window()).unwrap_err().0.contains("retention"));
        let mut e = event();
        e.model = "a\0b".into();
        assert!(parse(&e, window()).unwrap_err().0.contains("NUL"));
        let mut e = event();
        e.input_tokens = u64::MAX;
        assert!(parse(&e, window()).unwrap_err().0.contains("out of range"));
    }
}
