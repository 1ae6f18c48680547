//! `alert.deliveries` and `alert.delivery_attempts`: the outbox of notifications and its log.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::{decode_cursor, encode_cursor, page_size};
use crate::error::{AlertError, Result};
use crate::model::{Attempt, ChannelKind, Delivery, Notice, Reason};

macro_rules! columns {
    () => {
        "id, org_id, alert_id, channel_id, channel_kind, reason, status, attempts, max_attempts, \
         next_attempt_at, last_error, last_http_status, payload, created_at, finished_at"
    };
}

fn from_row(row: &PgRow) -> Result<Delivery> {
    let kind: String = row.try_get("channel_kind")?;
    let reason: String = row.try_get("reason")?;
    let payload: serde_json::Value = row.try_get("payload")?;
    Ok(Delivery {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        alert_id: row.try_get("alert_id")?,
        channel_id: row.try_get("channel_id")?,
        channel_kind: ChannelKind::parse(&kind)
            .ok_or_else(|| AlertError::Internal(format!("stored channel kind {kind}")))?,
        reason: Reason::parse(&reason)
            .ok_or_else(|| AlertError::Internal(format!("stored reason {reason}")))?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        last_http_status: row.try_get("last_http_status")?,
        payload: serde_json::from_value::<Notice>(payload)
            .map_err(|e| AlertError::Internal(format!("stored payload: {e}")))?,
        created_at: row.try_get("created_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

fn many(rows: &[PgRow]) -> Result<Vec<Delivery>> {
    rows.iter().map(from_row).collect()
}

/// Queues a delivery.
pub async fn insert(conn: &mut PgConnection, d: &Delivery) -> Result<()> {
    sqlx::query(concat!(
        "INSERT INTO deliveries (",
        columns!(),
        ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)"
    ))
    .bind(d.id)
    .bind(d.org_id)
    .bind(d.alert_id)
    .bind(d.channel_id)
    .bind(d.channel_kind.as_str())
    .bind(d.reason.as_str())
    .bind(&d.status)
    .bind(d.attempts)
    .bind(d.max_attempts)
    .bind(d.next_attempt_at)
    .bind(&d.last_error)
    .bind(d.last_http_status)
    .bind(serde_json::to_value(&d.payload).unwrap_or_default())
    .bind(d.created_at)
    .bind(d.finished_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The PagerDuty channels that were sent (or are being sent) a trigger for `alert`, each with
/// the attempt limit of its latest trigger delivery.
pub async fn pagerduty_triggers(conn: &mut PgConnection, alert: Uuid) -> Result<Vec<(Uuid, i32)>> {
    let rows = sqlx::query(
        "SELECT DISTINCT ON (channel_id) channel_id, max_attempts FROM deliveries \
         WHERE alert_id = $1 AND channel_kind = 'pagerduty' \
           AND reason IN ('fired', 'refired', 'escalation', 'reminder') \
         ORDER BY channel_id, created_at DESC",
    )
    .bind(alert)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("channel_id")?, r.try_get("max_attempts")?)))
        .collect()
}

/// Claims up to `limit` due deliveries for one attempt each: their attempt count goes up and
/// their next attempt moves out by `lease`, so nobody else sends them meanwhile and a crash
/// mid-send only delays them.
pub async fn claim_due(
    pool: &PgPool,
    limit: i64,
    lease: chrono::Duration,
) -> Result<Vec<Delivery>> {
    let rows = sqlx::query(concat!(
        "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = now() + $2 \
         WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' \
           AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
         RETURNING ",
        columns!()
    ))
    .bind(limit)
    .bind(lease)
    .fetch_all(pool)
    .await?;
    many(&rows)
}

/// The result of one attempt.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub http_status: i32,
    pub error: String,
    /// `None`: delivered. `Some(None)`: failed for good. `Some(Some(t))`: retry at `t`.
    pub retry: Option<Option<DateTime<Utc>>>,
}

impl Outcome {
    /// `delivered`, `retry` or `failed`.
    pub fn name(&self) -> &'static str {
        match self.retry {
            None => "delivered",
            Some(Some(_)) => "retry",
            Some(None) => "failed",
        }
    }
}

/// Logs attempt `attempt` of `id` and moves the delivery on. `false` when the delivery moved
/// on without us (our lease ran out and another attempt started): nothing is written then.
pub async fn finish_attempt(
    conn: &mut PgConnection,
    id: Uuid,
    attempt: i32,
    o: &Outcome,
) -> Result<bool> {
    let (status, next, finished) = match o.retry {
        None => ("delivered", None, Some(Utc::now())),
        Some(Some(at)) => ("pending", Some(at), None),
        Some(None) => ("failed", None, Some(Utc::now())),
    };
    let done = sqlx::query(
        "UPDATE deliveries SET status = $3, next_attempt_at = $4, finished_at = $5, \
         last_error = $6, last_http_status = $7 WHERE id = $1 AND attempts = $2 AND status = 'pending'",
    )
    .bind(id)
    .bind(attempt)
    .bind(status)
    .bind(next)
    .bind(finished)
    .bind(&o.error)
    .bind(o.http_status)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, outcome, \
         http_status, error) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(attempt)
    .bind(o.started_at)
    .bind(o.duration_ms)
    .bind(o.name())
    .bind(o.http_status)
    .bind(&o.error)
    .execute(conn)
    .await?;
    Ok(true)
}

/// Filters of the delivery log.
#[derive(Debug, Default)]
pub struct Filter {
    pub org: Uuid,
    pub alert_id: Option<Uuid>,
    pub channel_id: Option<Uuid>,
    pub status: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub page_size: u32,
    pub cursor: String,
}

/// The delivery log, newest first, and the next page's cursor.
pub async fn list(pool: &PgPool, f: &Filter) -> Result<(Vec<Delivery>, String)> {
    let limit = page_size(f.page_size);
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(concat!(
        "SELECT ",
        columns!(),
        " FROM deliveries WHERE org_id = "
    ));
    q.push_bind(f.org);
    if let Some(a) = f.alert_id {
        q.push(" AND alert_id = ").push_bind(a);
    }
    if let Some(c) = f.channel_id {
        q.push(" AND channel_id = ").push_bind(c);
    }
    if let Some(s) = &f.status {
        q.push(" AND status = ").push_bind(s.clone());
    }
    if let Some(from) = f.from {
        q.push(" AND created_at >= ").push_bind(from);
    }
    if let Some(to) = f.to {
        q.push(" AND created_at < ").push_bind(to);
    }
    if let Some((at, id)) = decode_cursor(&f.cursor)? {
        q.push(" AND (created_at, id) < (")
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    q.push(" ORDER BY created_at DESC, id DESC LIMIT ")
        .push_bind(limit + 1);
    let rows = q.build().fetch_all(pool).await?;
    let mut out = many(&rows)?;
    let next = if out.len() as i64 > limit {
        out.truncate(usize::try_from(limit).unwrap_or(0));
        out.last()
            .map(|d| encode_cursor(d.created_at, d.id))
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok((out, next))
}

/// One delivery of an org.
pub async fn get(pool: &PgPool, org: Uuid, id: Uuid) -> Result<Option<Delivery>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM deliveries WHERE org_id = $1 AND id = $2"
    ))
    .bind(org)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The attempt logs of some deliveries, by delivery id.
pub async fn attempts(pool: &PgPool, ids: &[Uuid]) -> Result<BTreeMap<Uuid, Vec<Attempt>>> {
    let rows = sqlx::query(
        "SELECT delivery_id, attempt, started_at, duration_ms, outcome, http_status, error \
         FROM delivery_attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id, attempt",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    let mut out: BTreeMap<Uuid, Vec<Attempt>> = BTreeMap::new();
    for row in rows {
        out.entry(row.try_get("delivery_id")?)
            .or_default()
            .push(Attempt {
                attempt: row.try_get("attempt")?,
                started_at: row.try_get("started_at")?,
                duration_ms: row.try_get("duration_ms")?,
                outcome: row.try_get("outcome")?,
                http_status: row.try_get("http_status")?,
                error: row.try_get("error")?,
            });
    }
    Ok(out)
}

/// Queues a failed delivery again with `extra` more attempts; `None` when it is not failed.
pub async fn retry(
    conn: &mut PgConnection,
    org: Uuid,
    id: Uuid,
    extra: i32,
) -> Result<Option<Delivery>> {
    let row = sqlx::query(concat!(
        "UPDATE deliveries SET status = 'pending', max_attempts = attempts + $3, \
         next_attempt_at = now(), finished_at = NULL WHERE org_id = $1 AND id = $2 \
         AND status = 'failed' RETURNING ",
        columns!()
    ))
    .bind(org)
    .bind(id)
    .bind(extra)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}
