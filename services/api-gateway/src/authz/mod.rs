//! Authorization: Casbin RBAC with domains (docs/rbac.md).
//!
//! A role is held org-wide (domain `org:<id>`) or in one team (`org:<id>/team:<id>`). The
//! middleware asks, for the route's `(resource, action)`, whether the caller holds it org-wide
//! and otherwise in which of their teams; the answer is a [`Grant`] that handlers apply to the
//! object's team (a developer of team A manages only team A's keys).

mod middleware;
mod policy;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use keyward_core::id::{OrgId, TeamId, UserId};

pub use middleware::{Caller, middleware};
pub use policy::{Authorizer, Policy, RoleGrant};

/// What a permission is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Org,
    Teams,
    Projects,
    Users,
    Invitations,
    Roles,
    VirtualKeys,
    ProviderKeys,
    Audit,
    Usage,
    Budgets,
    Pricing,
    Alerts,
}

impl Resource {
    pub const ALL: [Resource; 13] = [
        Resource::Org,
        Resource::Teams,
        Resource::Projects,
        Resource::Users,
        Resource::Invitations,
        Resource::Roles,
        Resource::VirtualKeys,
        Resource::ProviderKeys,
        Resource::Audit,
        Resource::Usage,
        Resource::Budgets,
        Resource::Pricing,
        Resource::Alerts,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Resource::Org => "org",
            Resource::Teams => "teams",
            Resource::Projects => "projects",
            Resource::Users => "users",
            Resource::Invitations => "invitations",
            Resource::Roles => "roles",
            Resource::VirtualKeys => "virtual_keys",
            Resource::ProviderKeys => "provider_keys",
            Resource::Audit => "audit",
            Resource::Usage => "usage",
            Resource::Budgets => "budgets",
            Resource::Pricing => "pricing",
            Resource::Alerts => "alerts",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What is done to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Read,
    Write,
}

impl Action {
    pub const ALL: [Action; 2] = [Action::Read, Action::Write];

    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// The built-in roles.
pub const BUILTIN_ROLES: [&str; 6] = [
    "owner",
    "admin",
    "developer",
    "viewer",
    "auditor",
    "billing",
];

/// Where a caller holds a permission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// Everywhere in the org.
    Org,
    /// Only for objects of these teams.
    Teams(Vec<TeamId>),
}

impl Grant {
    /// Whether the grant covers an object of `team` (`None`: an org-level object).
    pub fn covers(&self, team: Option<TeamId>) -> bool {
        match (self, team) {
            (Grant::Org, _) => true,
            (Grant::Teams(ts), Some(t)) => ts.contains(&t),
            (Grant::Teams(_), None) => false,
        }
    }

    /// The teams a list must be restricted to (`None`: no restriction).
    pub fn team_filter(&self) -> Option<Vec<uuid::Uuid>> {
        match self {
            Grant::Org => None,
            Grant::Teams(ts) => Some(ts.iter().map(|t| t.uuid()).collect()),
        }
    }
}

/// Casbin subject of a user.
pub fn subject(user: UserId) -> String {
    format!("user:{user}")
}

/// Casbin domain of an org.
pub fn org_domain(org: OrgId) -> String {
    format!("org:{org}")
}

/// Casbin domain of a team.
pub fn team_domain(org: OrgId, team: TeamId) -> String {
    format!("org:{org}/team:{team}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_cover_their_teams_only() {
        let (a, b) = (TeamId::new(), TeamId::new());
        assert!(Grant::Org.covers(None));
        assert!(Grant::Org.covers(Some(a)));
        let g = Grant::Teams(vec![a]);
        assert!(g.covers(Some(a)));
        assert!(!g.covers(Some(b)));
        assert!(!g.covers(None));
    }

    #[test]
    fn names_round_trip() {
        for r in Resource::ALL {
            assert_eq!(Resource::parse(r.as_str()), Some(r));
        }
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
    }
}
