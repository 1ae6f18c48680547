//! Teams.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

/// A team.
#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLS: &str = "id, name, description, created_at, updated_at";

/// A page of teams, optionally only `teams`.
pub async fn list(
    pool: &PgPool,
    org: Uuid,
    teams: Option<&[Uuid]>,
    after: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<Team>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM teams
         WHERE org_id = $1 AND ($2::uuid[] IS NULL OR id = ANY($2)) AND ($3::uuid IS NULL OR id > $3)
         ORDER BY id LIMIT $4"
    ))
    .bind(org)
    .bind(teams)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn get(pool: &PgPool, org: Uuid, id: Uuid) -> sqlx::Result<Option<Team>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM teams WHERE org_id = $1 AND id = $2"
    ))
    .bind(org)
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn create(
    conn: &mut PgConnection,
    org: Uuid,
    name: &str,
    description: &str,
) -> sqlx::Result<Team> {
    sqlx::query_as(&format!(
        "INSERT INTO teams (id, org_id, name, description) VALUES ($1, $2, $3, $4) RETURNING {COLS}"
    ))
    .bind(Uuid::now_v7())
    .bind(org)
    .bind(name)
    .bind(description)
    .fetch_one(conn)
    .await
}

pub async fn update(
    conn: &mut PgConnection,
    org: Uuid,
    id: Uuid,
    name: Option<&str>,
    description: Option<&str>,
) -> sqlx::Result<Option<Team>> {
    sqlx::query_as(&format!(
        "UPDATE teams SET name = COALESCE($3, name), description = COALESCE($4, description),
                updated_at = now()
         WHERE org_id = $1 AND id = $2 RETURNING {COLS}"
    ))
    .bind(org)
    .bind(id)
    .bind(name)
    .bind(description)
    .fetch_optional(conn)
    .await
}

/// Deletes a team; its role grants and invitations go with it (cascade). Fails with a
/// foreign-key violation while projects or virtual keys belong to it.
pub async fn delete(conn: &mut PgConnection, org: Uuid, id: Uuid) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("DELETE FROM teams WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(id)
            .execute(conn)
            .await?
            .rows_affected()
            > 0,
    )
}
