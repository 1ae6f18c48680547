//! `/roles` (built-in and custom) and `/role-assignments`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Items;
use crate::audit::Ctx;
use crate::authz::Caller;
use crate::body::{Json, PathId, Query};
use crate::domain::roles::{self, Permission, Role};
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::roles::Assignment;

fn role_name(req: &HttpRequest) -> String {
    req.match_info().get("name").unwrap_or_default().to_string()
}

#[utoipa::path(get, path = "/api/v1/roles", tag = "roles", security(("bearer" = [])),
    responses((status = 200, body = Items<Role>), (status = 403, body = ErrorBody)))]
pub async fn list_roles(
    state: web::Data<AppState>,
    c: Caller,
    _q: Query<super::NoQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(Items {
        items: roles::list(&state, &c).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/roles/{name}", tag = "roles", params(("name" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Role), (status = 404, body = ErrorBody)))]
pub async fn get_role(
    state: web::Data<AppState>,
    c: Caller,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(roles::get(&state, &c, &role_name(&req)).await?))
}

/// A custom role.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRole {
    /// 2–40 characters of a-z, 0-9, `_`, `-`; not a built-in name.
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub permissions: Vec<Permission>,
}

#[utoipa::path(post, path = "/api/v1/roles", tag = "roles", request_body = CreateRole, security(("bearer" = [])),
    responses((status = 201, body = Role), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_role(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<CreateRole>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let role = roles::create(&state, &ctx, &b.name, &b.description, &b.permissions).await?;
    Ok(HttpResponse::Created().json(role))
}

/// A custom role's new permissions (replacing the old ones).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRole {
    #[serde(default)]
    pub description: Option<String>,
    pub permissions: Vec<Permission>,
}

#[utoipa::path(put, path = "/api/v1/roles/{name}", tag = "roles", params(("name" = String, Path)), request_body = UpdateRole,
    security(("bearer" = [])), responses((status = 200, body = Role), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_role(
    state: web::Data<AppState>,
    ctx: Ctx,
    req: HttpRequest,
    body: Json<UpdateRole>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let role = roles::update(
        &state,
        &ctx,
        &role_name(&req),
        b.description.as_deref(),
        &b.permissions,
    )
    .await?;
    Ok(HttpResponse::Ok().json(role))
}

#[utoipa::path(delete, path = "/api/v1/roles/{name}", tag = "roles", params(("name" = String, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_role(
    state: web::Data<AppState>,
    ctx: Ctx,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    roles::delete(&state, &ctx, &role_name(&req)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `?user_id=` filter.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AssignmentQuery {
    #[serde(default)]
    pub user_id: Option<Uuid>,
}

#[utoipa::path(get, path = "/api/v1/role-assignments", tag = "roles", params(AssignmentQuery), security(("bearer" = [])),
    responses((status = 200, body = Items<Assignment>), (status = 403, body = ErrorBody)))]
pub async fn list_assignments(
    state: web::Data<AppState>,
    c: Caller,
    q: Query<AssignmentQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(Items {
        items: roles::list_assignments(&state, &c, q.0.user_id).await?,
    }))
}

/// A role to grant.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAssignment {
    pub user_id: Uuid,
    pub role: String,
    /// Grant it in this team only.
    #[serde(default)]
    pub team_id: Option<Uuid>,
}

#[utoipa::path(post, path = "/api/v1/role-assignments", tag = "roles", request_body = CreateAssignment, security(("bearer" = [])),
    responses((status = 201, body = Assignment), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_assignment(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<CreateAssignment>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let a = roles::assign(&state, &ctx, b.user_id, &b.role, b.team_id).await?;
    Ok(HttpResponse::Created().json(a))
}

#[utoipa::path(delete, path = "/api/v1/role-assignments/{id}", tag = "roles", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn delete_assignment(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
) -> ApiResult<HttpResponse> {
    roles::unassign(&state, &ctx, id.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
