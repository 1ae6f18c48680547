//! Budgets fed from the cost service: the default [`BudgetSource`] when `cost.grpc_url` is
//! configured.
//!
//! - A scope (org, team, project, virtual key) is loaded with `CostService.ActiveBudgets` the
//!   first time a request of it arrives (that request waits; concurrent ones share the call),
//!   then served from memory. Budgets are shared between scopes by id, so an org budget is one
//!   object however many virtual keys use it.
//! - Every `report_every` the replica sends `ReportReservations` (its reservations in flight plus
//!   settlements not ingested yet, per budget); the answer refreshes spent, reserved by other
//!   replicas and exhaustion of every known budget.
//! - Every `refresh_every`, and for an org at once on a `budget.*` event, the scopes are loaded
//!   again (new, changed and deleted budgets). Scopes unused for `idle_after` are dropped.
//! - `budget.exhausted` of a hard budget blocks it at once; `budget.reset` unblocks it.
//!
//! Nothing on the request path waits for the cost service once a scope is loaded.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use keyward_proto::v1::domain_event::Payload;
use keyward_proto::v1::{self as pb, DomainEvent};
use tokio::sync::{Notify, OnceCell};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::budget::{
    BoxFuture, Budget, BudgetLevel, BudgetScope, BudgetSource, Remote, Unavailable,
};
use crate::upstream::CostClient;

/// Timers of the feed.
#[derive(Clone, Debug)]
pub struct FeedOptions {
    /// How often reservations are reported (and budget state refreshed with the answer).
    pub report_every: Duration,
    /// How often every loaded scope is loaded again.
    pub refresh_every: Duration,
    /// Scopes without a request for this long are forgotten.
    pub idle_after: Duration,
    /// How long a first load of a scope may take before the request gets 503.
    pub load_timeout: Duration,
}

impl Default for FeedOptions {
    fn default() -> Self {
        Self {
            report_every: Duration::from_secs(2),
            refresh_every: Duration::from_secs(10),
            idle_after: Duration::from_secs(600),
            load_timeout: Duration::from_secs(3),
        }
    }
}

type ScopeKey = (Uuid, Option<Uuid>, Option<Uuid>, Uuid);

fn key(s: &BudgetScope) -> ScopeKey {
    (s.org, s.team, s.project, s.virtual_key)
}

struct ScopeEntry {
    scope: BudgetScope,
    loaded: OnceCell<()>,
    budgets: RwLock<Vec<Arc<Budget>>>,
    /// Milliseconds since the feed started, of the last request.
    last_used: AtomicU64,
}

/// Budgets from `CostService`, held in memory.
pub struct CostBudgets {
    client: CostClient,
    instance: String,
    opts: FeedOptions,
    epoch: Instant,
    scopes: RwLock<HashMap<ScopeKey, Arc<ScopeEntry>>>,
    budgets: RwLock<HashMap<Uuid, Arc<Budget>>>,
    /// Orgs to reload now (from events); `None` in the set means every org.
    dirty: Mutex<HashSet<Option<Uuid>>>,
    wake: Notify,
}

fn uuid(s: &str) -> Option<Uuid> {
    s.parse().ok()
}

fn opt_uuid(s: Option<&String>) -> Option<Uuid> {
    s.and_then(|v| uuid(v))
}

/// The state the cost service reported for `b`.
fn remote(b: &pb::Budget) -> Remote {
    let micros = |m: Option<&pb::Money>| m.map_or(0, |m| m.micros);
    Remote {
        amount: micros(b.amount.as_ref()),
        spent: micros(b.spent.as_ref()),
        reserved: micros(b.reserved.as_ref()),
        exhausted: b.exhausted,
        period_start: b.period_start.as_ref().map_or(0, |t| t.seconds),
    }
}

/// The most specific level of a budget's scope (used in error messages).
fn level_owner(s: &pb::Scope) -> Option<(BudgetLevel, Uuid)> {
    if let Some(v) = opt_uuid(s.virtual_key_id.as_ref()) {
        return Some((BudgetLevel::VirtualKey, v));
    }
    if let Some(p) = opt_uuid(s.project_id.as_ref()) {
        return Some((BudgetLevel::Project, p));
    }
    if let Some(t) = opt_uuid(s.team_id.as_ref()) {
        return Some((BudgetLevel::Team, t));
    }
    uuid(&s.org_id).map(|o| (BudgetLevel::Org, o))
}

impl CostBudgets {
    /// A feed over `client`; `instance` names this replica in its reservation reports.
    pub fn new(client: CostClient, instance: String, opts: FeedOptions) -> Arc<Self> {
        Arc::new(Self {
            client,
            instance,
            opts,
            epoch: Instant::now(),
            scopes: RwLock::new(HashMap::new()),
            budgets: RwLock::new(HashMap::new()),
            dirty: Mutex::new(HashSet::new()),
            wake: Notify::new(),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn entry(&self, scope: &BudgetScope) -> Arc<ScopeEntry> {
        let k = key(scope);
        if let Some(e) = self
            .scopes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&k)
        {
            return e.clone();
        }
        self.scopes
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(k)
            .or_insert_with(|| {
                Arc::new(ScopeEntry {
                    scope: *scope,
                    loaded: OnceCell::new(),
                    budgets: RwLock::new(Vec::new()),
                    last_used: AtomicU64::new(self.now_ms()),
                })
            })
            .clone()
    }

    /// The shared object of budget `b`, created or updated from the cost service's state.
    fn budget(&self, b: &pb::Budget) -> Option<Arc<Budget>> {
        let id = uuid(&b.id)?;
        let r = remote(b);
        if let Some(existing) = self
            .budgets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .filter(|e| e.hard == b.hard)
        {
            existing.apply(&r);
            return Some(existing.clone());
        }
        let (level, owner) = level_owner(b.scope.as_ref()?)?;
        let fresh = Arc::new(Budget::new(id, level, owner, b.hard, r.amount, r.spent));
        fresh.apply(&r);
        self.budgets
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, fresh.clone());
        Some(fresh)
    }

    /// Loads one scope's budgets from the cost service.
    async fn load(&self, entry: &ScopeEntry) -> Result<(), tonic::Status> {
        let s = &entry.scope;
        let req = pb::ActiveBudgetsRequest {
            scope: Some(pb::Scope {
                org_id: s.org.to_string(),
                team_id: s.team.map(|v| v.to_string()),
                project_id: s.project.map(|v| v.to_string()),
                user_id: None,
                virtual_key_id: Some(s.virtual_key.to_string()),
            }),
        };
        let resp = self.client.clone().active_budgets(req).await?.into_inner();
        let list: Vec<Arc<Budget>> = resp.budgets.iter().filter_map(|b| self.budget(b)).collect();
        *entry
            .budgets
            .write()
            .unwrap_or_else(PoisonError::into_inner) = list;
        Ok(())
    }

    /// Reports this replica's holdings and applies the fresh state of every known budget.
    async fn report(&self) -> Result<(), tonic::Status> {
        let known: Vec<Arc<Budget>> = self
            .budgets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        if known.is_empty() {
            return Ok(());
        }
        let held: Vec<(Arc<Budget>, i64)> =
            known.into_iter().map(|b| (b.clone(), b.held())).collect();
        let ttl = u32::try_from((self.opts.report_every * 5).as_secs().max(10)).unwrap_or(30);
        let req = pb::ReportReservationsRequest {
            instance: self.instance.clone(),
            reservations: held
                .iter()
                .map(|(b, h)| pb::Reservation {
                    budget_id: b.id.to_string(),
                    reserved: Some(pb::Money { micros: *h }),
                })
                .collect(),
            ttl_secs: ttl,
        };
        let resp = self
            .client
            .clone()
            .report_reservations(req)
            .await?
            .into_inner();
        for (b, h) in &held {
            b.mark_reported(*h);
        }
        for b in &resp.budgets {
            self.budget(b);
        }
        Ok(())
    }

    /// Loads every scope again (or those of the dirty orgs), dropping idle ones.
    async fn refresh(&self, only: Option<&HashSet<Uuid>>) {
        let now = self.now_ms();
        let idle = u64::try_from(self.opts.idle_after.as_millis()).unwrap_or(u64::MAX);
        let entries: Vec<Arc<ScopeEntry>> = {
            let mut map = self.scopes.write().unwrap_or_else(PoisonError::into_inner);
            map.retain(|_, e| now.saturating_sub(e.last_used.load(Ordering::Relaxed)) < idle);
            map.values()
                .filter(|e| e.loaded.initialized())
                .filter(|e| only.is_none_or(|o| o.contains(&e.scope.org)))
                .cloned()
                .collect()
        };
        let mut live: HashSet<Uuid> = HashSet::new();
        for e in &entries {
            if let Err(status) = self.load(e).await {
                tracing::warn!(code = ?status.code(), "budget refresh from the cost service failed");
                return;
            }
        }
        if only.is_some() {
            return;
        }
        // Forget budgets no loaded scope lists any more (deleted, or their scopes idle).
        for e in self
            .scopes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            live.extend(
                e.budgets
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .iter()
                    .map(|b| b.id),
            );
        }
        self.budgets
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|id, b| live.contains(id) || b.held() > 0);
    }

    fn mark_dirty(&self, org: Option<Uuid>) {
        self.dirty
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(org);
        self.wake.notify_one();
    }

    /// Reports and refreshes until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) -> Result<(), Infallible> {
        let mut report = tokio::time::interval(self.opts.report_every);
        let mut refresh = tokio::time::interval(self.opts.refresh_every);
        report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                _ = report.tick() => {
                    if let Err(status) = self.report().await {
                        tracing::warn!(code = ?status.code(), "reporting budget reservations failed");
                    }
                }
                _ = refresh.tick() => self.refresh(None).await,
                () = self.wake.notified() => {
                    let dirty: HashSet<Option<Uuid>> =
                        std::mem::take(&mut *self.dirty.lock().unwrap_or_else(PoisonError::into_inner));
                    if dirty.contains(&None) {
                        self.refresh(None).await;
                    } else {
                        let orgs: HashSet<Uuid> = dirty.into_iter().flatten().collect();
                        self.refresh(Some(&orgs)).await;
                    }
                }
            }
        }
    }

    fn known(&self, id: &str) -> Option<Arc<Budget>> {
        let id = uuid(id)?;
        self.budgets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }
}

impl BudgetSource for CostBudgets {
    fn in_scope(&self, scope: &BudgetScope) -> Vec<Arc<Budget>> {
        let map = self.scopes.read().unwrap_or_else(PoisonError::into_inner);
        let Some(e) = map.get(&key(scope)) else {
            return Vec::new();
        };
        e.last_used.store(self.now_ms(), Ordering::Relaxed);
        e.budgets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn prepare<'a>(
        &'a self,
        scope: &'a BudgetScope,
    ) -> Option<BoxFuture<'a, Result<(), Unavailable>>> {
        let entry = self.entry(scope);
        if entry.loaded.initialized() {
            return None;
        }
        Some(Box::pin(async move {
            let load = entry.loaded.get_or_try_init(|| async {
                self.load(&entry).await.map_err(|status| {
                    tracing::warn!(code = ?status.code(), "loading budgets from the cost service failed");
                    Unavailable
                })
            });
            match tokio::time::timeout(self.opts.load_timeout, load).await {
                Ok(r) => r.map(|_| ()),
                Err(_) => Err(Unavailable),
            }
        }))
    }

    fn on_event(&self, event: &DomainEvent) {
        match &event.payload {
            Some(Payload::BudgetExhausted(e)) => {
                if let Some(b) = self.known(&e.budget_id) {
                    if let Some(spent) = &e.spent {
                        b.observe_spent(spent.micros);
                    }
                    b.set_blocked(e.hard);
                }
                self.mark_dirty(e.scope.as_ref().and_then(|s| uuid(&s.org_id)));
            }
            Some(Payload::BudgetReset(e)) => {
                if let Some(b) = self.known(&e.budget_id) {
                    b.set_blocked(false);
                }
                self.mark_dirty(e.scope.as_ref().and_then(|s| uuid(&s.org_id)));
            }
            Some(Payload::BudgetThreshold(e)) => {
                if let (Some(b), Some(spent)) = (self.known(&e.budget_id), &e.spent) {
                    b.observe_spent(spent.micros);
                }
            }
            _ => {}
        }
    }

    fn on_reconnect(&self) {
        self.mark_dirty(None);
    }
}
