//! Vault operations: handler → domain → store. Every operation is audited; `Resolve` and
//! `Export` fail closed when their audit event is not confirmed by the broker.

use std::time::Duration;

use chrono::{DateTime, Utc};
use keyward_bus::Publisher;
use keyward_core::ErrorCode;
use keyward_crypto::{Aad, Sealed};
use keyward_proto::v1::{self as pb, SecretMaterial};
use sqlx::PgPool;
use uuid::Uuid;

use crate::config::Config;
use crate::kek::Keys;
use crate::monitor::Counters;
use crate::store::{self, KeyRow, VersionRow};
use crate::{audit, secret};

/// A vault error; messages never contain secret material.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Precondition(String),
    #[error("key not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl VaultError {
    /// The platform error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            VaultError::Invalid(_) => ErrorCode::InvalidArgument,
            VaultError::Precondition(_) => ErrorCode::Unprocessable,
            VaultError::NotFound => ErrorCode::NotFound,
            VaultError::Conflict(_) => ErrorCode::Conflict,
            VaultError::Unavailable(_) => ErrorCode::Unavailable,
            VaultError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<sqlx::Error> for VaultError {
    fn from(e: sqlx::Error) -> Self {
        if let Some(db) = e.as_database_error()
            && db.code().as_deref() == Some("23505")
        {
            return VaultError::Conflict("a live key with this name already exists".into());
        }
        VaultError::Unavailable(format!("database {}", keyward_db::describe(&e)))
    }
}

/// Result alias.
pub type Result<T, E = VaultError> = std::result::Result<T, E>;

/// The vault.
pub struct Vault {
    pub(crate) pool: PgPool,
    pub(crate) keys: Keys,
    pub(crate) publisher: Publisher,
    pub(crate) cfg: Config,
    pub(crate) http: reqwest::Client,
    pub(crate) counters: Counters,
    pub(crate) policies: crate::policy::Policies,
    /// Set once every configured KEK version is registered (the monitor does it at start);
    /// until then sealing has no KEK row to count against and `/readyz` reports `kek`.
    pub(crate) keks_registered: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

pub(crate) fn parse_id(field: &str, s: &str) -> Result<Uuid> {
    Uuid::parse_str(s.trim()).map_err(|_| VaultError::Invalid(format!("{field} must be a UUID")))
}

pub(crate) fn parse_opt_id(field: &str, s: &Option<String>) -> Result<Option<Uuid>> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => parse_id(field, v).map(Some),
    }
}

fn kind_name(kind: i32) -> Result<&'static str> {
    match pb::SecretKind::try_from(kind) {
        Ok(pb::SecretKind::Unspecified | pb::SecretKind::ProviderKey) => Ok("provider_key"),
        Ok(pb::SecretKind::ChannelCredential) => Ok("channel_credential"),
        Err(_) => Err(VaultError::Invalid(
            "kind is not a known secret kind".into(),
        )),
    }
}

fn aad<'a>(k: &'a KeyRow, org: &'a str, id: &'a str, version: i32) -> Aad<'a> {
    Aad::new(org, id, &k.provider, u32::try_from(version).unwrap_or(0))
}

impl Vault {
    /// A vault over `pool`, sealing with `keys`, publishing audit and domain events.
    pub fn new(pool: PgPool, keys: Keys, publisher: Publisher, cfg: Config) -> Result<Self> {
        let http = keyward_providers::http_client()
            .map_err(|e| VaultError::Internal(format!("http client: {e}")))?;
        Ok(Self {
            pool,
            keys,
            publisher,
            cfg,
            http,
            counters: Counters::default(),
            policies: crate::policy::Policies::default(),
            keks_registered: std::sync::Arc::default(),
        })
    }

    /// Seals `material` for key `k` at `version`, counting the wrap against the KEK budget.
    pub(crate) async fn seal(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        k: &KeyRow,
        version: i32,
        material: &SecretMaterial,
    ) -> Result<Sealed> {
        let provider = self.keys.provider();
        let kek_version = i32::try_from(provider.current_version()).unwrap_or(i32::MAX);
        let wraps = store::count_wrap(tx, kek_version)
            .await
            .map_err(|e| match e {
                sqlx::Error::RowNotFound => VaultError::Unavailable(format!(
                    "KEK version {kek_version} is not registered yet; retry shortly"
                )),
                e => e.into(),
            })?;
        keyward_crypto::check_wrap_budget(u64::try_from(wraps).unwrap_or(u64::MAX))
            .map_err(|e| VaultError::Precondition(e.to_string()))?;
        let (org, id) = (k.org_id.to_string(), k.id.to_string());
        let plain = secret::encode(material);
        keyward_crypto::seal(
            provider.as_ref(),
            &aad(k, &org, &id, version),
            plain.expose(),
        )
        .map_err(|e| VaultError::Internal(e.to_string()))
    }

    /// Opens one version's secret.
    pub(crate) fn open(&self, k: &KeyRow, v: &VersionRow) -> Result<SecretMaterial> {
        let sealed = v.sealed().ok_or(VaultError::NotFound)?;
        let (org, id) = (k.org_id.to_string(), k.id.to_string());
        let provider = self.keys.provider();
        let plain = keyward_crypto::open(provider.as_ref(), &aad(k, &org, &id, v.version), &sealed)
            .map_err(|_| {
                VaultError::Internal(
                    "a stored secret failed to open (tampered, moved, or wrong KEK)".into(),
                )
            })?;
        secret::decode(&plain)
            .ok_or_else(|| VaultError::Internal("a stored secret is malformed".into()))
    }

    /// Publishes an audit event and waits for the broker; on failure the event is spooled so it
    /// is never lost (for actions that reveal nothing).
    pub(crate) async fn audit(&self, event: pb::AuditEvent) {
        if self.publisher.audit_confirmed(&event).await.is_err()
            && let Err(e) = self.publisher.audit(&event)
        {
            tracing::error!(error = %e, action = %event.action, "audit event could not be published or spooled");
        }
    }

    /// Publishes an audit event and fails when the broker does not confirm it (fail-closed).
    pub(crate) async fn audit_or_fail(&self, event: pb::AuditEvent) -> Result<()> {
        self.publisher.audit_confirmed(&event).await.map_err(|e| {
            tracing::warn!(error = %e, action = %event.action, "audit not confirmed; refusing to reveal a secret");
            VaultError::Unavailable("the audit trail is unavailable, so no secret is revealed; retry shortly".into())
        })
    }

    pub(crate) fn domain_event(&self, org: Uuid, payload: pb::domain_event::Payload) {
        let event = pb::DomainEvent {
            event_id: Uuid::now_v7().to_string(),
            occurred_at: Some(keyward_proto::time::now()),
            org_id: org.to_string(),
            payload: Some(payload),
        };
        if let Err(e) = self.publisher.domain(&event) {
            tracing::error!(error = %e, "domain event could not be published or spooled");
        }
    }

    /// `Store`.
    pub async fn store(
        &self,
        req: pb::StoreKeyRequest,
    ) -> Result<(KeyRow, Option<keyward_providers::ValidationResult>)> {
        let scope = req
            .scope
            .as_ref()
            .ok_or_else(|| VaultError::Invalid("scope.org_id is required".into()))?;
        let org = parse_id("scope.org_id", &scope.org_id)?;
        let name = req.name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(VaultError::Invalid(
                "name must be 1 to 200 characters".into(),
            ));
        }
        let kind = kind_name(req.kind)?;
        let weight = key_weight(req.weight)?;
        key_priority(req.priority)?;
        let provider = req.provider.trim().to_ascii_lowercase();
        let material = req
            .secret
            .as_ref()
            .ok_or_else(|| VaultError::Invalid("secret is required".into()))?;
        let parsed = secret::check(kind == "provider_key", &provider, material)
            .map_err(VaultError::Invalid)?;
        let provider = parsed.map_or(provider, |p| p.as_str().to_string());
        let base_url = check_base_url(req.base_url.as_deref())?;
        let validation = match (req.validate, parsed) {
            (true, Some(p)) => {
                let v = self.validate_live(p, material, base_url.as_deref()).await;
                if v.outcome == keyward_providers::Outcome::Invalid {
                    return Err(VaultError::Precondition(format!(
                        "the provider rejected this key: {}",
                        v.message
                    )));
                }
                Some(v)
            }
            _ => None,
        };
        let mut k = KeyRow {
            id: Uuid::now_v7(),
            org_id: org,
            team_id: parse_opt_id("scope.team_id", &scope.team_id)?,
            project_id: parse_opt_id("scope.project_id", &scope.project_id)?,
            user_id: parse_opt_id("scope.user_id", &scope.user_id)?,
            kind: kind.into(),
            provider,
            name: name.into(),
            tags: serde_json::to_value(&req.tags).unwrap_or_default(),
            base_url,
            status: "active".into(),
            health: validation
                .as_ref()
                .map_or("unspecified", |v| v.outcome.as_str())
                .into(),
            health_message: validation.as_ref().map(|v| v.message.clone()),
            current_version: 1,
            masked: secret::masked(material),
            fingerprint: secret::fingerprint(material),
            priority: req.priority,
            weight,
            rotation_period_days: i32::try_from(if req.rotation_period_days == 0 {
                self.cfg.rotation_due_days
            } else {
                req.rotation_period_days
            })
            .unwrap_or(90),
            rotated_at: Utc::now(),
            expires_at: req.expires_at.as_ref().map(ts),
            access_flagged: false,
            created_by: req
                .ctx
                .as_ref()
                .and_then(|c| c.actor.as_ref())
                .map(|a| a.id.clone())
                .unwrap_or_default(),
            created_at: Utc::now(),
            last_used_at: None,
            last_validated_at: validation.as_ref().map(|_| Utc::now()),
        };
        if let Some(exp) = k.expires_at
            && exp <= Utc::now()
        {
            return Err(VaultError::Invalid(
                "expires_at must be in the future".into(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        let sealed = self.seal(&mut tx, &k, 1, material).await?;
        store::insert(&mut tx, &k, &sealed).await?;
        tx.commit().await?;
        k.status = "active".into();
        self.audit(audit::event(
            req.ctx.as_ref(),
            &org.to_string(),
            "store",
            &k.id.to_string(),
            "success",
            "",
        ))
        .await;
        Ok((k, validation))
    }

    pub(crate) async fn validate_live(
        &self,
        p: keyward_providers::Provider,
        material: &SecretMaterial,
        key_base_url: Option<&str>,
    ) -> keyward_providers::ValidationResult {
        let base = key_base_url.or_else(|| {
            self.cfg
                .provider_base_urls
                .get(p.as_str())
                .map(String::as_str)
        });
        let opts = keyward_providers::ValidateOptions {
            base_url: base,
            timeout: Duration::from_millis(self.cfg.validation_timeout_ms),
        };
        keyward_providers::validate_with(&self.http, p, &secret::provider_secret(material), opts)
            .await
    }

    /// A key of an org (metadata only).
    pub async fn get(&self, org: &str, id: &str) -> Result<KeyRow> {
        let org = parse_id("org_id", org)?;
        let id = parse_id("key_id", id)?;
        store::get(&self.pool, org, id)
            .await?
            .ok_or(VaultError::NotFound)
    }

    /// `List`.
    pub async fn list(&self, req: &pb::ListKeysRequest) -> Result<(Vec<KeyRow>, String)> {
        let page = req.page.clone().unwrap_or_default();
        let limit = i64::from(page.page_size.clamp(1, 500));
        let limit = if page.page_size == 0 { 100 } else { limit };
        let filter = store::ListFilter {
            org: parse_id("org_id", &req.org_id)?,
            provider: req.provider.clone().filter(|p| !p.is_empty()),
            team: parse_opt_id("team_id", &req.team_id)?,
            include_inactive: req.include_inactive,
            after: if page.cursor.is_empty() {
                None
            } else {
                Some(parse_id("page.cursor", &page.cursor)?)
            },
            limit,
        };
        let rows = store::list(&self.pool, &filter).await?;
        let next = if i64::try_from(rows.len()).unwrap_or(0) == limit {
            rows.last().map(|r| r.id.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok((rows, next))
    }

    /// `Validate`: live check of the current secret; records health and publishes the result.
    pub async fn validate(
        &self,
        r: &pb::KeyRef,
    ) -> Result<(KeyRow, keyward_providers::ValidationResult)> {
        let org = parse_id("org_id", &r.org_id)?;
        let id = parse_id("key_id", &r.key_id)?;
        let (k, v) = store::get_version(&self.pool, org, id, None)
            .await?
            .ok_or(VaultError::NotFound)?;
        if k.kind != "provider_key" || k.status != "active" {
            return Err(VaultError::Precondition(format!(
                "only active provider keys can be validated (this one is {})",
                k.status
            )));
        }
        let p: keyward_providers::Provider = k
            .provider
            .parse()
            .map_err(|_| VaultError::Internal("stored provider is unknown".into()))?;
        let mut material = self.open(&k, &v)?;
        let result = self
            .validate_live(p, &material, k.base_url.as_deref())
            .await;
        secret::wipe(&mut material);
        self.record_validation(&k, &result).await?;
        let outcome = if result.outcome == keyward_providers::Outcome::Valid {
            "success"
        } else {
            "failure"
        };
        self.audit(audit::event(
            r.ctx.as_ref(),
            &r.org_id,
            "validate",
            &r.key_id,
            outcome,
            result.outcome.as_str(),
        ))
        .await;
        Ok((k, result))
    }

    pub(crate) async fn record_validation(
        &self,
        k: &KeyRow,
        result: &keyward_providers::ValidationResult,
    ) -> Result<()> {
        store::set_health(&self.pool, k.id, result.outcome.as_str(), &result.message).await?;
        use keyward_providers::Outcome;
        let payload = match result.outcome {
            Outcome::Valid => pb::domain_event::Payload::KeyValidated(pb::KeyValidated {
                key_id: k.id.to_string(),
                provider: k.provider.clone(),
            }),
            other => pb::domain_event::Payload::KeyInvalid(pb::KeyInvalid {
                key_id: k.id.to_string(),
                provider: k.provider.clone(),
                outcome: other.as_str().into(),
                reason: result.message.clone(),
            }),
        };
        self.domain_event(k.org_id, payload);
        Ok(())
    }

    /// `Rotate`: the new secret becomes current; the old one resolves until the grace ends.
    pub async fn rotate(
        &self,
        req: pb::RotateKeyRequest,
    ) -> Result<(KeyRow, Option<keyward_providers::ValidationResult>)> {
        let org = parse_id("org_id", &req.org_id)?;
        let id = parse_id("key_id", &req.key_id)?;
        let k = store::get(&self.pool, org, id)
            .await?
            .ok_or(VaultError::NotFound)?;
        if k.status != "active" {
            return Err(VaultError::Precondition(format!(
                "a {} key cannot be rotated",
                k.status
            )));
        }
        let material = req
            .new_secret
            .as_ref()
            .ok_or_else(|| VaultError::Invalid("new_secret is required".into()))?;
        let parsed = secret::check(k.kind == "provider_key", &k.provider, material)
            .map_err(VaultError::Invalid)?;
        if secret::fingerprint(material) == k.fingerprint {
            return Err(VaultError::Invalid(
                "new_secret is the same as the current secret".into(),
            ));
        }
        if req.grace_seconds > 30 * 24 * 3600 {
            return Err(VaultError::Invalid(
                "grace_seconds must be at most 30 days".into(),
            ));
        }
        let validation = match (req.validate, parsed) {
            (true, Some(p)) => {
                let v = self.validate_live(p, material, k.base_url.as_deref()).await;
                if v.outcome == keyward_providers::Outcome::Invalid {
                    return Err(VaultError::Precondition(format!(
                        "the provider rejected the new key: {}",
                        v.message
                    )));
                }
                Some(v)
            }
            _ => None,
        };
        let new_version = k.current_version + 1;
        let grace_until = (req.grace_seconds > 0)
            .then(|| Utc::now() + chrono::Duration::seconds(i64::from(req.grace_seconds)));
        let mut tx = self.pool.begin().await?;
        let sealed = self.seal(&mut tx, &k, new_version, material).await?;
        store::rotate(
            &mut tx,
            &k,
            new_version,
            &sealed,
            grace_until,
            &secret::masked(material),
            &secret::fingerprint(material),
        )
        .await?;
        tx.commit().await?;
        self.domain_event(
            org,
            pb::domain_event::Payload::KeyRotated(pb::KeyRotated {
                key_id: k.id.to_string(),
                grace_until: grace_until.map(to_ts),
            }),
        );
        self.audit(audit::event(
            req.ctx.as_ref(),
            &req.org_id,
            "rotate",
            &req.key_id,
            "success",
            "",
        ))
        .await;
        let k = store::get(&self.pool, org, id)
            .await?
            .ok_or(VaultError::NotFound)?;
        Ok((k, validation))
    }

    /// `Revoke`: the key never resolves again.
    pub async fn revoke(&self, r: &pb::KeyRef) -> Result<KeyRow> {
        self.end(r, "revoked", "revoke").await
    }

    /// `Update`: a key's name, routing (priority, weight) or rotation period; never its secret.
    /// Audited with what changed; `key.updated` tells gateways to drop what they cached of it.
    pub async fn update(&self, r: &pb::UpdateKeyRequest) -> Result<KeyRow> {
        let org = parse_id("org_id", &r.org_id)?;
        let id = parse_id("key_id", &r.key_id)?;
        let name = match r.name.as_deref().map(str::trim) {
            Some(n) if n.is_empty() || n.len() > 200 => {
                return Err(VaultError::Invalid(
                    "name must be 1 to 200 characters".into(),
                ));
            }
            other => other,
        };
        let weight = match r.weight {
            Some(0) => {
                return Err(VaultError::Invalid(format!(
                    "weight must be 1 to {MAX_WEIGHT}"
                )));
            }
            Some(w) => Some(key_weight(w)?),
            None => None,
        };
        let days = match r.rotation_period_days {
            Some(d @ 1..=3650) => Some(
                i32::try_from(d).map_err(|_| VaultError::Invalid("rotation_period_days".into()))?,
            ),
            Some(_) => {
                return Err(VaultError::Invalid(
                    "rotation_period_days must be 1 to 3650".into(),
                ));
            }
            None => None,
        };
        if let Some(p) = r.priority {
            key_priority(p)?;
        }
        if name.is_none() && r.priority.is_none() && weight.is_none() && days.is_none() {
            return Err(VaultError::Invalid(
                "nothing to change: set name, priority, weight or rotation_period_days".into(),
            ));
        }
        // A deleted key is not found: `update_meta` skips it.
        let before = store::get(&self.pool, org, id)
            .await?
            .ok_or(VaultError::NotFound)?;
        let after = store::update_meta(&self.pool, org, id, name, r.priority, weight, days)
            .await?
            .ok_or(VaultError::NotFound)?;
        self.domain_event(
            org,
            pb::domain_event::Payload::KeyUpdated(pb::KeyUpdated {
                key_id: id.to_string(),
            }),
        );
        let routing = |k: &KeyRow| {
            serde_json::json!({"name": k.name, "priority": k.priority, "weight": k.weight,
                               "rotation_period_days": k.rotation_period_days})
            .to_string()
        };
        let mut event = audit::event(
            r.ctx.as_ref(),
            &r.org_id,
            "update",
            &r.key_id,
            "success",
            "",
        );
        event.before_json = routing(&before);
        event.after_json = routing(&after);
        self.audit(event).await;
        Ok(after)
    }

    /// `Delete`: crypto-erase every version; only metadata remains.
    pub async fn delete(&self, r: &pb::KeyRef) -> Result<KeyRow> {
        self.end(r, "deleted", "delete").await
    }

    async fn end(&self, r: &pb::KeyRef, status: &str, action: &str) -> Result<KeyRow> {
        let org = parse_id("org_id", &r.org_id)?;
        let id = parse_id("key_id", &r.key_id)?;
        let k = store::get(&self.pool, org, id)
            .await?
            .ok_or(VaultError::NotFound)?;
        if k.status == "deleted" {
            return Err(VaultError::NotFound);
        }
        let mut tx = self.pool.begin().await?;
        store::set_status(&mut tx, id, status).await?;
        if status == "deleted" {
            store::erase_versions(&mut tx, id, None).await?;
        }
        tx.commit().await?;
        self.domain_event(
            org,
            pb::domain_event::Payload::KeyRevoked(pb::KeyRevoked {
                key_id: id.to_string(),
            }),
        );
        self.audit(audit::event(
            r.ctx.as_ref(),
            &r.org_id,
            action,
            &r.key_id,
            "success",
            "",
        ))
        .await;
        store::get(&self.pool, org, id)
            .await?
            .ok_or(VaultError::NotFound)
    }

    /// `Resolve`: the most specific active key in scope, with its secret. Fail-closed audited.
    pub async fn resolve(
        &self,
        req: &pb::ResolveKeyRequest,
    ) -> Result<(KeyRow, SecretMaterial, Vec<KeyRow>)> {
        let scope = req
            .scope
            .as_ref()
            .ok_or_else(|| VaultError::Invalid("scope.org_id is required".into()))?;
        let q = store::ScopeQuery {
            org: parse_id("scope.org_id", &scope.org_id)?,
            team: parse_opt_id("scope.team_id", &scope.team_id)?,
            project: parse_opt_id("scope.project_id", &scope.project_id)?,
            user: parse_opt_id("scope.user_id", &scope.user_id)?,
        };
        let provider = req.provider.trim().to_ascii_lowercase();
        let (k, v, fallbacks) = match parse_opt_id("key_id", &req.key_id)? {
            Some(id) => {
                let version = req.version.map(|v| i32::try_from(v).unwrap_or(i32::MAX));
                let (k, v) = store::get_version(&self.pool, q.org, id, version)
                    .await?
                    .ok_or(VaultError::NotFound)?;
                check_resolvable(&k, &v, &q, &provider)?;
                (k, v, Vec::new())
            }
            None => {
                if provider.is_empty() {
                    return Err(VaultError::Invalid(
                        "provider (or key_id) is required".into(),
                    ));
                }
                let mut rows = store::resolve_candidates(&self.pool, &q, &provider)
                    .await?
                    .into_iter();
                let (k, v) = rows.next().ok_or(VaultError::NotFound)?;
                (k, v, rows.map(|(k, _)| k).collect())
            }
        };
        let material = self.open(&k, &v)?;
        let key_id = k.id.to_string();
        self.audit_or_fail(audit::event(
            req.ctx.as_ref(),
            &scope.org_id,
            "resolve",
            &key_id,
            "success",
            "",
        ))
        .await?;
        self.counters.record(self, &k);
        Ok((k, material, fallbacks))
    }
}

/// Default routing weight of a provider key (`weight` 0 in a request).
pub const DEFAULT_WEIGHT: i32 = 100;
/// Largest routing weight.
pub const MAX_WEIGHT: u32 = 1000;

/// A `Store` request's weight: 0 means the default; otherwise 1 to 1000.
fn key_weight(w: u32) -> Result<i32> {
    match w {
        0 => Ok(DEFAULT_WEIGHT),
        1..=MAX_WEIGHT => i32::try_from(w).map_err(|_| VaultError::Invalid("weight".into())),
        _ => Err(VaultError::Invalid(format!(
            "weight must be 1 to {MAX_WEIGHT}"
        ))),
    }
}

/// Routing priorities run from -1000 to 1000 (the REST API's range).
fn key_priority(p: i32) -> Result<()> {
    if (-1000..=1000).contains(&p) {
        Ok(())
    } else {
        Err(VaultError::Invalid("priority must be -1000 to 1000".into()))
    }
}

fn check_resolvable(
    k: &KeyRow,
    v: &VersionRow,
    q: &store::ScopeQuery,
    provider: &str,
) -> Result<()> {
    let in_scope = k.team_id.is_none_or(|t| Some(t) == q.team)
        && k.project_id.is_none_or(|p| Some(p) == q.project)
        && k.user_id.is_none_or(|u| Some(u) == q.user);
    let live = k.status == "active" && k.expires_at.is_none_or(|e| e > Utc::now());
    let version_ok = match v.state.as_str() {
        "current" => true,
        "grace" => v.grace_until.is_some_and(|g| g > Utc::now()),
        _ => false,
    };
    let provider_ok = provider.is_empty() || provider == k.provider;
    if in_scope && live && version_ok && provider_ok {
        Ok(())
    } else {
        Err(VaultError::NotFound)
    }
}

fn check_base_url(url: Option<&str>) -> Result<Option<String>> {
    match url.map(str::trim) {
        None | Some("") => Ok(None),
        Some(u)
            if (u.starts_with("https://") || u.starts_with("http://"))
                && !u.contains(char::is_whitespace) =>
        {
            Ok(Some(u.trim_end_matches('/').to_string()))
        }
        Some(_) => Err(VaultError::Invalid(
            "base_url must be an http(s) URL".into(),
        )),
    }
}

pub(crate) fn ts(t: &prost_types::Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)).unwrap_or_default()
}

pub(crate) fn to_ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_default_to_100_and_stay_within_1_to_1000() {
        assert_eq!(key_weight(0).ok(), Some(DEFAULT_WEIGHT));
        assert_eq!(key_weight(1).ok(), Some(1));
        assert_eq!(key_weight(1000).ok(), Some(1000));
        assert!(key_weight(1001).is_err());
        assert!(key_weight(u32::MAX).is_err());
    }
}
