//! `alert.processed_events` (idempotent consumption) and `alert.audit_outbox`.

use keyward_proto::v1::AuditEvent;
use prost::Message as _;
use sqlx::{PgConnection, PgPool, Row};

use crate::error::Result;

/// Records `event_id` as handled; `false` when it was handled before (skip it).
pub async fn first_time(conn: &mut PgConnection, event_id: &str) -> Result<bool> {
    let done =
        sqlx::query("INSERT INTO processed_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(event_id)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets processed ids older than `days` (redeliveries come within minutes, not weeks).
pub async fn prune_processed(pool: &PgPool, days: i32) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM processed_events WHERE processed_at < now() - make_interval(days => $1)",
    )
    .bind(days)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Adds an audit event to the outbox, in the caller's transaction.
pub async fn push_audit(conn: &mut PgConnection, event: &AuditEvent) -> Result<()> {
    sqlx::query("INSERT INTO audit_outbox (event) VALUES ($1)")
        .bind(event.encode_to_vec())
        .execute(conn)
        .await?;
    Ok(())
}

/// The oldest `limit` outbox entries. Undecodable ones come back as `None` (and are dropped
/// with the batch, logged by the caller).
pub async fn peek_audit(pool: &PgPool, limit: i64) -> Result<Vec<(i64, Option<AuditEvent>)>> {
    let rows = sqlx::query("SELECT seq, event FROM audit_outbox ORDER BY seq LIMIT $1")
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            let bytes: Vec<u8> = r.try_get("event")?;
            Ok((r.try_get("seq")?, AuditEvent::decode(bytes.as_slice()).ok()))
        })
        .collect()
}

/// Deletes published outbox entries.
pub async fn delete_audit(pool: &PgPool, seqs: &[i64]) -> Result<()> {
    sqlx::query("DELETE FROM audit_outbox WHERE seq = ANY($1)")
        .bind(seqs)
        .execute(pool)
        .await?;
    Ok(())
}
