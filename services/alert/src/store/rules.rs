//! `alert.rules` and `alert.orgs`.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::error::{AlertError, Result};
use crate::model::{Rule, RuleScope, RuleType, Severity, Silence};

/// The selected columns, as a literal so queries are built with `concat!`, not `format!`.
macro_rules! columns {
    () => {
        "id, org_id, name, rule_type, team_id, project_id, user_id, virtual_key_id, conditions, \
         severity, channel_ids, escalation_channel_ids, escalate_after_secs, dedup_window_secs, \
         silences, enabled, is_default, created_at, updated_at"
    };
}

fn from_row(row: &PgRow) -> Result<Rule> {
    let rule_type: String = row.try_get("rule_type")?;
    let severity: String = row.try_get("severity")?;
    let silences: serde_json::Value = row.try_get("silences")?;
    Ok(Rule {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        name: row.try_get("name")?,
        rule_type: RuleType::parse(&rule_type)
            .ok_or_else(|| AlertError::Internal(format!("stored rule type {rule_type}")))?,
        scope: RuleScope {
            team_id: row.try_get("team_id")?,
            project_id: row.try_get("project_id")?,
            user_id: row.try_get("user_id")?,
            virtual_key_id: row.try_get("virtual_key_id")?,
        },
        conditions: row.try_get("conditions")?,
        severity: Severity::parse(&severity).unwrap_or(Severity::Warning),
        channel_ids: row.try_get("channel_ids")?,
        escalation_channel_ids: row.try_get("escalation_channel_ids")?,
        escalate_after_secs: row.try_get("escalate_after_secs")?,
        dedup_window_secs: row.try_get("dedup_window_secs")?,
        silences: serde_json::from_value::<Vec<Silence>>(silences).unwrap_or_default(),
        enabled: row.try_get("enabled")?,
        is_default: row.try_get("is_default")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Inserts a rule.
pub async fn insert(conn: &mut PgConnection, r: &Rule) -> Result<()> {
    sqlx::query(
        "INSERT INTO rules (id, org_id, name, rule_type, team_id, project_id, user_id, \
         virtual_key_id, conditions, severity, channel_ids, escalation_channel_ids, \
         escalate_after_secs, dedup_window_secs, silences, enabled, is_default, created_at, \
         updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$18)",
    )
    .bind(r.id)
    .bind(r.org_id)
    .bind(&r.name)
    .bind(r.rule_type.as_str())
    .bind(r.scope.team_id)
    .bind(r.scope.project_id)
    .bind(r.scope.user_id)
    .bind(r.scope.virtual_key_id)
    .bind(&r.conditions)
    .bind(r.severity.as_str())
    .bind(&r.channel_ids)
    .bind(&r.escalation_channel_ids)
    .bind(r.escalate_after_secs)
    .bind(r.dedup_window_secs)
    .bind(serde_json::to_value(&r.silences).unwrap_or_default())
    .bind(r.enabled)
    .bind(r.is_default)
    .bind(r.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces a live rule's editable fields; `false` when there is no such rule.
pub async fn update(conn: &mut PgConnection, r: &Rule) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE rules SET name = $3, team_id = $4, project_id = $5, user_id = $6, \
         virtual_key_id = $7, conditions = $8, severity = $9, channel_ids = $10, \
         escalation_channel_ids = $11, escalate_after_secs = $12, dedup_window_secs = $13, \
         silences = $14, enabled = $15, updated_at = $16, next_eval_at = now() \
         WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL",
    )
    .bind(r.org_id)
    .bind(r.id)
    .bind(&r.name)
    .bind(r.scope.team_id)
    .bind(r.scope.project_id)
    .bind(r.scope.user_id)
    .bind(r.scope.virtual_key_id)
    .bind(&r.conditions)
    .bind(r.severity.as_str())
    .bind(&r.channel_ids)
    .bind(&r.escalation_channel_ids)
    .bind(r.escalate_after_secs)
    .bind(r.dedup_window_secs)
    .bind(serde_json::to_value(&r.silences).unwrap_or_default())
    .bind(r.enabled)
    .bind(r.updated_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A live rule, locked for the caller's transaction.
pub async fn get_for_update(conn: &mut PgConnection, org: Uuid, id: Uuid) -> Result<Option<Rule>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM rules WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE"
    );
    let row = sqlx::query(sql)
        .bind(org)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A live rule.
pub async fn get(pool: &PgPool, org: Uuid, id: Uuid) -> Result<Option<Rule>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM rules WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL"
    );
    let row = sqlx::query(sql)
        .bind(org)
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Any rule, deleted ones included (alerts keep pointing at them).
pub async fn get_any(conn: &mut PgConnection, id: Uuid) -> Result<Option<Rule>> {
    let sql = concat!("SELECT ", columns!(), " FROM rules WHERE id = $1");
    let row = sqlx::query(sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(from_row).transpose()
}

/// An org's live rules, by name.
pub async fn list(pool: &PgPool, org: Uuid) -> Result<Vec<Rule>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM rules WHERE org_id = $1 AND deleted_at IS NULL ORDER BY lower(name), id"
    );
    let rows = sqlx::query(sql).bind(org).fetch_all(pool).await?;
    rows.iter().map(from_row).collect()
}

/// An org's live, enabled rules of some types.
pub async fn enabled_of_types(
    conn: &mut PgConnection,
    org: Uuid,
    types: &[RuleType],
) -> Result<Vec<Rule>> {
    let types: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM rules WHERE org_id = $1 AND rule_type = ANY($2) \
         AND deleted_at IS NULL AND enabled ORDER BY id"
    );
    let rows = sqlx::query(sql)
        .bind(org)
        .bind(&types)
        .fetch_all(conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Soft-deletes a rule; `false` when there is no such live rule.
pub async fn delete(conn: &mut PgConnection, org: Uuid, id: Uuid) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE rules SET deleted_at = now(), enabled = false, updated_at = now() \
         WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL",
    )
    .bind(org)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records that `org` has been seen; `true` the first time (its defaults are then due).
pub async fn mark_org_seeded(conn: &mut PgConnection, org: Uuid) -> Result<bool> {
    let done = sqlx::query("INSERT INTO orgs (org_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(org)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether `org` was seeded already (no lock, no write: the fast path).
pub async fn org_seeded(pool: &PgPool, org: Uuid) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM orgs WHERE org_id = $1)")
            .bind(org)
            .fetch_one(pool)
            .await?,
    )
}

/// Claims periodic rules due for evaluation and pushes their next evaluation out by `every`.
/// Several replicas share the work: each rule is claimed by one.
pub async fn claim_periodic(
    pool: &PgPool,
    every: chrono::Duration,
    limit: i64,
) -> Result<Vec<Rule>> {
    let sql = concat!(
        "UPDATE rules SET next_eval_at = now() + $1 WHERE id IN ( \
           SELECT id FROM rules WHERE deleted_at IS NULL AND enabled \
           AND rule_type IN ('spend_spike', 'error_rate', 'latency_p95') AND next_eval_at <= now() \
           ORDER BY next_eval_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
         RETURNING ",
        columns!(),
        ""
    );
    let rows = sqlx::query(sql)
        .bind(every)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(from_row).collect()
}
