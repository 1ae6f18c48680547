//! Ingest through the real RabbitMQ: idempotent by event id, bad messages kept aside.

use std::time::Duration;

use keyward_bus::topology::AUDIT_INGEST;
use keyward_bus::{Broker, Outgoing, Publisher, PublisherOptions, Spool};
use keyward_proto::v1::{Actor, AuditEvent, QueryAuditRequest, actor::Kind};
use keyward_testkit::eventually;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::harness::{Rig, rig, start, verify};

fn proto_event(org: Uuid, action: &str) -> AuditEvent {
    AuditEvent {
        event_id: Uuid::now_v7().to_string(),
        occurred_at: Some(keyward_proto::time::now()),
        org_id: org.to_string(),
        actor: Some(Actor {
            kind: Kind::Service as i32,
            id: "vault".into(),
            email: None,
            ip: None,
        }),
        action: action.into(),
        resource_type: "provider_key".into(),
        resource_id: "pk_1".into(),
        outcome: "success".into(),
        service: "vault".into(),
        ..AuditEvent::default()
    }
}

/// A confirmed publisher on the test's broker namespace (declaring the audit queue itself, so
/// nothing published before the service consumes is unroutable).
fn publisher(rig: &Rig, token: &CancellationToken) -> Publisher {
    let broker = Broker::new(&rig.tp.platform.broker, "audit-test", vec![AUDIT_INGEST]);
    let (b, t) = (broker.clone(), token.clone());
    tokio::spawn(async move { b.run(t).await });
    let spool = Spool::open(&rig.tp.platform.broker.spool_dir, "test").unwrap();
    let (p, task) = Publisher::new(broker, spool, PublisherOptions::default(), token.clone());
    tokio::spawn(task);
    p
}

/// Waits until an entry with `action` is visible through `Query`.
async fn wait_for_action(client: &crate::harness::Client, org: Uuid, action: &str) {
    let seen = eventually(Duration::from_secs(30), || {
        let mut c = client.clone();
        let action = action.to_string();
        async move {
            let r = c
                .query(QueryAuditRequest {
                    org_id: org.to_string(),
                    action: Some(action),
                    ..QueryAuditRequest::default()
                })
                .await
                .ok()?
                .into_inner();
            (!r.entries.is_empty()).then_some(())
        }
    })
    .await;
    assert!(seen.is_some(), "an entry with action {action} is ingested");
}

async fn count(rig: &Rig, org: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM entries WHERE org_id = $1")
        .bind(org)
        .fetch_one(rig.audit.store().pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_same_event_delivered_twice_makes_one_entry() {
    let rig = rig().await;
    let svc = start(&rig).await;
    let token = CancellationToken::new();
    let publisher = publisher(&rig, &token);
    let org = Uuid::now_v7();

    let twice = proto_event(org, "provider_key.resolve");
    // Both copies are confirmed by the broker: two deliveries of one event id.
    let sent = eventually(Duration::from_secs(20), || {
        let (p, e) = (publisher.clone(), twice.clone());
        async move { p.audit_confirmed(&e).await.ok() }
    })
    .await;
    assert!(sent.is_some(), "broker confirms");
    publisher.audit_confirmed(&twice).await.unwrap();
    // A later event proves both copies were consumed (the queue is FIFO).
    let marker = proto_event(org, "provider_key.rotate");
    publisher.audit_confirmed(&marker).await.unwrap();
    wait_for_action(&svc.client, org, "provider_key.rotate").await;
    assert_eq!(count(&rig, org).await, 2);
    // Once more, now certainly in a batch of its own (a redelivery after the commit).
    publisher.audit_confirmed(&twice).await.unwrap();
    let last = proto_event(org, "provider_key.revoke");
    publisher.audit_confirmed(&last).await.unwrap();
    wait_for_action(&svc.client, org, "provider_key.revoke").await;
    assert_eq!(count(&rig, org).await, 3, "one entry per event id");
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT event_id::text FROM entries WHERE org_id = $1 ORDER BY seq")
            .bind(org)
            .fetch_all(rig.audit.store().pool())
            .await
            .unwrap();
    assert_eq!(
        ids,
        vec![twice.event_id.clone(), marker.event_id, last.event_id]
    );
    let r = verify(&svc.client, org).await;
    assert!(r.ok && r.checked == 3, "{r:?}");
    token.cancel();
}

#[tokio::test]
async fn invalid_messages_are_kept_aside_and_do_not_block_the_queue() {
    let rig = rig().await;
    let svc = start(&rig).await;
    let token = CancellationToken::new();
    let publisher = publisher(&rig, &token);
    let org = Uuid::now_v7();

    let mut bad = proto_event(org, "provider_key.resolve");
    bad.org_id = "not-an-org".into();
    let good = proto_event(org, "provider_key.resolve");
    let garbage = Outgoing {
        exchange: keyward_bus::topology::AUDIT.into(),
        routing_key: keyward_bus::topology::AUDIT_KEY.into(),
        schema: keyward_bus::events::schema::AUDIT_EVENT.into(),
        message_id: "garbage-1".into(),
        payload: vec![0xff, 0x01, 0x02],
        typed: false,
    };
    eventually(Duration::from_secs(20), || {
        let (p, e) = (publisher.clone(), bad.clone());
        async move { p.audit_confirmed(&e).await.ok() }
    })
    .await
    .unwrap();
    publisher.publish_confirmed(garbage).await.unwrap();
    publisher.audit_confirmed(&good).await.unwrap();

    let appended = eventually(Duration::from_secs(30), || {
        let rig = &rig;
        async move { (count(rig, org).await == 1).then_some(()) }
    })
    .await;
    assert!(
        appended.is_some(),
        "the valid event behind the bad ones is appended"
    );
    let reasons: Vec<String> = sqlx::query_scalar("SELECT reason FROM rejected_events ORDER BY id")
        .fetch_all(rig.audit.store().pool())
        .await
        .unwrap();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert_eq!(reasons[0], "org_id is not a UUID");
    assert!(reasons[1].starts_with("not an AuditEvent"), "{reasons:?}");
    drop(svc);
    token.cancel();
}
