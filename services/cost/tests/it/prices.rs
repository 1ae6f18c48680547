//! The price book and org overrides over gRPC.

use keyward_proto::v1::{self as pb, price_override::Adjustment};

use crate::harness::*;

#[tokio::test]
async fn prices_and_overrides() {
    let mut t = start().await;
    let org = uuid::Uuid::now_v7().to_string();
    let list = t
        .client
        .list_prices(pb::PricesRequest {
            provider: Some("openai".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .prices;
    let mini = list.iter().find(|p| p.model == "gpt-4o-mini").unwrap();
    assert_eq!((mini.input, mini.output), (150_000, 600_000));
    assert!(
        list.iter()
            .all(|p| p.provider == "openai" && p.source.starts_with("https://"))
    );

    // Retroactive overrides are refused; a bad discount names the problem.
    let over = |bps: u32, from: i64| pb::PriceOverride {
        org_id: org.clone(),
        provider: "openai".into(),
        model: "gpt-4o-mini".into(),
        effective_from: Some(prost_types::Timestamp {
            seconds: from,
            nanos: 0,
        }),
        adjustment: Some(Adjustment::DiscountBps(bps)),
        ..Default::default()
    };
    let now = chrono::Utc::now().timestamp();
    let e = t
        .client
        .set_price_override(over(1_000, now - 86_400))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("in the past"), "{}", e.message());
    let e = t
        .client
        .set_price_override(over(20_000, now + 10))
        .await
        .unwrap_err();
    assert!(e.message().contains("discount_bps"), "{}", e.message());

    let set = t
        .client
        .set_price_override(over(2_000, now))
        .await
        .unwrap()
        .into_inner();
    let seen = t
        .client
        .list_prices(pb::PricesRequest {
            org_id: org.clone(),
            provider: Some("openai".into()),
            at: Some(prost_types::Timestamp {
                seconds: now + 5,
                nanos: 0,
            }),
            all_versions: false,
        })
        .await
        .unwrap()
        .into_inner()
        .prices;
    let mini = seen.iter().find(|p| p.model == "gpt-4o-mini").unwrap();
    assert_eq!(mini.discount_bps, 2_000);
    assert!(mini.org_override);
    let listed = t
        .client
        .list_price_overrides(pb::ListPriceOverridesRequest {
            org_id: org.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .overrides;
    assert_eq!(listed, vec![set.clone()]);
    let pool = t.tp.db.pool(keyward_core::ServiceName::Cost).await;
    let version: i64 = sqlx::query_scalar("SELECT version FROM cost.price_override_version")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(version, 1, "usage-ingest sees the change on its next batch");
    assert!(
        t.client
            .delete_price_override(pb::PriceOverrideRef {
                org_id: org,
                id: set.id,
            })
            .await
            .unwrap()
            .into_inner()
            .deleted
    );
}
