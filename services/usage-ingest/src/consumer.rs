//! The `keyward.usage.ingest` queue handler: decode, check, and hand the batch to the ingestor.
//! The bus acks the deliveries only after this returns `Ok` (after the commit); on an error the
//! batch is requeued and, being idempotent, simply written again.

use std::sync::Arc;

use keyward_bus::events::usage_events;
use keyward_bus::{Handled, Message};
use prost::Message as _;

use crate::ingest::{IngestError, Ingestor};
use crate::store::Rejection;

/// Handles one batch of deliveries.
pub async fn handle(ingestor: Arc<Ingestor>, batch: Vec<Message>) -> Result<Handled, IngestError> {
    let mut rows = Vec::with_capacity(batch.len());
    let mut rejected = Vec::new();
    for msg in batch {
        // One event, or a `UsageBatch` of many (what the gateway's publisher sends under load).
        let events = match usage_events(msg.schema.as_deref(), &msg.data) {
            Ok(events) => events,
            Err(_) => {
                let reason = format!(
                    "not a {}",
                    msg.schema.as_deref().unwrap_or("keyward.v1.UsageEvent")
                );
                tracing::warn!(message_id = ?msg.message_id, reason = %reason, "usage message rejected");
                rejected.push(Rejection {
                    message_id: msg.message_id,
                    reason,
                    payload: msg.data,
                });
                continue;
            }
        };
        let single = events.len() == 1;
        for ev in events {
            match ingestor.check(&ev) {
                Ok(row) => rows.push(row),
                Err(e) => {
                    let reason = e.0;
                    tracing::warn!(event_id = %ev.event_id, reason = %reason, "usage event rejected");
                    // Kept as the single event it was (a batch's other events are ingested).
                    let (message_id, payload) = if single {
                        (msg.message_id.clone(), msg.data.clone())
                    } else {
                        (Some(ev.event_id.clone()), ev.encode_to_vec())
                    };
                    rejected.push(Rejection {
                        message_id,
                        reason,
                        payload,
                    });
                }
            }
        }
    }
    ingestor.write(rows, rejected).await?;
    Ok(Handled::Commit)
}
