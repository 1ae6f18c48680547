//! A confirmed, batching publisher. Fire-and-forget messages never get lost: when the broker
//! can't take them they go to the durable [`Spool`] and are replayed in order once it is back.
//! Fail-closed callers use [`Publisher::publish_confirmed`], which never spools.

use std::sync::Arc;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Confirmation};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::events::coalesce_usage;
use crate::{Broker, CONTENT_TYPE, Error, Result, SCHEMA_HEADER, SCHEMA_VERSION_HEADER, Spool};

/// One message to publish. `exchange` is the base name (the namespace is applied on publish).
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub exchange: String,
    pub routing_key: String,
    /// The protobuf message type, e.g. `keyward.v1.UsageEvent`.
    pub schema: String,
    /// The event id; consumers deduplicate on it.
    pub message_id: String,
    pub payload: Vec<u8>,
    /// Encoded here from a typed message ([`Outgoing::proto`]), so known to decode as `schema`.
    /// False for raw payloads and for messages read back from the spool: those are checked
    /// before they may join a batch ([`crate::events::coalesce_usage`]).
    pub typed: bool,
}

impl Outgoing {
    /// Encodes a protobuf message.
    pub fn proto<M: prost::Message>(
        exchange: &str,
        routing_key: &str,
        schema: &str,
        message_id: String,
        msg: &M,
    ) -> Self {
        Self {
            exchange: exchange.to_string(),
            routing_key: routing_key.to_string(),
            schema: schema.to_string(),
            message_id,
            payload: msg.encode_to_vec(),
            typed: true,
        }
    }
}

/// Tuning of a publisher.
#[derive(Clone, Debug)]
pub struct PublisherOptions {
    /// Messages published before waiting for their confirms.
    pub batch_max: usize,
    /// How long to wait for the broker's confirms.
    pub confirm_timeout: Duration,
    /// In-memory queue length; beyond it fire-and-forget messages go straight to the spool.
    pub queue_len: usize,
    /// When a window holds only fire-and-forget messages, how long to wait for more before
    /// publishing it (so usage events leave in batches; see [`crate::events::coalesce_usage`]).
    /// Windows with a fail-closed message never wait.
    pub linger: Duration,
    /// Most usage events merged into one `UsageBatch` message.
    pub usage_batch_max: usize,
}

impl Default for PublisherOptions {
    fn default() -> Self {
        Self {
            // Each window waits for one round of broker confirms (a quorum-queue commit), so
            // under load the window size sets the rate: 512 capped a publisher at ~15k
            // messages/s (bench/RESULTS.md, "Usage ingest"). Light load sends smaller windows.
            batch_max: 4_096,
            confirm_timeout: Duration::from_secs(5),
            queue_len: 65_536,
            // Under load RabbitMQ's CPU goes with the number of windows and messages, not their
            // size: 5 ms / 500 events cost it ~5.5 µs per proxied request, 20 ms / 2,000 about
            // half (bench/RESULTS.md, "LLM proxy"). Usage reaches ingest ≤ 20 ms later.
            linger: Duration::from_millis(20),
            usage_batch_max: 2_000,
        }
    }
}

struct Cmd {
    msg: Outgoing,
    ack: Option<oneshot::Sender<Result<()>>>,
}

/// A cloneable publisher handle.
#[derive(Clone)]
pub struct Publisher {
    tx: mpsc::Sender<Cmd>,
    spool: Arc<Spool>,
}

impl Publisher {
    /// A publisher over `broker` spooling to `spool`. Run the returned task under the supervisor.
    pub fn new(
        broker: Broker,
        spool: Spool,
        opts: PublisherOptions,
        shutdown: CancellationToken,
    ) -> (
        Self,
        impl std::future::Future<Output = Result<()>> + Send + 'static,
    ) {
        let (tx, rx) = mpsc::channel(opts.queue_len);
        let spool = Arc::new(spool);
        let worker = Worker {
            broker,
            spool: spool.clone(),
            opts,
            channel: None,
        };
        (Self { tx, spool }, worker.run(rx, shutdown))
    }

    /// Queues a message; it is confirmed by the broker or spooled, never dropped.
    pub fn publish(&self, msg: Outgoing) -> Result<()> {
        match self.tx.try_send(Cmd { msg, ack: None }) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(cmd) | mpsc::error::TrySendError::Closed(cmd)) => {
                self.spool.append(std::slice::from_ref(&cmd.msg))?;
                Ok(())
            }
        }
    }

    /// Publishes and waits for the broker's confirm. Fails (and spools nothing) when the broker
    /// is unreachable or does not confirm in time: the caller must then fail closed.
    pub async fn publish_confirmed(&self, msg: Outgoing) -> Result<()> {
        let (ack, rx) = oneshot::channel();
        self.tx
            .send(Cmd {
                msg,
                ack: Some(ack),
            })
            .await
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// Bytes waiting in the spool.
    pub fn spooled_bytes(&self) -> u64 {
        self.spool.pending_bytes()
    }
}

struct Worker {
    broker: Broker,
    spool: Arc<Spool>,
    opts: PublisherOptions,
    channel: Option<Channel>,
}

impl Worker {
    async fn run(mut self, mut rx: mpsc::Receiver<Cmd>, shutdown: CancellationToken) -> Result<()> {
        let mut batch: Vec<Cmd> = Vec::with_capacity(self.opts.batch_max);
        loop {
            batch.clear();
            tokio::select! {
                n = rx.recv_many(&mut batch, self.opts.batch_max) => {
                    if n == 0 {
                        break;
                    }
                    self.linger(&mut rx, &mut batch, &shutdown).await;
                }
                () = tokio::time::sleep(Duration::from_millis(250)), if !self.spool.is_empty() => {}
                () = shutdown.cancelled() => {
                    // Drain what is queued: publish it or spool it.
                    rx.close();
                    while rx.recv_many(&mut batch, self.opts.batch_max).await > 0 {}
                    self.handle(std::mem::take(&mut batch)).await;
                    break;
                }
            }
            self.handle(std::mem::take(&mut batch)).await;
        }
        Ok(())
    }

    /// Tops up a window of fire-and-forget messages with what arrives within the linger.
    async fn linger(
        &self,
        rx: &mut mpsc::Receiver<Cmd>,
        batch: &mut Vec<Cmd>,
        shutdown: &CancellationToken,
    ) {
        let room = self.opts.batch_max.saturating_sub(batch.len());
        if self.opts.linger.is_zero() || room == 0 || batch.iter().any(|c| c.ack.is_some()) {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(self.opts.linger) => {}
            () = shutdown.cancelled() => {}
        }
        for _ in 0..room {
            match rx.try_recv() {
                Ok(cmd) => batch.push(cmd),
                Err(_) => break,
            }
        }
    }

    async fn handle(&mut self, batch: Vec<Cmd>) {
        let (confirmed, plain): (Vec<Cmd>, Vec<Cmd>) =
            batch.into_iter().partition(|c| c.ack.is_some());
        let plain = coalesce_usage(
            plain.into_iter().map(|c| c.msg).collect(),
            self.opts.usage_batch_max,
        );

        // Fail-closed messages go out first and never touch the spool.
        if !confirmed.is_empty() {
            let msgs: Vec<Outgoing> = confirmed.iter().map(|c| c.msg.clone()).collect();
            let results = self.publish_all(&msgs).await;
            for (cmd, res) in confirmed.into_iter().zip(results) {
                if let Some(ack) = cmd.ack {
                    let _receiver_gone = ack.send(res);
                }
            }
        }

        // Keep order: while the spool holds anything, new messages queue behind it.
        if !self.spool.is_empty() {
            self.spool_or_log(&plain);
            self.replay().await;
        } else if !plain.is_empty() {
            let results = self.publish_all(&plain).await;
            let failed: Vec<Outgoing> = plain
                .into_iter()
                .zip(results)
                .filter_map(|(m, r)| r.is_err().then_some(m))
                .collect();
            self.spool_or_log(&failed);
        }
    }

    fn spool_or_log(&self, msgs: &[Outgoing]) {
        if let Err(e) = self.spool.append(msgs) {
            tracing::error!(error = %e, count = msgs.len(), "spool append failed; messages lost");
        }
    }

    async fn replay(&mut self) {
        while !self.spool.is_empty() {
            let Ok((msgs, next)) = self.spool.peek(self.opts.batch_max) else {
                return;
            };
            if msgs.is_empty() {
                let _committed = self.spool.commit(next);
                continue;
            }
            let count = msgs.len();
            let results = self
                .publish_all(&coalesce_usage(msgs, self.opts.usage_batch_max))
                .await;
            if results.iter().any(Result::is_err) {
                return;
            }
            if let Err(e) = self.spool.commit(next) {
                tracing::error!(error = %e, "spool commit failed");
                return;
            }
            tracing::info!(count, "replayed spooled messages");
        }
    }

    async fn channel(&mut self) -> Result<Channel> {
        if let Some(ch) = &self.channel
            && ch.status().connected()
        {
            return Ok(ch.clone());
        }
        self.channel = None;
        let conn = self
            .broker
            .connection()
            .ok_or_else(|| Error::Unavailable(self.broker.check().err().unwrap_or_default()))?;
        let ch = conn.create_channel().await?;
        ch.confirm_select(ConfirmSelectOptions::default()).await?;
        self.channel = Some(ch.clone());
        Ok(ch)
    }

    /// Publishes every message and waits for each confirm. One result per message.
    ///
    /// When the broker answers that an exchange does not exist (deleted by an operator, or a
    /// test namespace's auto-delete exchange whose last binding went), the exchanges are declared
    /// again on a new channel and the messages that failed are published once more.
    async fn publish_all(&mut self, msgs: &[Outgoing]) -> Vec<Result<()>> {
        let (mut results, missing_exchange) = self.publish_once(msgs).await;
        if !missing_exchange {
            return results;
        }
        let redeclared = match self.channel().await {
            Ok(ch) => self.broker.topology().declare_exchanges(&ch).await,
            Err(_) => return results,
        };
        if let Err(e) = redeclared {
            self.channel = None;
            tracing::warn!(error = %crate::describe(&e), "exchanges could not be declared again");
            return results;
        }
        tracing::warn!("an exchange was missing; declared the exchanges again");
        let failed: Vec<usize> = (0..results.len())
            .filter(|&i| results[i].is_err())
            .collect();
        let retry: Vec<Outgoing> = failed.iter().map(|&i| msgs[i].clone()).collect();
        let (again, _) = self.publish_once(&retry).await;
        for (i, r) in failed.into_iter().zip(again) {
            results[i] = r;
        }
        results
    }

    /// One pass of [`Self::publish_all`]; also says whether an exchange was missing (404).
    async fn publish_once(&mut self, msgs: &[Outgoing]) -> (Vec<Result<()>>, bool) {
        let ch = match self.channel().await {
            Ok(ch) => ch,
            Err(e) => {
                let results = msgs
                    .iter()
                    .map(|_| Err(Error::Unavailable(e.to_string())))
                    .collect();
                return (results, false);
            }
        };
        let topology = self.broker.topology().clone();
        let mut pending = Vec::with_capacity(msgs.len());
        for m in msgs {
            let props = properties(m);
            let sent = ch
                .basic_publish(
                    topology.name(&m.exchange).into(),
                    m.routing_key.clone().into(),
                    BasicPublishOptions::default(),
                    &m.payload,
                    props,
                )
                .await;
            pending.push(sent);
        }
        let mut results = Vec::with_capacity(msgs.len());
        let mut missing_exchange = false;
        let mut lapin_error = |e: lapin::Error| {
            missing_exchange |= is_not_found(&e);
            Err(Error::from(e))
        };
        let deadline = tokio::time::Instant::now() + self.opts.confirm_timeout;
        for p in pending {
            let res = match p {
                Err(e) => lapin_error(e),
                Ok(confirm) => match tokio::time::timeout_at(deadline, confirm).await {
                    Ok(Ok(Confirmation::Ack(None))) => Ok(()),
                    Ok(Ok(Confirmation::Ack(Some(_)))) => {
                        Err(Error::NotConfirmed("returned".into()))
                    }
                    Ok(Ok(Confirmation::Nack(_))) => Err(Error::NotConfirmed("nacked".into())),
                    Ok(Ok(Confirmation::NotRequested)) => {
                        Err(Error::NotConfirmed("confirms off".into()))
                    }
                    Ok(Err(e)) => lapin_error(e),
                    Err(_) => Err(Error::NotConfirmed("confirm timed out".into())),
                },
            };
            results.push(res);
        }
        if results.iter().any(Result::is_err) {
            self.channel = None;
        }
        (results, missing_exchange)
    }
}

/// The broker's 404 channel error: the exchange published to does not exist.
fn is_not_found(e: &lapin::Error) -> bool {
    use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
    matches!(
        e.kind(),
        lapin::ErrorKind::ProtocolError(p)
            if matches!(p.kind(), AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND))
    )
}

fn properties(m: &Outgoing) -> BasicProperties {
    let mut headers = FieldTable::default();
    headers.insert(
        SCHEMA_HEADER.into(),
        AMQPValue::LongString(LongString::from(m.schema.as_bytes().to_vec())),
    );
    headers.insert(SCHEMA_VERSION_HEADER.into(), AMQPValue::LongInt(1));
    BasicProperties::default()
        .with_content_type(CONTENT_TYPE.into())
        .with_delivery_mode(2)
        .with_message_id(m.message_id.clone().into())
        .with_type(m.schema.clone().into())
        .with_headers(headers)
}
