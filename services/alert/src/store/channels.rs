//! `alert.channels`. Never holds a secret: `secret_ref` names the vault key.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::error::{AlertError, Result};
use crate::model::{Channel, ChannelKind};

macro_rules! columns {
    () => {
        "id, org_id, name, kind, settings, secret_ref, secret_hint, enabled, created_at, updated_at"
    };
}

fn from_row(row: &PgRow) -> Result<Channel> {
    let kind: String = row.try_get("kind")?;
    Ok(Channel {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        name: row.try_get("name")?,
        kind: ChannelKind::parse(&kind)
            .ok_or_else(|| AlertError::Internal(format!("stored channel kind {kind}")))?,
        settings: row.try_get("settings")?,
        secret_ref: row.try_get("secret_ref")?,
        secret_hint: row.try_get("secret_hint")?,
        enabled: row.try_get("enabled")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Inserts a channel.
pub async fn insert(conn: &mut PgConnection, c: &Channel) -> Result<()> {
    sqlx::query(concat!(
        "INSERT INTO channels (",
        columns!(),
        ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$9)"
    ))
    .bind(c.id)
    .bind(c.org_id)
    .bind(&c.name)
    .bind(c.kind.as_str())
    .bind(&c.settings)
    .bind(c.secret_ref)
    .bind(&c.secret_hint)
    .bind(c.enabled)
    .bind(c.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Saves a live channel's editable fields; `false` when there is no such channel.
pub async fn update(conn: &mut PgConnection, c: &Channel) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE channels SET name = $3, settings = $4, secret_ref = $5, secret_hint = $6, \
         enabled = $7, updated_at = $8 WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL",
    )
    .bind(c.org_id)
    .bind(c.id)
    .bind(&c.name)
    .bind(&c.settings)
    .bind(c.secret_ref)
    .bind(&c.secret_hint)
    .bind(c.enabled)
    .bind(c.updated_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A live channel.
pub async fn get(pool: &PgPool, org: Uuid, id: Uuid) -> Result<Option<Channel>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM channels WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL"
    ))
    .bind(org)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// A live channel, locked for the caller's transaction.
pub async fn get_for_update(
    conn: &mut PgConnection,
    org: Uuid,
    id: Uuid,
) -> Result<Option<Channel>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM channels WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE"
    ))
    .bind(org)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// An org's live channels, by name.
pub async fn list(pool: &PgPool, org: Uuid) -> Result<Vec<Channel>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM channels WHERE org_id = $1 AND deleted_at IS NULL ORDER BY lower(name), id"
    ))
    .bind(org)
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The live, enabled channels among `ids`, in the order of `ids`; every one of the org's when
/// `ids` is empty (a rule without channels notifies all of them).
pub async fn targets(conn: &mut PgConnection, org: Uuid, ids: &[Uuid]) -> Result<Vec<Channel>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM channels WHERE org_id = $1 AND deleted_at IS NULL AND enabled \
         AND (cardinality($2::uuid[]) = 0 OR id = ANY($2)) ORDER BY created_at, id"
    ))
    .bind(org)
    .bind(ids)
    .fetch_all(conn)
    .await?;
    let mut found: Vec<Channel> = rows.iter().map(from_row).collect::<Result<_>>()?;
    if !ids.is_empty() {
        found.sort_by_key(|c| ids.iter().position(|i| *i == c.id).unwrap_or(usize::MAX));
    }
    Ok(found)
}

/// Which of `ids` are live channels of `org`.
pub async fn existing(conn: &mut PgConnection, org: Uuid, ids: &[Uuid]) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM channels WHERE org_id = $1 AND id = ANY($2) AND deleted_at IS NULL",
    )
    .bind(org)
    .bind(ids)
    .fetch_all(conn)
    .await?)
}

/// Names of live rules whose only channel is `id` (deleting it would make them notify every
/// channel, so the caller refuses).
pub async fn sole_channel_of(conn: &mut PgConnection, org: Uuid, id: Uuid) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT name FROM rules WHERE org_id = $1 AND deleted_at IS NULL \
         AND channel_ids = ARRAY[$2]::uuid[] ORDER BY name",
    )
    .bind(org)
    .bind(id)
    .fetch_all(conn)
    .await?)
}

/// Soft-deletes a channel and takes it out of every rule; `false` when there is no such channel.
pub async fn delete(conn: &mut PgConnection, org: Uuid, id: Uuid) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE channels SET deleted_at = now(), enabled = false, updated_at = now() \
         WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL",
    )
    .bind(org)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE rules SET channel_ids = array_remove(channel_ids, $2), \
         escalation_channel_ids = array_remove(escalation_channel_ids, $2), updated_at = now() \
         WHERE org_id = $1 AND ($2 = ANY(channel_ids) OR $2 = ANY(escalation_channel_ids))",
    )
    .bind(org)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(true)
}

/// Whether `key` is the vault key of one of `org`'s channels.
pub async fn is_secret_ref(conn: &mut PgConnection, org: Uuid, key: Uuid) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM channels WHERE org_id = $1 AND secret_ref = $2)",
    )
    .bind(org)
    .bind(key)
    .fetch_one(conn)
    .await?)
}
