//! The ingest path: duplicates, rollups, all-or-nothing gRPC, failed commits, poison messages.

use std::time::Duration;

use chrono::Utc;
use keyward_bus::Outgoing;
use keyward_bus::events::schema::USAGE_EVENT;
use keyward_bus::topology::{USAGE, USAGE_KEY};
use keyward_core::ServiceName;
use keyward_proto::v1::{IngestHealthRequest, IngestRequest};
use sqlx::Executor;
use tokio_util::sync::CancellationToken;

use crate::harness::*;

#[tokio::test]
async fn duplicates_across_and_within_batches_make_one_row_and_exact_rollups() {
    let tp = platform().await;
    let cfg = config();
    let _svc = start(&tp, &cfg).await;
    let token = CancellationToken::new();
    let publisher = publisher(&tp, &token).await;
    let world = World::new();
    let now = Utc::now();
    let events: Vec<_> = (0..600)
        .map(|i| world.event(i, now - chrono::Duration::minutes(i as i64 * 7)))
        .collect();
    for (i, ev) in events.iter().enumerate() {
        publisher.usage(ev).unwrap();
        // Every third event is sent twice, every tenth three times.
        if i % 3 == 0 {
            publisher.usage(ev).unwrap();
        }
        if i % 10 == 0 {
            publisher.usage(ev).unwrap();
        }
    }
    let pool = tp.db.pool(ServiceName::UsageIngest).await;
    assert_eq!(
        wait_for_events(&pool, 600, Duration::from_secs(30)).await,
        600
    );
    // Let every redundant copy arrive too, then check again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sums = event_sums(&pool).await;
    assert_eq!(sums.0, 600, "one row per unique event");
    assert_eq!(rollup_sums(&pool, "rollup_hourly").await, sums);
    assert_eq!(rollup_sums(&pool, "rollup_daily").await, sums);
    assert_eq!(rollup_mismatches(&pool).await, 0);
    assert!(sums.6 > 0, "events were priced");
    token.cancel();
}

#[tokio::test]
async fn grpc_ingest_is_idempotent_and_all_or_nothing() {
    let tp = platform().await;
    let cfg = config();
    let _svc = start(&tp, &cfg).await;
    let mut client = client(&tp, &cfg, "api-gateway");
    let world = World::new();
    let now = Utc::now();
    let events: Vec<_> = (0..100).map(|i| world.event(i, now)).collect();

    let first = client
        .ingest(IngestRequest {
            events: events.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((first.accepted, first.duplicates), (100, 0));
    let again = client
        .ingest(IngestRequest {
            events: events.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((again.accepted, again.duplicates), (0, 100));

    // One bad event rejects the whole call and stores nothing.
    let mut bad: Vec<_> = (100..110).map(|i| world.event(i, now)).collect();
    bad[3].org_id = "acme".into();
    let err = client
        .ingest(IngestRequest { events: bad })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert_eq!(err.message(), "event 3: org_id is not a UUID");

    let pool = tp.db.pool(ServiceName::UsageIngest).await;
    let sums = event_sums(&pool).await;
    assert_eq!(sums.0, 100);
    assert_eq!(rollup_sums(&pool, "rollup_daily").await, sums);

    let health = client
        .health(IngestHealthRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(health.events_total, 100);
    assert!(!health.timescale);

    // Only the allowed identities may call.
    let mut alert = crate::harness::client(&tp, &cfg, "alert");
    let denied = alert.ingest(IngestRequest { events }).await.unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
}

#[tokio::test]
async fn a_failed_commit_is_rolled_back_and_redelivery_counts_once() {
    let tp = platform().await;
    let mut admin = tp.db.admin().await;
    // Make every rollup write fail: the batch's events must roll back with it.
    admin
        .execute(
            "CREATE FUNCTION usage.fail_rollup() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$; \
             CREATE TRIGGER fail_rollup BEFORE INSERT ON usage.rollup_daily \
             FOR EACH ROW EXECUTE FUNCTION usage.fail_rollup();",
        )
        .await
        .unwrap();
    let cfg = config();
    let _svc = start(&tp, &cfg).await;
    let token = CancellationToken::new();
    let publisher = publisher(&tp, &token).await;
    let world = World::new();
    let now = Utc::now();
    for i in 0..200 {
        publisher.usage(&world.event(i, now)).unwrap();
    }
    // A poison message and an invalid event go to usage.rejected instead of blocking the queue.
    publisher
        .publish(Outgoing {
            exchange: USAGE.into(),
            routing_key: USAGE_KEY.into(),
            schema: USAGE_EVENT.into(),
            message_id: "garbage-1".into(),
            payload: vec![0xff, 0xff, 0xff],
            typed: false,
        })
        .unwrap();
    let mut invalid = world.event(999, now);
    invalid.model = String::new();
    publisher.usage(&invalid).unwrap();

    let pool = tp.db.pool(ServiceName::UsageIngest).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during: i64 = sqlx::query_scalar("SELECT count(*) FROM usage.events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(during, 0, "failed batches left nothing behind");

    admin
        .execute("DROP TRIGGER fail_rollup ON usage.rollup_daily")
        .await
        .unwrap();
    assert_eq!(
        wait_for_events(&pool, 200, Duration::from_secs(30)).await,
        200
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sums = event_sums(&pool).await;
    assert_eq!(sums.0, 200);
    assert_eq!(rollup_sums(&pool, "rollup_hourly").await, sums);
    assert_eq!(rollup_sums(&pool, "rollup_daily").await, sums);
    assert_eq!(rollup_mismatches(&pool).await, 0);
    let rejected: Vec<(Option<String>, String)> =
        sqlx::query_as("SELECT message_id, reason FROM usage.rejected ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert!(rejected.iter().any(|(id, r)| id.as_deref() == Some("garbage-1")
        && r == "not a keyward.v1.UsageEvent"));
    assert!(rejected.iter().any(|(_, r)| r == "model is required"));
    token.cancel();
}
