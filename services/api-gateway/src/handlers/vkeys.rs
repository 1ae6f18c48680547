//! `/virtual-keys`.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Page, PageQuery};
use crate::audit::Ctx;
use crate::authz::Caller;
use crate::body::{Json, JsonOrEmpty, PathId, Query};
use crate::domain;
use crate::domain::vkeys::{self, CreateVkey, UpdateVkey, VirtualKey};
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;

/// The new key: shown this once, stored only as an HMAC.
#[derive(Serialize, ToSchema)]
pub struct CreatedKey {
    pub id: Uuid,
    /// `kw_…`
    pub key: String,
}

/// A rotated key: the new secret, shown once.
#[derive(Serialize, ToSchema)]
pub struct RotatedKey {
    pub id: Uuid,
    pub key: String,
    /// Until when the replaced key still works.
    pub previous_key_expires_at: Option<DateTime<Utc>>,
}

/// Rotation options.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// How long the old key keeps working (default 3600; 0 ends it now).
    #[serde(default)]
    pub grace_seconds: Option<u64>,
}

fn no_store(mut b: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    b.insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"));
    b
}

#[utoipa::path(get, path = "/api/v1/virtual-keys", tag = "virtual-keys", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<VirtualKey>), (status = 403, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    c: Caller,
    q: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let limit = domain::page_limit(q.0.limit)?;
    let items = vkeys::list(&state, &c, q.0.after, limit).await?;
    Ok(HttpResponse::Ok().json(Page::of(items, limit, |k| k.id)))
}

#[utoipa::path(post, path = "/api/v1/virtual-keys", tag = "virtual-keys", request_body = CreateVkey, security(("bearer" = [])),
    responses((status = 201, body = CreatedKey), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<CreateVkey>,
) -> ApiResult<HttpResponse> {
    let (vk, key) = vkeys::create(&state, &ctx, body.0).await?;
    Ok(no_store(HttpResponse::Created()).json(CreatedKey {
        id: vk.id,
        key: key.expose().to_string(),
    }))
}

#[utoipa::path(get, path = "/api/v1/virtual-keys/{id}", tag = "virtual-keys", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = VirtualKey), (status = 404, body = ErrorBody)))]
pub async fn get(state: web::Data<AppState>, c: Caller, id: PathId) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(vkeys::get(&state, &c, id.0).await?))
}

#[utoipa::path(patch, path = "/api/v1/virtual-keys/{id}", tag = "virtual-keys", params(("id" = Uuid, Path)), request_body = UpdateVkey,
    security(("bearer" = [])), responses((status = 200, body = VirtualKey), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    body: Json<UpdateVkey>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(vkeys::update(&state, &ctx, id.0, body.0).await?))
}

#[utoipa::path(post, path = "/api/v1/virtual-keys/{id}/rotate", tag = "virtual-keys", params(("id" = Uuid, Path)),
    request_body(content = Option<RotateRequest>), security(("bearer" = [])),
    responses((status = 200, body = RotatedKey), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn rotate(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    body: JsonOrEmpty<RotateRequest>,
) -> ApiResult<HttpResponse> {
    let (vk, key) = vkeys::rotate(&state, &ctx, id.0, body.0.grace_seconds).await?;
    Ok(no_store(HttpResponse::Ok()).json(RotatedKey {
        id: vk.id,
        key: key.expose().to_string(),
        previous_key_expires_at: vk.previous_key_expires_at,
    }))
}

/// No options (an empty body or `{}`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

#[utoipa::path(post, path = "/api/v1/virtual-keys/{id}/revoke", tag = "virtual-keys", params(("id" = Uuid, Path)),
    request_body(content = Option<Empty>), security(("bearer" = [])),
    responses((status = 200, body = VirtualKey), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    _body: JsonOrEmpty<Empty>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(vkeys::revoke(&state, &ctx, id.0).await?))
}
