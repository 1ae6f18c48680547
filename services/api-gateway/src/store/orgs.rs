//! Organizations.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

/// An organization.
#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Org {
    pub id: Uuid,
    pub name: String,
    /// Owners and admins must sign in with a TOTP code.
    pub require_totp: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLS: &str = "id, name, require_totp, created_at, updated_at";

pub async fn get(pool: &PgPool, id: Uuid) -> sqlx::Result<Option<Org>> {
    sqlx::query_as(&format!("SELECT {COLS} FROM orgs WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn find_by_name(conn: &mut PgConnection, name: &str) -> sqlx::Result<Option<Org>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM orgs WHERE lower(name) = lower($1)"
    ))
    .bind(name)
    .fetch_optional(conn)
    .await
}

/// The orgs `user` is a member of, oldest first.
pub async fn list_for_user(pool: &PgPool, user: Uuid) -> sqlx::Result<Vec<Org>> {
    sqlx::query_as(
        "SELECT o.id, o.name, o.require_totp, o.created_at, o.updated_at
         FROM orgs o JOIN memberships m ON m.org_id = o.id WHERE m.user_id = $1 ORDER BY o.id",
    )
    .bind(user)
    .fetch_all(pool)
    .await
}

pub async fn create(conn: &mut PgConnection, name: &str) -> sqlx::Result<Org> {
    sqlx::query_as(&format!(
        "INSERT INTO orgs (id, name) VALUES ($1, $2) RETURNING {COLS}"
    ))
    .bind(Uuid::now_v7())
    .bind(name)
    .fetch_one(conn)
    .await
}

pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    name: Option<&str>,
    require_totp: Option<bool>,
) -> sqlx::Result<Option<Org>> {
    sqlx::query_as(&format!(
        "UPDATE orgs SET name = COALESCE($2, name), require_totp = COALESCE($3, require_totp),
                updated_at = now()
         WHERE id = $1 RETURNING {COLS}"
    ))
    .bind(id)
    .bind(name)
    .bind(require_totp)
    .fetch_optional(conn)
    .await
}
