//! Audit events of every sign-in and every change, published on `keyward.audit` (spooled while
//! the broker is down). Personal data (e-mail, address) goes in `Actor.email`/`Actor.ip`, which
//! the audit service keeps out of its hash chain.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use keyward_proto::v1::{Actor, AuditEvent, DomainEvent, actor, domain_event};
use serde::Serialize;

use crate::authz::Caller;
use crate::error::ApiError;
use crate::request_id::RequestId;
use crate::state::AppState;

/// Who is asking and from where, for audit and rate limits.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub request_id: String,
    pub ip: String,
    pub user_agent: String,
    pub caller: Option<Caller>,
}

impl Ctx {
    /// The signed-in caller (401 when there is none; the middleware normally answers first).
    pub fn signed_in(&self) -> Result<&Caller, ApiError> {
        self.caller
            .as_ref()
            .ok_or_else(|| ApiError::unauthenticated("sign in first"))
    }
}

impl FromRequest for Ctx {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trust = req
            .app_data::<web::Data<AppState>>()
            .is_some_and(|s| s.trust_forwarded_for);
        let forwarded = trust
            .then(|| {
                req.headers()
                    .get("x-forwarded-for")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split(',').next())
                    .map(|v| v.trim().to_string())
            })
            .flatten();
        let ip = forwarded
            .or_else(|| req.peer_addr().map(|a| a.ip().to_string()))
            .unwrap_or_else(|| "unknown".into());
        let user_agent = req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(256).collect())
            .unwrap_or_default();
        let ext = req.extensions();
        std::future::ready(Ok(Ctx {
            request_id: ext
                .get::<RequestId>()
                .map(|r| r.0.clone())
                .unwrap_or_default(),
            ip,
            user_agent,
            caller: ext.get::<Caller>().cloned(),
        }))
    }
}

/// One audit record under construction.
pub struct Record<'a> {
    pub org_id: String,
    pub action: &'a str,
    pub resource_type: &'a str,
    pub resource_id: String,
    pub outcome: &'a str,
    pub reason: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    /// Overrides the caller as actor (sign-in: the person signing in).
    pub actor: Option<(String, String)>,
}

impl<'a> Record<'a> {
    /// A successful change of `resource_type` `resource_id` in `org_id`.
    pub fn change(
        org_id: impl ToString,
        action: &'a str,
        resource_type: &'a str,
        resource_id: impl ToString,
    ) -> Self {
        Self {
            org_id: org_id.to_string(),
            action,
            resource_type,
            resource_id: resource_id.to_string(),
            outcome: "success",
            reason: String::new(),
            before: None,
            after: None,
            actor: None,
        }
    }

    pub fn outcome(mut self, outcome: &'a str, reason: impl Into<String>) -> Self {
        self.outcome = outcome;
        self.reason = reason.into();
        self
    }

    pub fn before(mut self, v: &impl Serialize) -> Self {
        self.before = serde_json::to_value(v).ok();
        self
    }

    pub fn after(mut self, v: &impl Serialize) -> Self {
        self.after = serde_json::to_value(v).ok();
        self
    }

    pub fn actor(mut self, user_id: impl ToString, email: &str) -> Self {
        self.actor = Some((user_id.to_string(), email.to_string()));
        self
    }
}

/// Publishes `record` as an `AuditEvent`.
pub fn emit(state: &AppState, ctx: &Ctx, record: Record<'_>) {
    let (actor_id, email, kind) = match (&record.actor, &ctx.caller) {
        (Some((id, email)), _) => (id.clone(), Some(email.clone()), actor::Kind::User),
        (None, Some(c)) => (
            c.user_id.to_string(),
            Some(c.email.clone()),
            actor::Kind::User,
        ),
        (None, None) => (String::new(), None, actor::Kind::Unspecified),
    };
    let json = |v: Option<serde_json::Value>| v.map(|v| v.to_string()).unwrap_or_default();
    let event = AuditEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        occurred_at: Some(keyward_proto::time::now()),
        org_id: record.org_id,
        actor: Some(Actor {
            kind: kind as i32,
            id: actor_id,
            email,
            ip: Some(ctx.ip.clone()),
        }),
        action: record.action.to_string(),
        resource_type: record.resource_type.to_string(),
        resource_id: record.resource_id,
        outcome: record.outcome.to_string(),
        reason: record.reason,
        request_id: ctx.request_id.clone(),
        service: crate::SERVICE.as_str().to_string(),
        before_json: json(record.before),
        after_json: json(record.after),
    };
    if let Err(e) = state.publisher.audit(&event) {
        tracing::error!(error = %e, action = %event.action, "audit event could not be queued");
    }
}

/// Publishes a domain event on `keyward.events`.
pub fn domain(state: &AppState, org_id: impl ToString, payload: domain_event::Payload) {
    let event = DomainEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        occurred_at: Some(keyward_proto::time::now()),
        org_id: org_id.to_string(),
        payload: Some(payload),
    };
    if let Err(e) = state.publisher.domain(&event) {
        tracing::error!(error = %e, "domain event could not be queued");
    }
}
