//! A consumer helper: batches deliveries, hands them to the handler, and acks only after the
//! handler returns `Ok` (that is, after its database commit). Delivery is at-least-once; handlers
//! are idempotent by message id.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::FieldTable;
use tokio_util::sync::CancellationToken;

use crate::topology::QueueSpec;
use crate::{Broker, Result};

/// One received message.
#[derive(Clone, Debug)]
pub struct Message {
    pub data: Vec<u8>,
    pub message_id: Option<String>,
    pub schema: Option<String>,
    pub routing_key: String,
    pub redelivered: bool,
}

/// What the handler decided about a batch.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    /// Committed: ack the whole batch.
    Commit,
}

/// Batch tuning.
#[derive(Clone, Debug)]
pub struct ConsumerOptions {
    pub prefetch: u16,
    pub batch_max: usize,
    pub batch_linger: Duration,
    /// Wait before a failed batch is requeued.
    pub retry_delay: Duration,
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        Self {
            prefetch: 200,
            batch_max: 200,
            batch_linger: Duration::from_millis(20),
            retry_delay: Duration::from_millis(500),
        }
    }
}

/// Consumes `queue` until `shutdown`, reconnecting when the broker goes away. The handler's error
/// is logged and the batch requeued after `retry_delay` (a message that keeps failing is
/// dead-lettered by the queue's delivery limit).
pub async fn consume<F, Fut, E>(
    broker: Broker,
    queue: QueueSpec,
    opts: ConsumerOptions,
    shutdown: CancellationToken,
    mut handler: F,
) -> Result<()>
where
    F: FnMut(Vec<Message>) -> Fut,
    Fut: Future<Output = std::result::Result<Handled, E>>,
    E: std::fmt::Display,
{
    let tag = format!("{}-{}", queue.name, uuid::Uuid::now_v7());
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
            ch.basic_qos(opts.prefetch, BasicQosOptions::default())
                .await?;
            let name = broker.topology().declare_queue(&ch, &queue).await?;
            let consumer = ch
                .basic_consume(
                    name.into(),
                    tag.clone().into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            Ok::<_, lapin::Error>((ch, consumer))
        };
        let (ch, mut consumer) = match session.await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(queue = queue.name, error = %crate::describe(&e), "consumer setup failed");
                tokio::time::sleep(opts.retry_delay).await;
                continue;
            }
        };
        tracing::info!(queue = queue.name, "consuming");
        'batches: loop {
            let first = tokio::select! {
                () = shutdown.cancelled() => break 'batches,
                d = consumer.next() => d,
            };
            let Some(Ok(first)) = first else {
                tracing::warn!(queue = queue.name, "consumer stream ended; reconnecting");
                break 'batches;
            };
            let mut deliveries = vec![first];
            let linger = tokio::time::sleep(opts.batch_linger);
            tokio::pin!(linger);
            while deliveries.len() < opts.batch_max {
                tokio::select! {
                    () = &mut linger => break,
                    d = consumer.next() => match d {
                        Some(Ok(d)) => deliveries.push(d),
                        _ => break,
                    },
                }
            }
            let messages = deliveries
                .iter()
                .map(|d| Message {
                    data: d.data.clone(),
                    message_id: d
                        .properties
                        .message_id()
                        .as_ref()
                        .map(|s| s.as_str().to_string()),
                    schema: d.properties.kind().as_ref().map(|s| s.as_str().to_string()),
                    routing_key: d.routing_key.as_str().to_string(),
                    redelivered: d.redelivered,
                })
                .collect();
            let Some(last) = deliveries.last() else {
                continue;
            };
            match handler(messages).await {
                Ok(Handled::Commit) => {
                    if let Err(e) = last.acker.ack(BasicAckOptions { multiple: true }).await {
                        // The batch is committed; redelivery will be deduplicated.
                        tracing::warn!(queue = queue.name, error = %crate::describe(&e), "ack failed");
                        break 'batches;
                    }
                }
                Err(e) => {
                    tracing::warn!(queue = queue.name, error = %e, count = deliveries.len(), "handler failed; requeueing batch");
                    tokio::time::sleep(opts.retry_delay).await;
                    let nack = BasicNackOptions {
                        multiple: true,
                        requeue: true,
                    };
                    if last.acker.nack(nack).await.is_err() {
                        break 'batches;
                    }
                }
            }
        }
        let _closed = ch.close(200, "consumer stopping".into()).await;
    }
    Ok(())
}
