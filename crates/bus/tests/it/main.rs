//! The bus against the real RabbitMQ: confirms, the spool, ordered replay, ack-after-commit.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyward_bus::topology::{QueueSpec, USAGE, USAGE_INGEST, USAGE_KEY};
use keyward_bus::{
    Broker, ConsumerOptions, Handled, Message, Outgoing, Publisher, PublisherOptions, Spool,
    consume,
};
use keyward_core::settings::BrokerConfig;
use keyward_testkit::{Gate, eventually};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

fn msg(i: usize) -> Outgoing {
    Outgoing {
        exchange: USAGE.into(),
        routing_key: USAGE_KEY.into(),
        schema: "keyward.v1.UsageEvent".into(),
        message_id: format!("m-{i:05}"),
        payload: format!("payload {i}").into_bytes(),
        typed: false,
    }
}

struct Rig {
    cfg: BrokerConfig,
    _spool: keyward_testkit::tempfile_dir::TempDir,
    token: CancellationToken,
}

fn rig(via: Option<std::net::SocketAddr>) -> Rig {
    let (mut cfg, spool) = keyward_testkit::broker_config();
    if let Some(addr) = via {
        cfg.url = SecretString::from(format!("amqp://guest:guest@{addr}/%2f"));
    }
    Rig {
        cfg,
        _spool: spool,
        token: CancellationToken::new(),
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

fn start_broker(rig: &Rig, queues: Vec<QueueSpec>) -> Broker {
    let broker = Broker::new(&rig.cfg, "bus-test", queues);
    let (b, t) = (broker.clone(), rig.token.clone());
    tokio::spawn(async move { b.run(t).await });
    broker
}

fn start_publisher(rig: &Rig, broker: &Broker) -> Publisher {
    let spool = Spool::open(&rig.cfg.spool_dir, "test").unwrap();
    let (p, task) = Publisher::new(
        broker.clone(),
        spool,
        PublisherOptions::default(),
        rig.token.clone(),
    );
    tokio::spawn(task);
    p
}

/// Collects message ids; fails the first delivery of ids listed in `fail_once`.
fn start_consumer(rig: &Rig, broker: &Broker, fail_once: &[&str]) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let failed: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let fail_once: Vec<String> = fail_once.iter().map(|s| s.to_string()).collect();
    let (s, b, t) = (seen.clone(), broker.clone(), rig.token.clone());
    let opts = ConsumerOptions {
        retry_delay: Duration::from_millis(50),
        ..ConsumerOptions::default()
    };
    tokio::spawn(consume(
        b,
        USAGE_INGEST,
        opts,
        t,
        move |batch: Vec<Message>| {
            let (s, failed, fail_once) = (s.clone(), failed.clone(), fail_once.clone());
            async move {
                let ids: Vec<String> = batch
                    .iter()
                    .map(|m| m.message_id.clone().unwrap())
                    .collect();
                for m in &batch {
                    assert_eq!(m.schema.as_deref(), Some("keyward.v1.UsageEvent"));
                }
                let mut f = failed.lock().unwrap();
                if let Some(id) = ids
                    .iter()
                    .find(|id| fail_once.contains(id) && !f.contains(id))
                {
                    f.push(id.clone());
                    return Err(format!("simulated failure before commit of {id}"));
                }
                s.lock().unwrap().extend(ids);
                Ok(Handled::Commit)
            }
        },
    ));
    seen
}

async fn wait_count(seen: &Arc<Mutex<Vec<String>>>, n: usize) -> Vec<String> {
    eventually(Duration::from_secs(20), || {
        let v = seen.lock().unwrap().clone();
        async move { (v.len() >= n).then_some(v) }
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "expected {n} messages, got {:?}",
            seen.lock().unwrap().len()
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmed_publish_reaches_the_consumer_once_acked_after_commit() {
    let rig = rig(None);
    let broker = start_broker(&rig, vec![USAGE_INGEST]);
    broker
        .wait_connected(Duration::from_secs(10))
        .await
        .unwrap();
    let publisher = start_publisher(&rig, &broker);
    let seen = start_consumer(&rig, &broker, &["m-00002"]);
    for i in 0..5 {
        publisher.publish_confirmed(msg(i)).await.unwrap();
    }
    let got = wait_count(&seen, 5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut got = got;
    got.sort();
    // m-00002 failed once before commit and was redelivered, then committed exactly once.
    assert_eq!(got, (0..5).map(|i| format!("m-{i:05}")).collect::<Vec<_>>());
    assert_eq!(seen.lock().unwrap().len(), 5, "nothing committed twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_broker_fails_closed_or_spools_and_replays_in_order() {
    let gate = Gate::start("127.0.0.1:5672".parse().unwrap()).await;
    let rig = rig(Some(gate.addr()));
    let broker = start_broker(&rig, vec![USAGE_INGEST]);
    broker
        .wait_connected(Duration::from_secs(10))
        .await
        .unwrap();
    let publisher = start_publisher(&rig, &broker);
    // Consume over a direct connection so only the publisher sees the outage.
    let direct = {
        let mut cfg = keyward_testkit::broker_config().0;
        cfg.namespace = rig.cfg.namespace.clone();
        cfg
    };
    let consumer_broker = Broker::new(&direct, "bus-test-consumer", vec![USAGE_INGEST]);
    let (b, t) = (consumer_broker.clone(), rig.token.clone());
    tokio::spawn(async move { b.run(t).await });
    let seen = start_consumer(&rig, &consumer_broker, &[]);

    publisher.publish(msg(0)).unwrap();
    wait_count(&seen, 1).await;

    gate.close();
    eventually(Duration::from_secs(10), || {
        let up = broker.is_connected();
        async move { (!up).then_some(()) }
    })
    .await
    .expect("publisher noticed the outage");
    // Fail-closed callers get an error, and nothing of theirs is spooled.
    assert!(publisher.publish_confirmed(msg(999)).await.is_err());
    // Fire-and-forget messages are spooled durably.
    for i in 1..=200 {
        publisher.publish(msg(i)).unwrap();
    }
    eventually(Duration::from_secs(5), || {
        let b = publisher.spooled_bytes();
        async move { (b > 0).then_some(()) }
    })
    .await
    .expect("messages spooled");

    gate.open();
    let got = wait_count(&seen, 201).await;
    let expected: Vec<String> = (0..=200).map(|i| format!("m-{i:05}")).collect();
    assert_eq!(got, expected, "every spooled message arrives, in order");
    assert!(!got.contains(&"m-00999".to_string()));
    eventually(Duration::from_secs(5), || {
        let b = publisher.spooled_bytes();
        async move { (b == 0).then_some(()) }
    })
    .await
    .expect("spool drained");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_exchange_is_declared_again_by_the_publisher() {
    // In a test namespace the exchanges auto-delete with their last binding; in production an
    // operator may delete one. A fail-closed publish must not fail for good after that.
    let rig = rig(None);
    let broker = start_broker(&rig, vec![]);
    broker
        .wait_connected(Duration::from_secs(10))
        .await
        .unwrap();
    let publisher = start_publisher(&rig, &broker);
    publisher.publish_confirmed(msg(0)).await.unwrap();
    let exchange = broker.topology().name(USAGE);
    let ch = broker.connection().unwrap().create_channel().await.unwrap();
    ch.exchange_delete(
        exchange.as_str().into(),
        lapin::options::ExchangeDeleteOptions::default(),
    )
    .await
    .unwrap();
    // The exchange is gone: declaring it passively fails (and closes that channel).
    let probe = broker.connection().unwrap().create_channel().await.unwrap();
    let passive = lapin::options::ExchangeDeclareOptions {
        passive: true,
        ..Default::default()
    };
    let gone = probe
        .exchange_declare(
            exchange.as_str().into(),
            lapin::ExchangeKind::Direct,
            passive,
            lapin::types::FieldTable::default(),
        )
        .await;
    assert!(gone.is_err(), "the exchange was deleted");
    publisher
        .publish_confirmed(msg(1))
        .await
        .expect("the publisher declared the exchange again and published");
    let check = broker.connection().unwrap().create_channel().await.unwrap();
    check
        .exchange_declare(
            exchange.as_str().into(),
            lapin::ExchangeKind::Direct,
            passive,
            lapin::types::FieldTable::default(),
        )
        .await
        .expect("the exchange exists again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_are_32_kib_unless_the_url_says_otherwise_and_big_messages_still_arrive_whole() {
    let rig = rig(None);
    let broker = start_broker(&rig, vec![USAGE_INGEST]);
    broker
        .wait_connected(Duration::from_secs(10))
        .await
        .unwrap();
    let conn = broker.connection().unwrap();
    assert_eq!(conn.configuration().frame_max(), 32 * 1024);

    // A message of ~200 KB crosses several frames and arrives byte for byte.
    let publisher = start_publisher(&rig, &broker);
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let got = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
    let (g, b, t) = (got.clone(), broker.clone(), rig.token.clone());
    tokio::spawn(consume(
        b,
        USAGE_INGEST,
        ConsumerOptions::default(),
        t,
        move |batch: Vec<Message>| {
            let g = g.clone();
            async move {
                g.lock().unwrap().extend(batch.into_iter().map(|m| m.data));
                Ok::<_, String>(Handled::Commit)
            }
        },
    ));
    let mut m = msg(0);
    m.payload = big.clone();
    publisher.publish_confirmed(m).await.unwrap();
    let arrived = eventually(Duration::from_secs(20), || {
        let v = got.lock().unwrap().clone();
        async move { v.first().cloned() }
    })
    .await
    .expect("the big message arrived");
    assert_eq!(arrived, big);

    // A frame_max in the URL wins.
    let (mut cfg, _spool) = keyward_testkit::broker_config();
    cfg.url =
        SecretString::from("amqp://guest:guest@127.0.0.1:5672/%2f?frame_max=8192".to_string());
    let own = Broker::new(&cfg, "bus-test-frames", vec![]);
    let (b, t) = (own.clone(), rig.token.clone());
    tokio::spawn(async move { b.run(t).await });
    own.wait_connected(Duration::from_secs(10)).await.unwrap();
    assert_eq!(own.connection().unwrap().configuration().frame_max(), 8192);
}
