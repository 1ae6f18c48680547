//! SQL of the vault schema. Every query names the org, so an id from another org finds nothing.

use chrono::{DateTime, Utc};
use keyward_crypto::Sealed;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// Metadata of a secret.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct KeyRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub team_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub kind: String,
    pub provider: String,
    pub name: String,
    pub tags: serde_json::Value,
    pub base_url: Option<String>,
    pub status: String,
    pub health: String,
    pub health_message: Option<String>,
    pub current_version: i32,
    pub masked: String,
    pub fingerprint: String,
    pub priority: i32,
    pub weight: i32,
    pub rotation_period_days: i32,
    pub rotated_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub access_flagged: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_validated_at: Option<DateTime<Utc>>,
}

/// The sealed columns of one version.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct VersionRow {
    pub secret_id: Uuid,
    pub version: i32,
    pub state: String,
    pub grace_until: Option<DateTime<Utc>>,
    pub ciphertext: Option<Vec<u8>>,
    pub nonce: Option<Vec<u8>>,
    pub wrapped_dek: Option<Vec<u8>>,
    pub dek_nonce: Option<Vec<u8>>,
    pub kek_version: Option<i32>,
}

impl VersionRow {
    /// The sealed record, or `None` once crypto-erased.
    pub fn sealed(&self) -> Option<Sealed> {
        let kek_version = u32::try_from(self.kek_version?).ok()?;
        Sealed::from_parts(
            self.ciphertext.clone()?,
            self.nonce.as_deref()?,
            self.wrapped_dek.as_deref()?,
            self.dek_nonce.as_deref()?,
            kek_version,
        )
        .ok()
    }
}

pub(crate) const KEY_COLUMNS: &str = "s.id, s.org_id, s.team_id, s.project_id, s.user_id, s.kind, s.provider, s.name, s.tags, \
     s.base_url, s.status, s.health, s.health_message, s.current_version, s.masked, s.fingerprint, s.priority, \
     s.weight, s.rotation_period_days, s.rotated_at, s.expires_at, s.access_flagged, s.created_by, s.created_at, \
     s.last_used_at, s.last_validated_at";

/// Registers a KEK version, or checks it matches the fingerprint stored for it.
pub async fn register_kek(
    pool: &PgPool,
    version: i32,
    fingerprint: &str,
) -> sqlx::Result<Result<(), String>> {
    sqlx::query("INSERT INTO kek_versions (version, fingerprint) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING")
        .bind(version)
        .bind(fingerprint)
        .execute(pool)
        .await?;
    let stored: String =
        sqlx::query_scalar("SELECT fingerprint FROM kek_versions WHERE version = $1")
            .bind(version)
            .fetch_one(pool)
            .await?;
    if stored == fingerprint {
        Ok(Ok(()))
    } else {
        Ok(Err(format!(
            "KEK version {version} is not the key that sealed this vault's data (fingerprint mismatch)"
        )))
    }
}

/// Counts one more data-key wrap under `version`; returns the new count.
pub async fn count_wrap(tx: &mut Transaction<'_, Postgres>, version: i32) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "UPDATE kek_versions SET wraps = wraps + 1 WHERE version = $1 RETURNING wraps",
    )
    .bind(version)
    .fetch_one(&mut **tx)
    .await
}

/// Inserts a new secret and its first version.
pub async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    k: &KeyRow,
    sealed: &Sealed,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO secrets (id, org_id, team_id, project_id, user_id, kind, provider, name, tags, base_url, \
         status, health, current_version, masked, fingerprint, priority, weight, rotation_period_days, expires_at, \
         created_by, last_validated_at, health_message) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22)",
    )
    .bind(k.id)
    .bind(k.org_id)
    .bind(k.team_id)
    .bind(k.project_id)
    .bind(k.user_id)
    .bind(&k.kind)
    .bind(&k.provider)
    .bind(&k.name)
    .bind(&k.tags)
    .bind(&k.base_url)
    .bind(&k.status)
    .bind(&k.health)
    .bind(k.current_version)
    .bind(&k.masked)
    .bind(&k.fingerprint)
    .bind(k.priority)
    .bind(k.weight)
    .bind(k.rotation_period_days)
    .bind(k.expires_at)
    .bind(&k.created_by)
    .bind(k.last_validated_at)
    .bind(&k.health_message)
    .execute(&mut **tx)
    .await?;
    insert_version(tx, k.id, k.current_version, sealed).await
}

async fn insert_version(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    version: i32,
    sealed: &Sealed,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO secret_versions (secret_id, version, state, ciphertext, nonce, wrapped_dek, dek_nonce, kek_version) \
         VALUES ($1, $2, 'current', $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(version)
    .bind(&sealed.ciphertext)
    .bind(sealed.nonce.as_slice())
    .bind(sealed.wrapped_dek.as_slice())
    .bind(sealed.dek_nonce.as_slice())
    .bind(i32::try_from(sealed.kek_version).unwrap_or(i32::MAX))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One secret of an org.
pub async fn get(pool: &PgPool, org: Uuid, id: Uuid) -> sqlx::Result<Option<KeyRow>> {
    sqlx::query_as(&format!(
        "SELECT {KEY_COLUMNS} FROM secrets s WHERE s.org_id = $1 AND s.id = $2"
    ))
    .bind(org)
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Filters of a listing.
pub struct ListFilter {
    pub org: Uuid,
    pub provider: Option<String>,
    pub team: Option<Uuid>,
    pub include_inactive: bool,
    pub after: Option<Uuid>,
    pub limit: i64,
}

/// An org's secrets, newest first, keyset-paginated by id (UUIDv7 ids sort by time).
pub async fn list(pool: &PgPool, f: &ListFilter) -> sqlx::Result<Vec<KeyRow>> {
    sqlx::query_as(&format!(
        "SELECT {KEY_COLUMNS} FROM secrets s WHERE s.org_id = $1 \
         AND ($2::text IS NULL OR s.provider = $2) AND ($3::uuid IS NULL OR s.team_id = $3) \
         AND ($4 OR s.status = 'active') AND ($5::uuid IS NULL OR s.id < $5) \
         ORDER BY s.id DESC LIMIT $6"
    ))
    .bind(f.org)
    .bind(&f.provider)
    .bind(f.team)
    .bind(f.include_inactive)
    .bind(f.after)
    .bind(f.limit)
    .fetch_all(pool)
    .await
}

/// Who asks for a key: the scope fields that may narrow it.
pub struct ScopeQuery {
    pub org: Uuid,
    pub team: Option<Uuid>,
    pub project: Option<Uuid>,
    pub user: Option<Uuid>,
}

/// Active, unexpired provider keys of `provider` visible to the scope, most specific first
/// (user → project → team → org), then by priority, with their current version.
pub async fn resolve_candidates(
    pool: &PgPool,
    scope: &ScopeQuery,
    provider: &str,
) -> sqlx::Result<Vec<(KeyRow, VersionRow)>> {
    let rows: Vec<JoinedRow> = sqlx::query_as(&format!(
        "SELECT {KEY_COLUMNS}, v.secret_id, v.version, v.state, v.grace_until, v.ciphertext, v.nonce, \
         v.wrapped_dek, v.dek_nonce, v.kek_version \
         FROM secrets s JOIN secret_versions v ON v.secret_id = s.id AND v.version = s.current_version \
         WHERE s.org_id = $1 AND s.provider = $2 AND s.kind = 'provider_key' AND s.status = 'active' \
         AND (s.expires_at IS NULL OR s.expires_at > now()) \
         AND (s.user_id IS NULL OR s.user_id = $3) AND (s.project_id IS NULL OR s.project_id = $4) \
         AND (s.team_id IS NULL OR s.team_id = $5) \
         ORDER BY CASE WHEN s.user_id IS NOT NULL THEN 0 WHEN s.project_id IS NOT NULL THEN 1 \
                       WHEN s.team_id IS NOT NULL THEN 2 ELSE 3 END, s.priority DESC, s.id"
    ))
    .bind(scope.org)
    .bind(provider)
    .bind(scope.user)
    .bind(scope.project)
    .bind(scope.team)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(JoinedRow::split).collect())
}

/// A key and one of its versions.
pub async fn get_version(
    pool: &PgPool,
    org: Uuid,
    id: Uuid,
    version: Option<i32>,
) -> sqlx::Result<Option<(KeyRow, VersionRow)>> {
    let row: Option<JoinedRow> = sqlx::query_as(&format!(
        "SELECT {KEY_COLUMNS}, v.secret_id, v.version, v.state, v.grace_until, v.ciphertext, v.nonce, \
         v.wrapped_dek, v.dek_nonce, v.kek_version \
         FROM secrets s JOIN secret_versions v ON v.secret_id = s.id AND v.version = COALESCE($3, s.current_version) \
         WHERE s.org_id = $1 AND s.id = $2"
    ))
    .bind(org)
    .bind(id)
    .bind(version)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(JoinedRow::split))
}

#[derive(sqlx::FromRow)]
struct JoinedRow {
    #[sqlx(flatten)]
    key: KeyRow,
    #[sqlx(flatten)]
    version: VersionRow,
}

impl JoinedRow {
    fn split(self) -> (KeyRow, VersionRow) {
        (self.key, self.version)
    }
}

/// Adds version `new_version` as current and puts the previous one in grace until `grace_until`
/// (or revokes and erases it at once when there is no grace).
pub async fn rotate(
    tx: &mut Transaction<'_, Postgres>,
    k: &KeyRow,
    new_version: i32,
    sealed: &Sealed,
    grace_until: Option<DateTime<Utc>>,
    masked: &str,
    fingerprint: &str,
) -> sqlx::Result<()> {
    match grace_until {
        Some(until) => {
            sqlx::query("UPDATE secret_versions SET state = 'grace', grace_until = $3 WHERE secret_id = $1 AND version = $2")
                .bind(k.id)
                .bind(k.current_version)
                .bind(until)
                .execute(&mut **tx)
                .await?;
        }
        None => erase_versions(tx, k.id, Some(k.current_version)).await?,
    }
    insert_version(tx, k.id, new_version, sealed).await?;
    sqlx::query(
        "UPDATE secrets SET current_version = $2, masked = $3, fingerprint = $4, rotated_at = now(), \
         rotation_notice = 0, updated_at = now() WHERE id = $1",
    )
    .bind(k.id)
    .bind(new_version)
    .bind(masked)
    .bind(fingerprint)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Crypto-erases one version, or all of a secret's versions.
pub async fn erase_versions(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    version: Option<i32>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE secret_versions SET state = 'erased', ciphertext = NULL, nonce = NULL, wrapped_dek = NULL, \
         dek_nonce = NULL, kek_version = NULL, grace_until = NULL \
         WHERE secret_id = $1 AND ($2::int IS NULL OR version = $2)",
    )
    .bind(id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Sets a secret's status.
pub async fn set_status(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    status: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE secrets SET status = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(status)
        .execute(&mut **tx)
        .await?;
    if status == "revoked" {
        sqlx::query("UPDATE secret_versions SET state = 'revoked', grace_until = NULL WHERE secret_id = $1 AND state IN ('current', 'grace')")
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Sets the given fields of a key (`None` keeps a field); the updated row, or `None` when the
/// org has no such key.
pub async fn update_meta(
    pool: &PgPool,
    org: Uuid,
    id: Uuid,
    name: Option<&str>,
    priority: Option<i32>,
    weight: Option<i32>,
    rotation_period_days: Option<i32>,
) -> sqlx::Result<Option<KeyRow>> {
    let updated = sqlx::query(
        "UPDATE secrets SET name = COALESCE($3, name), priority = COALESCE($4, priority), \
         weight = COALESCE($5, weight), rotation_period_days = COALESCE($6, rotation_period_days), \
         updated_at = now() WHERE org_id = $1 AND id = $2 AND status <> 'deleted'",
    )
    .bind(org)
    .bind(id)
    .bind(name)
    .bind(priority)
    .bind(weight)
    .bind(rotation_period_days)
    .execute(pool)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(None);
    }
    get(pool, org, id).await
}

/// Records a validation result.
pub async fn set_health(pool: &PgPool, id: Uuid, health: &str, message: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE secrets SET health = $2, health_message = $3, last_validated_at = now() WHERE id = $1")
        .bind(id)
        .bind(health)
        .bind(message)
        .execute(pool)
        .await?;
    Ok(())
}
