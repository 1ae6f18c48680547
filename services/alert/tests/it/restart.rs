//! RabbitMQ goes away from the service mid-stream and comes back: nothing is lost, nothing doubled.

use std::collections::BTreeSet;
use std::time::Duration;

use keyward_testkit::Gate;

use crate::harness::{Options, key_invalid, start, until};
use crate::receivers::Receiver;

fn key(i: usize) -> String {
    format!("0193f3c4-0000-7000-8000-{i:012}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_lost_mid_stream_loses_no_notification() {
    let gate = Gate::start("127.0.0.1:5672".parse().unwrap()).await;
    let t = start(Options {
        broker_via: Some(gate.addr()),
        ..Options::default()
    })
    .await;
    let rx = Receiver::start().await;
    t.webhook(&rx.url("/hook"), "whsec_outage").await;

    for i in 0..10 {
        t.publish(key_invalid(&key(i))).await;
    }
    rx.wait_for(5).await;
    // The service loses the broker while events keep coming (they queue in RabbitMQ).
    gate.close();
    let http = reqwest::Client::new();
    let ready = format!("http://{}/readyz", t.cfg.http);
    until("readyz reports the broker down", || async {
        http.get(&ready)
            .send()
            .await
            .is_ok_and(|r| r.status() == 503)
    })
    .await;
    for i in 10..30 {
        t.publish(key_invalid(&key(i))).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    gate.open();

    rx.wait_for(30).await;
    let got = rx.settle(Duration::from_millis(1500)).await;
    let keys: Vec<String> = got
        .iter()
        .map(|r| {
            r.json()["alert"]["labels"]["key_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let unique: BTreeSet<&String> = keys.iter().collect();
    assert_eq!(unique.len(), 30, "every event notified");
    assert_eq!(keys.len(), 30, "none twice");
    assert_eq!(t.alerts().await.len(), 30);
    // The audit trail caught up too (the outbox waited in Postgres).
    t.audits_with("alert.fired", 30).await;
    until("readyz recovers", || async {
        http.get(&ready)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
}
