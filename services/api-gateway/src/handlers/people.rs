//! `/users` (members of the caller's org) and `/invitations`.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Items, Page, PageQuery};
use crate::audit::Ctx;
use crate::authz::Caller;
use crate::body::{Json, PathId, Query};
use crate::domain::{self, members};
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::invitations::Invitation;
use crate::store::members::Member;

#[utoipa::path(get, path = "/api/v1/users", tag = "people", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Member>), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    state: web::Data<AppState>,
    c: Caller,
    q: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let limit = domain::page_limit(q.0.limit)?;
    let items = members::list(&state, &c, q.0.after, limit).await?;
    Ok(HttpResponse::Ok().json(Page::of(items, limit, |m| m.id)))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "people", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Member), (status = 404, body = ErrorBody)))]
pub async fn get_user(
    state: web::Data<AppState>,
    c: Caller,
    id: PathId,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(members::get(&state, &c, id.0).await?))
}

/// Changes to a member.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub name: String,
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "people", params(("id" = Uuid, Path)), request_body = UpdateUser,
    security(("bearer" = [])), responses((status = 200, body = Member), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_user(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    body: Json<UpdateUser>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(members::rename(&state, &ctx, id.0, &body.0.name).await?))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "people", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn remove_user(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
) -> ApiResult<HttpResponse> {
    members::remove(&state, &ctx, id.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/invitations", tag = "people", security(("bearer" = [])),
    responses((status = 200, body = Items<Invitation>), (status = 403, body = ErrorBody)))]
pub async fn list_invitations(
    state: web::Data<AppState>,
    c: Caller,
    _q: Query<super::NoQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(Items {
        items: members::list_invitations(&state, &c).await?,
    }))
}

/// An invitation to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitation {
    pub email: String,
    /// A built-in or custom role.
    pub role: String,
    /// Grant the role in this team only.
    #[serde(default)]
    pub team_id: Option<Uuid>,
}

/// A created invitation with its token (shown once; send it to the invitee).
#[derive(Serialize, ToSchema)]
pub struct CreatedInvitation {
    pub invitation: Invitation,
    pub token: String,
}

#[utoipa::path(post, path = "/api/v1/invitations", tag = "people", request_body = CreateInvitation, security(("bearer" = [])),
    responses((status = 201, body = CreatedInvitation), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_invitation(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<CreateInvitation>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let (invitation, token) = members::invite(&state, &ctx, &b.email, &b.role, b.team_id).await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(CreatedInvitation {
            invitation,
            token: token.expose().to_string(),
        }))
}

#[utoipa::path(delete, path = "/api/v1/invitations/{id}", tag = "people", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke_invitation(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
) -> ApiResult<HttpResponse> {
    members::revoke_invitation(&state, &ctx, id.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
