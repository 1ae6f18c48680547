//! `/pricing`: the price book as the caller's org sees it, and the org's price overrides
//! (negotiated discounts and contract prices), kept by the cost service (gRPC). Overrides are
//! org-level: changing them needs `pricing write` org-wide. Every change is audited here.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use keyward_core::ServiceName;
use keyward_proto::v1 as pb;
use keyward_proto::v1::price_override::Adjustment;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Items, NoQuery, ensure_org_grant, time, timestamp};
use crate::audit::{self, Ctx, Record};
use crate::body::{Json, PathId, Query};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

const WHAT: &str = "price override";

/// `?provider=&at=&all_versions=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PricingQuery {
    #[serde(default)]
    pub provider: Option<String>,
    /// The prices in force at this time (default now).
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// Every version instead of those in force (`true`/`false`).
    #[serde(default)]
    pub all_versions: Option<String>,
}

/// Prices of one model version, in micro-dollars per 1M tokens (`request_fee`: per request).
#[derive(Serialize, ToSchema)]
pub struct ModelPrice {
    pub provider: String,
    pub model: String,
    pub effective_from: Option<DateTime<Utc>>,
    pub input: i64,
    pub cached_input: i64,
    pub cache_write_5m: i64,
    pub cache_write_1h: i64,
    pub output: i64,
    pub reasoning: i64,
    pub request_fee: i64,
    pub long_context_threshold: Option<u64>,
    /// A discount applied by an override, in basis points.
    pub discount_bps: u32,
    /// Whether an override of the caller's org shaped this price.
    pub org_override: bool,
    pub source: String,
    pub note: String,
}

/// Replacement prices (micro-dollars per 1M tokens); absent optional prices keep the list
/// price.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Replacement {
    pub input: i64,
    pub output: i64,
    #[serde(default)]
    pub cached_input: Option<i64>,
    #[serde(default)]
    pub cache_write_5m: Option<i64>,
    #[serde(default)]
    pub cache_write_1h: Option<i64>,
    #[serde(default)]
    pub reasoning: Option<i64>,
    #[serde(default)]
    pub request_fee: i64,
}

impl From<pb::ReplacementPrices> for Replacement {
    fn from(r: pb::ReplacementPrices) -> Self {
        Self {
            input: r.input,
            output: r.output,
            cached_input: r.cached_input,
            cache_write_5m: r.cache_write_5m,
            cache_write_1h: r.cache_write_1h,
            reasoning: r.reasoning,
            request_fee: r.request_fee,
        }
    }
}

/// A new override: exactly one of `discount_bps` and `replace`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOverride {
    pub provider: String,
    /// A model, or `*` (discounts only) for every model of the provider.
    pub model: String,
    /// Not in the past (costs are computed once, at ingest); default now.
    #[serde(default)]
    pub effective_from: Option<DateTime<Utc>>,
    /// 1–10000 basis points off the list price.
    #[serde(default)]
    pub discount_bps: Option<u32>,
    #[serde(default)]
    pub replace: Option<Replacement>,
}

/// A stored override.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceOverride {
    pub id: String,
    pub provider: String,
    pub model: String,
    pub effective_from: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_bps: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replace: Option<Replacement>,
}

impl From<pb::PriceOverride> for PriceOverride {
    fn from(o: pb::PriceOverride) -> Self {
        let (discount_bps, replace) = match o.adjustment {
            Some(Adjustment::DiscountBps(b)) => (Some(b), None),
            Some(Adjustment::Replace(r)) => (None, Some(Replacement::from(r))),
            None => (None, None),
        };
        Self {
            effective_from: time(o.effective_from.as_ref()),
            id: o.id,
            provider: o.provider,
            model: o.model,
            discount_bps,
            replace,
        }
    }
}

fn cost_error(status: &tonic::Status) -> ApiError {
    crate::upstream::grpc_error(ServiceName::Cost, WHAT, status)
}

fn bool_param(field: &str, v: Option<&str>) -> ApiResult<bool> {
    match v {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::invalid(field, "must be `true` or `false`")),
    }
}

#[utoipa::path(get, path = "/api/v1/pricing", tag = "pricing", params(PricingQuery), security(("bearer" = [])),
    responses((status = 200, body = Items<ModelPrice>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list_prices(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: Query<PricingQuery>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    let q = q.0;
    let all_versions = bool_param("all_versions", q.all_versions.as_deref())?;
    let r = state
        .upstreams
        .cost()?
        .list_prices(pb::PricesRequest {
            org_id: c.org_id.to_string(),
            provider: q.provider.map(|p| p.trim().to_ascii_lowercase()),
            at: q.at.map(timestamp),
            all_versions,
        })
        .await
        .map_err(|s| cost_error(&s))?
        .into_inner();
    let items = r
        .prices
        .into_iter()
        .map(|p| ModelPrice {
            effective_from: time(p.effective_from.as_ref()),
            provider: p.provider,
            model: p.model,
            input: p.input,
            cached_input: p.cached_input,
            cache_write_5m: p.cache_write_5m,
            cache_write_1h: p.cache_write_1h,
            output: p.output,
            reasoning: p.reasoning,
            request_fee: p.request_fee,
            long_context_threshold: p.long_context_threshold,
            discount_bps: p.discount_bps,
            org_override: p.org_override,
            source: p.source,
            note: p.note,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Items { items }))
}

#[utoipa::path(get, path = "/api/v1/pricing/overrides", tag = "pricing", security(("bearer" = [])),
    responses((status = 200, body = Items<PriceOverride>), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list_overrides(
    state: web::Data<AppState>,
    ctx: Ctx,
    _q: Query<NoQuery>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    let r = state
        .upstreams
        .cost()?
        .list_price_overrides(pb::ListPriceOverridesRequest {
            org_id: c.org_id.to_string(),
        })
        .await
        .map_err(|s| cost_error(&s))?
        .into_inner();
    let items: Vec<PriceOverride> = r.overrides.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(Items { items }))
}

fn check_text(field: &str, v: &str) -> ApiResult<String> {
    let v = v.trim();
    if v.is_empty() || v.len() > 200 || v.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ApiError::invalid(field, "1–200 characters, no spaces"));
    }
    Ok(v.to_string())
}

#[utoipa::path(post, path = "/api/v1/pricing/overrides", tag = "pricing", request_body = CreateOverride, security(("bearer" = [])),
    responses((status = 201, body = PriceOverride), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create_override(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<CreateOverride>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    ensure_org_grant(c, "a price override")?;
    let o = body.0;
    let provider = check_text("provider", &o.provider)?.to_ascii_lowercase();
    if provider.parse::<keyward_providers::Provider>().is_err() {
        return Err(ApiError::invalid("provider", "not a known provider"));
    }
    let model = check_text("model", &o.model)?;
    let adjustment = match (o.discount_bps, o.replace) {
        (Some(bps), None) if (1..=10_000).contains(&bps) => Adjustment::DiscountBps(bps),
        (Some(_), None) => {
            return Err(ApiError::invalid("discount_bps", "must be 1 to 10000"));
        }
        (None, Some(r)) => {
            let prices = [
                Some(r.input),
                Some(r.output),
                r.cached_input,
                r.cache_write_5m,
                r.cache_write_1h,
                r.reasoning,
                Some(r.request_fee),
            ];
            if prices.iter().flatten().any(|p| *p < 0) {
                return Err(ApiError::invalid("replace", "prices cannot be negative"));
            }
            // The same seven prices, field for field.
            let Replacement {
                input,
                output,
                cached_input,
                cache_write_5m,
                cache_write_1h,
                reasoning,
                request_fee,
            } = r;
            Adjustment::Replace(pb::ReplacementPrices {
                input,
                output,
                cached_input,
                cache_write_5m,
                cache_write_1h,
                reasoning,
                request_fee,
            })
        }
        _ => {
            return Err(ApiError::invalid(
                "discount_bps",
                "give exactly one of discount_bps and replace",
            ));
        }
    };
    let r = state
        .upstreams
        .cost()?
        .set_price_override(pb::PriceOverride {
            id: String::new(),
            org_id: c.org_id.to_string(),
            provider,
            model,
            effective_from: o.effective_from.map(timestamp),
            adjustment: Some(adjustment),
        })
        .await
        .map_err(|s| cost_error(&s))?
        .into_inner();
    let created = PriceOverride::from(r);
    audit::emit(
        &state,
        &ctx,
        Record::change(
            c.org_id,
            "price_override.create",
            "price_override",
            &created.id,
        )
        .after(&created),
    );
    Ok(HttpResponse::Created().json(created))
}

#[utoipa::path(delete, path = "/api/v1/pricing/overrides/{id}", tag = "pricing", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn delete_override(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    ensure_org_grant(c, "a price override")?;
    let r = state
        .upstreams
        .cost()?
        .delete_price_override(pb::PriceOverrideRef {
            org_id: c.org_id.to_string(),
            id: id.0.to_string(),
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
        Record::change(c.org_id, "price_override.delete", "price_override", id.0),
    );
    Ok(HttpResponse::NoContent().finish())
}
