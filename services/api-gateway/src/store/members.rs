//! Users and their org memberships.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

/// A member of the caller's org.
#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Member {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub disabled: bool,
    pub joined_at: DateTime<Utc>,
}

const COLS: &str =
    "u.id, u.email, u.name, u.disabled_at IS NOT NULL AS disabled, m.created_at AS joined_at";

/// A page of members; with `teams`, only those holding a role in one of them.
pub async fn list(
    pool: &PgPool,
    org: Uuid,
    teams: Option<&[Uuid]>,
    after: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<Member>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.org_id = $1
           AND ($2::uuid[] IS NULL OR EXISTS (SELECT 1 FROM role_assignments r
                WHERE r.org_id = m.org_id AND r.user_id = m.user_id AND r.team_id = ANY($2)))
           AND ($3::uuid IS NULL OR u.id > $3)
         ORDER BY u.id LIMIT $4"
    ))
    .bind(org)
    .bind(teams)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn get(pool: &PgPool, org: Uuid, user: Uuid) -> sqlx::Result<Option<Member>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.org_id = $1 AND m.user_id = $2"
    ))
    .bind(org)
    .bind(user)
    .fetch_optional(pool)
    .await
}

/// The teams in which `user` holds a role in `org`.
pub async fn teams_of(pool: &PgPool, org: Uuid, user: Uuid) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT DISTINCT team_id FROM role_assignments
         WHERE org_id = $1 AND user_id = $2 AND team_id IS NOT NULL",
    )
    .bind(org)
    .bind(user)
    .fetch_all(pool)
    .await
}

pub async fn set_name(conn: &mut PgConnection, user: Uuid, name: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET name = $2, updated_at = now() WHERE id = $1")
        .bind(user)
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes a membership; role grants and sessions in that org go with it (cascade).
pub async fn remove(conn: &mut PgConnection, org: Uuid, user: Uuid) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
            .bind(org)
            .bind(user)
            .execute(conn)
            .await?
            .rows_affected()
            > 0,
    )
}

/// A user as sign-in needs it.
#[derive(sqlx::FromRow)]
pub struct Credentials {
    pub id: Uuid,
    pub email: String,
    pub password_hash: Option<String>,
    pub disabled: bool,
}

pub async fn by_email(conn: &mut PgConnection, email: &str) -> sqlx::Result<Option<Credentials>> {
    sqlx::query_as(
        "SELECT id, email, password_hash, disabled_at IS NOT NULL AS disabled
         FROM users WHERE email = $1",
    )
    .bind(email)
    .fetch_optional(conn)
    .await
}

pub async fn by_id(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<Credentials>> {
    sqlx::query_as(
        "SELECT id, email, password_hash, disabled_at IS NOT NULL AS disabled
         FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn create_user(
    conn: &mut PgConnection,
    email: &str,
    name: &str,
    password_hash: &str,
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(email)
        .bind(name)
        .bind(password_hash)
        .execute(conn)
        .await?;
    Ok(id)
}

pub async fn set_password(conn: &mut PgConnection, user: Uuid, hash: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1")
        .bind(user)
        .bind(hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Adds a membership (no-op when it exists).
pub async fn add(conn: &mut PgConnection, org: Uuid, user: Uuid) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO memberships (org_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(org)
        .bind(user)
        .execute(conn)
        .await?;
    Ok(())
}

/// The orgs of a user, oldest membership first.
pub async fn orgs_of(conn: &mut PgConnection, user: Uuid) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT org_id FROM memberships WHERE user_id = $1 ORDER BY created_at, org_id",
    )
    .bind(user)
    .fetch_all(conn)
    .await
}
