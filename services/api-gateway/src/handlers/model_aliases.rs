//! `/model-aliases`: an org's names for models, used as `model` in proxy requests.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{Items, NoQuery};
use crate::audit::Ctx;
use crate::body::{Json, PathId, Query};
use crate::domain::model_aliases;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::model_aliases::ModelAlias;

/// A new alias.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateModelAlias {
    /// 1–100 of `A-Z a-z 0-9 . _ : -`, starting with a letter or digit.
    #[schema(example = "fast")]
    pub alias: String,
    /// A catalog model name or `provider/model` (not another alias).
    #[schema(example = "openai/gpt-4o-mini")]
    pub target: String,
}

#[utoipa::path(operation_id = "list_model_aliases", get, path = "/api/v1/model-aliases", tag = "model-aliases", security(("bearer" = [])),
    responses((status = 200, body = Items<ModelAlias>), (status = 403, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    ctx: Ctx,
    _q: Query<NoQuery>,
) -> ApiResult<HttpResponse> {
    let items = model_aliases::list(&state, &ctx).await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

#[utoipa::path(operation_id = "create_model_alias", post, path = "/api/v1/model-aliases", tag = "model-aliases", request_body = CreateModelAlias,
    security(("bearer" = [])), responses((status = 201, body = ModelAlias), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<CreateModelAlias>,
) -> ApiResult<HttpResponse> {
    let a = model_aliases::create(&state, &ctx, &body.0.alias, &body.0.target).await?;
    Ok(HttpResponse::Created().json(a))
}

#[utoipa::path(operation_id = "delete_model_alias", delete, path = "/api/v1/model-aliases/{id}", tag = "model-aliases", params(("id" = uuid::Uuid, Path)),
    security(("bearer" = [])), responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(state: web::Data<AppState>, ctx: Ctx, id: PathId) -> ApiResult<HttpResponse> {
    model_aliases::delete(&state, &ctx, id.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
