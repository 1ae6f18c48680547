//! Cost is computed once, at ingest, from the price in force at the event's time, with the org's
//! overrides from the cost schema.

use chrono::Utc;
use keyward_core::ServiceName;
use keyward_pricing::{PriceBook, cost_micros};
use keyward_usage_ingest::IngestMetrics;
use uuid::Uuid;

use crate::harness::*;

#[tokio::test]
async fn events_are_priced_at_their_time_with_org_overrides() {
    let tp = platform().await;
    let pool = tp.db.pool(ServiceName::UsageIngest).await;
    let cost_pool = tp.db.pool(ServiceName::Cost).await;
    let cfg = config();
    let ingestor =
        keyward_usage_ingest::ingestor(pool.clone(), &cfg, IngestMetrics::new(None).unwrap())
            .unwrap();
    let book = PriceBook::builtin().unwrap();
    let world = World::new();
    let now = Utc::now();

    // gpt-4o-mini (event 0), claude sonnet (event 2), an unknown model (event 4).
    let evs: Vec<_> = [0usize, 2, 4]
        .iter()
        .map(|i| world.event(*i, now))
        .collect();
    ingestor.ingest_call(&evs).await.unwrap();
    let stored: Vec<(String, i64, bool)> = sqlx::query_as(
        "SELECT event_id::text, cost_micros, priced FROM usage.events ORDER BY event_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for ev in &evs {
        let row = stored.iter().find(|r| r.0 == ev.event_id).unwrap();
        let usage = keyward_pricing::Usage {
            input_tokens: ev.input_tokens,
            cached_input_tokens: ev.cached_input_tokens,
            cache_write_5m_tokens: ev.cache_write_5m_tokens,
            cache_write_1h_tokens: ev.cache_write_1h_tokens,
            output_tokens: ev.output_tokens,
            reasoning_tokens: ev.reasoning_tokens,
        };
        match book.lookup(&ev.provider, &ev.model, now) {
            Some(price) => assert_eq!((row.1, row.2), (cost_micros(price, &usage), true)),
            None => assert_eq!((row.1, row.2), (0, false), "unknown model is unpriced"),
        }
    }

    // A 50% discount for org 0 from now on applies to the very next batch.
    let org = world.orgs[0];
    sqlx::query(
        "INSERT INTO cost.price_overrides (id, org_id, provider, model, effective_from, adjustment) \
         VALUES ($1, $2, 'openai', '*', $3, '{\"discount_bps\": 5000}'::jsonb)",
    )
    .bind(Uuid::now_v7())
    .bind(org)
    .bind(now - chrono::Duration::seconds(1))
    .execute(&cost_pool)
    .await
    .unwrap();
    sqlx::query("UPDATE cost.price_override_version SET version = version + 1")
        .execute(&cost_pool)
        .await
        .unwrap();
    let discounted = world.event(0, now);
    let list_price = world.event(1, now); // org 1: no override
    ingestor
        .ingest_call(&[discounted.clone(), list_price.clone()])
        .await
        .unwrap();
    let cost_of = |id: String| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT cost_micros FROM usage.events WHERE event_id = $1::uuid",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let first = stored.iter().find(|r| r.0 == evs[0].event_id).unwrap().1;
    let half = cost_of(discounted.event_id).await;
    assert!(first > 1, "a priced event costs something");
    assert!(
        (half - first / 2).abs() <= 1,
        "50% off: {half} vs list {first}"
    );
    let list = cost_of(list_price.event_id).await;
    let price = book.lookup("openai", "gpt-4o-2024-08-06", now).unwrap();
    let usage = keyward_pricing::Usage {
        input_tokens: list_price.input_tokens,
        cached_input_tokens: list_price.cached_input_tokens,
        cache_write_5m_tokens: list_price.cache_write_5m_tokens,
        cache_write_1h_tokens: list_price.cache_write_1h_tokens,
        output_tokens: list_price.output_tokens,
        reasoning_tokens: list_price.reasoning_tokens,
    };
    assert_eq!(
        list,
        cost_micros(price, &usage),
        "other orgs keep list prices"
    );
}
