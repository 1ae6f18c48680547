//! Relays budget events from `cost.outbox` to `keyward.events` with publisher confirms, in
//! order, deleting each only after the broker confirmed it. A crash between the confirm and the
//! delete publishes it again with the same `event_id`, which consumers deduplicate.

use std::time::Duration;

use keyward_bus::events::schema::DOMAIN_EVENT;
use keyward_bus::topology::EVENTS;
use keyward_bus::{Outgoing, Publisher};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Publishes up to 100 pending events; returns how many went out.
pub async fn relay_once(pool: &PgPool, publisher: &Publisher) -> Result<usize, String> {
    let mut tx = pool.begin().await.map_err(|e| keyward_db::describe(&e))?;
    let rows: Vec<(i64, Uuid, String, Vec<u8>)> = sqlx::query_as(
        "SELECT seq, event_id, kind, payload FROM cost.outbox ORDER BY seq LIMIT 100 \
         FOR UPDATE SKIP LOCKED",
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(|e| keyward_db::describe(&e))?;
    let mut done = Vec::with_capacity(rows.len());
    for (seq, event_id, kind, payload) in rows {
        let msg = Outgoing {
            exchange: EVENTS.to_owned(),
            routing_key: kind,
            schema: DOMAIN_EVENT.to_owned(),
            message_id: event_id.to_string(),
            payload,
            // Bytes from the outbox table, not encoded by this process.
            typed: false,
        };
        if let Err(e) = publisher.publish_confirmed(msg).await {
            tracing::warn!(error = %e, "budget event not confirmed; will retry");
            break;
        }
        done.push(seq);
    }
    if !done.is_empty() {
        sqlx::query("DELETE FROM cost.outbox WHERE seq = ANY($1)")
            .bind(&done)
            .execute(&mut *tx)
            .await
            .map_err(|e| keyward_db::describe(&e))?;
    }
    tx.commit().await.map_err(|e| keyward_db::describe(&e))?;
    Ok(done.len())
}

/// Relays until `shutdown`.
pub async fn run(
    pool: PgPool,
    publisher: Publisher,
    interval: Duration,
    shutdown: CancellationToken,
) -> Result<(), std::convert::Infallible> {
    loop {
        let sent = match relay_once(&pool, &publisher).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "budget event relay failed");
                0
            }
        };
        if sent == 0 {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(interval) => {}
            }
        }
    }
}
