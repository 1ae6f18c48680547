//! Sessions (refresh-token families) and refresh tokens.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use keyward_core::id::{OrgId, UserId};

/// What the middleware needs of a live session.
#[derive(sqlx::FromRow)]
pub struct ActiveSession {
    pub email: String,
    pub mfa: bool,
    pub require_totp: bool,
}

/// The session if it is live: not revoked, not expired, user enabled and still a member.
pub async fn active(
    pool: &PgPool,
    sid: Uuid,
    user: UserId,
    org: OrgId,
) -> sqlx::Result<Option<ActiveSession>> {
    sqlx::query_as(
        "SELECT u.email, s.mfa, o.require_totp
         FROM sessions s JOIN users u ON u.id = s.user_id JOIN orgs o ON o.id = s.org_id
         WHERE s.id = $1 AND s.user_id = $2 AND s.org_id = $3
           AND s.revoked_at IS NULL AND s.expires_at > now() AND u.disabled_at IS NULL",
    )
    .bind(sid)
    .bind(user.uuid())
    .bind(org.uuid())
    .fetch_optional(pool)
    .await
}

/// Starts a session.
pub async fn create(
    conn: &mut PgConnection,
    user: UserId,
    org: OrgId,
    mfa: bool,
    ip: &str,
    user_agent: &str,
    ttl_secs: u64,
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO sessions (id, user_id, org_id, mfa, ip, user_agent, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))",
    )
    .bind(id)
    .bind(user.uuid())
    .bind(org.uuid())
    .bind(mfa)
    .bind(ip)
    .bind(user_agent)
    .bind(ttl_secs as f64)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Stores a refresh token's hash in a session.
pub async fn insert_refresh(
    conn: &mut PgConnection,
    session: Uuid,
    hash: &[u8],
    ttl_secs: u64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, session_id, token_hash, expires_at)
         VALUES ($1, $2, $3, LEAST(now() + make_interval(secs => $4),
                 (SELECT expires_at FROM sessions WHERE id = $2)))",
    )
    .bind(Uuid::now_v7())
    .bind(session)
    .bind(hash)
    .bind(ttl_secs as f64)
    .execute(conn)
    .await?;
    Ok(())
}

/// A refresh token with the state of its session, locked for the exchange.
#[derive(sqlx::FromRow)]
pub struct RefreshRow {
    pub token_id: Uuid,
    pub session_id: Uuid,
    pub used: bool,
    pub token_live: bool,
    pub session_live: bool,
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub email: String,
}

/// Finds a refresh token by hash and locks its session row.
pub async fn find_refresh(
    conn: &mut PgConnection,
    hash: &[u8],
) -> sqlx::Result<Option<RefreshRow>> {
    sqlx::query_as(
        "SELECT t.id AS token_id, s.id AS session_id, t.used_at IS NOT NULL AS used,
                t.expires_at > now() AS token_live,
                (s.revoked_at IS NULL AND s.expires_at > now() AND u.disabled_at IS NULL) AS session_live,
                s.user_id, s.org_id, u.email
         FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id
         WHERE t.token_hash = $1
         FOR UPDATE OF s, t",
    )
    .bind(hash)
    .fetch_optional(conn)
    .await
}

/// Marks a token exchanged.
pub async fn mark_used(conn: &mut PgConnection, token: Uuid) -> sqlx::Result<()> {
    sqlx::query("UPDATE refresh_tokens SET used_at = now() WHERE id = $1")
        .bind(token)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records a refresh on the session.
pub async fn touch(conn: &mut PgConnection, session: Uuid) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET last_refreshed_at = now() WHERE id = $1")
        .bind(session)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends a session (and so every token of its family). Returns whether it was live.
pub async fn revoke(conn: &mut PgConnection, session: Uuid, reason: &str) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "UPDATE sessions SET revoked_at = now(), revoke_reason = $2
         WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(session)
    .bind(reason)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// Ends every session of a user except `keep`. Returns how many.
pub async fn revoke_all(
    conn: &mut PgConnection,
    user: UserId,
    keep: Option<Uuid>,
    reason: &str,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE sessions SET revoked_at = now(), revoke_reason = $3
         WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $2",
    )
    .bind(user.uuid())
    .bind(keep)
    .bind(reason)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Marks that a TOTP code was verified in this session.
pub async fn set_mfa(conn: &mut PgConnection, session: Uuid) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET mfa = true WHERE id = $1")
        .bind(session)
        .execute(conn)
        .await?;
    Ok(())
}
