//! Invitations to join an org.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

/// An invitation (never its token).
#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Invitation {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub team_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub status: String,
}

const COLS: &str = "id, email, role, team_id, created_at, expires_at,
    CASE WHEN accepted_at IS NOT NULL THEN 'accepted' WHEN revoked_at IS NOT NULL THEN 'revoked'
         WHEN expires_at <= now() THEN 'expired' ELSE 'pending' END AS status";

pub async fn list(
    pool: &PgPool,
    org: Uuid,
    teams: Option<&[Uuid]>,
) -> sqlx::Result<Vec<Invitation>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM invitations
         WHERE org_id = $1 AND ($2::uuid[] IS NULL OR team_id = ANY($2)) ORDER BY id"
    ))
    .bind(org)
    .bind(teams)
    .fetch_all(pool)
    .await
}

pub async fn get(conn: &mut PgConnection, org: Uuid, id: Uuid) -> sqlx::Result<Option<Invitation>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM invitations WHERE org_id = $1 AND id = $2"
    ))
    .bind(org)
    .bind(id)
    .fetch_optional(conn)
    .await
}

#[expect(clippy::too_many_arguments, reason = "one column each")]
pub async fn create(
    conn: &mut PgConnection,
    org: Uuid,
    email: &str,
    role: &str,
    team: Option<Uuid>,
    token_hash: &[u8],
    by: Uuid,
    ttl_secs: u64,
) -> sqlx::Result<Invitation> {
    sqlx::query_as(&format!(
        "INSERT INTO invitations (id, org_id, email, role, team_id, token_hash, created_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8)) RETURNING {COLS}"
    ))
    .bind(Uuid::now_v7())
    .bind(org)
    .bind(email)
    .bind(role)
    .bind(team)
    .bind(token_hash)
    .bind(by)
    .bind(ttl_secs as f64)
    .fetch_one(conn)
    .await
}

pub async fn revoke(conn: &mut PgConnection, org: Uuid, id: Uuid) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "UPDATE invitations SET revoked_at = now()
         WHERE org_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(org)
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// A pending invitation by token hash, locked.
#[derive(sqlx::FromRow)]
pub struct Pending {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub role: String,
    pub team_id: Option<Uuid>,
}

pub async fn pending_by_token(
    conn: &mut PgConnection,
    hash: &[u8],
) -> sqlx::Result<Option<Pending>> {
    sqlx::query_as(
        "SELECT id, org_id, email, role, team_id FROM invitations
         WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
         FOR UPDATE",
    )
    .bind(hash)
    .fetch_optional(conn)
    .await
}

pub async fn mark_accepted(conn: &mut PgConnection, id: Uuid, user: Uuid) -> sqlx::Result<()> {
    sqlx::query("UPDATE invitations SET accepted_at = now(), accepted_by = $2 WHERE id = $1")
        .bind(id)
        .bind(user)
        .execute(conn)
        .await?;
    Ok(())
}
