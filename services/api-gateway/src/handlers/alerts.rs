//! `/alerts…`: rules, channels, fired alerts and their deliveries, kept by the alert service
//! (gRPC; docs/alerts.md). Alerts are org-level: every route needs its `alerts` permission
//! org-wide. The alert service audits every change itself (in the transaction of the change,
//! with the caller as actor), so these handlers pass the caller along instead of publishing a
//! second record.
//!
//! Channel secrets (webhook and Slack URLs, signing secrets, SMTP passwords, PagerDuty routing
//! keys) are accepted here, handed to the alert service, which keeps them in the vault, and never
//! returned — except a signing secret Keyward generated, shown once on creation.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use keyward_core::ServiceName;
use keyward_proto::v1 as pb;
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{NoQuery, actor, ensure_org_grant, timestamp};
use crate::audit::Ctx;
use crate::authz::Caller;
use crate::body::{Json, JsonOrEmpty, PathId, Query};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

mod guard;
mod views;

pub use views::{Alert, AlertDetail, Channel, ChannelCreated, Delivery, DeliveryAttempt, Rule};

/// Where a rule looks; nothing set means the whole org.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleScope {
    #[serde(default)]
    pub team_id: Option<Uuid>,
    #[serde(default)]
    pub project_id: Option<Uuid>,
    #[serde(default)]
    pub user_id: Option<Uuid>,
    #[serde(default)]
    pub virtual_key_id: Option<Uuid>,
}

/// A time window in which a rule's alerts notify nobody.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Silence {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[serde(default)]
    pub comment: String,
}

/// A rule, as created or replaced (`PUT` replaces every field).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    pub name: String,
    /// budget, key_health, access_anomaly, spend_spike, error_rate, latency_p95 (cannot change).
    pub rule_type: String,
    #[serde(default)]
    pub scope: Option<RuleScope>,
    /// Type-specific conditions (docs/alerts.md); absent: the defaults.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub conditions: Option<serde_json::Value>,
    /// info, warning (default), critical.
    #[serde(default)]
    pub severity: Option<String>,
    /// Channels notified; empty: every enabled channel.
    #[serde(default)]
    pub channel_ids: Vec<Uuid>,
    #[serde(default)]
    pub escalate_after_minutes: u32,
    #[serde(default)]
    pub escalate_after_seconds: u32,
    #[serde(default)]
    pub escalation_channel_ids: Vec<Uuid>,
    /// Default 60 minutes.
    #[serde(default)]
    pub dedup_window_minutes: u32,
    #[serde(default)]
    pub dedup_window_seconds: u32,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub silences: Vec<Silence>,
}

/// A new channel.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChannel {
    pub name: String,
    /// webhook, slack, email, pagerduty.
    pub kind: String,
    /// Non-secret settings (e-mail: host, port, tls, username, from, to; PagerDuty: url).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub settings: Option<serde_json::Value>,
    /// The kind's secrets: webhook `url`, `signing_secret` (generated when absent); slack
    /// `webhook_url`; email `password`; pagerduty `routing_key`. Never returned.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub secrets: Option<BTreeMap<String, secrecy::SecretString>>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A channel's new name, settings and state; `secrets`, when given, replace the stored ones.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateChannel {
    pub name: String,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub settings: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub secrets: Option<BTreeMap<String, secrecy::SecretString>>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// `?state=&rule_id=&severity=&rule_type=&from=&to=&page_size=&cursor=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    /// firing, acknowledged, snoozed, resolved.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub rule_id: Option<Uuid>,
    /// info, warning, critical.
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub rule_type: Option<String>,
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    /// 1–200, default 50.
    #[serde(default, deserialize_with = "crate::body::num::opt_u32")]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
}

/// `?status=&alert_id=&channel_id=&from=&to=&page_size=&cursor=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// pending, delivered, failed.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub alert_id: Option<Uuid>,
    #[serde(default)]
    pub channel_id: Option<Uuid>,
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    /// 1–200, default 50.
    #[serde(default, deserialize_with = "crate::body::num::opt_u32")]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Snooze for 1 minute to 7 days.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeInput {
    pub minutes: u32,
    #[serde(default)]
    pub comment: Option<String>,
}

/// An optional comment for the audit trail.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionInput {
    #[serde(default)]
    pub comment: Option<String>,
}

/// Rules, channels or deliveries of a page.
#[derive(Serialize, ToSchema)]
pub struct AlertPage<T: ToSchema> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The outcome of a test send.
#[derive(Serialize, ToSchema)]
pub struct TestResult {
    pub delivered: bool,
    pub detail: String,
    pub delivery: Option<Delivery>,
}

fn err(what: &'static str) -> impl Fn(tonic::Status) -> ApiError {
    move |s| crate::upstream::grpc_error(ServiceName::Alert, what, &s)
}

/// The caller, who must hold the permission org-wide.
fn org_caller(ctx: &Ctx) -> ApiResult<&Caller> {
    let c = ctx.signed_in()?;
    ensure_org_grant(c, "alerting")?;
    Ok(c)
}

fn meta(ctx: &Ctx, c: &Caller) -> Option<pb::AlertRequestMeta> {
    Some(pb::AlertRequestMeta {
        actor: Some(actor(ctx, c)),
        request_id: ctx.request_id.clone(),
    })
}

fn no_store(mut b: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    b.insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"));
    b
}

fn page(size: Option<u32>, cursor: Option<String>) -> ApiResult<Option<pb::PageRequest>> {
    let page_size = match size {
        None => 50,
        Some(n @ 1..=200) => n,
        Some(_) => return Err(ApiError::invalid("page_size", "must be 1 to 200")),
    };
    Ok(Some(pb::PageRequest {
        page_size,
        cursor: cursor.unwrap_or_default(),
    }))
}

fn range(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> ApiResult<Option<pb::TimeRange>> {
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        return Err(ApiError::invalid("to", "must be after `from`"));
    }
    Ok(Some(pb::TimeRange {
        from: from.map(timestamp),
        to: to.map(timestamp),
    }))
}

fn one_of(field: &str, v: Option<String>, allowed: &[&str]) -> ApiResult<Option<String>> {
    match v {
        Some(s) if !allowed.contains(&s.as_str()) => Err(ApiError::invalid(
            field,
            format!("must be one of {}", allowed.join(", ")),
        )),
        v => Ok(v),
    }
}

fn rule_proto(c: &Caller, id: String, r: RuleInput) -> ApiResult<pb::AlertRule> {
    let conditions_json = match r.conditions {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(v @ serde_json::Value::Object(_)) => v.to_string(),
        Some(_) => return Err(ApiError::invalid("conditions", "must be an object")),
    };
    let scope = r.scope.unwrap_or_default();
    let ids = |v: Vec<Uuid>| v.into_iter().map(|u| u.to_string()).collect();
    Ok(pb::AlertRule {
        id,
        org_id: c.org_id.to_string(),
        name: r.name,
        rule_type: r.rule_type,
        scope: Some(pb::Scope {
            org_id: c.org_id.to_string(),
            team_id: scope.team_id.map(|v| v.to_string()),
            project_id: scope.project_id.map(|v| v.to_string()),
            user_id: scope.user_id.map(|v| v.to_string()),
            virtual_key_id: scope.virtual_key_id.map(|v| v.to_string()),
        }),
        conditions_json,
        severity: r.severity.unwrap_or_default(),
        channel_ids: ids(r.channel_ids),
        escalate_after_minutes: r.escalate_after_minutes,
        escalation_channel_ids: ids(r.escalation_channel_ids),
        dedup_window_minutes: r.dedup_window_minutes,
        enabled: r.enabled,
        silences: r
            .silences
            .into_iter()
            .map(|s| pb::SilenceWindow {
                from: Some(timestamp(s.from)),
                to: Some(timestamp(s.to)),
                comment: s.comment,
            })
            .collect(),
        escalate_after_seconds: r.escalate_after_seconds,
        dedup_window_seconds: r.dedup_window_seconds,
        ..Default::default()
    })
}

/// The secrets as the alert service takes them: one JSON object in `api_key`.
fn secret_material(
    secrets: Option<&BTreeMap<String, secrecy::SecretString>>,
) -> Option<pb::SecretMaterial> {
    secrets.map(|s| {
        let obj: serde_json::Map<String, serde_json::Value> = s
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    serde_json::Value::String(v.expose_secret().to_string()),
                )
            })
            .collect();
        pb::SecretMaterial {
            api_key: serde_json::Value::Object(obj).to_string(),
            ..Default::default()
        }
    })
}

fn settings_json(v: Option<&serde_json::Value>) -> ApiResult<String> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(String::new()),
        Some(v @ serde_json::Value::Object(_)) => Ok(v.to_string()),
        Some(_) => Err(ApiError::invalid("settings", "must be an object")),
    }
}

// ---- rules ----

#[utoipa::path(get, path = "/api/v1/alerts/rules", tag = "alerts", security(("bearer" = [])),
    responses((status = 200, body = AlertPage<Rule>), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list_rules(
    state: web::Data<AppState>,
    ctx: Ctx,
    _q: Query<NoQuery>,
) -> ApiResult<HttpResponse> {
    let c = org_caller(&ctx)?;
    let r = state
        .upstreams
        .alert()?
        .list_rules(pb::OrgRef {
            org_id: c.org_id.to_string(),
        })
        .await
        .map_err(err("rule"))?
        .into_inner();
    let items = r.rules.into_iter().map(Rule::from).collect();
    Ok(HttpResponse::Ok().json(AlertPage::<Rule> {
        items,
        next_cursor: None,
    }))
}

#[utoipa::path(post, path = "/api/v1/alerts/rules", tag = "alerts", request_body = RuleInput, security(("bearer" = [])),
    responses((status = 201, body = Rule), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create_rule(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<RuleInput>,
) -> ApiResult<HttpResponse> {
    let c = org_caller(&ctx)?;
    let rule = rule_proto(c, String::new(), body.0)?;
    let r = state
        .upstreams
        .alert()?
        .create_rule(pb::RuleRequest {
            rule: Some(rule),
            meta: meta(&ctx, c),
        })
        .await
        .map_err(err("rule"))?
        .into_inner();
    Ok(HttpResponse::Created().json(Rule::from(r)))
}

fn rule_ref(ctx: &Ctx, c: &Caller, id: Uuid) -> pb::RuleRef {
    pb::RuleRef {
        org_id: c.org_id.to_string(),
        id: id.to_string(),
        meta: meta(ctx, c),
    }
}

#[utoipa::path(get, path = "/api/v1/alerts/rules/{id}", tag = "alerts", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Rule), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_rule(state: web::Data<AppState>, ctx: Ctx, id: PathId) -> ApiResult<HttpResponse> {
    let c = org_caller(&ctx)?;
    let r = state
        .upstreams
        .alert()?
        .get_rule(rule_ref(&ctx, c, id.0))
        .await
        .map_err(err("rule"))?
        .into_inner();
    Ok(HttpResponse::Ok().json(Rule::from(r)))
}

#[utoipa::path(put, path = "/api/v1/alerts/rules/{id}", tag = "alerts", params(("id" = Uuid, Path)), request_body = RuleInput,
    security(("bearer" = [])), responses((status = 200, body = Rule), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn update_rule(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    body: Json<RuleInput>,
) -> ApiResult<HttpResponse> {
    let c = org_caller(&ctx)?;
    let rule = rule_proto(c, id.0.to_string(), body.0)?;
    let r = state
        .upstreams
        .alert()?
        .update_rule(pb::RuleRequest {
            rule: Some(rule),
            meta: meta(&ctx, c),
        })
        .await
        .map_err(err("rule"))?
        .into_inner();
    Ok(HttpResponse::Ok().json(Rule::from(r)))
}

#[utoipa::path(delete, path = "/api/v1/alerts/rules/{id}", tag = "alerts", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn delete_rule(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let c = org_caller(&ctx)?;
    state
        .upstreams
        .alert()?
        .delete_rule(rule_ref(&ctx, c, id.0))
        .await
        .map_err(err("rule"))?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- channels ----

fn channel_ref(ctx: &Ctx, c: &Caller, id: Uuid) -> pb::ChannelRef {
    pb::ChannelRef {
        org_id: c.org_id.to_string(),
        id: id.to_string(),
        meta: meta(ctx, c),
    }
}

#[utoipa::path(get, path = "/api/v1/alerts/channels", tag = "alerts", security(("bearer" = [])),
    responses((status = 200, body = AlertPage<Channel>), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list_channels(
    state: web::Data<AppState>,
    ctx: Ctx,
    _q: Query<NoQuery>,
) -> ApiResult<HttpResponse> {
    let c = org_caller(&ctx)?;
    let r = state
        .upstreams
        .alert()?
        .list_channels(pb::OrgRef {
            org_id: c.org_id.to_string(),
        })
        .await
        .map_err(err("channel"))?
        .into_inner();
    let items = r.channels.into_iter().map(Channel::from).collect();
    Ok(HttpResponse::Ok().json(AlertPage::<Channel> {
        items,
        next_cursor: None,
    }))
}

#[utoipa::path(post, path = "/api/v1/alerts/channels", tag = "alerts", request_body = CreateChannel, security(("bearer" = [])),
    responses((status = 201, body = ChannelCreated), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create_channel(
    state: web::Data<AppState>,
    ctx: Ctx,
    body: Json<CreateChannel>,
) -> ApiResult<HttpResponse> {
    let c = org_caller(&ctx)?;
    let b = body.0;
    guard::check(
        state.allow_private_webhook_targets,
        b.settings.as_ref(),
        b.secrets.as_ref(),
    )?;
    let r = state
        .upstreams
        .alert()?
        .create_channel(pb::CreateChannelRequest {
            channel: Some(pb::AlertChannel {
                org_id: c.org_id.to_string(),
                name: b.name,
                kind: b.kind,
                settings_json: settings_json(b.settings.as_ref())?,
                enabled: b.enabled,
                ..Default::default()
            }),
            secrets: secret_material(b.secrets.as_ref()),
            meta: meta(&ctx, c),
        })
        .await
        .map_err(err("channel"))?
        .into_inner();
    Ok(no_store(HttpResponse::Created()).json(ChannelCreated::from(r)))
}

#[utoipa::path(get, path = "/api/v1/alerts/channels/{id}", tag = "alerts", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Channel), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_channel(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let c = org_caller(&ctx)?;
    let r = state
        .upstreams
        .alert()?
        .get_channel(channel_ref(&ctx, c, id.0))
        .await
        .map_err(err("channel"))?
        .into_inner();
    Ok(HttpResponse::Ok().json(Channel::from(r)))
}

#[utoipa::path(put, path = "/api/v1/alerts/channels/{id}", tag = "alerts", params(("id" = Uuid, Path)), request_body = UpdateChannel,
    security(("bearer" = [])), responses((status = 200, body = ChannelCreated), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn update_channel(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    body: Json<UpdateChannel>,
) -> ApiResult<HttpResponse> {
    let c = org_caller(&ctx)?;
    let b = body.0;
    guard::check(
        state.allow_private_webhook_targets,
        b.settings.as_ref(),
        b.secrets.as_ref(),
    )?;
    let r = state
        .upstreams
        .alert()?
        .update_channel(pb::UpdateChannelRequest {
            channel: Some(pb::AlertChannel {
                id: id.0.to_string(),
                org_id: c.org_id.to_string(),
                name: b.name,
                settings_json: settings_json(b.settings.as_ref())?,
                enabled: b.enabled,
                ..Default::default()
            }),
            secrets: secret_material(b.secrets.as_ref()),
            meta: meta(&ctx, c),
        })
        .await
        .map_err(err("channel"))?
        .into_inner();
    Ok(no_store(HttpResponse::Ok()).json(ChannelCreated::from(r)))
}

#[utoipa::path(delete, path = "/api/v1/alerts/channels/{id}", tag = "alerts", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn delete_channel(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let c = org_caller(&ctx)?;
    state
        .upstreams
        .alert()?
        .delete_channel(channel_ref(&ctx, c, id.0))
        .await
        .map_err(err("channel"))?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/alerts/channels/{id}/test", tag = "alerts", params(("id" = Uuid, Path)),
    request_body(content = Option<ActionInput>), security(("bearer" = [])),
    responses((status = 200, body = TestResult), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn test_channel(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    _body: JsonOrEmpty<crate::handlers::vkeys::Empty>,
) -> ApiResult<HttpResponse> {
    let c = org_caller(&ctx)?;
    let r = state
        .upstreams
        .alert()?
        .test_channel(channel_ref(&ctx, c, id.0))
        .await
        .map_err(err("channel"))?
        .into_inner();
    Ok(HttpResponse::Ok().json(TestResult {
        delivered: r.delivered,
        detail: views::scrub(&r.detail),
        delivery: r.delivery.map(Delivery::from),
    }))
}

// ---- alerts ----

#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertsQuery), security(("bearer" = [])),
    responses((status = 200, body = AlertPage<Alert>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list_alerts(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: Query<AlertsQuery>,
) -> ApiResult<HttpResponse> {
    let c = org_caller(&ctx)?;
    let q = q.0;
    let r = state
        .upstreams
        .alert()?
        .list_alerts(pb::ListAlertsRequest {
            org_id: c.org_id.to_string(),
            state: one_of(
                "state",
                q.state,
                &["firing", "acknowledged", "snoozed", "resolved"],
            )?,
            rule_id: q.rule_id.map(|v| v.to_string()),
            range: range(q.from, q.to)?,
            page: page(q.page_size, q.cursor)?,
            severity: one_of("severity", q.severity, &["info", "warning", "critical"])?,
            rule_type: q.rule_type,
        })
        .await
        .map_err(err("alert"))?
        .into_inner();
    Ok(HttpResponse::Ok().json(AlertPage::<Alert> {
        items: r.alerts.into_iter().map(Alert::from).collect(),
        next_cursor: r.page.map(|p| p.next_cursor).filter(|c| !c.is_empty()),
    }))
}

#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = AlertDetail), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_alert(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let c = org_caller(&ctx)?;
    let r = state
        .upstreams
        .alert()?
        .get_alert(pb::AlertRef {
            org_id: c.org_id.to_string(),
            id: id.0.to_string(),
        })
        .await
        .map_err(err("alert"))?
        .into_inner();
    Ok(HttpResponse::Ok().json(AlertDetail::from(r)))
}

fn action(
    ctx: &Ctx,
    c: &Caller,
    id: Uuid,
    minutes: u32,
    comment: Option<String>,
) -> pb::AlertAction {
    pb::AlertAction {
        org_id: c.org_id.to_string(),
        alert_id: id.to_string(),
        actor: Some(actor(ctx, c)),
        snooze_minutes: minutes,
        request_id: ctx.request_id.clone(),
        comment: comment.unwrap_or_default(),
    }
}

#[utoipa::path(post, path = "/api/v1/alerts/{id}/ack", tag = "alerts", params(("id" = Uuid, Path)),
    request_body(content = Option<ActionInput>), security(("bearer" = [])),
    responses((status = 200, body = Alert), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn acknowledge(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    body: JsonOrEmpty<ActionInput>,
) -> ApiResult<HttpResponse> {
    let c = org_caller(&ctx)?;
    let r = state
        .upstreams
        .alert()?
        .acknowledge(action(&ctx, c, id.0, 0, body.0.comment))
        .await
        .map_err(err("alert"))?
        .into_inner();
    Ok(HttpResponse::Ok().json(Alert::from(r)))
}

#[utoipa::path(post, path = "/api/v1/alerts/{id}/resolve", tag = "alerts", params(("id" = Uuid, Path)),
    request_body(content = Option<ActionInput>), security(("bearer" = [])),
    responses((status = 200, body = Alert), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn resolve(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    body: JsonOrEmpty<ActionInput>,
) -> ApiResult<HttpResponse> {
    let c = org_caller(&ctx)?;
    let r = state
        .upstreams
        .alert()?
        .resolve(action(&ctx, c, id.0, 0, body.0.comment))
        .await
        .map_err(err("alert"))?
        .into_inner();
    Ok(HttpResponse::Ok().json(Alert::from(r)))
}

#[utoipa::path(post, path = "/api/v1/alerts/{id}/snooze", tag = "alerts", params(("id" = Uuid, Path)),
    request_body = SnoozeInput, security(("bearer" = [])),
    responses((status = 200, body = Alert), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn snooze(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    body: Json<SnoozeInput>,
) -> ApiResult<HttpResponse> {
    let c = org_caller(&ctx)?;
    let b = body.0;
    if !(1..=7 * 24 * 60).contains(&b.minutes) {
        return Err(ApiError::invalid("minutes", "must be 1 to 10080 (7 days)"));
    }
    let r = state
        .upstreams
        .alert()?
        .snooze(action(&ctx, c, id.0, b.minutes, b.comment))
        .await
        .map_err(err("alert"))?
        .into_inner();
    Ok(HttpResponse::Ok().json(Alert::from(r)))
}

// ---- deliveries ----

#[utoipa::path(get, path = "/api/v1/alerts/deliveries", tag = "alerts", params(DeliveriesQuery), security(("bearer" = [])),
    responses((status = 200, body = AlertPage<Delivery>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: Query<DeliveriesQuery>,
) -> ApiResult<HttpResponse> {
    let c = org_caller(&ctx)?;
    let q = q.0;
    let r = state
        .upstreams
        .alert()?
        .list_deliveries(pb::ListDeliveriesRequest {
            org_id: c.org_id.to_string(),
            alert_id: q.alert_id.map(|v| v.to_string()),
            channel_id: q.channel_id.map(|v| v.to_string()),
            status: one_of("status", q.status, &["pending", "delivered", "failed"])?,
            range: range(q.from, q.to)?,
            page: page(q.page_size, q.cursor)?,
        })
        .await
        .map_err(err("delivery"))?
        .into_inner();
    Ok(HttpResponse::Ok().json(AlertPage::<Delivery> {
        items: r.deliveries.into_iter().map(Delivery::from).collect(),
        next_cursor: r.page.map(|p| p.next_cursor).filter(|c| !c.is_empty()),
    }))
}

fn delivery_ref(ctx: &Ctx, c: &Caller, id: Uuid) -> pb::DeliveryRef {
    pb::DeliveryRef {
        org_id: c.org_id.to_string(),
        id: id.to_string(),
        meta: meta(ctx, c),
    }
}

#[utoipa::path(get, path = "/api/v1/alerts/deliveries/{id}", tag = "alerts", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Delivery), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_delivery(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let c = org_caller(&ctx)?;
    let r = state
        .upstreams
        .alert()?
        .get_delivery(delivery_ref(&ctx, c, id.0))
        .await
        .map_err(err("delivery"))?
        .into_inner();
    Ok(HttpResponse::Ok().json(Delivery::from(r)))
}

#[utoipa::path(post, path = "/api/v1/alerts/deliveries/{id}/retry", tag = "alerts", params(("id" = Uuid, Path)),
    request_body(content = Option<ActionInput>), security(("bearer" = [])),
    responses((status = 200, body = Delivery), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn retry_delivery(
    state: web::Data<AppState>,
    ctx: Ctx,
    id: PathId,
    _body: JsonOrEmpty<crate::handlers::vkeys::Empty>,
) -> ApiResult<HttpResponse> {
    let c = org_caller(&ctx)?;
    let mut alert = state.upstreams.alert()?;
    // The alert service answers "not retryable" for any id it cannot retry, including other
    // orgs' ids: look it up first so those are 404 like everywhere else.
    alert
        .get_delivery(delivery_ref(&ctx, c, id.0))
        .await
        .map_err(err("delivery"))?;
    let r = alert
        .retry_delivery(delivery_ref(&ctx, c, id.0))
        .await
        .map_err(err("delivery"))?
        .into_inner();
    Ok(HttpResponse::Ok().json(Delivery::from(r)))
}
