//! Budgets: CRUD with validation, live state from the rollups, each crossing announced exactly
//! once per period, reset on room again, and what the gateway's reservations need.

use std::time::Duration;

use keyward_proto::v1::{self as pb};

use crate::harness::*;

fn budget(org: &str, team: Option<&str>, amount: i64) -> pb::Budget {
    pb::Budget {
        scope: Some(pb::Scope {
            org_id: org.into(),
            team_id: team.map(String::from),
            ..Default::default()
        }),
        name: "monthly".into(),
        period: "month".into(),
        amount: Some(pb::Money { micros: amount }),
        hard: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn crossings_are_announced_exactly_once_and_spend_matches_events() {
    let mut t = start().await;
    let org = uuid::Uuid::now_v7().to_string();
    let b = t
        .client
        .create_budget(budget(&org, None, 1_000_000))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(b.thresholds, vec![50, 80, 100], "default thresholds");
    assert_eq!(b.spent.unwrap().micros, 0);

    // 600k µ$: 50% crossed.
    ingest(
        &t,
        &[spend(&org, None, 100_000), spend(&org, None, 200_000)],
    )
    .await;
    events_of(&t, "budget.threshold", &b.id, 1).await;
    // 1.0M µ$: 80% and 100% crossed, exhausted.
    ingest(&t, &[spend(&org, None, 200_000)]).await;
    events_of(&t, "budget.exhausted", &b.id, 1).await;
    // Several more evaluations and full sweeps announce nothing again.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        seen(&t, &b.id),
        vec![
            "budget.threshold:50",
            "budget.threshold:80",
            "budget.threshold:100",
            "budget.exhausted"
        ]
    );
    let got = t
        .client
        .get_budget(pb::BudgetRef {
            org_id: org.clone(),
            budget_id: b.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let pool = t.tp.db.pool(keyward_core::ServiceName::UsageIngest).await;
    let event_sum: i64 = sqlx::query_scalar(
        "SELECT sum(cost_micros)::bigint FROM usage.events WHERE org_id = $1::uuid",
    )
    .bind(&org)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        got.spent.unwrap().micros,
        event_sum,
        "budget spend == event sums"
    );
    assert_eq!(event_sum, 1_000_000);
    assert!(got.exhausted);
    assert_eq!(got.remaining.unwrap().micros, 0);

    // Raising the amount gives room again: one reset, and 50% is still announced.
    let mut raised = got.clone();
    raised.amount = Some(pb::Money { micros: 1_500_000 });
    let after = t.client.update_budget(raised).await.unwrap().into_inner();
    assert!(!after.exhausted);
    assert_eq!(after.remaining.unwrap().micros, 500_000);
    events_of(&t, "budget.reset", &b.id, 1).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(seen(&t, &b.id).len(), 5, "{:?}", seen(&t, &b.id));
}

#[tokio::test]
async fn active_budgets_and_reservations_for_the_gateway() {
    let mut t = start().await;
    let org = uuid::Uuid::now_v7().to_string();
    let (team_a, team_b) = (
        uuid::Uuid::now_v7().to_string(),
        uuid::Uuid::now_v7().to_string(),
    );
    let org_budget = t
        .client
        .create_budget(budget(&org, None, 10_000_000))
        .await
        .unwrap()
        .into_inner();
    let a_budget = t
        .client
        .create_budget(budget(&org, Some(&team_a), 1_000_000))
        .await
        .unwrap()
        .into_inner();
    let _b_budget = t
        .client
        .create_budget(budget(&org, Some(&team_b), 1_000_000))
        .await
        .unwrap()
        .into_inner();
    ingest(
        &t,
        &[
            spend(&org, Some(&team_a), 100_000),
            spend(&org, Some(&team_b), 50_000),
        ],
    )
    .await;

    let scope = pb::Scope {
        org_id: org.clone(),
        team_id: Some(team_a.clone()),
        ..Default::default()
    };
    let active = t
        .client
        .active_budgets(pb::ActiveBudgetsRequest {
            scope: Some(scope.clone()),
        })
        .await
        .unwrap()
        .into_inner()
        .budgets;
    let mut ids: Vec<&str> = active.iter().map(|b| b.id.as_str()).collect();
    ids.sort_unstable();
    let mut want = vec![org_budget.id.as_str(), a_budget.id.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want, "the org's and team A's budgets, not team B's");
    let a = active.iter().find(|b| b.id == a_budget.id).unwrap();
    assert_eq!(a.spent.as_ref().unwrap().micros, 200_000, "team A only");
    let o = active.iter().find(|b| b.id == org_budget.id).unwrap();
    assert_eq!(o.spent.as_ref().unwrap().micros, 300_000, "the whole org");

    // A gateway reports its in-flight reservations; remaining accounts for them.
    let report = |amount: Option<i64>| pb::ReportReservationsRequest {
        instance: "gateway-0".into(),
        reservations: amount
            .map(|m| pb::Reservation {
                budget_id: a_budget.id.clone(),
                reserved: Some(pb::Money { micros: m }),
            })
            .into_iter()
            .collect(),
        ttl_secs: 30,
    };
    let held = t
        .client
        .report_reservations(report(Some(300_000)))
        .await
        .unwrap()
        .into_inner()
        .budgets;
    assert_eq!(held[0].reserved.as_ref().unwrap().micros, 300_000);
    assert_eq!(held[0].remaining.as_ref().unwrap().micros, 500_000);
    t.client.report_reservations(report(None)).await.unwrap();
    let again = t
        .client
        .get_budget(pb::BudgetRef {
            org_id: org.clone(),
            budget_id: a_budget.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        again.reserved.unwrap().micros,
        0,
        "released by the next report"
    );
}

#[tokio::test]
async fn budget_crud_validates_and_scopes_by_org() {
    let mut t = start().await;
    let org = uuid::Uuid::now_v7().to_string();
    let mut bad = budget(&org, None, 1_000);
    bad.period = "year".into();
    let e = t.client.create_budget(bad).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert_eq!(e.message(), "period must be `day`, `week` or `month`");
    let e = t
        .client
        .create_budget(budget(&org, None, 0))
        .await
        .unwrap_err();
    assert_eq!(e.message(), "amount must be more than zero");
    let mut rolling = budget(&org, None, 5_000);
    rolling.period = "week".into();
    rolling.rolling = true;
    rolling.thresholds = vec![90, 25, 90];
    let b = t.client.create_budget(rolling).await.unwrap().into_inner();
    assert_eq!(b.thresholds, vec![25, 90]);
    let span = b.period_end.unwrap().seconds - b.period_start.unwrap().seconds;
    assert_eq!(span, 7 * 86_400);
    let listed = t
        .client
        .list_budgets(pb::ListBudgetsRequest {
            org_id: org.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .budgets;
    assert_eq!(listed.len(), 1);
    // Another org cannot see or delete it.
    let other = pb::BudgetRef {
        org_id: uuid::Uuid::now_v7().to_string(),
        budget_id: b.id.clone(),
    };
    assert_eq!(
        t.client.get_budget(other.clone()).await.unwrap_err().code(),
        tonic::Code::NotFound
    );
    assert!(
        !t.client
            .delete_budget(other)
            .await
            .unwrap()
            .into_inner()
            .deleted
    );
    let mine = pb::BudgetRef {
        org_id: org.clone(),
        budget_id: b.id.clone(),
    };
    assert!(
        t.client
            .delete_budget(mine.clone())
            .await
            .unwrap()
            .into_inner()
            .deleted
    );
    assert_eq!(
        t.client.get_budget(mine).await.unwrap_err().code(),
        tonic::Code::NotFound
    );
    // Only allowed identities may call.
    let mut usage = client(&t.tp, &t.grpc_url, "usage-ingest");
    let denied = usage
        .list_budgets(pb::ListBudgetsRequest { org_id: org })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
}
