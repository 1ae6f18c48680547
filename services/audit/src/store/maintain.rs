//! Background and administrative writes: time-based checkpoints, retention, erasure, retention
//! policies and rejected messages.

use std::time::Duration;

use chrono::Utc;
use uuid::Uuid;

use super::Store;
use super::columns::CheckpointColumns;
use crate::canonical::truncate_to_micros;
use crate::error::Result;
use crate::signing::CheckpointSigner;

/// The nil org id keys the default retention policy.
const DEFAULT_POLICY: Uuid = Uuid::nil();

/// Entries deleted per retention transaction, so one sweep never holds a huge transaction.
const PRUNE_STEP: i64 = 50_000;

/// A message that could not be decoded or validated.
#[derive(Clone, Debug)]
pub struct Rejected {
    pub message_id: Option<String>,
    pub reason: String,
    pub payload: Vec<u8>,
}

impl Store {
    /// Signs the head of every chain that grew since its last checkpoint, at least `interval`
    /// ago (or never). Returns the number of checkpoints written.
    pub async fn checkpoint_due(
        &self,
        signer: &CheckpointSigner,
        interval: Duration,
    ) -> Result<u64> {
        let due: Vec<Uuid> = sqlx::query_scalar(
            "SELECT org_id FROM chain_heads WHERE seq > checkpoint_seq \
             AND (checkpoint_at IS NULL OR checkpoint_at <= now() - make_interval(secs => $1))",
        )
        .bind(interval.as_secs_f64())
        .fetch_all(&self.pool)
        .await?;
        let mut written = 0;
        for org in due {
            let mut tx = self.pool.begin().await?;
            let (seq, hash, checkpoint_seq): (i64, Vec<u8>, i64) = sqlx::query_as(
                "SELECT seq, hash, checkpoint_seq FROM chain_heads WHERE org_id = $1 FOR UPDATE",
            )
            .bind(org)
            .fetch_one(&mut *tx)
            .await?;
            if seq <= checkpoint_seq {
                continue;
            }
            // After the lock: later than every entry recorded so far, which retention relies on.
            let now = truncate_to_micros(Utc::now());
            let mut cp = CheckpointColumns::default();
            cp.push(signer, org, seq, hash, now);
            written += cp.insert(&mut tx).await?;
            sqlx::query(
                "UPDATE chain_heads SET checkpoint_seq = $2, checkpoint_at = $3 WHERE org_id = $1",
            )
            .bind(org)
            .bind(seq)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        Ok(written)
    }

    /// Deletes, per org, the entries covered by the newest checkpoint signed before the org's
    /// retention period began. Every entry up to a checkpoint was recorded before it was signed,
    /// so all of them are past retention too (the delete trigger checks each row regardless).
    /// Returns the number of entries deleted.
    pub async fn prune_expired(&self) -> Result<u64> {
        let plans: Vec<(Uuid, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT h.org_id, \
               (SELECT max(c.seq) FROM checkpoints c WHERE c.org_id = h.org_id \
                  AND c.signed_at < now() - make_interval(days => retention_days(h.org_id))), \
               (SELECT min(e.seq) FROM entries e WHERE e.org_id = h.org_id) \
             FROM chain_heads h",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut deleted = 0u64;
        for (org, through, oldest) in plans {
            let (Some(through), Some(oldest)) = (through, oldest) else {
                continue;
            };
            if oldest > through {
                continue;
            }
            // Deletes must end exactly at checkpoints (the prune trigger insists): step through
            // them, about PRUNE_STEP entries per transaction where checkpoints allow.
            let cuts: Vec<i64> = sqlx::query_scalar(
                "SELECT seq FROM checkpoints WHERE org_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq",
            )
            .bind(org)
            .bind(oldest)
            .bind(through)
            .fetch_all(&self.pool)
            .await?;
            let mut start = oldest;
            for (i, &cut) in cuts.iter().enumerate() {
                let last = i + 1 == cuts.len();
                if !last && cut - start + 1 < PRUNE_STEP {
                    continue;
                }
                let mut tx = self.pool.begin().await?;
                let n: i64 = sqlx::query_scalar("SELECT prune_entries($1, $2)")
                    .bind(org)
                    .bind(cut)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                deleted += u64::try_from(n).unwrap_or(0);
                start = cut + 1;
            }
            tracing::info!(org = %org, through, "pruned audit entries past retention");
        }
        Ok(deleted)
    }

    /// Erases a subject (GDPR): deletes its key, its actor id and every personal value of its
    /// entries. The chain is untouched. Returns whether the subject existed.
    pub async fn erase_subject(&self, org: Uuid, actor_id: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        // The chain lock keeps a concurrent append from writing personal values for the subject
        // between its lookup and this delete.
        let locked: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM chain_heads WHERE org_id = $1 FOR UPDATE")
                .bind(org)
                .fetch_optional(&mut *tx)
                .await?;
        if locked.is_none() {
            return Ok(false);
        }
        // `subject_data` rows go with their subject (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM subjects WHERE org_id = $1 AND actor_id = $2")
            .bind(org)
            .bind(actor_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Sets the retention of `org` in days (`None` = the default policy).
    pub async fn set_retention(&self, org: Option<Uuid>, days: i32) -> Result<()> {
        sqlx::query(
            "INSERT INTO retention_policies (org_id, days) VALUES ($1, $2) \
             ON CONFLICT (org_id) DO UPDATE SET days = EXCLUDED.days, updated_at = now()",
        )
        .bind(org.unwrap_or(DEFAULT_POLICY))
        .bind(days)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The retention of `org` in days, falling back to the default policy.
    pub async fn retention(&self, org: Uuid) -> Result<i32> {
        Ok(sqlx::query_scalar("SELECT retention_days($1)")
            .bind(org)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Keeps messages that could not be appended, with the reason.
    pub async fn reject(&self, rejected: Vec<Rejected>) -> Result<()> {
        if rejected.is_empty() {
            return Ok(());
        }
        let (mut ids, mut reasons, mut payloads) = (vec![], vec![], vec![]);
        for r in rejected {
            ids.push(r.message_id);
            reasons.push(r.reason);
            payloads.push(r.payload);
        }
        sqlx::query(
            "INSERT INTO rejected_events (message_id, reason, payload) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bytea[])",
        )
        .bind(ids)
        .bind(reasons)
        .bind(payloads)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
