//! Projects.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

/// A project, optionally owned by a team.
#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Project {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub team_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLS: &str = "id, name, description, team_id, created_at, updated_at";

pub async fn list(
    pool: &PgPool,
    org: Uuid,
    teams: Option<&[Uuid]>,
    after: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<Project>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM projects
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

pub async fn get(pool: &PgPool, org: Uuid, id: Uuid) -> sqlx::Result<Option<Project>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM projects WHERE org_id = $1 AND id = $2"
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
    team: Option<Uuid>,
) -> sqlx::Result<Project> {
    sqlx::query_as(&format!(
        "INSERT INTO projects (id, org_id, name, description, team_id)
         VALUES ($1, $2, $3, $4, $5) RETURNING {COLS}"
    ))
    .bind(Uuid::now_v7())
    .bind(org)
    .bind(name)
    .bind(description)
    .bind(team)
    .fetch_one(conn)
    .await
}

/// `team`: `None` keeps it, `Some(None)` clears it.
pub async fn update(
    conn: &mut PgConnection,
    org: Uuid,
    id: Uuid,
    name: Option<&str>,
    description: Option<&str>,
    team: Option<Option<Uuid>>,
) -> sqlx::Result<Option<Project>> {
    sqlx::query_as(&format!(
        "UPDATE projects SET name = COALESCE($3, name), description = COALESCE($4, description),
                team_id = CASE WHEN $5 THEN $6 ELSE team_id END, updated_at = now()
         WHERE org_id = $1 AND id = $2 RETURNING {COLS}"
    ))
    .bind(org)
    .bind(id)
    .bind(name)
    .bind(description)
    .bind(team.is_some())
    .bind(team.flatten())
    .fetch_optional(conn)
    .await
}

pub async fn delete(conn: &mut PgConnection, org: Uuid, id: Uuid) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("DELETE FROM projects WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(id)
            .execute(conn)
            .await?
            .rows_affected()
            > 0,
    )
}
