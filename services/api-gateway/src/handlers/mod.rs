//! HTTP handlers: parse, call the domain, shape the response. Each function carries its OpenAPI
//! description (`utoipa::path`).

pub mod account;
pub mod alerts;
pub mod audit_trail;
pub mod budgets;
pub mod model_aliases;
pub mod orgs;
pub mod people;
pub mod pricing;
pub mod provider_keys;
pub mod roles;
pub mod usage;
pub mod vkeys;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::audit::Ctx;
use crate::authz::Caller;
use crate::error::{ApiError, ApiResult};

/// The caller as the actor of an upstream request (for the upstream's audit trail).
pub(crate) fn actor(ctx: &Ctx, c: &Caller) -> keyward_proto::v1::Actor {
    keyward_proto::v1::Actor {
        kind: keyward_proto::v1::actor::Kind::User as i32,
        id: c.user_id.to_string(),
        email: Some(c.email.clone()),
        ip: Some(ctx.ip.clone()),
    }
}

/// An optional id string of a protobuf message as a UUID (absent or malformed: `None`).
pub(crate) fn uuid_of(s: Option<&String>) -> Option<Uuid> {
    s.and_then(|s| s.parse().ok())
}

/// A protobuf timestamp as a time (`None` when absent or out of range).
pub(crate) fn time(ts: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    ts.and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
}

/// A time as a protobuf timestamp.
pub(crate) fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// Org-level data (chargeback, recommendations, alerts, price overrides) needs the route's
/// permission org-wide: a grant limited to teams is refused (403).
pub(crate) fn ensure_org_grant(c: &Caller, what: &str) -> ApiResult<()> {
    if c.grant().covers(None) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "{what} is org-level: your roles hold this permission only in some teams"
        )))
    }
}

/// `?limit=&after=` of list routes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// 1–200, default 50.
    #[serde(default, deserialize_with = "crate::body::num::opt_u32")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    pub after: Option<Uuid>,
}

/// No query parameters: any given is refused (400), like unknown body fields.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoQuery {}

/// A page of results.
#[derive(Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<Uuid>,
}

impl<T: ToSchema> Page<T> {
    /// A page, with a cursor when it is full.
    pub fn of(items: Vec<T>, limit: i64, id: impl Fn(&T) -> Uuid) -> Self {
        let full = i64::try_from(items.len()).unwrap_or(i64::MAX) >= limit;
        let next_cursor = if full { items.last().map(id) } else { None };
        Self { items, next_cursor }
    }
}

/// A list without paging.
#[derive(Serialize, ToSchema)]
pub struct Items<T: ToSchema> {
    pub items: Vec<T>,
}
