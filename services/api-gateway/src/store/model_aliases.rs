//! Org model aliases (`identity.model_aliases`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

/// An org's name for a model.
#[derive(Clone, Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct ModelAlias {
    pub id: Uuid,
    /// What clients send as `model`.
    #[schema(example = "fast")]
    pub alias: String,
    /// A catalog model name or `provider/model`.
    #[schema(example = "openai/gpt-4o-mini")]
    pub target: String,
    pub created_at: DateTime<Utc>,
}

const COLS: &str = "id, alias, target, created_at";

/// Every alias of `org`, by name (an org has few).
pub async fn list(pool: &PgPool, org: Uuid) -> sqlx::Result<Vec<ModelAlias>> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM model_aliases WHERE org_id = $1 ORDER BY alias"
    ))
    .bind(org)
    .fetch_all(pool)
    .await
}

pub async fn create(
    pool: &PgPool,
    org: Uuid,
    alias: &str,
    target: &str,
    created_by: Uuid,
) -> sqlx::Result<ModelAlias> {
    sqlx::query_as(&format!(
        "INSERT INTO model_aliases (id, org_id, alias, target, created_by)
         VALUES ($1, $2, $3, $4, $5) RETURNING {COLS}"
    ))
    .bind(Uuid::now_v7())
    .bind(org)
    .bind(alias)
    .bind(target)
    .bind(created_by)
    .fetch_one(pool)
    .await
}

/// Deletes one alias of `org`; the deleted row, if there was one.
pub async fn delete(pool: &PgPool, org: Uuid, id: Uuid) -> sqlx::Result<Option<ModelAlias>> {
    sqlx::query_as(&format!(
        "DELETE FROM model_aliases WHERE org_id = $1 AND id = $2 RETURNING {COLS}"
    ))
    .bind(org)
    .bind(id)
    .fetch_optional(pool)
    .await
}
