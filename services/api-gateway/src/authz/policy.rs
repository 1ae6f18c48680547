//! The loaded policy and its reloads.
//!
//! Requests take the read lock only long enough to clone an `Arc<Policy>` and then enforce on
//! that snapshot without any lock of ours; a reload builds a new `Policy` from Postgres (through
//! sqlx-adapter) and swaps it in under a write lock held for one pointer store.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use casbin::{CachedApi, CachedEnforcer, CoreApi, DefaultCache, DefaultModel, MgmtApi};
use keyward_core::id::{OrgId, TeamId, UserId};
use sqlx::PgPool;
use sqlx_adapter::SqlxAdapter;
use tokio_util::sync::CancellationToken;

use super::{Action, Grant, Resource, org_domain, subject, team_domain};

/// The Casbin model (also at `services/api-gateway/rbac/model.conf`).
pub const MODEL: &str = include_str!("../../rbac/model.conf");

/// One role held by a user in an org, org-wide or in one team.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleGrant {
    pub role: String,
    pub team: Option<TeamId>,
}

/// Decisions Casbin keeps per snapshot (a concurrent cache: lookups take no lock of ours).
pub const DECISION_CACHE: usize = 100_000;

/// An immutable snapshot of every rule, with Casbin's decision cache. The cache lives and dies
/// with the snapshot, so a reload can never serve a stale decision.
pub struct Policy {
    enforcer: CachedEnforcer,
    grants: HashMap<(UserId, OrgId), Vec<RoleGrant>>,
    /// `policy_version` when this snapshot was read.
    pub version: i64,
}

impl Policy {
    /// Builds a snapshot from an enforcer whose rules are loaded.
    pub fn new(enforcer: CachedEnforcer, version: i64) -> Self {
        let mut grants: HashMap<(UserId, OrgId), Vec<RoleGrant>> = HashMap::new();
        for rule in enforcer.get_grouping_policy() {
            let [sub, role, dom] = match rule.as_slice() {
                [a, b, c, ..] => [a, b, c],
                _ => continue,
            };
            let (Some(user), Some(role), Some((org, team))) = (
                sub.strip_prefix("user:")
                    .and_then(|u| u.parse::<UserId>().ok()),
                role.strip_prefix("role:"),
                parse_domain(dom),
            ) else {
                continue;
            };
            grants.entry((user, org)).or_default().push(RoleGrant {
                role: role.to_string(),
                team,
            });
        }
        Self {
            enforcer,
            grants,
            version,
        }
    }

    /// The roles `user` holds in `org` (empty for non-members).
    pub fn roles(&self, user: UserId, org: OrgId) -> &[RoleGrant] {
        self.grants.get(&(user, org)).map_or(&[], Vec::as_slice)
    }

    /// Where `user` may do `action` on `resource` in `org`: org-wide, in some teams, or nowhere.
    ///
    /// # Errors
    /// Casbin evaluation errors (a broken model or rule).
    pub fn check(
        &self,
        user: UserId,
        org: OrgId,
        resource: Resource,
        action: Action,
    ) -> Result<Option<Grant>, casbin::Error> {
        let roles = self.roles(user, org);
        if roles.is_empty() {
            return Ok(None);
        }
        let sub = subject(user);
        let od = org_domain(org);
        let (obj, act) = (resource.as_str(), action.as_str());
        if self.enforcer.enforce((&sub, &od, &od, obj, act))? {
            return Ok(Some(Grant::Org));
        }
        let mut teams: Vec<TeamId> = Vec::new();
        for grant in roles {
            if let Some(team) = grant.team
                && !teams.contains(&team)
                && self
                    .enforcer
                    .enforce((&sub, &team_domain(org, team), &od, obj, act))?
            {
                teams.push(team);
            }
        }
        Ok((!teams.is_empty()).then_some(Grant::Teams(teams)))
    }

    /// Every `p` rule: `[subject, domain, resource, action]`.
    pub fn rules(&self) -> Vec<Vec<String>> {
        self.enforcer.get_policy()
    }
}

/// `org:<uuid>` or `org:<uuid>/team:<uuid>`.
fn parse_domain(dom: &str) -> Option<(OrgId, Option<TeamId>)> {
    let rest = dom.strip_prefix("org:")?;
    match rest.split_once("/team:") {
        None => Some((rest.parse().ok()?, None)),
        Some((org, team)) => Some((org.parse().ok()?, Some(team.parse().ok()?))),
    }
}

/// Why the policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("policy store: {0}")]
    Casbin(#[from] casbin::Error),
    #[error("policy version: {0}")]
    Db(#[from] sqlx::Error),
}

/// The current policy, reloaded from Postgres when it changes.
pub struct Authorizer {
    current: RwLock<Option<Arc<Policy>>>,
    adapter: tokio::sync::Mutex<Option<SqlxAdapter>>,
    pool: PgPool,
}

impl Authorizer {
    /// Nothing loaded yet: every check answers 503 until the first load.
    pub fn new(pool: PgPool) -> Arc<Self> {
        Arc::new(Self {
            current: RwLock::new(None),
            adapter: tokio::sync::Mutex::new(None),
            pool,
        })
    }

    /// The current snapshot (a read lock held for one `Arc` clone).
    pub fn current(&self) -> Option<Arc<Policy>> {
        self.current.read().ok().and_then(|g| g.clone())
    }

    fn loaded_version(&self) -> Option<i64> {
        self.current().map(|p| p.version)
    }

    /// Loads every rule from Postgres and swaps the snapshot in. Serialised: concurrent calls
    /// queue on the adapter lock.
    ///
    /// # Errors
    /// When the database is unreachable or a rule is malformed; the old snapshot stays.
    pub async fn reload(&self) -> Result<(), LoadError> {
        let mut adapter = self.adapter.lock().await;
        let adapter = match adapter.as_mut() {
            Some(a) => a.clone(),
            None => {
                let a = SqlxAdapter::new_with_pool(self.pool.clone()).await?;
                *adapter = Some(a.clone());
                a
            }
        };
        let version = policy_version(&self.pool).await?;
        let model = DefaultModel::from_str(MODEL).await?;
        let mut enforcer = CachedEnforcer::new(model, adapter).await?;
        enforcer.set_cache(Box::new(DefaultCache::new(DECISION_CACHE)));
        // Writes go through SQL in the same transaction as the change they belong to.
        enforcer.enable_auto_save(false);
        let policy = Arc::new(Policy::new(enforcer, version));
        if let Ok(mut slot) = self.current.write() {
            *slot = Some(policy);
        }
        Ok(())
    }

    /// Reloads when `policy_version` moved (another replica or this one changed a rule).
    ///
    /// # Errors
    /// As [`Authorizer::reload`].
    pub async fn reload_if_changed(&self) -> Result<bool, LoadError> {
        let version = policy_version(&self.pool).await?;
        if self.loaded_version() == Some(version) {
            return Ok(false);
        }
        self.reload().await?;
        Ok(true)
    }

    /// Polls for changes until `shutdown`; failures are logged and retried.
    pub async fn run(
        self: Arc<Self>,
        poll: Duration,
        shutdown: CancellationToken,
    ) -> Result<(), std::convert::Infallible> {
        loop {
            match self.reload_if_changed().await {
                Ok(true) => tracing::debug!("authorization policy reloaded"),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "authorization policy not loaded"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// For `/readyz`.
    pub fn check_ready(&self) -> Result<(), String> {
        match self.current() {
            Some(_) => Ok(()),
            None => Err("authorization policy not loaded yet".into()),
        }
    }
}

async fn policy_version(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT version FROM policy_version")
        .fetch_one(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_parse() {
        let (o, t) = (OrgId::new(), TeamId::new());
        assert_eq!(parse_domain(&org_domain(o)), Some((o, None)));
        assert_eq!(parse_domain(&team_domain(o, t)), Some((o, Some(t))));
        assert_eq!(parse_domain("*"), None);
        assert_eq!(parse_domain("org:nope"), None);
    }
}
