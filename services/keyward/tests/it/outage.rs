//! `/readyz` answers 503 naming the missing dependency, and the service recovers by itself.
//! The dependency is taken away through a TCP gate so the shared servers keep running.

use std::time::Duration;

use keyward_testkit::Gate;

use crate::harness::{Deps, broker_url, database_url, start, wait_for};
use crate::platform::empty_db;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_names_a_missing_database_and_broker_and_recovers() {
    let db = empty_db().await;
    // Migrate directly (the gate is for the running service, not for set-up).
    let pg_gate = Gate::start("127.0.0.1:5432".parse().unwrap()).await;
    let mq_gate = Gate::start("127.0.0.1:5672".parse().unwrap()).await;
    let deps = Deps {
        database_url: database_url(&db, Some(pg_gate.addr())),
        broker_url: broker_url(Some(mq_gate.addr())),
    };
    let mut migrate = start(&db, &deps, &["migrate"]);
    let status = tokio::task::block_in_place(|| migrate.child.wait().unwrap());
    assert!(status.success(), "{}", migrate.logs());

    let inst = start(&db, &deps, &["vault"]);
    let url = format!("http://127.0.0.1:{}/readyz", inst.ports.http[1]);
    wait_for(&url, 200, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("not ready: {e:?}\n{}", inst.logs()));

    // Postgres goes away.
    pg_gate.close();
    let body = wait_for(&url, 503, Duration::from_secs(15))
        .await
        .unwrap_or_else(|e| panic!("no 503: {e:?}"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["missing"], serde_json::json!(["database"]), "{body}");
    assert_eq!(v["checks"]["database"]["status"], "unavailable");
    assert!(
        !body.contains("keyward-dev-vault"),
        "no password in readiness output"
    );
    pg_gate.open();
    wait_for(&url, 200, Duration::from_secs(20))
        .await
        .unwrap_or_else(|e| panic!("did not recover from the database outage: {e:?}"));

    // RabbitMQ goes away.
    mq_gate.close();
    let body = wait_for(&url, 503, Duration::from_secs(15))
        .await
        .unwrap_or_else(|e| panic!("no 503: {e:?}"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["missing"], serde_json::json!(["broker"]), "{body}");
    mq_gate.open();
    wait_for(&url, 200, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "did not recover from the broker outage: {e:?}\n{}",
                inst.logs()
            )
        });
}
