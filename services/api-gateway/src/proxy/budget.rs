//! Budget reservation: before a request is forwarded, its worst-case cost is reserved against
//! every budget in its scope (virtual key, project, team, org) at once; after it, the
//! reservation is settled to the actual cost, or released when nothing was spent.
//!
//! Budgets come from a [`BudgetSource`]. The gateway keeps them in memory ([`InMemoryBudgets`]):
//! the cost service's feed (its budget list plus spend so far, refreshed periodically, and the
//! `budget.*` events on `keyward.events`) updates the same [`Budget`] objects through
//! [`Budget::set_amount`], [`Budget::observe_spent`] and [`Budget::reset`], so the hot path never
//! waits for the cost service.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use uuid::Uuid;

/// Where a budget applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BudgetLevel {
    Org,
    Team,
    Project,
    VirtualKey,
}

impl BudgetLevel {
    /// The name clients see in a `budget_exceeded` error.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Org => "org",
            Self::Team => "team",
            Self::Project => "project",
            Self::VirtualKey => "virtual key",
        }
    }
}

/// The scope of one request.
#[derive(Clone, Copy, Debug)]
pub struct BudgetScope {
    pub org: Uuid,
    pub team: Option<Uuid>,
    pub project: Option<Uuid>,
    pub virtual_key: Uuid,
}

#[derive(Debug, Default)]
struct Counters {
    amount: i64,
    spent: i64,
    reserved: i64,
}

/// One active budget period: amount, settled spend and reservations in flight (micro-dollars).
#[derive(Debug)]
pub struct Budget {
    pub id: Uuid,
    pub level: BudgetLevel,
    /// The org, team, project or virtual key id the budget belongs to.
    pub owner: Uuid,
    /// Hard budgets refuse requests they cannot cover; soft ones only count.
    pub hard: bool,
    counters: Mutex<Counters>,
}

impl Budget {
    /// A budget with `spent` already settled this period.
    pub fn new(
        id: Uuid,
        level: BudgetLevel,
        owner: Uuid,
        hard: bool,
        amount: i64,
        spent: i64,
    ) -> Self {
        Self {
            id,
            level,
            owner,
            hard,
            counters: Mutex::new(Counters {
                amount,
                spent,
                reserved: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Counters> {
        self.counters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Settled spend this period.
    pub fn spent(&self) -> i64 {
        self.lock().spent
    }

    /// Reserved by requests in flight.
    pub fn reserved(&self) -> i64 {
        self.lock().reserved
    }

    /// The amount of the period.
    pub fn amount(&self) -> i64 {
        self.lock().amount
    }

    /// The cost service changed the amount.
    pub fn set_amount(&self, amount: i64) {
        self.lock().amount = amount;
    }

    /// The cost service's view of the spend (other gateway replicas included): never lowers the
    /// local figure within a period.
    pub fn observe_spent(&self, spent: i64) {
        let mut c = self.lock();
        c.spent = c.spent.max(spent);
    }

    /// A new period began (`budget.reset`).
    pub fn reset(&self, spent: i64) {
        self.lock().spent = spent;
    }
}

/// Where the active budgets of a scope come from. Must answer from memory: it is called on
/// every proxied request.
pub trait BudgetSource: Send + Sync {
    /// Active budgets of the request's org, team, project and virtual key.
    fn in_scope(&self, scope: &BudgetScope) -> Vec<Arc<Budget>>;
}

/// Budgets by (level, owner id).
type ByOwner = HashMap<(BudgetLevel, Uuid), Vec<Arc<Budget>>>;

/// Budgets held in memory, by owner.
#[derive(Default)]
pub struct InMemoryBudgets {
    by_owner: RwLock<ByOwner>,
}

impl InMemoryBudgets {
    /// Adds (or replaces, by id) a budget.
    pub fn upsert(&self, budget: Arc<Budget>) {
        let mut map = self
            .by_owner
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let list = map.entry((budget.level, budget.owner)).or_default();
        list.retain(|b| b.id != budget.id);
        list.push(budget);
    }

    /// Removes a budget.
    pub fn remove(&self, id: Uuid) {
        let mut map = self
            .by_owner
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for list in map.values_mut() {
            list.retain(|b| b.id != id);
        }
    }
}

impl BudgetSource for InMemoryBudgets {
    fn in_scope(&self, scope: &BudgetScope) -> Vec<Arc<Budget>> {
        let map = self.by_owner.read().unwrap_or_else(PoisonError::into_inner);
        if map.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let owners = [
            Some((BudgetLevel::Org, scope.org)),
            scope.team.map(|t| (BudgetLevel::Team, t)),
            scope.project.map(|p| (BudgetLevel::Project, p)),
            Some((BudgetLevel::VirtualKey, scope.virtual_key)),
        ];
        for owner in owners.into_iter().flatten() {
            if let Some(list) = map.get(&owner) {
                out.extend(list.iter().cloned());
            }
        }
        out
    }
}

/// A hard budget could not cover the reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exceeded {
    pub budget_id: Uuid,
    pub level: BudgetLevel,
}

/// Money held against budgets by one request. Dropped without [`Reservation::settle`], it is
/// released.
#[derive(Debug)]
pub struct Reservation {
    budgets: Vec<Arc<Budget>>,
    amount: i64,
}

impl Reservation {
    /// What was reserved.
    pub fn amount(&self) -> i64 {
        self.amount
    }

    /// Replaces the reservation by the actual cost.
    pub fn settle(mut self, actual: i64) {
        for b in std::mem::take(&mut self.budgets) {
            let mut c = b.lock();
            c.reserved -= self.amount;
            c.spent = c.spent.saturating_add(actual.max(0));
        }
    }

    /// Gives the reservation back (nothing was spent).
    pub fn release(self) {}
}

impl Drop for Reservation {
    fn drop(&mut self) {
        for b in &self.budgets {
            b.lock().reserved -= self.amount;
        }
    }
}

/// Reserves `amount` against every budget in `scope`, atomically: all budgets are locked (in id
/// order, so concurrent reservations cannot deadlock), every hard one is checked, then all are
/// charged. Fails on the first hard budget whose `amount − spent − reserved` is below `amount`.
///
/// # Errors
/// [`Exceeded`] naming the budget that cannot cover the request.
pub fn reserve(
    source: &dyn BudgetSource,
    scope: &BudgetScope,
    amount: i64,
) -> Result<Reservation, Exceeded> {
    let mut budgets = source.in_scope(scope);
    budgets.sort_by_key(|b| b.id);
    budgets.dedup_by_key(|b| b.id);
    let amount = amount.max(0);
    {
        let mut guards: Vec<(&Budget, MutexGuard<'_, Counters>)> =
            budgets.iter().map(|b| (b.as_ref(), b.lock())).collect();
        for (b, c) in &guards {
            if b.hard && c.amount - c.spent - c.reserved < amount {
                return Err(Exceeded {
                    budget_id: b.id,
                    level: b.level,
                });
            }
        }
        for (_, c) in &mut guards {
            c.reserved += amount;
        }
    }
    Ok(Reservation { budgets, amount })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> BudgetScope {
        BudgetScope {
            org: Uuid::now_v7(),
            team: None,
            project: Some(Uuid::now_v7()),
            virtual_key: Uuid::now_v7(),
        }
    }

    #[test]
    fn reserve_settle_release() {
        let s = scope();
        let src = InMemoryBudgets::default();
        let org = Arc::new(Budget::new(
            Uuid::now_v7(),
            BudgetLevel::Org,
            s.org,
            true,
            100,
            0,
        ));
        let project = Arc::new(Budget::new(
            Uuid::now_v7(),
            BudgetLevel::Project,
            s.project.unwrap_or_default(),
            false,
            10,
            0,
        ));
        src.upsert(org.clone());
        src.upsert(project.clone());
        let r = reserve(&src, &s, 60).unwrap();
        assert_eq!((org.reserved(), project.reserved()), (60, 60));
        // The org cannot cover a second 60; the soft project budget never refuses.
        let e = reserve(&src, &s, 60).unwrap_err();
        assert_eq!(e.level, BudgetLevel::Org);
        assert_eq!(org.reserved(), 60, "a refused reservation holds nothing");
        r.settle(25);
        assert_eq!((org.spent(), org.reserved()), (25, 0));
        assert_eq!(project.spent(), 25);
        let r = reserve(&src, &s, 75).unwrap();
        r.release();
        assert_eq!((org.spent(), org.reserved()), (25, 0));
        drop(reserve(&src, &s, 75).unwrap());
        assert_eq!(org.reserved(), 0);
        assert!(reserve(&src, &s, 76).is_err());
    }
}
