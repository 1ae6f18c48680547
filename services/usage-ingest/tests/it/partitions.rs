//! Native daily partitions: created ahead, on demand, and dropped by retention.

use chrono::{Days, Utc};
use keyward_core::ServiceName;
use keyward_usage_ingest::store::partitions;
use keyward_usage_ingest::{IngestError, IngestMetrics, maintenance};

use crate::harness::*;

#[tokio::test]
async fn maintenance_creates_ahead_and_drops_past_retention() {
    let tp = platform().await;
    let pool = tp.db.pool(ServiceName::UsageIngest).await;
    let mut cfg = config();
    cfg.retention_days = 10;
    let ingestor =
        keyward_usage_ingest::ingestor(pool.clone(), &cfg, IngestMetrics::new(None).unwrap())
            .unwrap();
    let today = Utc::now().date_naive();
    let old = today.checked_sub_days(Days::new(11)).unwrap();
    let edge = today.checked_sub_days(Days::new(10)).unwrap();
    partitions::create(&pool, old).await.unwrap();
    partitions::create(&pool, edge).await.unwrap();

    let pass = maintenance::pass(&ingestor, today, 3, 10).await.unwrap();
    assert_eq!(pass.created.len(), 5, "yesterday, today and 3 ahead");
    assert_eq!(pass.dropped, vec![old]);
    let days = partitions::existing(&pool).await.unwrap();
    assert!(days.contains(&edge), "the oldest retained day stays");
    assert!(!days.contains(&old));
    assert_eq!(days.last().copied(), today.checked_add_days(Days::new(3)));
    // A second pass is a no-op.
    assert_eq!(
        maintenance::pass(&ingestor, today, 3, 10).await.unwrap(),
        maintenance::Pass::default()
    );

    // Ingest creates a missing day's partition on demand, and refuses events past retention.
    let world = World::new();
    let five_days_ago = Utc::now() - chrono::Duration::days(5);
    let out = ingestor
        .ingest_call(&[world.event(1, five_days_ago)])
        .await
        .unwrap();
    assert_eq!(out.inserted, 1);
    let too_old = ingestor
        .ingest_call(&[world.event(2, Utc::now() - chrono::Duration::days(12))])
        .await
        .unwrap_err();
    assert!(
        matches!(&too_old, IngestError::Invalid { index: 0, reason } if reason.contains("retention")),
        "{too_old}"
    );
    let future = ingestor
        .ingest_call(&[world.event(3, Utc::now() + chrono::Duration::hours(1))])
        .await
        .unwrap_err();
    assert!(future.to_string().contains("future"), "{future}");
}
