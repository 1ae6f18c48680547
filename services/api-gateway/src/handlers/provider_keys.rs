//! `/provider-keys`: provider API keys, stored and used by the vault (gRPC). The org always comes
//! from the caller; ids of other orgs answer 404; no response ever carries the secret.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use keyward_proto::v1 as pb;
use keyward_providers::Provider;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::audit::Ctx;
use crate::authz::{Caller, Resource};
use crate::body::{Json, JsonOrEmpty, PathId, Query};
use crate::domain::vkeys::ScopeInput;
use crate::domain::{check_name, ensure_read, ensure_target, ensure_write};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::handlers::vkeys::Empty;
use crate::handlers::{time, uuid_of};
use crate::state::AppState;

const WHAT: &str = "provider key";

/// AWS Bedrock credentials.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsSecret {
    pub aws_access_key_id: String,
    pub aws_secret_access_key: String,
    pub aws_region: String,
}

/// Azure OpenAI credentials.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AzureSecret {
    pub api_key: String,
    pub endpoint: String,
    pub api_version: String,
}

/// The secret: an API key, or an object for Bedrock and Azure. Never echoed back.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum SecretInput {
    ApiKey(String),
    Aws(AwsSecret),
    Azure(AzureSecret),
}

impl SecretInput {
    /// The vault's material for `provider`; 422 when the shape does not fit the provider.
    fn material(self, field: &str, provider: Provider) -> ApiResult<pb::SecretMaterial> {
        let empty = |v: &str| v.trim().is_empty();
        let m = match (provider, self) {
            (Provider::Bedrock, SecretInput::Aws(a)) => {
                if empty(&a.aws_access_key_id)
                    || empty(&a.aws_secret_access_key)
                    || empty(&a.aws_region)
                {
                    return Err(ApiError::unprocessable(
                        field,
                        "every AWS field is required",
                    ));
                }
                pb::SecretMaterial {
                    aws_access_key_id: a.aws_access_key_id,
                    aws_secret_access_key: a.aws_secret_access_key,
                    aws_region: a.aws_region,
                    ..Default::default()
                }
            }
            (Provider::Azure, SecretInput::Azure(a)) => {
                if empty(&a.api_key) || empty(&a.endpoint) || empty(&a.api_version) {
                    return Err(ApiError::unprocessable(
                        field,
                        "api_key, endpoint and api_version are required",
                    ));
                }
                pb::SecretMaterial {
                    api_key: a.api_key,
                    azure_endpoint: a.endpoint,
                    azure_api_version: a.api_version,
                    ..Default::default()
                }
            }
            (Provider::Bedrock | Provider::Azure, _) => {
                return Err(ApiError::unprocessable(
                    field,
                    "this provider needs an object (see the API reference)",
                ));
            }
            (_, SecretInput::ApiKey(k)) => {
                if empty(&k) {
                    return Err(ApiError::unprocessable(field, "must not be empty"));
                }
                pb::SecretMaterial {
                    api_key: k,
                    ..Default::default()
                }
            }
            (_, _) => {
                return Err(ApiError::unprocessable(
                    field,
                    "this provider takes an API key string",
                ));
            }
        };
        Ok(m)
    }
}

/// A new provider key.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProviderKey {
    pub name: String,
    #[schema(value_type = String, example = "openai")]
    pub provider: Provider,
    pub secret: SecretInput,
    /// Absent: the whole org.
    #[serde(default)]
    pub scope: Option<ScopeInput>,
    #[serde(default)]
    pub base_url: Option<String>,
    /// Check the key against the provider before storing it.
    #[serde(default)]
    pub validate: Option<bool>,
    /// Routing among keys of the same scope level: higher first (default 0, -1000 to 1000).
    #[serde(default)]
    pub priority: Option<i32>,
    /// Share of traffic among keys of the same scope level and priority (1 to 1000, default
    /// 100): a key of weight 300 next to one of 100 gets about three requests in four.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1000)]
    pub weight: Option<u32>,
}

/// A replacement secret.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateProviderKey {
    pub secret: SecretInput,
    /// How long the replaced secret keeps working (default 0).
    #[serde(default)]
    pub grace_seconds: Option<u32>,
    #[serde(default)]
    pub validate: Option<bool>,
}

/// Changes to a key's name and routing; the secret is changed by `rotate`. Absent fields stay.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProviderKey {
    #[serde(default)]
    pub name: Option<String>,
    /// -1000 to 1000.
    #[serde(default)]
    pub priority: Option<i32>,
    /// 1 to 1000.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1000)]
    pub weight: Option<u32>,
    /// Days after which the key is reported due for rotation (1 to 3650).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub rotation_period_days: Option<u32>,
}

/// Metadata of a stored key (never the secret).
#[derive(Serialize, ToSchema)]
pub struct ProviderKey {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub scope: ScopeInput,
    /// A masked hint, e.g. `sk-…abcd`.
    pub masked: String,
    pub fingerprint: String,
    /// active, grace, revoked, expired, deleted.
    pub status: String,
    /// The last validation outcome.
    pub health: String,
    pub health_message: Option<String>,
    pub base_url: Option<String>,
    pub version: u32,
    /// Routing: higher priority first among keys of the same scope level.
    pub priority: i32,
    /// Routing: share of traffic among keys of the same scope level and priority.
    pub weight: u32,
    /// Days after which the key is reported due for rotation.
    pub rotation_period_days: u32,
    pub created_by: String,
    pub created_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_validated_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub grace_until: Option<DateTime<Utc>>,
}

/// A validation result (never contains the secret).
#[derive(Serialize, ToSchema)]
pub struct Validation {
    /// valid, invalid, rate_limited, provider_unavailable, network_error.
    pub outcome: String,
    pub message: String,
    pub http_status: u32,
    pub checked_at: Option<DateTime<Utc>>,
}

/// A stored or rotated key, with the validation result when one was asked for.
#[derive(Serialize, ToSchema)]
pub struct ProviderKeyResult {
    pub key: ProviderKey,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,
}

/// A page of provider keys.
#[derive(Serialize, ToSchema)]
pub struct ProviderKeyPage {
    pub items: Vec<ProviderKey>,
    /// Pass as `after` for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `?limit=&after=&provider=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// 1–200, default 50.
    #[serde(default, deserialize_with = "crate::body::num::opt_u32")]
    pub limit: Option<u32>,
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    #[param(value_type = Option<String>)]
    pub provider: Option<Provider>,
}

fn enum_name(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase()
}

impl From<pb::KeyMetadata> for ProviderKey {
    fn from(k: pb::KeyMetadata) -> Self {
        let scope = k.scope.unwrap_or_default();
        let status = pb::KeyStatus::try_from(k.status)
            .map(|s| enum_name(s.as_str_name(), "KEY_STATUS_"))
            .unwrap_or_default();
        let health = pb::ValidationOutcome::try_from(k.health)
            .map(|s| enum_name(s.as_str_name(), "VALIDATION_OUTCOME_"))
            .unwrap_or_default();
        Self {
            scope: ScopeInput {
                team_id: uuid_of(scope.team_id.as_ref()),
                project_id: uuid_of(scope.project_id.as_ref()),
                user_id: uuid_of(scope.user_id.as_ref()),
            },
            created_at: time(k.created_at.as_ref()),
            last_used_at: time(k.last_used_at.as_ref()),
            last_validated_at: time(k.last_validated_at.as_ref()),
            expires_at: time(k.expires_at.as_ref()),
            grace_until: time(k.grace_until.as_ref()),
            id: k.id,
            name: k.name,
            provider: k.provider,
            masked: k.masked,
            fingerprint: k.fingerprint,
            status,
            health,
            health_message: k.health_message,
            base_url: k.base_url,
            version: k.version,
            priority: k.priority,
            weight: k.weight,
            rotation_period_days: k.rotation_period_days,
            created_by: k.created_by,
        }
    }
}

impl From<pb::ValidationResult> for Validation {
    fn from(v: pb::ValidationResult) -> Self {
        Self {
            outcome: pb::ValidationOutcome::try_from(v.outcome)
                .map(|s| enum_name(s.as_str_name(), "VALIDATION_OUTCOME_"))
                .unwrap_or_default(),
            message: keyward_crypto::redact(&v.message).into_owned(),
            http_status: v.http_status,
            checked_at: time(v.checked_at.as_ref()),
        }
    }
}

/// A vault status as a REST error; ids the vault does not know (or keeps from this org) are 404.
fn vault_error(status: &tonic::Status) -> ApiError {
    crate::upstream::grpc_error(keyward_core::ServiceName::Vault, WHAT, status)
}

fn request_ctx(ctx: &Ctx, c: &Caller) -> pb::RequestContext {
    pb::RequestContext {
        actor: Some(crate::handlers::actor(ctx, c)),
        request_id: ctx.request_id.clone(),
    }
}

fn key_ref(ctx: &Ctx, c: &Caller, id: Uuid) -> pb::KeyRef {
    pb::KeyRef {
        ctx: Some(request_ctx(ctx, c)),
        org_id: c.org_id.to_string(),
        key_id: id.to_string(),
    }
}

/// The key's metadata, if the caller may read it (otherwise 404).
pub(crate) async fn fetch(
    state: &AppState,
    ctx: &Ctx,
    c: &Caller,
    id: Uuid,
) -> ApiResult<ProviderKey> {
    let key = state
        .vault
        .clone()
        .get(key_ref(ctx, c, id))
        .await
        .map_err(|s| vault_error(&s))?
        .into_inner()
        .key
        .ok_or_else(|| ApiError::not_found(WHAT))?;
    let key = ProviderKey::from(key);
    if key.id != id.to_string() {
        return Err(ApiError::not_found(WHAT));
    }
    ensure_read(c, key.scope.team_id, WHAT)?;
    Ok(key)
}

/// The key, if the caller may change it (403 when only readable, 404 when not even that).
async fn fetch_for_write(
    state: &AppState,
    ctx: &Ctx,
    c: &Caller,
    id: Uuid,
) -> ApiResult<ProviderKey> {
    let key = fetch(state, ctx, c, id).await?;
    ensure_write(state, c, Resource::ProviderKeys, key.scope.team_id, WHAT)?;
    Ok(key)
}

fn check_base_url(url: Option<String>) -> ApiResult<Option<String>> {
    match url {
        None => Ok(None),
        Some(u) => {
            let ok = (u.starts_with("https://") || u.starts_with("http://"))
                && u.len() <= 2048
                && !u.chars().any(char::is_whitespace);
            if !ok {
                return Err(ApiError::unprocessable(
                    "base_url",
                    "must be an http or https URL",
                ));
            }
            Ok(Some(u))
        }
    }
}

fn check_priority(priority: i32) -> ApiResult<i32> {
    if !(-1000..=1000).contains(&priority) {
        return Err(ApiError::invalid("priority", "must be -1000 to 1000"));
    }
    Ok(priority)
}

fn check_weight(weight: u32) -> ApiResult<u32> {
    if !(1..=1000).contains(&weight) {
        return Err(ApiError::invalid("weight", "must be 1 to 1000"));
    }
    Ok(weight)
}

fn no_store(mut b: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    b.insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"));
    b
}

#[utoipa::path(operation_id = "list_provider_keys", get, path = "/api/v1/provider-keys", tag = "provider-keys", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = ProviderKeyPage), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    let limit = crate::domain::page_limit(q.0.limit)?;
    let r = state
        .vault
        .clone()
        .list(pb::ListKeysRequest {
            ctx: Some(request_ctx(&ctx, c)),
            org_id: c.org_id.to_string(),
            provider: q.0.provider.map(|p| p.as_str().to_string()),
            team_id: None,
            include_inactive: false,
            page: Some(pb::PageRequest {
                page_size: u32::try_from(limit).unwrap_or(50),
                cursor: q.0.after.unwrap_or_default(),
            }),
        })
        .await
        .map_err(|s| vault_error(&s))?
        .into_inner();
    let grant = c.grant();
    let items = r
        .keys
        .into_iter()
        .map(ProviderKey::from)
        .filter(|k| grant.covers(k.scope.team_id.map(keyward_core::id::TeamId::from_uuid)))
        .collect();
    let next_cursor = r.page.map(|p| p.next_cursor).filter(|c| !c.is_empty());
    Ok(HttpResponse::Ok().json(ProviderKeyPage { items, next_cursor }))
}

#[utoipa::path(operation_id = "create_provider_key", post, path = "/api/v1/provider-keys", tag = "provider-keys", request_body = CreateProviderKey, security(("bearer" = [])),
    responses((status = 201, body = ProviderKeyResult), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<CreateProviderKey>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    let input = body.0;
    let name = check_name("name", &input.name)?;
    let scope =
        crate::domain::vkeys::resolve_scope(&state, c, input.scope.unwrap_or_default()).await?;
    ensure_target(&state, c, Resource::ProviderKeys, scope.team_id)?;
    let base_url = check_base_url(input.base_url)?;
    let priority = check_priority(input.priority.unwrap_or(0))?;
    let weight = check_weight(input.weight.unwrap_or(100))?;
    let secret = input.secret.material("secret", input.provider)?;
    let r = state
        .vault
        .clone()
        .store(pb::StoreKeyRequest {
            ctx: Some(request_ctx(&ctx, c)),
            name,
            provider: input.provider.as_str().to_string(),
            scope: Some(pb::Scope {
                org_id: c.org_id.to_string(),
                team_id: scope.team_id.map(|u| u.to_string()),
                project_id: scope.project_id.map(|u| u.to_string()),
                user_id: scope.user_id.map(|u| u.to_string()),
                virtual_key_id: None,
            }),
            kind: pb::SecretKind::ProviderKey as i32,
            secret: Some(secret),
            base_url,
            validate: input.validate.unwrap_or(false),
            priority,
            weight,
            ..Default::default()
        })
        .await
        .map_err(|s| vault_error(&s))?
        .into_inner();
    let key = r.key.ok_or_else(|| ApiError::internal(&"vault: no key"))?;
    Ok(no_store(HttpResponse::Created()).json(ProviderKeyResult {
        key: key.into(),
        validation: r.validation.map(Validation::from),
    }))
}

#[utoipa::path(operation_id = "get_provider_key", get, path = "/api/v1/provider-keys/{id}", tag = "provider-keys", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ProviderKey), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get(state: web::Data<AppState>, ctx: Ctx, id: PathId) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    Ok(HttpResponse::Ok().json(fetch(&state, &ctx, c, id.0).await?))
}

#[utoipa::path(operation_id = "update_provider_key", patch, path = "/api/v1/provider-keys/{id}", tag = "provider-keys", params(("id" = Uuid, Path)),
    request_body = UpdateProviderKey, security(("bearer" = [])),
    responses((status = 200, body = ProviderKey), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    body: Json<UpdateProviderKey>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    let input = body.0;
    let name = input
        .name
        .as_deref()
        .map(|n| check_name("name", n))
        .transpose()?;
    let priority = input.priority.map(check_priority).transpose()?;
    let weight = input.weight.map(check_weight).transpose()?;
    if let Some(days) = input.rotation_period_days
        && !(1..=3650).contains(&days)
    {
        return Err(ApiError::invalid(
            "rotation_period_days",
            "must be 1 to 3650",
        ));
    }
    if name.is_none()
        && priority.is_none()
        && weight.is_none()
        && input.rotation_period_days.is_none()
    {
        return Err(ApiError::invalid(
            "",
            "nothing to change: send name, priority, weight or rotation_period_days",
        ));
    }
    fetch_for_write(&state, &ctx, c, id.0).await?;
    let r = state
        .vault
        .clone()
        .update(pb::UpdateKeyRequest {
            ctx: Some(request_ctx(&ctx, c)),
            org_id: c.org_id.to_string(),
            key_id: id.0.to_string(),
            name,
            priority,
            weight,
            rotation_period_days: input.rotation_period_days,
        })
        .await
        .map_err(|s| vault_error(&s))?
        .into_inner();
    let key = r.key.ok_or_else(|| ApiError::internal(&"vault: no key"))?;
    Ok(HttpResponse::Ok().json(ProviderKey::from(key)))
}

#[utoipa::path(operation_id = "delete_provider_key", delete, path = "/api/v1/provider-keys/{id}", tag = "provider-keys", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn delete(state: web::Data<AppState>, ctx: Ctx, id: PathId) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    fetch_for_write(&state, &ctx, c, id.0).await?;
    state
        .vault
        .clone()
        .delete(key_ref(&ctx, c, id.0))
        .await
        .map_err(|s| vault_error(&s))?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(operation_id = "validate_provider_key", post, path = "/api/v1/provider-keys/{id}/validate", tag = "provider-keys", params(("id" = Uuid, Path)),
    request_body(content = Option<Empty>), security(("bearer" = [])),
    responses((status = 200, body = Validation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn validate(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    _body: JsonOrEmpty<Empty>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    fetch_for_write(&state, &ctx, c, id.0).await?;
    let r = state
        .vault
        .clone()
        .validate(key_ref(&ctx, c, id.0))
        .await
        .map_err(|s| vault_error(&s))?
        .into_inner();
    let v = r
        .result
        .ok_or_else(|| ApiError::internal(&"vault: no validation result"))?;
    Ok(HttpResponse::Ok().json(Validation::from(v)))
}

#[utoipa::path(operation_id = "rotate_provider_key", post, path = "/api/v1/provider-keys/{id}/rotate", tag = "provider-keys", params(("id" = Uuid, Path)),
    request_body = RotateProviderKey, security(("bearer" = [])),
    responses((status = 200, body = ProviderKeyResult), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn rotate(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    body: Json<RotateProviderKey>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    let input = body.0;
    let key = fetch_for_write(&state, &ctx, c, id.0).await?;
    let provider: Provider = key
        .provider
        .parse()
        .map_err(|_| ApiError::internal(&"vault: unknown provider"))?;
    let secret = input.secret.material("secret", provider)?;
    let r = state
        .vault
        .clone()
        .rotate(pb::RotateKeyRequest {
            ctx: Some(request_ctx(&ctx, c)),
            org_id: c.org_id.to_string(),
            key_id: id.0.to_string(),
            new_secret: Some(secret),
            grace_seconds: input.grace_seconds.unwrap_or(0),
            validate: input.validate.unwrap_or(false),
        })
        .await
        .map_err(|s| vault_error(&s))?
        .into_inner();
    let key = r.key.ok_or_else(|| ApiError::internal(&"vault: no key"))?;
    Ok(no_store(HttpResponse::Ok()).json(ProviderKeyResult {
        key: key.into(),
        validation: r.validation.map(Validation::from),
    }))
}

#[utoipa::path(operation_id = "revoke_provider_key", post, path = "/api/v1/provider-keys/{id}/revoke", tag = "provider-keys", params(("id" = Uuid, Path)),
    request_body(content = Option<Empty>), security(("bearer" = [])),
    responses((status = 200, body = ProviderKey), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn revoke(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    _body: JsonOrEmpty<Empty>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    fetch_for_write(&state, &ctx, c, id.0).await?;
    let r = state
        .vault
        .clone()
        .revoke(key_ref(&ctx, c, id.0))
        .await
        .map_err(|s| vault_error(&s))?
        .into_inner();
    let key = r.key.ok_or_else(|| ApiError::internal(&"vault: no key"))?;
    Ok(HttpResponse::Ok().json(ProviderKey::from(key)))
}
