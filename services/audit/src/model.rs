//! Domain types: a validated incoming event, a stored entry, query filters and cursors.

use chrono::{DateTime, Utc};
use keyward_proto::v1::{AuditEvent, actor::Kind};
use uuid::Uuid;

use crate::canonical::{Chained, truncate_to_micros};

/// Longest accepted before/after JSON, in bytes.
pub const MAX_JSON_LEN: usize = 32 * 1024;
/// Longest accepted reason, in bytes.
pub const MAX_REASON_LEN: usize = 4 * 1024;
/// Longest accepted value of every other text field, in bytes.
pub const MAX_FIELD_LEN: usize = 512;
/// The outcomes an event may report.
pub const OUTCOMES: [&str; 3] = ["success", "failure", "denied"];

/// Who did it. `email` and `ip` are personal data and never enter the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub kind: i32,
    pub id: String,
    pub email: Option<String>,
    pub ip: Option<String>,
}

impl Actor {
    /// People, and anyone carrying personal data, are subjects: their id and personal fields
    /// live in the erasable subjects tables, and the chain holds only a pseudonym.
    pub fn is_subject(&self) -> bool {
        self.kind == Kind::User as i32 || self.email.is_some() || self.ip.is_some()
    }
}

/// A validated audit event, ready to be appended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub org_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub actor: Actor,
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

impl NewEvent {
    /// Validates a protobuf event. The error names the offending field.
    pub fn from_proto(e: AuditEvent) -> Result<Self, String> {
        let event_id = parse_uuid("event_id", &e.event_id)?;
        let org_id = parse_uuid("org_id", &e.org_id)?;
        let occurred_at = e
            .occurred_at
            .as_ref()
            .and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?))
            .map(truncate_to_micros)
            .ok_or("occurred_at is missing or out of range")?;
        let actor = e.actor.ok_or("actor is missing")?;
        if Kind::try_from(actor.kind).is_err() {
            return Err(format!("actor.kind {} is unknown", actor.kind));
        }
        if e.action.trim().is_empty() {
            return Err("action is empty".into());
        }
        if !OUTCOMES.contains(&e.outcome.as_str()) {
            return Err("outcome must be success, failure or denied".into());
        }
        for (name, value) in [
            ("actor.id", actor.id.as_str()),
            ("actor.email", actor.email.as_deref().unwrap_or_default()),
            ("actor.ip", actor.ip.as_deref().unwrap_or_default()),
            ("action", &e.action),
            ("resource_type", &e.resource_type),
            ("resource_id", &e.resource_id),
            ("request_id", &e.request_id),
            ("service", &e.service),
        ] {
            check_len(name, value, MAX_FIELD_LEN)?;
        }
        check_len("reason", &e.reason, MAX_REASON_LEN)?;
        check_len("before_json", &e.before_json, MAX_JSON_LEN)?;
        check_len("after_json", &e.after_json, MAX_JSON_LEN)?;
        Ok(Self {
            event_id,
            org_id,
            occurred_at,
            actor: Actor {
                kind: actor.kind,
                id: actor.id,
                email: actor.email.filter(|s| !s.is_empty()),
                ip: actor.ip.filter(|s| !s.is_empty()),
            },
            action: e.action,
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            outcome: e.outcome,
            reason: e.reason,
            request_id: e.request_id,
            service: e.service,
            before_json: e.before_json,
            after_json: e.after_json,
        })
    }
}

fn parse_uuid(field: &str, s: &str) -> Result<Uuid, String> {
    Uuid::parse_str(s).map_err(|_| format!("{field} is not a UUID"))
}

fn check_len(field: &str, value: &str, max: usize) -> Result<(), String> {
    if value.len() > max {
        return Err(format!("{field} is longer than {max} bytes"));
    }
    Ok(())
}

/// Personal values of one entry, as far as they are still readable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Personal {
    /// The subject's actor id; `None` once erased.
    pub actor_id: Option<String>,
    pub email: Option<String>,
    pub ip: Option<String>,
}

/// One entry as stored, with its personal values joined in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    /// The canonical encoding's version ([`crate::canonical::FORMAT_V1`]).
    pub format: i16,
    pub chained: Chained,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    pub personal: Personal,
}

impl StoredEntry {
    /// False when the entry refers to a subject whose personal data was erased.
    pub fn subject_readable(&self) -> bool {
        self.chained.subject_id.is_none() || self.personal.actor_id.is_some()
    }

    /// The actor id to show: the entry's own, or the subject's while it is readable.
    pub fn actor_id(&self) -> &str {
        match (&self.chained.subject_id, &self.personal.actor_id) {
            (Some(_), Some(id)) => id,
            (Some(_), None) => "",
            (None, _) => &self.chained.actor_id,
        }
    }
}

/// Query filters. `org_id` is required; time bounds apply to `occurred_at`, `[from, to)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub org_id: Uuid,
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub resource_id: Option<String>,
    pub outcome: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A page position: entries strictly older (smaller seq) than `before_seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub before_seq: i64,
}

impl Cursor {
    const PREFIX: &'static str = "s";

    /// Opaque text for `PageResponse.next_cursor`.
    pub fn encode(self) -> String {
        format!("{}{}", Self::PREFIX, self.before_seq)
    }

    /// Parses `PageRequest.cursor`; empty means the first page.
    pub fn decode(s: &str) -> Result<Option<Self>, String> {
        if s.is_empty() {
            return Ok(None);
        }
        s.strip_prefix(Self::PREFIX)
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n > 0)
            .map(|before_seq| Some(Self { before_seq }))
            .ok_or_else(|| "page.cursor is not a cursor this service issued".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_proto::v1::Actor as PActor;

    fn event() -> AuditEvent {
        AuditEvent {
            event_id: Uuid::now_v7().to_string(),
            occurred_at: Some(keyward_proto::time::now()),
            org_id: Uuid::now_v7().to_string(),
            actor: Some(PActor {
                kind: Kind::Service as i32,
                id: "vault".into(),
                email: None,
                ip: None,
            }),
            action: "provider_key.resolve".into(),
            outcome: "success".into(),
            ..AuditEvent::default()
        }
    }

    #[test]
    fn validation_names_the_field() {
        assert!(NewEvent::from_proto(event()).is_ok());
        let mut e = event();
        e.org_id = "acme".into();
        assert_eq!(NewEvent::from_proto(e).unwrap_err(), "org_id is not a UUID");
        let mut e = event();
        e.outcome = "maybe".into();
        assert!(NewEvent::from_proto(e).unwrap_err().contains("outcome"));
        let mut e = event();
        e.after_json = "x".repeat(MAX_JSON_LEN + 1);
        assert!(NewEvent::from_proto(e).unwrap_err().contains("after_json"));
        let mut e = event();
        e.occurred_at = None;
        assert!(NewEvent::from_proto(e).unwrap_err().contains("occurred_at"));
    }

    #[test]
    fn users_and_personal_data_make_subjects() {
        let mut a = Actor {
            kind: Kind::Service as i32,
            id: "vault".into(),
            email: None,
            ip: None,
        };
        assert!(!a.is_subject());
        a.ip = Some("10.0.0.1".into());
        assert!(a.is_subject());
        a.ip = None;
        a.kind = Kind::User as i32;
        assert!(a.is_subject());
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor { before_seq: 42 };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), Some(c));
        assert_eq!(Cursor::decode("").unwrap(), None);
        assert!(Cursor::decode("42").is_err());
        assert!(Cursor::decode("s-1").is_err());
    }
}
