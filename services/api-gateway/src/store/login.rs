//! Sign-in attempts (per-address rate limit) and per-e-mail lockouts.

use sqlx::PgPool;
use uuid::Uuid;

/// Attempts from `ip` in the last minute.
pub async fn recent_from_ip(pool: &PgPool, ip: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM login_attempts WHERE ip = $1 AND at > now() - interval '1 minute'",
    )
    .bind(ip)
    .fetch_one(pool)
    .await
}

/// Records one attempt.
pub async fn record(pool: &PgPool, email: &str, ip: &str, outcome: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO login_attempts (id, email, ip, outcome) VALUES ($1, $2, $3, $4)")
        .bind(Uuid::now_v7())
        .bind(email)
        .bind(ip)
        .bind(outcome)
        .execute(pool)
        .await?;
    Ok(())
}

/// Seconds until `email` is unlocked, when it is locked.
pub async fn locked_for(pool: &PgPool, email: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT ceil(extract(epoch FROM locked_until - now()))::bigint
         FROM login_lockouts WHERE email = $1 AND locked_until > now()",
    )
    .bind(email)
    .fetch_optional(pool)
    .await
}

/// Counts a failure; locks the e-mail when it reaches `threshold` within `window_secs`.
/// Returns whether this failure locked it.
pub async fn record_failure(
    pool: &PgPool,
    email: &str,
    threshold: u32,
    window_secs: u64,
    lock_secs: u64,
) -> sqlx::Result<bool> {
    let locked: Option<bool> = sqlx::query_scalar(
        "INSERT INTO login_lockouts AS l (email, failures, window_start)
         VALUES ($1, 1, now())
         ON CONFLICT (email) DO UPDATE SET
           failures = CASE WHEN l.window_start < now() - make_interval(secs => $3) THEN 1
                           ELSE l.failures + 1 END,
           window_start = CASE WHEN l.window_start < now() - make_interval(secs => $3) THEN now()
                               ELSE l.window_start END
         RETURNING failures >= $2",
    )
    .bind(email)
    .bind(i32::try_from(threshold).unwrap_or(i32::MAX))
    .bind(window_secs as f64)
    .fetch_optional(pool)
    .await?;
    if locked == Some(true) {
        sqlx::query(
            "UPDATE login_lockouts SET locked_until = now() + make_interval(secs => $2),
                    failures = 0, window_start = now()
             WHERE email = $1",
        )
        .bind(email)
        .bind(lock_secs as f64)
        .execute(pool)
        .await?;
        return Ok(true);
    }
    Ok(false)
}

/// Forgets the failures of `email` (after a successful sign-in).
pub async fn clear(pool: &PgPool, email: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_lockouts WHERE email = $1")
        .bind(email)
        .execute(pool)
        .await?;
    Ok(())
}

/// Drops attempts older than a day.
pub async fn prune(pool: &PgPool) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("DELETE FROM login_attempts WHERE at < now() - interval '1 day'")
            .execute(pool)
            .await?
            .rows_affected(),
    )
}
