//! Budget reservation: before a request is forwarded, its worst-case cost is reserved against
//! every budget in its scope (virtual key, project, team, org) at once; after it, the
//! reservation is settled to the actual cost, or released when nothing was spent.
//!
//! Budgets come from a [`BudgetSource`], always answered from memory: the cost service's feed
//! (`cost_budgets.rs`: `ActiveBudgets` per scope, `ReportReservations`, `budget.*` events) or
//! [`InMemoryBudgets`] (tests). The feed updates the shared [`Budget`] objects through
//! [`Budget::apply`], [`Budget::observe_spent`] and [`Budget::set_blocked`], so the hot path never
//! waits for the cost service. A budget's spend is the cost service's figure plus this replica's
//! settlements it has not ingested yet (dropped once its figure covers them, or after
//! [`PENDING_TTL`]).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use keyward_proto::v1::DomainEvent;

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

/// Local settlements the cost service may not have ingested yet are forgotten after this long
/// at the latest (usage normally lands within a second or two).
pub const PENDING_TTL: Duration = Duration::from_secs(60);

/// Local settlements less than this far apart share one [`Pending`] entry, so a budget holds at
/// most `PENDING_TTL / PENDING_SLOT` (1,200) entries however many requests settle: one entry per
/// settlement grew to millions of entries under load while the cost service had not caught up
/// (and each doubling of that queue was a copy made under the budget's lock).
pub const PENDING_SLOT: Duration = Duration::from_millis(50);

/// The local settlements of one [`PENDING_SLOT`] not yet seen in the cost service's spend.
#[derive(Debug)]
struct Pending {
    amount: i64,
    /// The local spend figure right after the slot's last settlement: once the cost service
    /// reports at least this much, the whole slot is counted there; a figure between
    /// `mark - amount` and `mark` covers the slot's first settlements.
    mark: i64,
    /// When the slot's first settlement was made.
    at: Instant,
}

#[derive(Debug, Default)]
struct Counters {
    amount: i64,
    /// Settled spend as last known from the cost service (or given at creation).
    base: i64,
    /// Settled here, not yet in `base`.
    pending: VecDeque<Pending>,
    pending_sum: i64,
    /// Reserved by this replica's requests in flight.
    reserved: i64,
    /// Reserved by other replicas (the cost service's figure minus what this one reported).
    others: i64,
    /// What this replica last reported to the cost service.
    reported: i64,
    /// A hard budget the cost service announced exhausted: refuses everything until reset.
    blocked: bool,
}

impl Counters {
    fn spent(&self) -> i64 {
        self.base.saturating_add(self.pending_sum)
    }

    fn available(&self) -> i64 {
        self.amount
            .saturating_sub(self.spent())
            .saturating_sub(self.reserved)
            .saturating_sub(self.others)
    }

    fn settle(&mut self, reserved: i64, actual: i64) {
        self.reserved -= reserved;
        let actual = actual.max(0);
        if actual == 0 {
            return;
        }
        self.pending_sum = self.pending_sum.saturating_add(actual);
        let mark = self.spent();
        let now = Instant::now();
        match self.pending.back_mut() {
            Some(last) if now.saturating_duration_since(last.at) < PENDING_SLOT => {
                last.amount = last.amount.saturating_add(actual);
                last.mark = mark;
            }
            _ => {
                // A new slot: also the moment to forget what is too old, so the queue stays
                // bounded while no figure comes from the cost service.
                self.prune(now);
                self.pending.push_back(Pending {
                    amount: actual,
                    mark,
                    at: now,
                });
            }
        }
    }

    /// Drops pending settlements the cost service's `spent` already covers, or that are too old.
    fn prune(&mut self, now: Instant) {
        while let Some(p) = self.pending.front_mut() {
            if self.base >= p.mark || now.saturating_duration_since(p.at) > PENDING_TTL {
                self.pending_sum -= p.amount;
                self.pending.pop_front();
            } else {
                // A slot the figure covers in part: its settlements up to `base` are counted
                // there, the rest (`mark - base`) still here.
                let uncovered = p.mark - self.base;
                if uncovered < p.amount {
                    self.pending_sum -= p.amount - uncovered;
                    p.amount = uncovered;
                }
                break;
            }
        }
    }
}

/// The cost service's view of one budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Remote {
    pub amount: i64,
    /// Settled spend (ingested usage) this period.
    pub spent: i64,
    /// Reservations of every replica, this one's last report included.
    pub reserved: i64,
    /// `spent >= amount`.
    pub exhausted: bool,
    /// Start of the current period (seconds since the epoch): a change is a new period.
    pub period_start: i64,
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
    period_start: Mutex<Option<i64>>,
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
                base: spent,
                ..Counters::default()
            }),
            period_start: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Counters> {
        self.counters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Settled spend this period: the cost service's figure plus local settlements it has not
    /// ingested yet.
    pub fn spent(&self) -> i64 {
        self.lock().spent()
    }

    /// Reserved by this replica's requests in flight.
    pub fn reserved(&self) -> i64 {
        self.lock().reserved
    }

    /// What this replica holds against the budget and reports to the cost service: its
    /// reservations in flight plus its settlements not yet ingested there.
    pub fn held(&self) -> i64 {
        let c = self.lock();
        c.reserved.saturating_add(c.pending_sum)
    }

    /// The amount of the period.
    pub fn amount(&self) -> i64 {
        self.lock().amount
    }

    /// Whether the cost service announced this hard budget exhausted.
    pub fn blocked(&self) -> bool {
        self.lock().blocked
    }

    /// The cost service changed the amount.
    pub fn set_amount(&self, amount: i64) {
        self.lock().amount = amount;
    }

    /// The cost service's figure of settled spend (all replicas): replaces the base, and local
    /// settlements it already covers stop counting twice.
    pub fn observe_spent(&self, spent: i64) {
        let mut c = self.lock();
        c.base = spent;
        c.prune(Instant::now());
    }

    /// `budget.exhausted` (hard budgets refuse everything) or `budget.reset` (they take
    /// requests again).
    pub fn set_blocked(&self, blocked: bool) {
        self.lock().blocked = blocked && self.hard;
    }

    /// A new period began: `spent` so far, nothing pending, not blocked.
    pub fn reset(&self, spent: i64) {
        let mut c = self.lock();
        c.base = spent;
        c.pending.clear();
        c.pending_sum = 0;
        c.blocked = false;
    }

    /// Records that `held` was reported to the cost service (see [`Budget::apply`]).
    pub fn mark_reported(&self, held: i64) {
        self.lock().reported = held;
    }

    /// Applies the cost service's state of the budget.
    pub fn apply(&self, r: &Remote) {
        let new_period = {
            let mut p = self
                .period_start
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let changed = p.is_some_and(|old| old != r.period_start);
            *p = Some(r.period_start);
            changed
        };
        if new_period {
            self.reset(r.spent);
        }
        let mut c = self.lock();
        c.amount = r.amount;
        c.base = r.spent;
        c.others = r.reserved.saturating_sub(c.reported).max(0);
        c.blocked = self.hard && r.exhausted;
        c.prune(Instant::now());
    }
}

/// A boxed future (the trait is used as `dyn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The budgets of a scope could not be loaded (first request of the scope, cost service down).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unavailable;

/// Where the active budgets of a scope come from. `in_scope` must answer from memory: it is
/// called on every proxied request.
pub trait BudgetSource: Send + Sync {
    /// Active budgets of the request's org, team, project and virtual key.
    fn in_scope(&self, scope: &BudgetScope) -> Vec<Arc<Budget>>;

    /// Work needed before `in_scope` can answer for `scope` (loading a scope seen for the first
    /// time); `None` when the answer is already in memory — the steady state.
    fn prepare<'a>(
        &'a self,
        _scope: &'a BudgetScope,
    ) -> Option<BoxFuture<'a, Result<(), Unavailable>>> {
        None
    }

    /// A `budget.*` event from `keyward.events`.
    fn on_event(&self, _event: &DomainEvent) {}

    /// The event queue (re)connected: events may have been missed.
    fn on_reconnect(&self) {}
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
            b.lock().settle(self.amount, actual);
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
/// charged. Fails on the first hard budget that is blocked (announced exhausted) or whose
/// `amount − spent − reserved − reserved by other replicas` is below `amount`.
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
            if b.hard && (c.blocked || c.available() < amount) {
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

    #[test]
    fn settlements_share_slots_so_pending_stays_small_and_exact() {
        let s = scope();
        let src = InMemoryBudgets::default();
        let b = Arc::new(Budget::new(
            Uuid::now_v7(),
            BudgetLevel::Org,
            s.org,
            true,
            i64::MAX,
            1_000,
        ));
        src.upsert(b.clone());
        // 10,000 settlements in well under a slot: one pending entry, every micro-dollar counted.
        let started = Instant::now();
        for _ in 0..10_000 {
            reserve(&src, &s, 9).unwrap().settle(7);
        }
        // (A slow machine may take more than one slot for the loop: one entry per 50 ms.)
        let entries = b.lock().pending.len();
        let slots = 1 + usize::try_from(started.elapsed().as_millis() / 50).unwrap();
        assert!((1..=slots).contains(&entries), "{entries} entries");
        assert_eq!((b.held(), b.spent(), b.reserved()), (70_000, 71_000, 0));
        // A figure covering the first 4,000 settlements: only the other 6,000 still count here,
        // whether they share a slot with the first ones or not.
        b.observe_spent(1_000 + 7 * 4_000);
        assert_eq!((b.spent(), b.held()), (71_000, 7 * 6_000));
        assert!(b.lock().pending.len() <= entries);
        b.observe_spent(71_000);
        assert_eq!((b.spent(), b.held()), (71_000, 0));
        assert!(b.lock().pending.is_empty());
        // A new slot starts after PENDING_SLOT.
        reserve(&src, &s, 9).unwrap().settle(7);
        std::thread::sleep(PENDING_SLOT + Duration::from_millis(5));
        reserve(&src, &s, 9).unwrap().settle(7);
        assert_eq!(b.lock().pending.len(), 2);
        assert_eq!(b.held(), 14);
    }

    #[test]
    fn cost_service_state_reconciles_with_local_settlements() {
        let s = scope();
        let src = InMemoryBudgets::default();
        let b = Arc::new(Budget::new(
            Uuid::now_v7(),
            BudgetLevel::VirtualKey,
            s.virtual_key,
            true,
            1_000,
            0,
        ));
        src.upsert(b.clone());
        let remote = |spent, reserved, exhausted| Remote {
            amount: 1_000,
            spent,
            reserved,
            exhausted,
            period_start: 1,
        };
        b.apply(&remote(100, 0, false));
        reserve(&src, &s, 300).unwrap().settle(200);
        // Settled here, not yet ingested by cost: counted once, and reported as held.
        assert_eq!((b.spent(), b.held()), (300, 200));
        b.mark_reported(200);
        // Cost has not ingested it yet, but another replica reserves 400.
        b.apply(&remote(100, 600, false));
        assert_eq!(b.spent(), 300);
        assert!(reserve(&src, &s, 301).is_err(), "1000 - 300 - 400 = 300");
        drop(reserve(&src, &s, 300).unwrap());
        // Ingested: the local settlement stops counting twice.
        b.apply(&remote(300, 200, false));
        assert_eq!((b.spent(), b.held()), (300, 0));
        // Announced exhausted: blocked whatever the figures say, until reset.
        b.set_blocked(true);
        assert!(reserve(&src, &s, 0).is_err());
        b.set_blocked(false);
        assert!(reserve(&src, &s, 0).is_ok());
        b.apply(&remote(1_000, 0, true));
        assert!(b.blocked());
        // A new period starts from the cost service's figure, nothing pending.
        reserve(&src, &s, 0).err();
        b.apply(&Remote {
            period_start: 2,
            ..remote(0, 0, false)
        });
        assert_eq!((b.spent(), b.blocked()), (0, false));
    }
}
