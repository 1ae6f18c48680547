//! Custom roles and role assignments. Triggers (migration 0001) mirror both into
//! `casbin_rule` in the same transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

/// A role held by a member, org-wide or in one team.
#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Assignment {
    pub id: Uuid,
    pub user_id: Uuid,
    pub role: String,
    /// Set when the role is held in one team only.
    pub team_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

const COLS: &str = "id, user_id, role, team_id, created_at";

pub async fn list_assignments(
    pool: &PgPool,
    org: Uuid,
    user: Option<Uuid>,
    teams: Option<&[Uuid]>,
) -> sqlx::Result<Vec<Assignment>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM role_assignments
         WHERE org_id = $1 AND ($2::uuid IS NULL OR user_id = $2)
           AND ($3::uuid[] IS NULL OR team_id = ANY($3))
         ORDER BY id"
    ))
    .bind(org)
    .bind(user)
    .bind(teams)
    .fetch_all(pool)
    .await
}

pub async fn get_assignment(
    conn: &mut PgConnection,
    org: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<Assignment>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM role_assignments WHERE org_id = $1 AND id = $2 FOR UPDATE"
    ))
    .bind(org)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Adds an assignment; `None` when the same one exists already.
pub async fn assign(
    conn: &mut PgConnection,
    org: Uuid,
    user: Uuid,
    role: &str,
    team: Option<Uuid>,
    by: Option<Uuid>,
) -> sqlx::Result<Option<Assignment>> {
    sqlx::query_as(&format!(
        "INSERT INTO role_assignments (id, org_id, user_id, role, team_id, created_by)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING {COLS}"
    ))
    .bind(Uuid::now_v7())
    .bind(org)
    .bind(user)
    .bind(role)
    .bind(team)
    .bind(by)
    .fetch_optional(conn)
    .await
}

pub async fn unassign(conn: &mut PgConnection, org: Uuid, id: Uuid) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("DELETE FROM role_assignments WHERE org_id = $1 AND id = $2")
            .bind(org)
            .bind(id)
            .execute(conn)
            .await?
            .rows_affected()
            > 0,
    )
}

/// Org-wide owners, locked so two concurrent removals cannot leave none.
pub async fn owners_for_update(conn: &mut PgConnection, org: Uuid) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT user_id FROM role_assignments
         WHERE org_id = $1 AND role = 'owner' AND team_id IS NULL FOR UPDATE",
    )
    .bind(org)
    .fetch_all(conn)
    .await
}

/// A custom role of one org.
#[derive(sqlx::FromRow)]
pub struct CustomRoleRow {
    pub name: String,
    pub description: String,
}

pub async fn custom_roles(pool: &PgPool, org: Uuid) -> sqlx::Result<Vec<CustomRoleRow>> {
    sqlx::query_as("SELECT name, description FROM custom_roles WHERE org_id = $1 ORDER BY name")
        .bind(org)
        .fetch_all(pool)
        .await
}

pub async fn custom_role_exists(
    conn: &mut PgConnection,
    org: Uuid,
    name: &str,
) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM custom_roles WHERE org_id = $1 AND name = $2)")
        .bind(org)
        .bind(name)
        .fetch_one(conn)
        .await
}

/// `(role, resource, action)` of every custom role of `org`.
pub async fn custom_permissions(
    pool: &PgPool,
    org: Uuid,
) -> sqlx::Result<Vec<(String, String, String)>> {
    sqlx::query_as(
        "SELECT role, resource, action FROM custom_role_permissions
         WHERE org_id = $1 ORDER BY role, resource, action",
    )
    .bind(org)
    .fetch_all(pool)
    .await
}

pub async fn create_custom_role(
    conn: &mut PgConnection,
    org: Uuid,
    name: &str,
    description: &str,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO custom_roles (org_id, name, description) VALUES ($1, $2, $3)")
        .bind(org)
        .bind(name)
        .bind(description)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_description(
    conn: &mut PgConnection,
    org: Uuid,
    name: &str,
    description: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE custom_roles SET description = $3 WHERE org_id = $1 AND name = $2")
        .bind(org)
        .bind(name)
        .bind(description)
        .execute(conn)
        .await?;
    Ok(())
}

/// Replaces the permissions of a custom role.
pub async fn set_permissions(
    conn: &mut PgConnection,
    org: Uuid,
    role: &str,
    permissions: &[(&str, &str)],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM custom_role_permissions WHERE org_id = $1 AND role = $2")
        .bind(org)
        .bind(role)
        .execute(&mut *conn)
        .await?;
    for (resource, action) in permissions {
        sqlx::query(
            "INSERT INTO custom_role_permissions (org_id, role, resource, action)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(org)
        .bind(role)
        .bind(resource)
        .bind(action)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// How many assignments use a role.
pub async fn assignment_count(conn: &mut PgConnection, org: Uuid, role: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM role_assignments WHERE org_id = $1 AND role = $2")
        .bind(org)
        .bind(role)
        .fetch_one(conn)
        .await
}

pub async fn delete_custom_role(
    conn: &mut PgConnection,
    org: Uuid,
    name: &str,
) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("DELETE FROM custom_roles WHERE org_id = $1 AND name = $2")
            .bind(org)
            .bind(name)
            .execute(conn)
            .await?
            .rows_affected()
            > 0,
    )
}
