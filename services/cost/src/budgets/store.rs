//! Budgets, their state and reservations in the `cost` schema; spend from the usage rollups.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use crate::analytics::query::Filter;
use crate::analytics::rollups::{Range, cost_between};
use crate::error::Result;

/// A stored budget.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BudgetRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub team_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub virtual_key_id: Option<Uuid>,
    pub name: String,
    pub period: String,
    pub rolling: bool,
    pub amount_micros: i64,
    pub hard: bool,
    pub thresholds: Vec<i32>,
}

/// A budget's state in its current period.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct StateRow {
    pub period_start: DateTime<Utc>,
    pub notified: Vec<i32>,
    pub exhausted: bool,
}

const COLUMNS: &str = "id, org_id, team_id, project_id, virtual_key_id, name, period, rolling, \
    amount_micros, hard, thresholds";

pub async fn insert(pool: &PgPool, b: &BudgetRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO cost.budgets (id, org_id, team_id, project_id, virtual_key_id, name, period, \
         rolling, amount_micros, hard, thresholds) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
    )
    .bind(b.id)
    .bind(b.org_id)
    .bind(b.team_id)
    .bind(b.project_id)
    .bind(b.virtual_key_id)
    .bind(&b.name)
    .bind(&b.period)
    .bind(b.rolling)
    .bind(b.amount_micros)
    .bind(b.hard)
    .bind(&b.thresholds)
    .execute(pool)
    .await?;
    Ok(())
}

/// Updates name, period, amount, hardness and thresholds (the scope is fixed). False: no such
/// budget in that org.
pub async fn update(pool: &PgPool, b: &BudgetRow) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE cost.budgets SET name = $3, period = $4, rolling = $5, amount_micros = $6, \
         hard = $7, thresholds = $8, updated_at = now() WHERE id = $1 AND org_id = $2",
    )
    .bind(b.id)
    .bind(b.org_id)
    .bind(&b.name)
    .bind(&b.period)
    .bind(b.rolling)
    .bind(b.amount_micros)
    .bind(b.hard)
    .bind(&b.thresholds)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(pool: &PgPool, org: Uuid, id: Uuid) -> Result<Option<BudgetRow>> {
    let sql = format!("SELECT {COLUMNS} FROM cost.budgets WHERE id = $1 AND org_id = $2");
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .bind(org)
        .fetch_optional(pool)
        .await?)
}

pub async fn list(pool: &PgPool, org: Uuid) -> Result<Vec<BudgetRow>> {
    let sql = format!("SELECT {COLUMNS} FROM cost.budgets WHERE org_id = $1 ORDER BY name, id");
    Ok(sqlx::query_as(&sql).bind(org).fetch_all(pool).await?)
}

pub async fn delete(pool: &PgPool, org: Uuid, id: Uuid) -> Result<bool> {
    let done = sqlx::query("DELETE FROM cost.budgets WHERE id = $1 AND org_id = $2")
        .bind(id)
        .bind(org)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Budgets whose scope contains a request made in (org, team, project, virtual key).
pub async fn active(
    pool: &PgPool,
    org: Uuid,
    team: Option<Uuid>,
    project: Option<Uuid>,
    vkey: Option<Uuid>,
) -> Result<Vec<BudgetRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM cost.budgets WHERE org_id = $1 \
         AND (team_id IS NULL OR team_id = $2) AND (project_id IS NULL OR project_id = $3) \
         AND (virtual_key_id IS NULL OR virtual_key_id = $4) ORDER BY id"
    );
    Ok(sqlx::query_as(&sql)
        .bind(org)
        .bind(team)
        .bind(project)
        .bind(vkey)
        .fetch_all(pool)
        .await?)
}

/// Orgs that have at least one budget, restricted to `only` when given.
pub async fn orgs_with_budgets(pool: &PgPool, only: Option<&[Uuid]>) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT org_id FROM cost.budgets WHERE $1::uuid[] IS NULL OR org_id = ANY($1) \
         ORDER BY 1",
    )
    .bind(only.map(<[Uuid]>::to_vec))
    .fetch_all(pool)
    .await?)
}

/// Exact spend in the budget's scope for rollup buckets in `[from, to)`: whole UTC days from the
/// daily rollup, the rest from the hourly, in one statement ([`cost_between`]).
pub async fn spent<'e>(
    exec: impl PgExecutor<'e>,
    b: &BudgetRow,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<i64> {
    let filter = Filter {
        org: b.org_id,
        teams: b.team_id.into_iter().collect(),
        projects: b.project_id.into_iter().collect(),
        virtual_keys: b.virtual_key_id.into_iter().collect(),
        ..Filter::default()
    };
    cost_between(exec, &filter, Range { from, to }).await
}

/// Unexpired reservations per budget.
pub async fn reserved(pool: &PgPool, ids: &[Uuid]) -> Result<HashMap<Uuid, i64>> {
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT budget_id, sum(reserved_micros)::bigint FROM cost.reservations \
         WHERE budget_id = ANY($1) AND expires_at > now() GROUP BY budget_id",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Replaces `instance`'s reservations.
pub async fn replace_reservations(
    pool: &PgPool,
    instance: &str,
    entries: &[(Uuid, i64)],
    ttl_secs: u32,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM cost.reservations WHERE instance = $1 OR expires_at < now()")
        .bind(instance)
        .execute(&mut *tx)
        .await?;
    let (ids, amounts): (Vec<Uuid>, Vec<i64>) = entries.iter().copied().unzip();
    sqlx::query(
        "INSERT INTO cost.reservations (budget_id, instance, reserved_micros, expires_at) \
         SELECT r.id, $2, r.amount, now() + make_interval(secs => $4) \
         FROM unnest($1::uuid[], $3::bigint[]) AS r(id, amount) \
         JOIN cost.budgets b ON b.id = r.id",
    )
    .bind(ids)
    .bind(instance)
    .bind(amounts)
    .bind(f64::from(ttl_secs))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
