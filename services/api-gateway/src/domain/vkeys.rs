//! Virtual keys: `kw_…` shown once, stored as an HMAC under the server pepper, scoped to the
//! org, a team, a project or a user; rotated with a grace period; revoked.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use keyward_crypto::SecretString;
use keyward_proto::v1::{VirtualKeyChanged, domain_event::Payload};
use keyward_providers::Provider;
use uuid::Uuid;

pub use super::vkey_types::{CreateVkey, ScopeInput, UpdateVkey, VirtualKey};

use super::{check_name, ensure_read, ensure_target, ensure_write};
use crate::audit::{self, Ctx, Record};
use crate::auth::tokens;
use crate::authz::{Caller, Resource};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::vkeys::{self as store, ScopeCols, VkeyFields};
use crate::store::{members, projects};

pub async fn list(
    state: &AppState,
    c: &Caller,
    after: Option<Uuid>,
    limit: i64,
) -> ApiResult<Vec<VirtualKey>> {
    let filter = c.grant().team_filter();
    let rows = store::list(
        &state.pool,
        c.org_id.uuid(),
        filter.as_deref(),
        after,
        limit,
    )
    .await?;
    Ok(rows.into_iter().map(VirtualKey::from).collect())
}

pub async fn get(state: &AppState, c: &Caller, id: Uuid) -> ApiResult<VirtualKey> {
    let mut conn = state.pool.acquire().await?;
    let row = store::get(&mut conn, c.org_id.uuid(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("virtual key"))?;
    ensure_read(c, row.team_id, "virtual key")?;
    Ok(row.into())
}

/// Creates a key; returns it with the secret, which is never shown again.
pub async fn create(
    state: &AppState,
    ctx: &Ctx,
    input: CreateVkey,
) -> ApiResult<(VirtualKey, SecretString)> {
    let c = ctx.signed_in()?;
    let name = check_name("name", &input.name)?;
    let scope = resolve_scope(state, c, input.scope.unwrap_or_default()).await?;
    ensure_target(state, c, Resource::VirtualKeys, scope.team_id)?;
    let models = check_models(input.models.unwrap_or_default())?;
    let providers = provider_ids(input.providers.unwrap_or_default());
    let cidrs = check_cidrs(input.allowed_cidrs.unwrap_or_default())?;
    let tags = check_tags(input.tags.unwrap_or_default())?;
    let fields = VkeyFields {
        name: &name,
        models: &models,
        providers: &providers,
        allowed_cidrs: &cidrs,
        rpm: check_limit("rpm", input.rpm)?,
        tpm: check_limit("tpm", input.tpm)?,
        expires_at: check_expiry(input.expires_at)?,
        tags: &tags,
    };
    let key = tokens::generate(tokens::VKEY_PREFIX)?;
    let mut tx = state.pool.begin().await?;
    let row = store::create(
        &mut tx,
        c.org_id.uuid(),
        scope,
        &fields,
        &state.keys.vkey_hash(key.expose()),
        &hint(&key),
        c.user_id.uuid(),
    )
    .await?;
    tx.commit().await?;
    let vk = VirtualKey::from(row);
    audit::emit(
        state,
        ctx,
        Record::change(c.org_id, "virtual_key.create", "virtual_key", vk.id).after(&vk),
    );
    Ok((vk, key))
}

/// Changes models, providers, address ranges, limits, expiry, name or tags.
pub async fn update(
    state: &AppState,
    ctx: &Ctx,
    id: Uuid,
    patch: UpdateVkey,
) -> ApiResult<VirtualKey> {
    let c = ctx.signed_in()?;
    let mut tx = state.pool.begin().await?;
    let row = store::get(&mut tx, c.org_id.uuid(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("virtual key"))?;
    ensure_write(state, c, Resource::VirtualKeys, row.team_id, "virtual key")?;
    if row.revoked_at.is_some() {
        return Err(ApiError::conflict("the virtual key is revoked"));
    }
    let name = patch
        .name
        .map(|n| check_name("name", &n))
        .transpose()?
        .unwrap_or_else(|| row.name.clone());
    let models = patch
        .models
        .map(check_models)
        .transpose()?
        .unwrap_or_else(|| row.models.clone());
    let providers = patch
        .providers
        .map(provider_ids)
        .unwrap_or_else(|| row.providers.clone());
    let cidrs = patch
        .allowed_cidrs
        .map(check_cidrs)
        .transpose()?
        .unwrap_or_else(|| row.allowed_cidrs.clone());
    let tags = match patch.tags {
        Some(t) => check_tags(t)?,
        None => row.tags.clone(),
    };
    let fields = VkeyFields {
        name: &name,
        models: &models,
        providers: &providers,
        allowed_cidrs: &cidrs,
        rpm: match patch.rpm {
            Some(v) => check_limit("rpm", v)?,
            None => row.rpm,
        },
        tpm: match patch.tpm {
            Some(v) => check_limit("tpm", v)?,
            None => row.tpm,
        },
        expires_at: match patch.expires_at {
            Some(v) => check_expiry(v)?,
            None => row.expires_at,
        },
        tags: &tags,
    };
    let after = store::update(&mut tx, c.org_id.uuid(), id, &fields).await?;
    tx.commit().await?;
    let (before, after) = (VirtualKey::from(row), VirtualKey::from(after));
    changed(state, c, id, "updated");
    let record = Record::change(c.org_id, "virtual_key.update", "virtual_key", id)
        .before(&before)
        .after(&after);
    audit::emit(state, ctx, record);
    Ok(after)
}

/// Issues a new key; the old one keeps working for `grace_secs`.
pub async fn rotate(
    state: &AppState,
    ctx: &Ctx,
    id: Uuid,
    grace_secs: Option<u64>,
) -> ApiResult<(VirtualKey, SecretString)> {
    let c = ctx.signed_in()?;
    let grace = grace_secs.unwrap_or(3600);
    if grace > state.auth.vkey_max_grace_secs {
        return Err(ApiError::unprocessable(
            "grace_seconds",
            format!("must be at most {}", state.auth.vkey_max_grace_secs),
        ));
    }
    let mut tx = state.pool.begin().await?;
    let row = store::get(&mut tx, c.org_id.uuid(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("virtual key"))?;
    ensure_write(state, c, Resource::VirtualKeys, row.team_id, "virtual key")?;
    if row.revoked_at.is_some() {
        return Err(ApiError::conflict("the virtual key is revoked"));
    }
    let key = tokens::generate(tokens::VKEY_PREFIX)?;
    let after = store::rotate(
        &mut tx,
        c.org_id.uuid(),
        id,
        &state.keys.vkey_hash(key.expose()),
        &hint(&key),
        grace,
    )
    .await?;
    tx.commit().await?;
    let (before, after) = (VirtualKey::from(row), VirtualKey::from(after));
    changed(state, c, id, "rotated");
    let record = Record::change(c.org_id, "virtual_key.rotate", "virtual_key", id)
        .outcome("success", format!("grace {grace}s"))
        .before(&before)
        .after(&after);
    audit::emit(state, ctx, record);
    Ok((after, key))
}

/// Revokes a key (and any grace-period predecessor) at once.
pub async fn revoke(state: &AppState, ctx: &Ctx, id: Uuid) -> ApiResult<VirtualKey> {
    let c = ctx.signed_in()?;
    let mut tx = state.pool.begin().await?;
    let row = store::get(&mut tx, c.org_id.uuid(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("virtual key"))?;
    ensure_write(state, c, Resource::VirtualKeys, row.team_id, "virtual key")?;
    if row.revoked_at.is_some() {
        return Err(ApiError::conflict("the virtual key is revoked already"));
    }
    let after = store::revoke(&mut tx, c.org_id.uuid(), id).await?;
    tx.commit().await?;
    let (before, after) = (VirtualKey::from(row), VirtualKey::from(after));
    changed(state, c, id, "revoked");
    let record = Record::change(c.org_id, "virtual_key.revoke", "virtual_key", id)
        .before(&before)
        .after(&after);
    audit::emit(state, ctx, record);
    Ok(after)
}

fn changed(state: &AppState, c: &Caller, id: Uuid, change: &str) {
    let payload = Payload::VirtualKeyChanged(VirtualKeyChanged {
        virtual_key_id: id.to_string(),
        change: change.to_string(),
    });
    audit::domain(state, c.org_id, payload);
}

fn hint(key: &SecretString) -> String {
    let k = key.expose();
    let tail: String = k
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{}…{tail}", tokens::VKEY_PREFIX)
}

/// Checks every scope id against the caller's org; the team of a project is the key's team.
pub(crate) async fn resolve_scope(
    state: &AppState,
    c: &Caller,
    s: ScopeInput,
) -> ApiResult<ScopeCols> {
    let not_found = |field: &str| {
        let mut e = ApiError::not_found(field);
        e.field = Some(field.to_string());
        e
    };
    let org = c.org_id.uuid();
    if let Some(t) = s.team_id {
        super::orgs::check_team(state, c, "scope.team_id", t).await?;
    }
    let mut team = s.team_id;
    if let Some(p) = s.project_id {
        let project = projects::get(&state.pool, org, p)
            .await?
            .ok_or_else(|| not_found("scope.project_id"))?;
        match (team, project.team_id) {
            (Some(t), Some(pt)) if t != pt => {
                return Err(ApiError::unprocessable(
                    "scope.team_id",
                    "the project belongs to another team",
                ));
            }
            (Some(_), None) => {
                return Err(ApiError::unprocessable(
                    "scope.team_id",
                    "the project belongs to no team",
                ));
            }
            _ => team = project.team_id,
        }
    }
    if let Some(u) = s.user_id
        && members::get(&state.pool, org, u).await?.is_none()
    {
        return Err(not_found("scope.user_id"));
    }
    Ok(ScopeCols {
        team_id: team,
        project_id: s.project_id,
        user_id: s.user_id,
    })
}

fn check_models(models: Vec<String>) -> ApiResult<Vec<String>> {
    if models.len() > 100 {
        return Err(ApiError::invalid("models", "at most 100 models"));
    }
    let mut out: Vec<String> = Vec::with_capacity(models.len());
    for (i, m) in models.into_iter().enumerate() {
        let m = m.trim().to_string();
        if m.is_empty()
            || m.len() > 200
            || m.chars().any(|ch| ch.is_control() || ch.is_whitespace())
        {
            return Err(ApiError::invalid(
                format!("models[{i}]"),
                "1–200 characters, no spaces",
            ));
        }
        if !out.contains(&m) {
            out.push(m);
        }
    }
    Ok(out)
}

fn provider_ids(providers: Vec<Provider>) -> Vec<String> {
    let mut out: Vec<String> = providers
        .into_iter()
        .map(|p| p.as_str().to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn check_cidrs(cidrs: Vec<String>) -> ApiResult<Vec<String>> {
    if cidrs.len() > 100 {
        return Err(ApiError::invalid("allowed_cidrs", "at most 100 ranges"));
    }
    let mut out: Vec<String> = Vec::with_capacity(cidrs.len());
    for (i, c) in cidrs.iter().enumerate() {
        let net = c
            .trim()
            .parse::<ipnet::IpNet>()
            .or_else(|_| c.trim().parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| {
                ApiError::invalid(
                    format!("allowed_cidrs[{i}]"),
                    "not an IP address or CIDR range",
                )
            })?;
        let s = net.trunc().to_string();
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

fn check_tags(tags: BTreeMap<String, String>) -> ApiResult<serde_json::Value> {
    if tags.len() > 20 {
        return Err(ApiError::invalid("tags", "at most 20 tags"));
    }
    for (k, v) in &tags {
        let key_ok = (1..=64).contains(&k.len())
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
        if !key_ok {
            return Err(ApiError::invalid(
                format!("tags.{k}"),
                "keys are 1–64 characters of A-Z a-z 0-9 _ - . :",
            ));
        }
        if v.chars().count() > 256 || v.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                format!("tags.{k}"),
                "values are at most 256 printable characters",
            ));
        }
    }
    serde_json::to_value(tags).map_err(|e| ApiError::internal(&e))
}

fn check_limit(field: &str, v: Option<u32>) -> ApiResult<Option<i32>> {
    match v {
        None => Ok(None),
        Some(0) => Err(ApiError::unprocessable(
            field,
            "must be at least 1 (omit it for no limit)",
        )),
        Some(n) => i32::try_from(n)
            .map(Some)
            .map_err(|_| ApiError::invalid(field, format!("must be at most {}", i32::MAX))),
    }
}

fn check_expiry(v: Option<DateTime<Utc>>) -> ApiResult<Option<DateTime<Utc>>> {
    match v {
        Some(t) if t <= Utc::now() => Err(ApiError::unprocessable(
            "expires_at",
            "must be in the future",
        )),
        other => Ok(other),
    }
}
