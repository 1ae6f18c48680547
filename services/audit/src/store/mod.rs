//! Postgres access for the `audit` schema. Everything here is plain SQL over the service's own
//! role; the domain layer decides what to do with the rows.
//!
//! Queries are built at run time (`sqlx::query`, `QueryBuilder`) rather than with the compile-time
//! checked macros: the workspace has no offline query data yet, and the integration tests run
//! every statement against the real schema.

mod append;
mod columns;
mod maintain;
mod read;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::canonical::Chained;
use crate::model::{Personal, StoredEntry};

pub use append::{AppendOptions, Appended};
pub use maintain::Rejected;

/// The audit schema, through the `keyward_audit` role.
#[derive(Clone, Debug)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// A store over `pool` (connected as `keyward_audit`, `search_path` = `audit`).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The pool, for readiness checks.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// The head of an org's chain.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Head {
    pub seq: i64,
    pub hash: Vec<u8>,
    pub checkpoint_seq: i64,
}

/// A stored checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct CheckpointRow {
    pub org_id: Uuid,
    pub seq: i64,
    pub hash: Vec<u8>,
    pub signed_at: DateTime<Utc>,
    pub signature: Vec<u8>,
    pub public_key: Vec<u8>,
}

/// The columns every entry read selects, `e` being `entries` (personal columns are joined).
/// A macro so that statements are assembled with `concat!` at compile time.
macro_rules! entry_columns {
    () => {
        "e.org_id, e.seq, e.format, e.event_id, e.occurred_at, e.recorded_at, e.actor_kind, \
         e.actor_id, e.subject_id, e.action, e.resource_type, e.resource_id, e.outcome, e.reason, \
         e.request_id, e.service, e.before_json, e.after_json, e.prev_hash, e.hash"
    };
}
use entry_columns;

/// One `entries` row with its joined personal values.
#[derive(sqlx::FromRow)]
struct EntryRow {
    org_id: Uuid,
    seq: i64,
    format: i16,
    event_id: Uuid,
    occurred_at: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
    actor_kind: i32,
    actor_id: String,
    subject_id: Option<Vec<u8>>,
    action: String,
    resource_type: String,
    resource_id: String,
    outcome: String,
    reason: String,
    request_id: String,
    service: String,
    before_json: String,
    after_json: String,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
    subject_actor: Option<String>,
    email: Option<String>,
    ip: Option<String>,
}

impl From<EntryRow> for StoredEntry {
    fn from(r: EntryRow) -> Self {
        StoredEntry {
            format: r.format,
            chained: Chained {
                org_id: r.org_id,
                // A negative seq can only come from tampering; 0 never verifies.
                seq: u64::try_from(r.seq).unwrap_or(0),
                event_id: r.event_id,
                occurred_at: r.occurred_at,
                recorded_at: r.recorded_at,
                actor_kind: r.actor_kind,
                actor_id: r.actor_id,
                subject_id: r.subject_id,
                action: r.action,
                resource_type: r.resource_type,
                resource_id: r.resource_id,
                outcome: r.outcome,
                reason: r.reason,
                request_id: r.request_id,
                service: r.service,
                before_json: r.before_json,
                after_json: r.after_json,
            },
            prev_hash: r.prev_hash,
            hash: r.hash,
            personal: Personal {
                actor_id: r.subject_actor,
                email: r.email,
                ip: r.ip,
            },
        }
    }
}
