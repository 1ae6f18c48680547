//! Sealed TOTP secrets.

use sqlx::PgConnection;
use uuid::Uuid;

/// A user's TOTP record.
#[derive(sqlx::FromRow)]
pub struct TotpRow {
    pub sealed: Vec<u8>,
    pub confirmed: bool,
    pub last_step: Option<i64>,
}

pub async fn get(conn: &mut PgConnection, user: Uuid) -> sqlx::Result<Option<TotpRow>> {
    sqlx::query_as(
        "SELECT sealed, confirmed_at IS NOT NULL AS confirmed, last_step
         FROM totp_secrets WHERE user_id = $1 FOR UPDATE",
    )
    .bind(user)
    .fetch_optional(conn)
    .await
}

/// Stores a new, unconfirmed secret (replacing an unconfirmed one).
pub async fn put_pending(conn: &mut PgConnection, user: Uuid, sealed: &[u8]) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "INSERT INTO totp_secrets (user_id, sealed) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET sealed = $2, created_at = now(), last_step = NULL
         WHERE totp_secrets.confirmed_at IS NULL",
    )
    .bind(user)
    .bind(sealed)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// Records an accepted code's step; confirms the secret if it was pending.
pub async fn accept_step(conn: &mut PgConnection, user: Uuid, step: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE totp_secrets SET last_step = $2, confirmed_at = COALESCE(confirmed_at, now())
         WHERE user_id = $1",
    )
    .bind(user)
    .bind(step)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut PgConnection, user: Uuid) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM totp_secrets WHERE user_id = $1")
        .bind(user)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether `user` has a confirmed secret.
pub async fn enrolled(conn: &mut PgConnection, user: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM totp_secrets WHERE user_id = $1 AND confirmed_at IS NOT NULL)",
    )
    .bind(user)
    .fetch_one(conn)
    .await
}
