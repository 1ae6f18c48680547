//! Budget evaluation: spend is read exactly from the rollups; each threshold crossing,
//! exhaustion and reset is announced exactly once per period, through the outbox, in the same
//! transaction that records it.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use keyward_proto::v1::domain_event::Payload;
use keyward_proto::v1::{self as pb, DomainEvent};
use prost::Message as _;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::period::Period;
use super::store::{self, BudgetRow, StateRow};
use crate::analytics::query::to_ts;
use crate::error::Result;

/// A budget's new state and what to announce.
#[derive(Debug, PartialEq)]
pub struct Decision {
    pub notified: Vec<i32>,
    pub exhausted: bool,
    pub payloads: Vec<Payload>,
}

fn scope(b: &BudgetRow) -> pb::Scope {
    pb::Scope {
        org_id: b.org_id.to_string(),
        team_id: b.team_id.map(|v| v.to_string()),
        project_id: b.project_id.map(|v| v.to_string()),
        user_id: None,
        virtual_key_id: b.virtual_key_id.map(|v| v.to_string()),
    }
}

fn reached(spent: i64, amount: i64, percent: i32) -> bool {
    i128::from(spent) * 100 >= i128::from(amount) * i128::from(percent)
}

/// Decides a budget's state for the period `[start, _)` at `spent`, given its previous state.
///
/// Calendar budgets start each period with nothing announced (and announce `budget.reset` if the
/// previous period had announced anything). Rolling budgets re-arm a threshold once spend falls
/// back below it. Either kind announces `budget.reset` when an exhausted budget has room again
/// (the window moved, or the amount was raised).
pub fn decide(
    b: &BudgetRow,
    prev: Option<&StateRow>,
    start: DateTime<Utc>,
    spent: i64,
) -> Decision {
    let mut payloads = Vec::new();
    let new_period = !b.rolling && prev.is_some_and(|p| p.period_start != start);
    let (mut notified, mut exhausted) = match prev {
        Some(p) if !new_period => (p.notified.clone(), p.exhausted),
        _ => (Vec::new(), false),
    };
    let had_news = prev.is_some_and(|p| p.exhausted || !p.notified.is_empty());
    if b.rolling {
        notified.retain(|t| reached(spent, b.amount_micros, *t));
    }
    let reset = (new_period && had_news) || (exhausted && spent < b.amount_micros);
    if reset {
        exhausted = false;
        if b.rolling || !new_period {
            notified.retain(|t| reached(spent, b.amount_micros, *t));
        }
        payloads.push(Payload::BudgetReset(pb::BudgetReset {
            budget_id: b.id.to_string(),
            scope: Some(scope(b)),
            period_start: Some(to_ts(start)),
        }));
    }
    let mut thresholds = b.thresholds.clone();
    thresholds.sort_unstable();
    for t in thresholds {
        if reached(spent, b.amount_micros, t) && !notified.contains(&t) {
            notified.push(t);
            payloads.push(Payload::BudgetThreshold(pb::BudgetThreshold {
                budget_id: b.id.to_string(),
                scope: Some(scope(b)),
                percent: u32::try_from(t).unwrap_or(0),
                spent: Some(pb::Money { micros: spent }),
                amount: Some(pb::Money {
                    micros: b.amount_micros,
                }),
                period_start: Some(to_ts(start)),
            }));
        }
    }
    if spent >= b.amount_micros && !exhausted {
        exhausted = true;
        payloads.push(Payload::BudgetExhausted(pb::BudgetExhausted {
            budget_id: b.id.to_string(),
            scope: Some(scope(b)),
            spent: Some(pb::Money { micros: spent }),
            amount: Some(pb::Money {
                micros: b.amount_micros,
            }),
            hard: b.hard,
            period_start: Some(to_ts(start)),
        }));
    }
    notified.sort_unstable();
    Decision {
        notified,
        exhausted,
        payloads,
    }
}

/// Re-evaluates every budget of `org` at `now`, serialized per org across replicas.
pub async fn evaluate_org(pool: &PgPool, org: Uuid, now: DateTime<Utc>) -> Result<usize> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))")
        .bind(org)
        .execute(&mut *tx)
        .await?;
    let budgets = sqlx::query_as::<_, BudgetRow>(
        "SELECT id, org_id, team_id, project_id, virtual_key_id, name, period, rolling, \
         amount_micros, hard, thresholds FROM cost.budgets WHERE org_id = $1 ORDER BY id",
    )
    .bind(org)
    .fetch_all(&mut *tx)
    .await?;
    let mut announced = 0;
    for b in &budgets {
        let Some(period) = Period::parse(&b.period) else {
            continue;
        };
        let (start, end) = period.window(b.rolling, now);
        let spent = store::spent(&mut *tx, b, start, end).await?;
        let prev: Option<StateRow> = sqlx::query_as(
            "SELECT period_start, notified, exhausted FROM cost.budget_state WHERE budget_id = $1",
        )
        .bind(b.id)
        .fetch_optional(&mut *tx)
        .await?;
        let d = decide(b, prev.as_ref(), start, spent);
        sqlx::query(
            "INSERT INTO cost.budget_state (budget_id, period_start, period_end, spent_micros, \
             notified, exhausted, evaluated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (budget_id) DO UPDATE SET period_start = excluded.period_start, \
             period_end = excluded.period_end, spent_micros = excluded.spent_micros, \
             notified = excluded.notified, exhausted = excluded.exhausted, \
             evaluated_at = excluded.evaluated_at",
        )
        .bind(b.id)
        .bind(start)
        .bind(end)
        .bind(spent)
        .bind(&d.notified)
        .bind(d.exhausted)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for payload in d.payloads {
            let event = DomainEvent {
                event_id: Uuid::now_v7().to_string(),
                occurred_at: Some(to_ts(now)),
                org_id: org.to_string(),
                payload: Some(payload),
            };
            sqlx::query(
                "INSERT INTO cost.outbox (event_id, kind, payload) VALUES ($1::uuid, $2, $3)",
            )
            .bind(&event.event_id)
            .bind(keyward_bus::events::domain_kind(&event))
            .bind(event.encode_to_vec())
            .execute(&mut *tx)
            .await?;
            announced += 1;
        }
    }
    tx.commit().await?;
    Ok(announced)
}

/// Every `interval`, re-evaluates the budgets of orgs with usage committed since the last tick;
/// every `sweep`, all budgets (period roll-overs, anything missed).
pub async fn run(
    pool: PgPool,
    interval: Duration,
    sweep: Duration,
    shutdown: CancellationToken,
) -> Result<(), std::convert::Infallible> {
    let mut since: Option<DateTime<Utc>> = None;
    let mut last_sweep: Option<Instant> = None;
    loop {
        let tick = Utc::now();
        let full = last_sweep.is_none_or(|t| t.elapsed() >= sweep);
        match tick_once(&pool, if full { None } else { since }, tick).await {
            Ok(()) => {
                // Commits can land a little after their clock_timestamp(): look back 5 s.
                since = Some(tick - chrono::Duration::seconds(5));
                if full {
                    last_sweep = Some(Instant::now());
                }
            }
            Err(e) => tracing::warn!(error = %e, "budget evaluation failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(interval) => {}
        }
    }
}

async fn tick_once(pool: &PgPool, since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<()> {
    let orgs = match since {
        None => store::orgs_with_budgets(pool, None).await?,
        Some(since) => {
            let changed: Vec<Uuid> = sqlx::query_scalar(
                "SELECT org_id FROM usage.org_activity WHERE last_ingest_at >= $1",
            )
            .bind(since)
            .fetch_all(pool)
            .await?;
            if changed.is_empty() {
                return Ok(());
            }
            store::orgs_with_budgets(pool, Some(&changed)).await?
        }
    };
    for org in orgs {
        evaluate_org(pool, org, now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn budget(rolling: bool) -> BudgetRow {
        BudgetRow {
            id: Uuid::nil(),
            org_id: Uuid::nil(),
            team_id: None,
            project_id: None,
            virtual_key_id: None,
            name: "b".into(),
            period: "day".into(),
            rolling,
            amount_micros: 1_000,
            hard: true,
            thresholds: vec![50, 80, 100],
        }
    }

    fn kinds(d: &Decision) -> Vec<String> {
        d.payloads
            .iter()
            .map(|p| match p {
                Payload::BudgetThreshold(t) => format!("threshold:{}", t.percent),
                Payload::BudgetExhausted(_) => "exhausted".into(),
                Payload::BudgetReset(_) => "reset".into(),
                _ => "other".into(),
            })
            .collect()
    }

    fn state(d: &Decision, start: DateTime<Utc>) -> StateRow {
        StateRow {
            period_start: start,
            notified: d.notified.clone(),
            exhausted: d.exhausted,
        }
    }

    #[test]
    fn calendar_announces_once_and_resets_on_rollover() {
        let b = budget(false);
        let day1 = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
        let d = decide(&b, None, day1, 499);
        assert!(kinds(&d).is_empty());
        let d = decide(&b, Some(&state(&d, day1)), day1, 850);
        assert_eq!(kinds(&d), ["threshold:50", "threshold:80"]);
        let again = decide(&b, Some(&state(&d, day1)), day1, 900);
        assert!(kinds(&again).is_empty(), "no repeat within the period");
        let d = decide(&b, Some(&state(&again, day1)), day1, 1_000);
        assert_eq!(kinds(&d), ["threshold:100", "exhausted"]);
        let day2 = day1 + chrono::Duration::days(1);
        let next = decide(&b, Some(&state(&d, day1)), day2, 0);
        assert_eq!(kinds(&next), ["reset"]);
        assert!(next.notified.is_empty() && !next.exhausted);
    }

    #[test]
    fn rolling_rearms_when_spend_falls_back() {
        let b = budget(true);
        let t = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
        let d = decide(&b, None, t, 1_200);
        assert_eq!(
            kinds(&d),
            ["threshold:50", "threshold:80", "threshold:100", "exhausted"]
        );
        // The window moved (new start every hour is not a new period); spend fell to 60%.
        let later = t + chrono::Duration::hours(3);
        let d = decide(&b, Some(&state(&d, t)), later, 600);
        assert_eq!(kinds(&d), ["reset"]);
        assert_eq!(d.notified, vec![50]);
        let d = decide(&b, Some(&state(&d, later)), later, 850);
        assert_eq!(
            kinds(&d),
            ["threshold:80"],
            "re-armed threshold fires again"
        );
    }
}
