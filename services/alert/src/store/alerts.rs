//! `alert.alerts`: fired alerts and their lifecycle.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::{decode_cursor, encode_cursor, labels_from, labels_json, page_size};
use crate::error::{AlertError, Result};
use crate::model::{Alert, AlertState, Clearance, RuleType, Severity};

macro_rules! columns {
    () => {
        "id, org_id, rule_id, rule_name, rule_type, fingerprint, state, severity, level, title, \
         detail, labels, occurrences, fired_at, last_seen_at, last_notified_at, acknowledged_at, \
         acknowledged_by, resolved_at, resolved_by, snoozed_until, escalation_level, escalate_at, \
         silenced"
    };
}

fn from_row(row: &PgRow) -> Result<Alert> {
    let state: String = row.try_get("state")?;
    let rule_type: String = row.try_get("rule_type")?;
    let severity: String = row.try_get("severity")?;
    let labels: serde_json::Value = row.try_get("labels")?;
    Ok(Alert {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        rule_id: row.try_get("rule_id")?,
        rule_name: row.try_get("rule_name")?,
        rule_type: RuleType::parse(&rule_type)
            .ok_or_else(|| AlertError::Internal(format!("stored rule type {rule_type}")))?,
        fingerprint: row.try_get("fingerprint")?,
        state: AlertState::parse(&state)
            .ok_or_else(|| AlertError::Internal(format!("stored alert state {state}")))?,
        severity: Severity::parse(&severity).unwrap_or(Severity::Warning),
        level: row.try_get("level")?,
        title: row.try_get("title")?,
        detail: row.try_get("detail")?,
        labels: labels_from(&labels),
        occurrences: row.try_get("occurrences")?,
        fired_at: row.try_get("fired_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
        last_notified_at: row.try_get("last_notified_at")?,
        acknowledged_at: row.try_get("acknowledged_at")?,
        acknowledged_by: row.try_get("acknowledged_by")?,
        resolved_at: row.try_get("resolved_at")?,
        resolved_by: row.try_get("resolved_by")?,
        snoozed_until: row.try_get("snoozed_until")?,
        escalation_level: row.try_get("escalation_level")?,
        escalate_at: row.try_get("escalate_at")?,
        silenced: row.try_get("silenced")?,
    })
}

fn many(rows: &[PgRow]) -> Result<Vec<Alert>> {
    rows.iter().map(from_row).collect()
}

/// The open alert with this fingerprint, locked.
pub async fn open_for_update(
    conn: &mut PgConnection,
    org: Uuid,
    fp: &str,
) -> Result<Option<Alert>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM alerts WHERE org_id = $1 AND fingerprint = $2 AND state <> 'resolved' FOR UPDATE"
    ))
    .bind(org)
    .bind(fp)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The most recent alert with this fingerprint (resolved or not), locked.
pub async fn latest_for_update(
    conn: &mut PgConnection,
    org: Uuid,
    fp: &str,
) -> Result<Option<Alert>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM alerts WHERE org_id = $1 AND fingerprint = $2 ORDER BY fired_at DESC LIMIT 1 \
         FOR UPDATE"
    ))
    .bind(org)
    .bind(fp)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Inserts a new open alert; `false` when another open alert with its fingerprint won the race.
pub async fn insert(conn: &mut PgConnection, a: &Alert) -> Result<bool> {
    let done = sqlx::query(concat!(
        "INSERT INTO alerts (",
        columns!(),
        ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,\
         $22,$23,$24) ON CONFLICT (org_id, fingerprint) WHERE state <> 'resolved' DO NOTHING"
    ))
    .bind(a.id)
    .bind(a.org_id)
    .bind(a.rule_id)
    .bind(&a.rule_name)
    .bind(a.rule_type.as_str())
    .bind(&a.fingerprint)
    .bind(a.state.as_str())
    .bind(a.severity.as_str())
    .bind(a.level)
    .bind(&a.title)
    .bind(&a.detail)
    .bind(labels_json(&a.labels))
    .bind(a.occurrences)
    .bind(a.fired_at)
    .bind(a.last_seen_at)
    .bind(a.last_notified_at)
    .bind(a.acknowledged_at)
    .bind(&a.acknowledged_by)
    .bind(a.resolved_at)
    .bind(&a.resolved_by)
    .bind(a.snoozed_until)
    .bind(a.escalation_level)
    .bind(a.escalate_at)
    .bind(a.silenced)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Saves every mutable field of `a`.
pub async fn save(conn: &mut PgConnection, a: &Alert) -> Result<()> {
    sqlx::query(
        "UPDATE alerts SET state = $2, severity = $3, level = $4, title = $5, detail = $6, \
         labels = $7, occurrences = $8, last_seen_at = $9, last_notified_at = $10, \
         acknowledged_at = $11, acknowledged_by = $12, resolved_at = $13, resolved_by = $14, \
         snoozed_until = $15, escalation_level = $16, escalate_at = $17, silenced = $18, \
         updated_at = now() WHERE id = $1",
    )
    .bind(a.id)
    .bind(a.state.as_str())
    .bind(a.severity.as_str())
    .bind(a.level)
    .bind(&a.title)
    .bind(&a.detail)
    .bind(labels_json(&a.labels))
    .bind(a.occurrences)
    .bind(a.last_seen_at)
    .bind(a.last_notified_at)
    .bind(a.acknowledged_at)
    .bind(&a.acknowledged_by)
    .bind(a.resolved_at)
    .bind(&a.resolved_by)
    .bind(a.snoozed_until)
    .bind(a.escalation_level)
    .bind(a.escalate_at)
    .bind(a.silenced)
    .execute(conn)
    .await?;
    Ok(())
}

/// One alert of an org.
pub async fn get(pool: &PgPool, org: Uuid, id: Uuid) -> Result<Option<Alert>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM alerts WHERE org_id = $1 AND id = $2"
    ))
    .bind(org)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// One alert of an org, locked.
pub async fn get_for_update(conn: &mut PgConnection, org: Uuid, id: Uuid) -> Result<Option<Alert>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM alerts WHERE org_id = $1 AND id = $2 FOR UPDATE"
    ))
    .bind(org)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Filters of the alert history.
#[derive(Debug, Default)]
pub struct Filter {
    pub org: Uuid,
    pub state: Option<AlertState>,
    pub rule_id: Option<Uuid>,
    pub severity: Option<Severity>,
    pub rule_type: Option<RuleType>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub page_size: u32,
    pub cursor: String,
}

/// The history, newest first, and the next page's cursor (empty at the end).
pub async fn list(pool: &PgPool, f: &Filter) -> Result<(Vec<Alert>, String)> {
    let limit = page_size(f.page_size);
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(concat!(
        "SELECT ",
        columns!(),
        " FROM alerts WHERE org_id = "
    ));
    q.push_bind(f.org);
    if let Some(s) = f.state {
        q.push(" AND state = ").push_bind(s.as_str());
    }
    if let Some(r) = f.rule_id {
        q.push(" AND rule_id = ").push_bind(r);
    }
    if let Some(s) = f.severity {
        q.push(" AND severity = ").push_bind(s.as_str());
    }
    if let Some(t) = f.rule_type {
        q.push(" AND rule_type = ").push_bind(t.as_str());
    }
    if let Some(from) = f.from {
        q.push(" AND fired_at >= ").push_bind(from);
    }
    if let Some(to) = f.to {
        q.push(" AND fired_at < ").push_bind(to);
    }
    if let Some((at, id)) = decode_cursor(&f.cursor)? {
        q.push(" AND (fired_at, id) < (")
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    q.push(" ORDER BY fired_at DESC, id DESC LIMIT ")
        .push_bind(limit + 1);
    let rows = q.build().fetch_all(pool).await?;
    let mut alerts = many(&rows)?;
    let next = if alerts.len() as i64 > limit {
        alerts.truncate(usize::try_from(limit).unwrap_or(0));
        alerts
            .last()
            .map(|a| encode_cursor(a.fired_at, a.id))
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok((alerts, next))
}

/// Firing alerts whose escalation is due, locked (other replicas skip them).
pub async fn due_escalations(conn: &mut PgConnection, limit: i64) -> Result<Vec<Alert>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM alerts WHERE state = 'firing' AND escalate_at <= now() ORDER BY escalate_at \
         LIMIT $1 FOR UPDATE SKIP LOCKED"
    ))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    many(&rows)
}

/// Snoozed alerts whose snooze has ended, locked.
pub async fn due_unsnooze(conn: &mut PgConnection, limit: i64) -> Result<Vec<Alert>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM alerts WHERE state = 'snoozed' AND snoozed_until <= now() ORDER BY snoozed_until \
         LIMIT $1 FOR UPDATE SKIP LOCKED"
    ))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    many(&rows)
}

/// Open alerts a clearance applies to, locked.
pub async fn open_matching(conn: &mut PgConnection, c: &Clearance) -> Result<Vec<Alert>> {
    let types: Vec<&str> = c.rule_types.iter().map(|t| t.as_str()).collect();
    let rows = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM alerts WHERE org_id = $1 AND state <> 'resolved' AND rule_type = ANY($2) \
         AND labels @> $3 AND (cardinality($4::text[]) = 0 OR labels->>'kind' = ANY($4)) \
         ORDER BY fired_at FOR UPDATE"
    ))
    .bind(c.org_id)
    .bind(&types)
    .bind(labels_json(&c.labels))
    .bind(&c.kinds)
    .fetch_all(conn)
    .await?;
    many(&rows)
}

/// Open alerts of one rule, locked.
pub async fn open_of_rule(conn: &mut PgConnection, rule: Uuid) -> Result<Vec<Alert>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM alerts WHERE rule_id = $1 AND state <> 'resolved' ORDER BY fired_at FOR UPDATE"
    ))
    .bind(rule)
    .fetch_all(conn)
    .await?;
    many(&rows)
}
