//! The `keyward.usage.ingest` queue handler: decode, check, and hand the batch to the ingestor.
//! The bus acks the deliveries only after this returns `Ok` (after the commit); on an error the
//! batch is requeued and, being idempotent, simply written again.

use std::sync::Arc;

use keyward_bus::{Handled, Message};
use keyward_proto::v1::UsageEvent;
use prost::Message as _;

use crate::ingest::{IngestError, Ingestor};
use crate::store::Rejection;

/// Handles one batch of deliveries.
pub async fn handle(ingestor: Arc<Ingestor>, batch: Vec<Message>) -> Result<Handled, IngestError> {
    let mut rows = Vec::with_capacity(batch.len());
    let mut rejected = Vec::new();
    for msg in batch {
        let checked = UsageEvent::decode(msg.data.as_slice())
            .map_err(|_| "not a keyward.v1.UsageEvent".to_owned())
            .and_then(|ev| ingestor.check(&ev).map_err(|e| e.0));
        match checked {
            Ok(row) => rows.push(row),
            Err(reason) => {
                tracing::warn!(message_id = ?msg.message_id, reason = %reason, "usage event rejected");
                rejected.push(Rejection {
                    message_id: msg.message_id,
                    reason,
                    payload: msg.data,
                });
            }
        }
    }
    ingestor.write(rows, rejected).await?;
    Ok(Handled::Commit)
}
