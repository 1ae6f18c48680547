//! Virtual keys (stored as HMACs only).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// A virtual key row (no secret: only its HMAC is stored, and that is not selected).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct VkeyRow {
    pub id: Uuid,
    pub name: String,
    pub team_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub key_hint: String,
    pub models: Vec<String>,
    pub providers: Vec<String>,
    pub allowed_cidrs: Vec<String>,
    pub rpm: Option<i32>,
    pub tpm: Option<i32>,
    pub expires_at: Option<DateTime<Utc>>,
    pub tags: serde_json::Value,
    pub previous_expires_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const COLS: &str = "id, name, team_id, project_id, user_id, key_hint, models, providers,
    allowed_cidrs, rpm, tpm, expires_at, tags, previous_expires_at, created_by, created_at,
    updated_at, rotated_at, revoked_at";

/// The settable fields of a key.
pub struct VkeyFields<'a> {
    pub name: &'a str,
    pub models: &'a [String],
    pub providers: &'a [String],
    pub allowed_cidrs: &'a [String],
    pub rpm: Option<i32>,
    pub tpm: Option<i32>,
    pub expires_at: Option<DateTime<Utc>>,
    pub tags: &'a serde_json::Value,
}

/// Scope columns.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScopeCols {
    pub team_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
}

pub async fn list(
    pool: &PgPool,
    org: Uuid,
    teams: Option<&[Uuid]>,
    after: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<VkeyRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM virtual_keys
         WHERE org_id = $1 AND ($2::uuid[] IS NULL OR team_id = ANY($2))
           AND ($3::uuid IS NULL OR id > $3)
         ORDER BY id LIMIT $4"
    ))
    .bind(org)
    .bind(teams)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn get(conn: &mut PgConnection, org: Uuid, id: Uuid) -> sqlx::Result<Option<VkeyRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM virtual_keys WHERE org_id = $1 AND id = $2 FOR UPDATE"
    ))
    .bind(org)
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn create(
    conn: &mut PgConnection,
    org: Uuid,
    scope: ScopeCols,
    fields: &VkeyFields<'_>,
    key_hash: &[u8],
    key_hint: &str,
    by: Uuid,
) -> sqlx::Result<VkeyRow> {
    sqlx::query_as(&format!(
        "INSERT INTO virtual_keys (id, org_id, name, team_id, project_id, user_id, key_hash,
             key_hint, models, providers, allowed_cidrs, rpm, tpm, expires_at, tags, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         RETURNING {COLS}"
    ))
    .bind(Uuid::now_v7())
    .bind(org)
    .bind(fields.name)
    .bind(scope.team_id)
    .bind(scope.project_id)
    .bind(scope.user_id)
    .bind(key_hash)
    .bind(key_hint)
    .bind(fields.models)
    .bind(fields.providers)
    .bind(fields.allowed_cidrs)
    .bind(fields.rpm)
    .bind(fields.tpm)
    .bind(fields.expires_at)
    .bind(fields.tags)
    .bind(by)
    .fetch_one(conn)
    .await
}

/// Writes every settable field (the domain merged the patch).
pub async fn update(
    conn: &mut PgConnection,
    org: Uuid,
    id: Uuid,
    fields: &VkeyFields<'_>,
) -> sqlx::Result<VkeyRow> {
    sqlx::query_as(&format!(
        "UPDATE virtual_keys SET name = $3, models = $4, providers = $5, allowed_cidrs = $6,
                rpm = $7, tpm = $8, expires_at = $9, tags = $10, updated_at = now()
         WHERE org_id = $1 AND id = $2 RETURNING {COLS}"
    ))
    .bind(org)
    .bind(id)
    .bind(fields.name)
    .bind(fields.models)
    .bind(fields.providers)
    .bind(fields.allowed_cidrs)
    .bind(fields.rpm)
    .bind(fields.tpm)
    .bind(fields.expires_at)
    .bind(fields.tags)
    .fetch_one(conn)
    .await
}

/// Installs a new key; the old one stays valid for `grace_secs`.
pub async fn rotate(
    conn: &mut PgConnection,
    org: Uuid,
    id: Uuid,
    key_hash: &[u8],
    key_hint: &str,
    grace_secs: u64,
) -> sqlx::Result<VkeyRow> {
    sqlx::query_as(&format!(
        "UPDATE virtual_keys SET
            previous_key_hash = CASE WHEN $5 > 0 THEN key_hash END,
            previous_expires_at = CASE WHEN $5 > 0 THEN now() + make_interval(secs => $5) END,
            key_hash = $3, key_hint = $4, rotated_at = now(), updated_at = now()
         WHERE org_id = $1 AND id = $2 RETURNING {COLS}"
    ))
    .bind(org)
    .bind(id)
    .bind(key_hash)
    .bind(key_hint)
    .bind(grace_secs as f64)
    .fetch_one(conn)
    .await
}

pub async fn revoke(conn: &mut PgConnection, org: Uuid, id: Uuid) -> sqlx::Result<VkeyRow> {
    sqlx::query_as(&format!(
        "UPDATE virtual_keys SET revoked_at = now(), previous_key_hash = NULL,
                previous_expires_at = NULL, updated_at = now()
         WHERE org_id = $1 AND id = $2 RETURNING {COLS}"
    ))
    .bind(org)
    .bind(id)
    .fetch_one(conn)
    .await
}

/// Keeps keys of a project in the project's team after the project moves.
pub async fn follow_project(
    conn: &mut PgConnection,
    project: Uuid,
    team: Option<Uuid>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE virtual_keys SET team_id = $2 WHERE project_id = $1")
        .bind(project)
        .bind(team)
        .execute(conn)
        .await?;
    Ok(())
}
