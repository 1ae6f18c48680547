//! The audit domain: what each operation means, independent of gRPC and RabbitMQ.

mod export;
mod ingest;
mod verify;

use std::sync::Arc;

use uuid::Uuid;

use crate::error::{AuditError, Result};
use crate::metrics::AuditMetrics;
use crate::model::{Cursor, Filter, NewEvent, StoredEntry};
use crate::signing::{CheckpointSigner, TrustedKeys};
use crate::store::{AppendOptions, Appended, CheckpointRow, Store};

pub use export::{ExportFormat, export};
pub use verify::VerifyReport;

/// Default and largest page of `Query`.
pub const DEFAULT_PAGE: u32 = 100;
/// Largest page of `Query`.
pub const MAX_PAGE: u32 = 1_000;

/// The audit service's operations.
#[derive(Clone)]
pub struct Audit {
    store: Store,
    signer: Option<Arc<CheckpointSigner>>,
    trusted: TrustedKeys,
    checkpoint_every: u64,
    metrics: AuditMetrics,
}

impl Audit {
    /// Operations over `store`. Without a signer no checkpoints are written (and retention,
    /// which deletes only up to checkpoints, deletes nothing).
    pub fn new(
        store: Store,
        signer: Option<CheckpointSigner>,
        trusted: TrustedKeys,
        checkpoint_every: u64,
        metrics: AuditMetrics,
    ) -> Self {
        Self {
            store,
            signer: signer.map(Arc::new),
            trusted,
            checkpoint_every,
            metrics,
        }
    }

    /// The store underneath.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The checkpoint signer, when one is configured.
    pub fn signer(&self) -> Option<&CheckpointSigner> {
        self.signer.as_deref()
    }

    /// This service's counters.
    pub fn metrics(&self) -> &AuditMetrics {
        &self.metrics
    }

    /// Appends a batch of validated events (idempotent by event id).
    pub async fn append(&self, events: Vec<NewEvent>) -> Result<Appended> {
        let opts = AppendOptions {
            signer: self.signer(),
            checkpoint_every: self.checkpoint_every,
            recorded_at: None,
        };
        let done = self.store.append(events, &opts).await?;
        self.metrics.record(&done);
        Ok(done)
    }

    /// One page of entries matching `filter`, newest first, and the cursor of the next page.
    pub async fn query(
        &self,
        filter: &Filter,
        cursor: Option<Cursor>,
        page_size: u32,
    ) -> Result<(Vec<StoredEntry>, Option<Cursor>)> {
        let size = match page_size {
            0 => DEFAULT_PAGE,
            n if n > MAX_PAGE => {
                return Err(AuditError::invalid(format!(
                    "page.page_size must be at most {MAX_PAGE}"
                )));
            }
            n => n,
        };
        let mut rows = self.store.page(filter, cursor, i64::from(size) + 1).await?;
        let more = rows.len() > size as usize;
        rows.truncate(size as usize);
        let next = more
            .then(|| rows.last())
            .flatten()
            .and_then(|e| i64::try_from(e.chained.seq).ok())
            .map(|before_seq| Cursor { before_seq });
        Ok((rows, next))
    }

    /// Recomputes `org`'s chain over `[from, to]` (`to` = 0: the head) and checks every
    /// checkpoint in it.
    pub async fn verify(&self, org: Uuid, from: u64, to: u64) -> Result<VerifyReport> {
        verify::verify(&self.store, &self.trusted, org, from, to).await
    }

    /// The checkpoint at `seq` (0: the newest).
    pub async fn checkpoint(&self, org: Uuid, seq: u64) -> Result<CheckpointRow> {
        let at = match seq {
            0 => None,
            n => Some(i64::try_from(n).map_err(|_| AuditError::invalid("seq is too large"))?),
        };
        self.store
            .checkpoint(org, at)
            .await?
            .ok_or_else(|| AuditError::NotFound(format!("no checkpoint for org {org} at that seq")))
    }

    /// Erases a subject's personal data; the chain still verifies afterwards.
    pub async fn erase_subject(&self, org: Uuid, actor_id: &str) -> Result<bool> {
        if actor_id.trim().is_empty() {
            return Err(AuditError::invalid(
                "subject must be the subject's actor id",
            ));
        }
        self.store.erase_subject(org, actor_id).await
    }
}

/// Parses a required org id.
pub fn parse_org(s: &str) -> Result<Uuid> {
    if s.is_empty() {
        return Err(AuditError::invalid("org_id is required"));
    }
    Uuid::parse_str(s).map_err(|_| AuditError::invalid("org_id is not a UUID"))
}
