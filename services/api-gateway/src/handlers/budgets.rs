//! `/budgets`: spend limits of the org, a team, a project or a virtual key, kept by the cost
//! service (gRPC) with their live state. The org is the caller's; a team-limited grant sees and
//! changes only its teams' budgets. Every change is audited here (cost publishes no audit).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use keyward_core::ServiceName;
use keyward_proto::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Items, NoQuery, time, uuid_of};
use crate::audit::{self, Ctx, Record};
use crate::authz::{Caller, Resource};
use crate::body::{Json, PathId, Query};
use crate::domain::{check_name, ensure_read, ensure_target, ensure_write};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

const WHAT: &str = "budget";

/// Where a budget applies; nothing set means the whole org. A project's or key's team is
/// filled in.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetScope {
    #[serde(default)]
    pub team_id: Option<Uuid>,
    #[serde(default)]
    pub project_id: Option<Uuid>,
    #[serde(default)]
    pub virtual_key_id: Option<Uuid>,
}

/// Budget period.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }
}

/// A new budget.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBudget {
    pub name: String,
    #[serde(default)]
    pub scope: Option<BudgetScope>,
    pub period: Period,
    /// Rolling window (last 24 h / 7 d / 30 d) instead of the calendar period.
    #[serde(default)]
    pub rolling: bool,
    /// Integer micro-dollars, more than 0.
    pub amount_micros: i64,
    /// Block requests when exhausted (default false: only alert).
    #[serde(default)]
    pub hard: bool,
    /// Percentages (1–1000) announced once per period; default 50, 80, 100.
    #[serde(default)]
    pub thresholds: Option<Vec<u32>>,
}

/// Changes to a budget; the scope cannot change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBudget {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub period: Option<Period>,
    #[serde(default)]
    pub rolling: Option<bool>,
    #[serde(default)]
    pub amount_micros: Option<i64>,
    #[serde(default)]
    pub hard: Option<bool>,
    #[serde(default)]
    pub thresholds: Option<Vec<u32>>,
}

/// A budget with its live state.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Budget {
    pub id: String,
    pub name: String,
    pub scope: BudgetScope,
    pub period: String,
    pub rolling: bool,
    pub amount_micros: i64,
    pub hard: bool,
    pub thresholds: Vec<u32>,
    /// Spent in the current period (from the usage rollups).
    pub spent_micros: i64,
    /// Held by in-flight requests at the gateways.
    pub reserved_micros: i64,
    /// amount − spent − reserved, at least 0.
    pub remaining_micros: i64,
    pub exhausted: bool,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
}

impl From<pb::Budget> for Budget {
    fn from(b: pb::Budget) -> Self {
        let s = b.scope.unwrap_or_default();
        let m = |v: Option<pb::Money>| v.map_or(0, |m| m.micros);
        Self {
            scope: BudgetScope {
                team_id: uuid_of(s.team_id.as_ref()),
                project_id: uuid_of(s.project_id.as_ref()),
                virtual_key_id: uuid_of(s.virtual_key_id.as_ref()),
            },
            period_start: time(b.period_start.as_ref()),
            period_end: time(b.period_end.as_ref()),
            id: b.id,
            name: b.name,
            period: b.period,
            rolling: b.rolling,
            amount_micros: m(b.amount),
            hard: b.hard,
            thresholds: b.thresholds,
            spent_micros: m(b.spent),
            reserved_micros: m(b.reserved),
            remaining_micros: m(b.remaining),
            exhausted: b.exhausted,
        }
    }
}

fn cost_error(status: &tonic::Status) -> ApiError {
    crate::upstream::grpc_error(ServiceName::Cost, WHAT, status)
}

fn check_amount(v: i64) -> ApiResult<i64> {
    if v <= 0 {
        return Err(ApiError::invalid("amount_micros", "must be more than zero"));
    }
    Ok(v)
}

fn check_thresholds(v: Option<Vec<u32>>) -> ApiResult<Vec<u32>> {
    let v = v.unwrap_or_default();
    if v.len() > 20 {
        return Err(ApiError::invalid("thresholds", "at most 20 thresholds"));
    }
    if let Some(i) = v.iter().position(|t| !(1..=1000).contains(t)) {
        return Err(ApiError::invalid(
            format!("thresholds[{i}]"),
            "a percentage from 1 to 1000",
        ));
    }
    Ok(v)
}

/// Checks every id of the scope is in the caller's org and fills in a project's or key's team.
async fn resolve_scope(state: &AppState, c: &Caller, s: BudgetScope) -> ApiResult<BudgetScope> {
    let set = [s.team_id, s.project_id, s.virtual_key_id]
        .iter()
        .filter(|v| v.is_some())
        .count();
    if set > 1 {
        return Err(ApiError::invalid(
            "scope",
            "name one of team_id, project_id, virtual_key_id (or none for the org)",
        ));
    }
    if let Some(k) = s.virtual_key_id {
        let mut conn = state.pool.acquire().await?;
        let key = crate::store::vkeys::get(&mut conn, c.org_id.uuid(), k)
            .await?
            .ok_or_else(|| {
                let mut e = ApiError::not_found("scope.virtual_key_id");
                e.field = Some("scope.virtual_key_id".into());
                e
            })?;
        return Ok(BudgetScope {
            team_id: key.team_id,
            project_id: key.project_id,
            virtual_key_id: Some(k),
        });
    }
    let cols = crate::domain::vkeys::resolve_scope(
        state,
        c,
        crate::domain::vkey_types::ScopeInput {
            team_id: s.team_id,
            project_id: s.project_id,
            user_id: None,
        },
    )
    .await?;
    Ok(BudgetScope {
        team_id: cols.team_id,
        project_id: cols.project_id,
        virtual_key_id: None,
    })
}

/// The budget, if the caller may read it (otherwise 404).
async fn fetch(state: &AppState, c: &Caller, id: Uuid) -> ApiResult<Budget> {
    let b = state
        .upstreams
        .cost()?
        .get_budget(pb::BudgetRef {
            org_id: c.org_id.to_string(),
            budget_id: id.to_string(),
        })
        .await
        .map_err(|s| cost_error(&s))?
        .into_inner();
    let b = Budget::from(b);
    ensure_read(c, b.scope.team_id, WHAT)?;
    Ok(b)
}

fn proto(c: &Caller, id: String, scope: BudgetScope, b: &Budget) -> pb::Budget {
    let money = |micros| Some(pb::Money { micros });
    pb::Budget {
        id,
        scope: Some(pb::Scope {
            org_id: c.org_id.to_string(),
            team_id: scope.team_id.map(|v| v.to_string()),
            project_id: scope.project_id.map(|v| v.to_string()),
            user_id: None,
            virtual_key_id: scope.virtual_key_id.map(|v| v.to_string()),
        }),
        name: b.name.clone(),
        period: b.period.clone(),
        rolling: b.rolling,
        amount: money(b.amount_micros),
        hard: b.hard,
        thresholds: b.thresholds.clone(),
        ..Default::default()
    }
}

#[utoipa::path(operation_id = "list_budgets", get, path = "/api/v1/budgets", tag = "budgets", security(("bearer" = [])),
    responses((status = 200, body = Items<Budget>), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    ctx: Ctx,
    _q: Query<NoQuery>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    let r = state
        .upstreams
        .cost()?
        .list_budgets(pb::ListBudgetsRequest {
            org_id: c.org_id.to_string(),
        })
        .await
        .map_err(|s| cost_error(&s))?
        .into_inner();
    let grant = c.grant();
    let items = r
        .budgets
        .into_iter()
        .map(Budget::from)
        .filter(|b| grant.covers(b.scope.team_id.map(keyward_core::id::TeamId::from_uuid)))
        .collect();
    Ok(HttpResponse::Ok().json(Items { items }))
}

#[utoipa::path(operation_id = "create_budget", post, path = "/api/v1/budgets", tag = "budgets", request_body = CreateBudget, security(("bearer" = [])),
    responses((status = 201, body = Budget), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<CreateBudget>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    let input = body.0;
    let draft = Budget {
        id: String::new(),
        name: check_name("name", &input.name)?,
        scope: BudgetScope::default(),
        period: input.period.as_str().into(),
        rolling: input.rolling,
        amount_micros: check_amount(input.amount_micros)?,
        hard: input.hard,
        thresholds: check_thresholds(input.thresholds)?,
        spent_micros: 0,
        reserved_micros: 0,
        remaining_micros: 0,
        exhausted: false,
        period_start: None,
        period_end: None,
    };
    let scope = resolve_scope(&state, c, input.scope.unwrap_or_default()).await?;
    ensure_target(&state, c, Resource::Budgets, scope.team_id)?;
    let b = state
        .upstreams
        .cost()?
        .create_budget(proto(c, String::new(), scope, &draft))
        .await
        .map_err(|s| cost_error(&s))?
        .into_inner();
    let b = Budget::from(b);
    audit::emit(
        &state,
        &ctx,
        Record::change(c.org_id, "budget.create", "budget", &b.id).after(&b),
    );
    Ok(HttpResponse::Created().json(b))
}

#[utoipa::path(operation_id = "get_budget", get, path = "/api/v1/budgets/{id}", tag = "budgets", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Budget), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get(state: web::Data<AppState>, ctx: Ctx, id: PathId) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    Ok(HttpResponse::Ok().json(fetch(&state, c, id.0).await?))
}

#[utoipa::path(operation_id = "update_budget", patch, path = "/api/v1/budgets/{id}", tag = "budgets", params(("id" = Uuid, Path)), request_body = UpdateBudget,
    security(("bearer" = [])), responses((status = 200, body = Budget), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn update(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    body: Json<UpdateBudget>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    let p = body.0;
    let before = fetch(&state, c, id.0).await?;
    ensure_write(&state, c, Resource::Budgets, before.scope.team_id, WHAT)?;
    let mut next = before.clone();
    if let Some(n) = p.name {
        next.name = check_name("name", &n)?;
    }
    if let Some(v) = p.period {
        next.period = v.as_str().into();
    }
    if let Some(v) = p.rolling {
        next.rolling = v;
    }
    if let Some(v) = p.amount_micros {
        next.amount_micros = check_amount(v)?;
    }
    if let Some(v) = p.hard {
        next.hard = v;
    }
    if p.thresholds.is_some() {
        next.thresholds = check_thresholds(p.thresholds)?;
    }
    let b = state
        .upstreams
        .cost()?
        .update_budget(proto(c, id.0.to_string(), next.scope, &next))
        .await
        .map_err(|s| cost_error(&s))?
        .into_inner();
    let b = Budget::from(b);
    audit::emit(
        &state,
        &ctx,
        Record::change(c.org_id, "budget.update", "budget", &b.id)
            .before(&before)
            .after(&b),
    );
    Ok(HttpResponse::Ok().json(b))
}

#[utoipa::path(operation_id = "delete_budget", delete, path = "/api/v1/budgets/{id}", tag = "budgets", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn delete(state: web::Data<AppState>, ctx: Ctx, id: PathId) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    let before = fetch(&state, c, id.0).await?;
    ensure_write(&state, c, Resource::Budgets, before.scope.team_id, WHAT)?;
    let r = state
        .upstreams
        .cost()?
        .delete_budget(pb::BudgetRef {
            org_id: c.org_id.to_string(),
            budget_id: id.0.to_string(),
        })
        .await
        .map_err(|s| cost_error(&s))?
        .into_inner();
    if !r.deleted {
        return Err(ApiError::not_found(WHAT));
    }
    audit::emit(
        &state,
        &ctx,
        Record::change(c.org_id, "budget.delete", "budget", id.0).before(&before),
    );
    Ok(HttpResponse::NoContent().finish())
}
