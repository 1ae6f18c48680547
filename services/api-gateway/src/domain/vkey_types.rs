//! The request and response shapes of virtual keys.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use keyward_providers::Provider;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::store::vkeys::VkeyRow;

/// Where a key applies; nothing set means the whole org.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeInput {
    #[serde(default)]
    pub team_id: Option<Uuid>,
    #[serde(default)]
    pub project_id: Option<Uuid>,
    #[serde(default)]
    pub user_id: Option<Uuid>,
}

/// Limits and restrictions shared by create and update.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVkey {
    pub name: String,
    #[serde(default)]
    pub scope: Option<ScopeInput>,
    /// Allowed model ids (empty: all).
    #[serde(default)]
    pub models: Option<Vec<String>>,
    /// Allowed providers (empty: all).
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>, example = json!(["openai", "anthropic"]))]
    pub providers: Option<Vec<Provider>>,
    /// Client address ranges (CIDR) allowed to use the key (empty: any).
    #[serde(default)]
    pub allowed_cidrs: Option<Vec<String>>,
    /// Requests per minute.
    #[serde(default)]
    pub rpm: Option<u32>,
    /// Tokens per minute.
    #[serde(default)]
    pub tpm: Option<u32>,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Free-form labels, e.g. `{"env": "prod"}`.
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
}

/// A partial update; `null` clears `rpm`, `tpm` and `expires_at`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateVkey {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub models: Option<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub providers: Option<Vec<Provider>>,
    #[serde(default)]
    pub allowed_cidrs: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::body::nullable")]
    #[schema(value_type = Option<u32>, nullable)]
    pub rpm: Option<Option<u32>>,
    #[serde(default, deserialize_with = "crate::body::nullable")]
    #[schema(value_type = Option<u32>, nullable)]
    pub tpm: Option<Option<u32>>,
    #[serde(default, deserialize_with = "crate::body::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>, nullable)]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
}

/// A key's settings and state (never the key).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct VirtualKey {
    pub id: Uuid,
    pub name: String,
    /// `org`, `team`, `project` or `user`.
    pub scope_kind: String,
    pub scope: ScopeInput,
    /// `kw_…` and the last four characters, to recognise a key.
    pub key_hint: String,
    pub models: Vec<String>,
    pub providers: Vec<String>,
    pub allowed_cidrs: Vec<String>,
    pub rpm: Option<i32>,
    pub tpm: Option<i32>,
    pub expires_at: Option<DateTime<Utc>>,
    pub tags: serde_json::Value,
    /// `active`, `expired` or `revoked`.
    pub status: String,
    /// Until when the key replaced by the last rotation still works.
    pub previous_key_expires_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<VkeyRow> for VirtualKey {
    fn from(r: VkeyRow) -> Self {
        let scope_kind = if r.user_id.is_some() {
            "user"
        } else if r.project_id.is_some() {
            "project"
        } else if r.team_id.is_some() {
            "team"
        } else {
            "org"
        };
        let status = if r.revoked_at.is_some() {
            "revoked"
        } else if r.expires_at.is_some_and(|e| e <= Utc::now()) {
            "expired"
        } else {
            "active"
        };
        Self {
            id: r.id,
            name: r.name,
            scope_kind: scope_kind.into(),
            scope: ScopeInput {
                team_id: r.team_id,
                project_id: r.project_id,
                user_id: r.user_id,
            },
            key_hint: r.key_hint,
            models: r.models,
            providers: r.providers,
            allowed_cidrs: r.allowed_cidrs,
            rpm: r.rpm,
            tpm: r.tpm,
            expires_at: r.expires_at,
            tags: r.tags,
            status: status.into(),
            previous_key_expires_at: r.previous_expires_at,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
            rotated_at: r.rotated_at,
            revoked_at: r.revoked_at,
        }
    }
}
