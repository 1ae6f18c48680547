//! Following an exchange from one process: a private, exclusive, auto-deleted queue per
//! connection (every replica sees every message; nothing is kept while it is away), no acks.
//! For caches and live views, never for work that must not be lost — that is [`crate::consume`].

use std::convert::Infallible;
use std::time::Duration;

use futures::StreamExt as _;
use lapin::options::BasicConsumeOptions;
use lapin::types::FieldTable;
use tokio_util::sync::CancellationToken;

use crate::Broker;

/// Follows `exchange` with `keys` until `shutdown`, reconnecting with the broker.
/// `on_connect` runs on every (re)connection before the first message — messages published
/// while disconnected are lost to this process, so caches clear themselves there.
/// `on_message(routing_key, body)` runs for each message, in order.
pub async fn follow(
    broker: Broker,
    exchange: &'static str,
    keys: &'static [&'static str],
    tag: String,
    shutdown: CancellationToken,
    mut on_connect: impl FnMut() + Send,
    mut on_message: impl FnMut(&str, &[u8]) + Send,
) -> Result<(), Infallible> {
    while !shutdown.is_cancelled() {
        let conn = tokio::select! {
            () = shutdown.cancelled() => break,
            c = broker.wait_connected(Duration::from_secs(3600)) => match c {
                Ok(c) => c,
                Err(_) => continue,
            },
        };
        let session = async {
            let ch = conn.create_channel().await?;
            let queue = broker
                .topology()
                .declare_instance_queue(&ch, exchange, keys)
                .await?;
            let consumer = ch
                .basic_consume(
                    queue.into(),
                    tag.clone().into(),
                    BasicConsumeOptions {
                        no_ack: true,
                        ..BasicConsumeOptions::default()
                    },
                    FieldTable::default(),
                )
                .await?;
            Ok::<_, lapin::Error>((ch, consumer))
        };
        let (_ch, mut consumer) = match session.await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(%exchange, error = %crate::describe(&e), "following an exchange: queue setup failed");
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_millis(500)) => continue,
                }
            }
        };
        on_connect();
        loop {
            let next = tokio::select! {
                () = shutdown.cancelled() => break,
                d = consumer.next() => d,
            };
            let Some(Ok(delivery)) = next else {
                break;
            };
            on_message(delivery.routing_key.as_str(), &delivery.data);
        }
    }
    Ok(())
}
