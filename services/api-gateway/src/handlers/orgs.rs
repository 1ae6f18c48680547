//! `/orgs`, `/teams`, `/projects`.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Items, Page, PageQuery};
use crate::audit::Ctx;
use crate::authz::Caller;
use crate::body::{Json, PathId, Query};
use crate::domain::{self, orgs};
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::orgs::Org;
use crate::store::projects::Project;
use crate::store::teams::Team;

/// A new organization.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    pub name: String,
}

/// Changes to an organization.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrg {
    #[serde(default)]
    pub name: Option<String>,
    /// Require TOTP of owners and admins.
    #[serde(default)]
    pub require_totp: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/orgs", tag = "orgs", security(("bearer" = [])),
    responses((status = 200, body = Items<Org>), (status = 401, body = ErrorBody)))]
pub async fn list_orgs(
    state: web::Data<AppState>,
    c: Caller,
    _q: Query<super::NoQuery>,
) -> ApiResult<HttpResponse> {
    let items = crate::store::orgs::list_for_user(&state.pool, c.user_id.uuid()).await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

#[utoipa::path(post, path = "/api/v1/orgs", tag = "orgs", request_body = CreateOrg, security(("bearer" = [])),
    responses((status = 201, body = Org), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_org(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<CreateOrg>,
) -> ApiResult<HttpResponse> {
    let org = orgs::create_org(&state, &ctx, &body.0.name).await?;
    Ok(HttpResponse::Created().json(org))
}

#[utoipa::path(get, path = "/api/v1/orgs/{id}", tag = "orgs", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Org), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_org(state: web::Data<AppState>, c: Caller, id: PathId) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(orgs::get_org(&state, &c, id.0).await?))
}

#[utoipa::path(patch, path = "/api/v1/orgs/{id}", tag = "orgs", params(("id" = Uuid, Path)), request_body = UpdateOrg,
    security(("bearer" = [])), responses((status = 200, body = Org), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_org(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    body: Json<UpdateOrg>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let org = orgs::update_org(&state, &ctx, id.0, b.name.as_deref(), b.require_totp).await?;
    Ok(HttpResponse::Ok().json(org))
}

/// A new team.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeam {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// Changes to a team.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeam {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Team>), (status = 403, body = ErrorBody)))]
pub async fn list_teams(
    state: web::Data<AppState>,
    c: Caller,
    q: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let limit = domain::page_limit(q.0.limit)?;
    let items = orgs::list_teams(&state, &c, q.0.after, limit).await?;
    Ok(HttpResponse::Ok().json(Page::of(items, limit, |t| t.id)))
}

#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", request_body = CreateTeam, security(("bearer" = [])),
    responses((status = 201, body = Team), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_team(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<CreateTeam>,
) -> ApiResult<HttpResponse> {
    let team = orgs::create_team(&state, &ctx, &body.0.name, &body.0.description).await?;
    Ok(HttpResponse::Created().json(team))
}

#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Team), (status = 404, body = ErrorBody)))]
pub async fn get_team(
    state: web::Data<AppState>,
    c: Caller,
    id: PathId,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(orgs::get_team(&state, &c, id.0).await?))
}

#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = Uuid, Path)), request_body = UpdateTeam,
    security(("bearer" = [])), responses((status = 200, body = Team), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_team(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    body: Json<UpdateTeam>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let team = orgs::update_team(
        &state,
        &ctx,
        id.0,
        b.name.as_deref(),
        b.description.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(team))
}

#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_team(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
) -> ApiResult<HttpResponse> {
    orgs::delete_team(&state, &ctx, id.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new project.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub team_id: Option<Uuid>,
}

/// Changes to a project; `team_id: null` moves it out of its team.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProject {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "crate::body::nullable")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub team_id: Option<Option<Uuid>>,
}

#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Project>), (status = 403, body = ErrorBody)))]
pub async fn list_projects(
    state: web::Data<AppState>,
    c: Caller,
    q: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let limit = domain::page_limit(q.0.limit)?;
    let items = orgs::list_projects(&state, &c, q.0.after, limit).await?;
    Ok(HttpResponse::Ok().json(Page::of(items, limit, |p| p.id)))
}

#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = CreateProject, security(("bearer" = [])),
    responses((status = 201, body = Project), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_project(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<CreateProject>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let p = orgs::create_project(&state, &ctx, &b.name, &b.description, b.team_id).await?;
    Ok(HttpResponse::Created().json(p))
}

#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Project), (status = 404, body = ErrorBody)))]
pub async fn get_project(
    state: web::Data<AppState>,
    c: Caller,
    id: PathId,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(orgs::get_project(&state, &c, id.0).await?))
}

#[utoipa::path(patch, path = "/api/v1/projects/{id}", tag = "projects", params(("id" = Uuid, Path)), request_body = UpdateProject,
    security(("bearer" = [])), responses((status = 200, body = Project), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_project(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    body: Json<UpdateProject>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let p = orgs::update_project(
        &state,
        &ctx,
        id.0,
        b.name.as_deref(),
        b.description.as_deref(),
        b.team_id,
    )
    .await?;
    Ok(HttpResponse::Ok().json(p))
}

#[utoipa::path(delete, path = "/api/v1/projects/{id}", tag = "projects", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_project(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
) -> ApiResult<HttpResponse> {
    orgs::delete_project(&state, &ctx, id.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
