//! Budgets: CRUD, live state (spent from the rollups, reserved by gateways, remaining), and the
//! evaluator that announces crossings.

pub mod evaluate;
pub mod period;
pub mod store;

use std::collections::BTreeMap;

use chrono::Utc;
use keyward_proto::v1 as pb;
use sqlx::PgPool;
use uuid::Uuid;

use crate::analytics::query::to_ts;
use crate::error::{CostError, Result, invalid, opt_uuid, uuid};
use period::Period;
use store::BudgetRow;

/// Thresholds used when a budget names none.
pub const DEFAULT_THRESHOLDS: [i32; 3] = [50, 80, 100];
/// Reservation time-to-live when the gateway names none.
pub const DEFAULT_RESERVATION_TTL_SECS: u32 = 30;

/// Budgets over the `cost` schema.
#[derive(Clone)]
pub struct Budgets {
    pool: PgPool,
}

fn row_from_proto(b: &pb::Budget, id: Uuid) -> Result<BudgetRow> {
    let scope = b
        .scope
        .as_ref()
        .ok_or_else(|| invalid("scope is required"))?;
    if scope.user_id.as_deref().is_some_and(|u| !u.is_empty()) {
        return Err(invalid(
            "budgets apply to an org, team, project or virtual key, not a user",
        ));
    }
    let period = Period::parse(&b.period)
        .ok_or_else(|| invalid("period must be `day`, `week` or `month`"))?;
    let amount = b.amount.as_ref().map_or(0, |m| m.micros);
    if amount <= 0 {
        return Err(invalid("amount must be more than zero"));
    }
    let name = b.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(invalid("name must be 1 to 200 characters"));
    }
    let mut thresholds: Vec<i32> = if b.thresholds.is_empty() {
        DEFAULT_THRESHOLDS.to_vec()
    } else {
        b.thresholds
            .iter()
            .map(|t| i32::try_from(*t).ok().filter(|t| (1..=1000).contains(t)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid("thresholds are percentages from 1 to 1000"))?
    };
    thresholds.sort_unstable();
    thresholds.dedup();
    Ok(BudgetRow {
        id,
        org_id: uuid("scope.org_id", &scope.org_id)?,
        team_id: opt_uuid("scope.team_id", scope.team_id.as_ref())?,
        project_id: opt_uuid("scope.project_id", scope.project_id.as_ref())?,
        virtual_key_id: opt_uuid("scope.virtual_key_id", scope.virtual_key_id.as_ref())?,
        name: name.to_owned(),
        period: period.as_str().to_owned(),
        rolling: b.rolling,
        amount_micros: amount,
        hard: b.hard,
        thresholds,
    })
}

impl Budgets {
    /// Budgets over `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Live state of `rows`: fresh spend from the rollups plus unexpired reservations.
    pub async fn with_state(&self, rows: Vec<BudgetRow>) -> Result<Vec<pb::Budget>> {
        let now = Utc::now();
        let ids: Vec<Uuid> = rows.iter().map(|b| b.id).collect();
        let reserved = store::reserved(&self.pool, &ids).await?;
        let mut out = Vec::with_capacity(rows.len());
        for b in rows {
            let period = Period::parse(&b.period).unwrap_or(Period::Month);
            let (start, end) = period.window(b.rolling, now);
            let spent = store::spent(&self.pool, &b, start, end).await?;
            let held = reserved.get(&b.id).copied().unwrap_or(0);
            let remaining = b
                .amount_micros
                .saturating_sub(spent)
                .saturating_sub(held)
                .max(0);
            out.push(pb::Budget {
                id: b.id.to_string(),
                scope: Some(pb::Scope {
                    org_id: b.org_id.to_string(),
                    team_id: b.team_id.map(|v| v.to_string()),
                    project_id: b.project_id.map(|v| v.to_string()),
                    user_id: None,
                    virtual_key_id: b.virtual_key_id.map(|v| v.to_string()),
                }),
                name: b.name,
                period: b.period,
                rolling: b.rolling,
                amount: Some(pb::Money {
                    micros: b.amount_micros,
                }),
                hard: b.hard,
                thresholds: b
                    .thresholds
                    .iter()
                    .map(|t| u32::try_from(*t).unwrap_or(0))
                    .collect(),
                spent: Some(pb::Money { micros: spent }),
                reserved: Some(pb::Money { micros: held }),
                remaining: Some(pb::Money { micros: remaining }),
                period_start: Some(to_ts(start)),
                period_end: Some(to_ts(end)),
                exhausted: spent >= b.amount_micros,
            });
        }
        Ok(out)
    }

    async fn one(&self, row: BudgetRow) -> Result<pb::Budget> {
        self.with_state(vec![row])
            .await?
            .pop()
            .ok_or(CostError::NotFound("budget"))
    }

    /// Creates a budget and evaluates its org right away.
    pub async fn create(&self, b: &pb::Budget) -> Result<pb::Budget> {
        let row = row_from_proto(b, Uuid::now_v7())?;
        store::insert(&self.pool, &row).await?;
        evaluate::evaluate_org(&self.pool, row.org_id, Utc::now()).await?;
        self.one(row).await
    }

    /// Changes a budget (not its scope) and re-evaluates: raising the amount of an exhausted
    /// budget announces `budget.reset`.
    pub async fn update(&self, b: &pb::Budget) -> Result<pb::Budget> {
        let row = row_from_proto(b, uuid("id", &b.id)?)?;
        if !store::update(&self.pool, &row).await? {
            return Err(CostError::NotFound("budget"));
        }
        evaluate::evaluate_org(&self.pool, row.org_id, Utc::now()).await?;
        let stored = store::get(&self.pool, row.org_id, row.id)
            .await?
            .ok_or(CostError::NotFound("budget"))?;
        self.one(stored).await
    }

    pub async fn get(&self, r: &pb::BudgetRef) -> Result<pb::Budget> {
        let row = store::get(
            &self.pool,
            uuid("org_id", &r.org_id)?,
            uuid("budget_id", &r.budget_id)?,
        )
        .await?
        .ok_or(CostError::NotFound("budget"))?;
        self.one(row).await
    }

    pub async fn list(&self, org: &str) -> Result<Vec<pb::Budget>> {
        let rows = store::list(&self.pool, uuid("org_id", org)?).await?;
        self.with_state(rows).await
    }

    pub async fn delete(&self, r: &pb::BudgetRef) -> Result<bool> {
        store::delete(
            &self.pool,
            uuid("org_id", &r.org_id)?,
            uuid("budget_id", &r.budget_id)?,
        )
        .await
    }

    /// The budgets a request in `scope` must fit in.
    pub async fn active(&self, scope: Option<&pb::Scope>) -> Result<Vec<pb::Budget>> {
        let s = scope.ok_or_else(|| invalid("scope is required"))?;
        let rows = store::active(
            &self.pool,
            uuid("scope.org_id", &s.org_id)?,
            opt_uuid("scope.team_id", s.team_id.as_ref())?,
            opt_uuid("scope.project_id", s.project_id.as_ref())?,
            opt_uuid("scope.virtual_key_id", s.virtual_key_id.as_ref())?,
        )
        .await?;
        self.with_state(rows).await
    }

    /// Replaces a gateway instance's reservations; answers with those budgets' fresh state.
    pub async fn report(&self, r: &pb::ReportReservationsRequest) -> Result<Vec<pb::Budget>> {
        let instance = r.instance.trim();
        if instance.is_empty() || instance.len() > 200 {
            return Err(invalid("instance must be 1 to 200 characters"));
        }
        let mut sums: BTreeMap<Uuid, i64> = BTreeMap::new();
        for res in &r.reservations {
            let amount = res.reserved.as_ref().map_or(0, |m| m.micros);
            if amount < 0 {
                return Err(invalid("a reservation cannot be negative"));
            }
            let slot = sums.entry(uuid("budget_id", &res.budget_id)?).or_default();
            *slot = slot.saturating_add(amount);
        }
        let ttl = match r.ttl_secs {
            0 => DEFAULT_RESERVATION_TTL_SECS,
            t => t.min(3_600),
        };
        let entries: Vec<(Uuid, i64)> = sums.into_iter().collect();
        store::replace_reservations(&self.pool, instance, &entries, ttl).await?;
        let mut rows = Vec::with_capacity(entries.len());
        for (id, _) in &entries {
            let org: Option<Uuid> =
                sqlx::query_scalar("SELECT org_id FROM cost.budgets WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
            if let Some(org) = org
                && let Some(row) = store::get(&self.pool, org, *id).await?
            {
                rows.push(row);
            }
        }
        self.with_state(rows).await
    }
}
