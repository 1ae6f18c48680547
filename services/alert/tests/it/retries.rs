//! Delivery retries: exponential backoff with jitter, then failed, listed, and retried by hand.

use std::time::Duration;

use keyward_alert::RetryPolicy;
use keyward_proto::v1 as pb;

use crate::harness::{Options, key_invalid, meta, start, until};
use crate::receivers::Receiver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_is_retried_on_schedule_then_the_delivery_is_failed_and_listed() {
    let retry = RetryPolicy {
        max_attempts: 4,
        base_ms: 400,
        factor: 2.0,
        max_ms: 10_000,
        jitter: 0.2,
    };
    let t = start(Options {
        retry: retry.clone(),
        ..Options::default()
    })
    .await;
    let rx = Receiver::start().await;
    rx.fail_always(503);
    t.webhook(&rx.url("/hook"), "whsec_retry").await;
    t.publish(key_invalid("0193f3c4-0000-7000-8000-0000000000f1"))
        .await;

    let got = rx.wait_for(4).await;
    // Each wait is base × 2^(n-1), ± 20 % jitter (plus a little scheduling slack).
    for (n, pair) in got.windows(2).enumerate() {
        let gap = pair[1].at - pair[0].at;
        let nominal = retry.nominal_delay(u32::try_from(n + 1).unwrap());
        let (lo, hi) = (
            nominal.mul_f64(0.8) - Duration::from_millis(30),
            nominal.mul_f64(1.2) + Duration::from_millis(400),
        );
        assert!(
            gap >= lo && gap <= hi,
            "wait {} was {gap:?}, expected {lo:?}..{hi:?}",
            n + 1
        );
    }
    // All four carried the same delivery id, so a receiver can deduplicate.
    let ids: std::collections::BTreeSet<&str> = got
        .iter()
        .map(|r| r.headers["x-keyward-delivery"].as_str())
        .collect();
    assert_eq!(ids.len(), 1);

    until("the delivery is marked failed", || async {
        !t.deliveries(Some("failed")).await.is_empty()
    })
    .await;
    assert_eq!(
        rx.settle(Duration::from_millis(1500)).await.len(),
        4,
        "no fifth attempt"
    );
    let failed = t.deliveries(Some("failed")).await;
    assert_eq!(failed.len(), 1);
    let d = &failed[0];
    assert_eq!(
        (d.attempts, d.max_attempts, d.last_http_status),
        (4, 4, 503)
    );
    assert!(d.last_error.contains("503"), "{}", d.last_error);
    assert!(d.next_attempt_at.is_none());
    let full = t
        .client
        .clone()
        .get_delivery(pb::DeliveryRef {
            org_id: t.org.clone(),
            id: d.id.clone(),
            meta: None,
        })
        .await
        .unwrap()
        .into_inner();
    let outcomes: Vec<&str> = full
        .attempt_log
        .iter()
        .map(|a| a.outcome.as_str())
        .collect();
    assert_eq!(outcomes, vec!["retry", "retry", "retry", "failed"]);
    assert!(full.attempt_log.iter().all(|a| a.http_status == 503));
    // The alert shows the failed delivery too.
    let detail = t
        .client
        .clone()
        .get_alert(pb::AlertRef {
            org_id: t.org.clone(),
            id: t.alerts().await[0].id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(detail.deliveries[0].status, "failed");
    assert_eq!(detail.deliveries[0].attempt_log.len(), 4);
    t.audits_with("alert_delivery.failed", 1).await;

    // The receiver is fixed; an operator retries the delivery.
    rx.recover();
    let again = t
        .client
        .clone()
        .retry_delivery(pb::DeliveryRef {
            org_id: t.org.clone(),
            id: d.id.clone(),
            meta: meta(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.status, "pending");
    let got = rx.wait_for(5).await;
    assert_eq!(got[4].status, 200);
    until("the delivery is delivered", || async {
        t.deliveries(Some("delivered")).await.len() == 1
    })
    .await;
    t.audits_with("alert_delivery.retried", 1).await;
    // Only failed deliveries can be retried.
    let err = t
        .client
        .clone()
        .retry_delivery(pb::DeliveryRef {
            org_id: t.org.clone(),
            id: d.id.clone(),
            meta: meta(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_recovers_gets_the_notification_and_a_gone_one_is_not_retried() {
    let t = start(Options::default()).await;
    let flaky = Receiver::start().await;
    flaky.fail_times(2, 500);
    let gone = Receiver::start().await;
    gone.fail_always(410);
    t.webhook(&flaky.url("/hook"), "whsec_a").await;
    t.webhook(&gone.url("/hook"), "whsec_b").await;
    t.publish(key_invalid("0193f3c4-0000-7000-8000-0000000000f2"))
        .await;
    let got = flaky.wait_for(3).await;
    assert_eq!(
        got.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![500, 500, 200]
    );
    until("both deliveries settle", || async {
        t.deliveries(Some("delivered")).await.len() == 1
            && t.deliveries(Some("failed")).await.len() == 1
    })
    .await;
    assert_eq!(
        gone.settle(Duration::from_millis(1000)).await.len(),
        1,
        "410 Gone is final"
    );
}
