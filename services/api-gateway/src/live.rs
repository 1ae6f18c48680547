//! Live updates for the dashboard: `GET /api/v1/events/stream`, Server-Sent Events of the
//! caller's org — budget thresholds, exhaustion and resets, provider-key health and rotation,
//! virtual-key changes, and alert state changes.
//!
//! Each replica follows `keyward.events` on a private queue (see [`keyward_bus::follow`]) and
//! fans events out to its open streams. Alert state changes come from the audit stream
//! (`keyward.audit`), where the alert service records each one after it committed
//! (`alert.fired`, `alert.acknowledged`, `alert.resolved`, `alert.snoozed`, `alert.escalated`). A stream is a view, not a log: events published while no
//! stream was open are not replayed (the dashboard re-reads state on connect). A stream ends
//! after `timeout_secs` (at most the access-token lifetime), so a stream never outlives the
//! sign-in that opened it by more than that; the client reconnects with a fresh token.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use keyward_bus::Broker;
use keyward_bus::topology::{AUDIT, AUDIT_KEY, EVENTS};
use keyward_proto::v1::domain_event::Payload;
use keyward_proto::v1::{AuditEvent, DomainEvent, Scope};
use prost::Message as _;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use utoipa::IntoParams;

use crate::audit::Ctx;
use crate::authz::Grant;
use crate::body::Query;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The routing keys streamed.
pub const KEYS: [&str; 3] = ["budget.#", "key.#", "virtual_key.changed"];

/// How often an idle stream sends a comment, so proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One event, ready to send.
#[derive(Debug)]
pub struct LiveEvent {
    pub org_id: String,
    /// The routing key, e.g. `budget.threshold`; the SSE `event:` name.
    pub name: String,
    /// The team the event concerns, when it has one (team-scoped members see only theirs).
    pub team_id: Option<String>,
    pub data: Value,
}

/// The fan-out of this replica.
pub struct Live {
    tx: broadcast::Sender<Arc<LiveEvent>>,
}

impl Default for Live {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(1024).0,
        }
    }
}

impl Live {
    fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.tx.subscribe()
    }

    /// Sends `event` to every open stream (none open: dropped).
    pub fn publish(&self, event: LiveEvent) {
        let _no_streams = self.tx.send(Arc::new(event));
    }
}

/// Alert state changes, as the alert service names them in the audit trail.
const ALERT_ACTIONS: [&str; 5] = [
    "alert.fired",
    "alert.acknowledged",
    "alert.resolved",
    "alert.snoozed",
    "alert.escalated",
];

/// Follows `keyward.events` and the alert changes on `keyward.audit` until `shutdown`.
pub async fn run(
    live: Arc<Live>,
    broker: Broker,
    shutdown: CancellationToken,
) -> Result<(), Infallible> {
    let domain = {
        let live = live.clone();
        keyward_bus::follow(
            broker.clone(),
            EVENTS,
            &KEYS,
            format!("api-gateway-live-{}", uuid::Uuid::now_v7()),
            shutdown.clone(),
            || {},
            move |key, body| match DomainEvent::decode(body) {
                Ok(e) => {
                    if let Some(ev) = to_live(key, &e) {
                        live.publish(ev);
                    }
                }
                Err(_) => tracing::warn!("undecodable domain event ignored"),
            },
        )
    };
    let alerts = keyward_bus::follow(
        broker,
        AUDIT,
        &[AUDIT_KEY],
        format!("api-gateway-live-alerts-{}", uuid::Uuid::now_v7()),
        shutdown,
        || {},
        move |_, body| {
            if let Ok(e) = AuditEvent::decode(body)
                && let Some(ev) = alert_change(&e)
            {
                live.publish(ev);
            }
        },
    );
    let _ = tokio::join!(domain, alerts);
    Ok(())
}

/// An alert state change from its audit event (the after-image: state, severity, levels).
pub fn alert_change(e: &AuditEvent) -> Option<LiveEvent> {
    if e.service != "alert" || !ALERT_ACTIONS.contains(&e.action.as_str()) {
        return None;
    }
    let after: Value = serde_json::from_str(&e.after_json).unwrap_or(Value::Null);
    let data = json!({
        "alert_id": e.resource_id,
        "state": after["state"], "severity": after["severity"], "level": after["level"],
        "escalation_level": after["escalation_level"], "snoozed_until": after["snoozed_until"],
        "reason": keyward_crypto::redact(&e.reason),
        "event_id": e.event_id, "occurred_at": ts(e.occurred_at.as_ref()),
    });
    Some(LiveEvent {
        org_id: e.org_id.clone(),
        name: e.action.clone(),
        team_id: None,
        data,
    })
}

fn ts(t: Option<&prost_types::Timestamp>) -> Value {
    t.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .map_or(Value::Null, |t| json!(t.to_rfc3339()))
}

fn scope(s: Option<&Scope>) -> (Value, Option<String>) {
    let s = s.cloned().unwrap_or_default();
    let team = s.team_id.clone();
    (
        json!({"team_id": s.team_id, "project_id": s.project_id, "user_id": s.user_id,
               "virtual_key_id": s.virtual_key_id}),
        team,
    )
}

fn micros(m: Option<&keyward_proto::v1::Money>) -> i64 {
    m.map_or(0, |m| m.micros)
}

/// The JSON of one domain event (ids, numbers and states only — never a secret).
pub fn to_live(key: &str, e: &DomainEvent) -> Option<LiveEvent> {
    let mut team = None;
    let mut data = match e.payload.as_ref()? {
        Payload::BudgetThreshold(b) => {
            let (s, t) = scope(b.scope.as_ref());
            team = t;
            json!({"budget_id": b.budget_id, "scope": s, "percent": b.percent,
                   "spent_micros": micros(b.spent.as_ref()), "amount_micros": micros(b.amount.as_ref()),
                   "period_start": ts(b.period_start.as_ref())})
        }
        Payload::BudgetExhausted(b) => {
            let (s, t) = scope(b.scope.as_ref());
            team = t;
            json!({"budget_id": b.budget_id, "scope": s, "hard": b.hard,
                   "spent_micros": micros(b.spent.as_ref()), "amount_micros": micros(b.amount.as_ref()),
                   "period_start": ts(b.period_start.as_ref())})
        }
        Payload::BudgetReset(b) => {
            let (s, t) = scope(b.scope.as_ref());
            team = t;
            json!({"budget_id": b.budget_id, "scope": s, "period_start": ts(b.period_start.as_ref())})
        }
        Payload::KeyValidated(k) => json!({"key_id": k.key_id, "provider": k.provider}),
        Payload::KeyInvalid(k) => json!({"key_id": k.key_id, "provider": k.provider,
            "outcome": k.outcome, "reason": keyward_crypto::redact(&k.reason)}),
        Payload::KeyExpiring(k) => {
            json!({"key_id": k.key_id, "expires_at": ts(k.expires_at.as_ref())})
        }
        Payload::KeyRotationDue(k) => {
            json!({"key_id": k.key_id, "age_days": k.age_days, "overdue": k.overdue})
        }
        Payload::KeyAccessAnomaly(k) => json!({"key_id": k.key_id, "window": k.window,
            "count": k.count, "threshold": k.threshold}),
        Payload::KeyRevoked(k) => json!({"key_id": k.key_id}),
        Payload::KeyUpdated(k) => json!({"key_id": k.key_id}),
        Payload::KeyRotated(k) => {
            json!({"key_id": k.key_id, "grace_until": ts(k.grace_until.as_ref())})
        }
        Payload::VirtualKeyChanged(v) => {
            json!({"virtual_key_id": v.virtual_key_id, "change": v.change})
        }
        Payload::PolicyChanged(_) | Payload::ModelAliasChanged(_) => return None,
    };
    data["event_id"] = json!(e.event_id);
    data["occurred_at"] = ts(e.occurred_at.as_ref());
    Some(LiveEvent {
        org_id: e.org_id.clone(),
        name: key.to_string(),
        team_id: team,
        data,
    })
}

/// Whether a member with `grant` may see `ev`: org-wide grants see everything of the org;
/// team grants see only events of their teams.
fn visible(grant: &Grant, ev: &LiveEvent) -> bool {
    match grant {
        Grant::Org => true,
        Grant::Teams(ts) => ev
            .team_id
            .as_ref()
            .is_some_and(|t| ts.iter().any(|id| id.to_string() == *t)),
    }
}

/// `?timeout_secs=` (and `access_token=` for clients that cannot set headers, like
/// `EventSource`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// End the stream after this many seconds (0 sends only the `ready` event). Default and
    /// maximum: the access-token lifetime.
    #[serde(default, deserialize_with = "crate::body::num::opt_u32")]
    pub timeout_secs: Option<u32>,
    /// The access token, when no `Authorization` header can be sent. Never logged.
    pub access_token: Option<String>,
}

fn frame(ev: &LiveEvent) -> web::Bytes {
    web::Bytes::from(format!("event: {}\ndata: {}\n\n", ev.name, ev.data))
}

#[utoipa::path(operation_id = "event_stream", get, path = "/api/v1/events/stream", tag = "events", params(StreamQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "text/event-stream: `ready`, then `budget.*`, `key.*`, `virtual_key.changed` and `alert.*` events of your org", content_type = "text/event-stream"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn stream(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: Query<StreamQuery>,
) -> ApiResult<HttpResponse> {
    let c = ctx.signed_in()?;
    let max = u32::try_from(state.auth.access_ttl_secs).unwrap_or(u32::MAX);
    let secs = match q.0.timeout_secs {
        None => max,
        Some(s) if s <= max => s,
        Some(_) => {
            return Err(ApiError::invalid(
                "timeout_secs",
                format!("must be at most {max} (the access-token lifetime)"),
            ));
        }
    };
    let deadline = Instant::now() + Duration::from_secs(u64::from(secs));
    let org = c.org_id.to_string();
    let grant = c.grant();
    let ready = format!(
        "retry: 3000\nevent: ready\ndata: {}\n\n",
        json!({"org_id": org, "timeout_secs": secs})
    );
    let first = futures::stream::once(std::future::ready(Ok::<_, actix_web::Error>(
        web::Bytes::from(ready),
    )));
    let rx = state.live.subscribe();
    let rest = futures::stream::unfold((rx, org, grant), move |(mut rx, org, grant)| async move {
        loop {
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            let wake = deadline.min(now + KEEP_ALIVE);
            let out = tokio::select! {
                r = rx.recv() => match r {
                    Ok(ev) if ev.org_id == org && visible(&grant, &ev) => frame(&ev),
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(n)) => web::Bytes::from(format!(
                        "event: lagged\ndata: {}\n\n", json!({"missed": n})
                    )),
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                () = tokio::time::sleep_until(wake) => {
                    if Instant::now() >= deadline {
                        return None;
                    }
                    web::Bytes::from_static(b": keep-alive\n\n")
                }
            };
            return Some((Ok::<_, actix_web::Error>(out), (rx, org, grant)));
        }
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(futures::StreamExt::chain(first, rest)))
}
