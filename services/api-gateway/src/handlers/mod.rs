//! HTTP handlers: parse, call the domain, shape the response. Each function carries its OpenAPI
//! description (`utoipa::path`).

pub mod account;
pub mod audit_trail;
pub mod orgs;
pub mod people;
pub mod provider_keys;
pub mod roles;
pub mod vkeys;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

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
