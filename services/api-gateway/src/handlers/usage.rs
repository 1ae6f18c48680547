//! `/usage/*` and `/cost/*`: analytics over the usage rollups, answered by the cost service
//! (gRPC). The org is always the caller's; a caller whose `usage` grant is limited to teams sees
//! only those teams' usage, and org-level reports (chargeback, recommendations) need the grant
//! org-wide.

use std::collections::BTreeMap;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use keyward_core::ServiceName;
use keyward_proto::v1 as pb;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Items, NoQuery, ensure_org_grant, time, timestamp};
use crate::audit::Ctx;
use crate::authz::{Caller, Grant};
use crate::body::Query;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The dimensions rows can be grouped by.
pub const DIMENSIONS: [&str; 8] = [
    "org",
    "team",
    "project",
    "user",
    "virtual_key",
    "provider_key",
    "provider",
    "model",
];

/// Largest page of usage rows (the cost service's limit).
const MAX_PAGE: u32 = 10_000;

/// Filters shared by every usage route: comma-separated lists, each narrowing the rows.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    /// Team ids, comma-separated.
    #[serde(default)]
    pub team_id: Option<String>,
    /// Project ids, comma-separated.
    #[serde(default)]
    pub project_id: Option<String>,
    /// User ids, comma-separated.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Virtual key ids, comma-separated.
    #[serde(default)]
    pub virtual_key_id: Option<String>,
    /// Provider key ids, comma-separated.
    #[serde(default)]
    pub provider_key_id: Option<String>,
    /// Providers, comma-separated (`openai,anthropic`).
    #[serde(default)]
    pub provider: Option<String>,
    /// Models, comma-separated.
    #[serde(default)]
    pub model: Option<String>,
}

const FILTER_KEYS: [&str; 7] = [
    "team_id",
    "project_id",
    "user_id",
    "virtual_key_id",
    "provider_key_id",
    "provider",
    "model",
];

/// A query string split into the route's own parameters `T` and the shared [`Filters`]; both
/// refuse unknown parameters.
pub struct Filtered<T>(pub T, pub Filters);

impl<T: DeserializeOwned> FromRequest for Filtered<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parse = || {
            let mut own = crate::body::query_map(req.query_string())?;
            let filters = FILTER_KEYS
                .iter()
                .filter_map(|k| own.remove_entry(*k))
                .collect();
            Ok(Filtered(
                crate::body::parse_map(own)?,
                crate::body::parse_map(filters)?,
            ))
        };
        std::future::ready(parse())
    }
}

fn list(field: &str, v: Option<&str>) -> ApiResult<Vec<String>> {
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    let items: Vec<String> = v.split(',').map(|s| s.trim().to_string()).collect();
    if items.len() > 100 {
        return Err(ApiError::invalid(field, "at most 100 values"));
    }
    if items
        .iter()
        .any(|s| s.is_empty() || s.len() > 200 || s.chars().any(char::is_control))
    {
        return Err(ApiError::invalid(
            field,
            "a comma-separated list of non-empty values",
        ));
    }
    Ok(items)
}

fn ids(field: &str, v: Option<&str>) -> ApiResult<Vec<String>> {
    let items = list(field, v)?;
    for s in &items {
        if Uuid::parse_str(s).is_err() {
            return Err(ApiError::invalid(
                field,
                format!("`{s}` is not a valid id (expected a UUID)"),
            ));
        }
    }
    Ok(items)
}

/// The cost service's filter for `c`: the caller's org, the asked-for narrowing, and a team
/// grant's teams (asking for another team is 403).
pub fn usage_filter(c: &Caller, f: &Filters) -> ApiResult<pb::UsageFilter> {
    let mut team_ids = ids("team_id", f.team_id.as_deref())?;
    if let Grant::Teams(teams) = c.grant() {
        let mine: Vec<String> = teams.iter().map(ToString::to_string).collect();
        if team_ids.is_empty() {
            if mine.is_empty() {
                return Err(ApiError::forbidden("your roles allow reading no usage"));
            }
            team_ids = mine;
        } else if let Some(other) = team_ids.iter().find(|t| !mine.contains(t)) {
            let mut e = ApiError::forbidden(format!(
                "your roles allow reading usage only of your teams, not of {other}"
            ));
            e.field = Some("team_id".into());
            return Err(e);
        }
    }
    Ok(pb::UsageFilter {
        org_id: c.org_id.to_string(),
        team_ids,
        project_ids: ids("project_id", f.project_id.as_deref())?,
        user_ids: ids("user_id", f.user_id.as_deref())?,
        virtual_key_ids: ids("virtual_key_id", f.virtual_key_id.as_deref())?,
        provider_key_ids: ids("provider_key_id", f.provider_key_id.as_deref())?,
        providers: list("provider", f.provider.as_deref())?,
        models: list("model", f.model.as_deref())?,
    })
}

/// Time buckets of rows.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BucketParam {
    Hour,
    Day,
    Month,
    None,
}

impl BucketParam {
    fn proto(self) -> i32 {
        match self {
            BucketParam::Hour => pb::Bucket::Hour as i32,
            BucketParam::Day => pb::Bucket::Day as i32,
            BucketParam::Month => pb::Bucket::Month as i32,
            BucketParam::None => pb::Bucket::Unspecified as i32,
        }
    }
}

/// `?from=&to=&group_by=&bucket=&page_size=&cursor=` (plus the filters).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BreakdownQuery {
    /// Start (RFC 3339), inclusive.
    pub from: DateTime<Utc>,
    /// End (RFC 3339), exclusive.
    pub to: DateTime<Utc>,
    /// 1–3 of org, team, project, user, virtual_key, provider_key, provider, model
    /// (comma-separated). Optional on `/timeseries`.
    #[serde(default)]
    pub group_by: Option<String>,
    /// hour, day, month or none (default none; `/timeseries`: day).
    #[serde(default)]
    #[param(value_type = Option<String>)]
    pub bucket: Option<BucketParam>,
    /// 1–10000, default 1000.
    #[serde(default, deserialize_with = "crate::body::num::opt_u32")]
    pub page_size: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// `?from=&to=&dimension=&limit=` (plus the filters).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TopQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// One of the group_by dimensions.
    pub dimension: String,
    /// 1–1000, default 10.
    #[serde(default, deserialize_with = "crate::body::num::opt_u32")]
    pub limit: Option<u32>,
}

/// `?at=` (plus the filters).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ForecastQuery {
    /// Forecast to the end of the month containing this time (default now).
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// `?month=YYYY-MM&by=team|project`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChargebackQuery {
    /// `YYYY-MM` (UTC).
    pub month: String,
    /// `team` (default) or `project`.
    #[serde(default)]
    pub by: Option<String>,
}

/// One row: a bucket and group with its counts and cost.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageRow {
    /// Start of the time bucket (absent without buckets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_start: Option<DateTime<Utc>>,
    /// Dimension → value (`""`: none, e.g. usage without a team).
    pub group: BTreeMap<String, String>,
    pub requests: u64,
    pub errors: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_input_tokens: u64,
    pub cache_write_tokens: u64,
    pub reasoning_tokens: u64,
    /// Requests whose model had no price (counted at zero cost).
    pub unpriced: u64,
    /// Integer micro-dollars.
    pub cost_micros: i64,
}

impl From<pb::BreakdownRow> for UsageRow {
    fn from(r: pb::BreakdownRow) -> Self {
        Self {
            bucket_start: time(r.bucket_start.as_ref()),
            group: r.group.into_iter().collect(),
            requests: r.requests,
            errors: r.errors,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            cached_input_tokens: r.cached_input_tokens,
            cache_write_tokens: r.cache_write_tokens,
            reasoning_tokens: r.reasoning_tokens,
            unpriced: r.unpriced,
            cost_micros: r.cost_micros,
        }
    }
}

/// Rows, with a cursor when more follow.
#[derive(Serialize, ToSchema)]
pub struct UsagePage {
    pub items: Vec<UsageRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl From<pb::BreakdownResponse> for UsagePage {
    fn from(r: pb::BreakdownResponse) -> Self {
        Self {
            items: r.rows.into_iter().map(UsageRow::from).collect(),
            next_cursor: r.page.map(|p| p.next_cursor).filter(|c| !c.is_empty()),
        }
    }
}

/// Spend so far this month and where it is heading.
#[derive(Serialize, ToSchema)]
pub struct Forecast {
    pub spent_micros: i64,
    pub forecast_micros: i64,
    pub daily_rate_micros: i64,
    pub period_end: Option<DateTime<Utc>>,
    /// How the run rate was estimated.
    pub method: String,
}

/// A way to spend less.
#[derive(Serialize, ToSchema)]
pub struct Recommendation {
    /// idle_key, cheaper_model, cache_opportunity.
    pub kind: String,
    pub subject: String,
    pub detail: String,
    pub estimated_monthly_saving_micros: i64,
}

fn cost_error(status: &tonic::Status) -> ApiError {
    crate::upstream::grpc_error(ServiceName::Cost, "usage", status)
}

fn range(from: DateTime<Utc>, to: DateTime<Utc>) -> ApiResult<pb::TimeRange> {
    if from >= to {
        return Err(ApiError::invalid("to", "must be after `from`"));
    }
    Ok(pb::TimeRange {
        from: Some(timestamp(from)),
        to: Some(timestamp(to)),
    })
}

fn group_by(v: Option<&str>, min: usize) -> ApiResult<Vec<String>> {
    let dims = list("group_by", v)?;
    if dims.len() < min || dims.len() > 3 {
        return Err(ApiError::invalid(
            "group_by",
            format!("takes {min} to 3 dimensions"),
        ));
    }
    check_dimensions("group_by", &dims)?;
    Ok(dims)
}

fn check_dimensions(field: &str, dims: &[String]) -> ApiResult<()> {
    for (i, d) in dims.iter().enumerate() {
        if !DIMENSIONS.contains(&d.as_str()) {
            return Err(ApiError::invalid(
                field,
                format!("unknown dimension `{d}` ({})", DIMENSIONS.join(", ")),
            ));
        }
        if dims[..i].contains(d) {
            return Err(ApiError::invalid(field, format!("`{d}` is repeated")));
        }
    }
    Ok(())
}

fn breakdown_request(
    c: &Caller,
    q: BreakdownQuery,
    f: &Filters,
    min_dims: usize,
) -> ApiResult<pb::BreakdownRequest> {
    let page_size = match q.page_size {
        None => 0,
        Some(n) if (1..=MAX_PAGE).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::invalid(
                "page_size",
                format!("must be 1 to {MAX_PAGE}"),
            ));
        }
    };
    if let Some(cursor) = &q.cursor
        && cursor.parse::<u64>().is_err()
    {
        return Err(ApiError::invalid("cursor", "not a cursor of this list"));
    }
    Ok(pb::BreakdownRequest {
        filter: Some(usage_filter(c, f)?),
        range: Some(range(q.from, q.to)?),
        group_by: group_by(q.group_by.as_deref(), min_dims)?,
        bucket: q
            .bucket
            .map_or(pb::Bucket::Unspecified as i32, BucketParam::proto),
        page: Some(pb::PageRequest {
            page_size,
            cursor: q.cursor.unwrap_or_default(),
        }),
    })
}

#[utoipa::path(get, path = "/api/v1/usage/breakdown", tag = "usage", params(BreakdownQuery, Filters), security(("bearer" = [])),
    responses((status = 200, body = UsagePage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn breakdown(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: Filtered<BreakdownQuery>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    let req = breakdown_request(c, q.0, &q.1, 1)?;
    let r = state
        .upstreams
        .cost()?
        .breakdown(req)
        .await
        .map_err(|s| cost_error(&s))?;
    Ok(HttpResponse::Ok().json(UsagePage::from(r.into_inner())))
}

#[utoipa::path(get, path = "/api/v1/usage/timeseries", tag = "usage", params(BreakdownQuery, Filters), security(("bearer" = [])),
    responses((status = 200, body = UsagePage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn timeseries(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: Filtered<BreakdownQuery>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    let req = breakdown_request(c, q.0, &q.1, 0)?;
    let r = state
        .upstreams
        .cost()?
        .time_series(req)
        .await
        .map_err(|s| cost_error(&s))?;
    Ok(HttpResponse::Ok().json(UsagePage::from(r.into_inner())))
}

#[utoipa::path(get, path = "/api/v1/usage/top", tag = "usage", params(TopQuery, Filters), security(("bearer" = [])),
    responses((status = 200, body = UsagePage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn top(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: Filtered<TopQuery>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    let Filtered(q, f) = q;
    check_dimensions("dimension", std::slice::from_ref(&q.dimension))?;
    let limit = match q.limit {
        None => 10,
        Some(n @ 1..=1000) => n,
        Some(_) => return Err(ApiError::invalid("limit", "must be 1 to 1000")),
    };
    let r = state
        .upstreams
        .cost()?
        .top(pb::TopRequest {
            filter: Some(usage_filter(c, &f)?),
            range: Some(range(q.from, q.to)?),
            dimension: q.dimension,
            limit,
        })
        .await
        .map_err(|s| cost_error(&s))?;
    Ok(HttpResponse::Ok().json(UsagePage::from(r.into_inner())))
}

#[utoipa::path(get, path = "/api/v1/cost/forecast", tag = "usage", params(ForecastQuery, Filters), security(("bearer" = [])),
    responses((status = 200, body = Forecast), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn forecast(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: Filtered<ForecastQuery>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    let r = state
        .upstreams
        .cost()?
        .forecast(pb::ForecastRequest {
            filter: Some(usage_filter(c, &q.1)?),
            at: q.0.at.map(timestamp),
        })
        .await
        .map_err(|s| cost_error(&s))?
        .into_inner();
    Ok(HttpResponse::Ok().json(Forecast {
        spent_micros: r.spent_micros,
        forecast_micros: r.forecast_micros,
        daily_rate_micros: r.daily_rate_micros,
        period_end: time(r.period_end.as_ref()),
        method: r.method,
    }))
}

#[utoipa::path(get, path = "/api/v1/cost/recommendations", tag = "usage", security(("bearer" = [])),
    responses((status = 200, body = Items<Recommendation>), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn recommendations(
    state: web::Data<AppState>,
    ctx: Ctx,
    _q: Query<NoQuery>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    ensure_org_grant(c, "recommendations")?;
    let r = state
        .upstreams
        .cost()?
        .recommendations(pb::RecommendationsRequest {
            org_id: c.org_id.to_string(),
        })
        .await
        .map_err(|s| cost_error(&s))?
        .into_inner();
    let items = r
        .items
        .into_iter()
        .map(|i| Recommendation {
            kind: i.kind,
            subject: i.subject,
            detail: i.detail,
            estimated_monthly_saving_micros: i.estimated_monthly_saving_micros,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Items { items }))
}

fn check_month(month: &str) -> ApiResult<()> {
    let ok = month.len() == 7
        && chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_ok();
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid("month", "expected YYYY-MM"))
    }
}

#[utoipa::path(get, path = "/api/v1/cost/chargeback.csv", tag = "usage", params(ChargebackQuery), security(("bearer" = [])),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn chargeback(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: Query<ChargebackQuery>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    ensure_org_grant(c, "chargeback")?;
    let q = q.0;
    check_month(&q.month)?;
    let by = q.by.unwrap_or_else(|| "team".into());
    if by != "team" && by != "project" {
        return Err(ApiError::invalid("by", "must be `team` or `project`"));
    }
    let stream = state
        .upstreams
        .cost()?
        .chargeback(pb::ChargebackRequest {
            org_id: c.org_id.to_string(),
            month: q.month.clone(),
            by: by.clone(),
        })
        .await
        .map_err(|s| cost_error(&s))?
        .into_inner();
    let body = stream.map(|chunk| {
        chunk
            .map(|c| bytes::Bytes::from(c.data))
            .map_err(|s| actix_web::Error::from(cost_error(&s)))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"chargeback-{}-{by}.csv\"", q.month),
        ))
        .streaming(body))
}

/// `?from=&to=&status=&page_size=&cursor=` (plus the filters).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// ok, error, rate_limited, timeout, cancelled (comma-separated).
    #[serde(default)]
    pub status: Option<String>,
    /// 1–1000, default 100.
    #[serde(default, deserialize_with = "crate::body::num::opt_u32")]
    pub page_size: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// One metered call.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageEvent {
    pub event_id: String,
    pub ts: Option<DateTime<Utc>>,
    pub team_id: Option<String>,
    pub project_id: Option<String>,
    pub user_id: Option<String>,
    pub virtual_key_id: Option<String>,
    pub provider_key_id: Option<String>,
    pub provider: String,
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_input_tokens: u64,
    pub cache_write_tokens: u64,
    pub reasoning_tokens: u64,
    pub latency_ms: u32,
    pub http_status: u32,
    /// ok, error, rate_limited, timeout, cancelled.
    pub status: String,
    /// The gateway's request id of the call.
    pub request_id: String,
    pub endpoint: String,
    pub streamed: bool,
    pub cost_micros: i64,
    /// Whether the model had a price (otherwise counted at zero cost).
    pub priced: bool,
}

impl From<pb::UsageEventRow> for UsageEvent {
    fn from(e: pb::UsageEventRow) -> Self {
        Self {
            ts: time(e.ts.as_ref()),
            event_id: e.event_id,
            team_id: e.team_id,
            project_id: e.project_id,
            user_id: e.user_id,
            virtual_key_id: e.virtual_key_id,
            provider_key_id: e.provider_key_id,
            provider: e.provider,
            model: e.model,
            input_tokens: e.input_tokens,
            output_tokens: e.output_tokens,
            cached_input_tokens: e.cached_input_tokens,
            cache_write_tokens: e.cache_write_tokens,
            reasoning_tokens: e.reasoning_tokens,
            latency_ms: e.latency_ms,
            http_status: e.http_status,
            status: e.status,
            request_id: e.request_id,
            endpoint: e.endpoint,
            streamed: e.streamed,
            cost_micros: e.cost_micros,
            priced: e.priced,
        }
    }
}

/// A page of calls, newest first.
#[derive(Serialize, ToSchema)]
pub struct UsageEventPage {
    pub items: Vec<UsageEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

const STATUSES: [&str; 5] = ["ok", "error", "rate_limited", "timeout", "cancelled"];

#[utoipa::path(get, path = "/api/v1/usage/events", tag = "usage", params(EventsQuery, Filters), security(("bearer" = [])),
    responses((status = 200, body = UsageEventPage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn events(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: Filtered<EventsQuery>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    let Filtered(q, f) = q;
    let statuses = list("status", q.status.as_deref())?;
    if let Some(s) = statuses.iter().find(|s| !STATUSES.contains(&s.as_str())) {
        return Err(ApiError::invalid(
            "status",
            format!("unknown status `{s}` ({})", STATUSES.join(", ")),
        ));
    }
    let page_size = match q.page_size {
        None => 0,
        Some(n @ 1..=1000) => n,
        Some(_) => return Err(ApiError::invalid("page_size", "must be 1 to 1000")),
    };
    let r = state
        .upstreams
        .cost()?
        .usage_events(pb::UsageEventsRequest {
            filter: Some(usage_filter(c, &f)?),
            range: Some(range(q.from, q.to)?),
            statuses,
            page: Some(pb::PageRequest {
                page_size,
                cursor: q.cursor.unwrap_or_default(),
            }),
        })
        .await
        .map_err(|s| cost_error(&s))?
        .into_inner();
    Ok(HttpResponse::Ok().json(UsageEventPage {
        items: r.events.into_iter().map(UsageEvent::from).collect(),
        next_cursor: r.page.map(|p| p.next_cursor).filter(|c| !c.is_empty()),
    }))
}
