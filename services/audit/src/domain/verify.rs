//! Verification: walk an org's chain oldest first, page by page, recomputing every hash and
//! checking every checkpoint, and stop at the first entry that does not hold.

use std::collections::HashMap;

use uuid::Uuid;

use crate::canonical::{FORMAT_V1, GENESIS};
use crate::error::{AuditError, Result};
use crate::signing::{CheckpointBody, TrustedKeys};
use crate::store::{CheckpointRow, Store};

/// Entries read per round trip.
const PAGE: i64 = 5_000;

/// The outcome of a verification.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub ok: bool,
    /// Entries whose hash was recomputed.
    pub checked: u64,
    pub first_bad_seq: Option<u64>,
    pub reason: String,
    pub checkpoints_checked: u64,
}

impl VerifyReport {
    fn bad(mut self, seq: i64, reason: impl Into<String>) -> Self {
        self.ok = false;
        self.first_bad_seq = Some(u64::try_from(seq).unwrap_or(0));
        self.reason = reason.into();
        self
    }

    fn pass(mut self) -> Self {
        self.ok = true;
        self
    }
}

/// Checks `cp`'s key and signature. `Err` holds the reason.
fn check_checkpoint(trusted: &TrustedKeys, cp: &CheckpointRow) -> Result<(), String> {
    let body = CheckpointBody {
        org_id: cp.org_id,
        seq: u64::try_from(cp.seq).unwrap_or(0),
        hash: cp.hash.clone(),
        signed_at: cp.signed_at,
    };
    trusted
        .check(&cp.public_key, &body, &cp.signature)
        .map_err(|why| format!("checkpoint at seq {}: {why}", cp.seq))
}

pub(super) async fn verify(
    store: &Store,
    trusted: &TrustedKeys,
    org: Uuid,
    from: u64,
    to: u64,
) -> Result<VerifyReport> {
    let too_large = || AuditError::invalid("seq is too large");
    let from = i64::try_from(from.max(1)).map_err(|_| too_large())?;
    let to = i64::try_from(to).map_err(|_| too_large())?;
    if to != 0 && to < from {
        return Err(AuditError::invalid("to_seq must not be below from_seq"));
    }
    let report = VerifyReport::default();
    let bounds = store.seq_bounds(org).await?;
    let Some(head) = store.head(org).await? else {
        return Ok(match bounds {
            None => report.pass(),
            Some((lo, _)) => report.bad(lo, "entries exist but the org has no chain head"),
        });
    };
    let end = if to == 0 {
        head.seq.max(bounds.map_or(0, |b| b.1))
    } else {
        to
    };
    let mut walk = Walk {
        report,
        expected: from,
        prev: None,
    };

    // Where the stored chain starts: at seq 1, or right after the checkpoint retention pruned to.
    let first_stored = bounds.map_or(end + 1, |b| b.0);
    if from <= first_stored {
        walk.expected = first_stored;
        if first_stored == 1 {
            walk.prev = Some(GENESIS.to_vec());
        } else {
            match store.checkpoint_before(org, first_stored).await? {
                Some(cp) if cp.seq == first_stored - 1 => {
                    if let Err(why) = check_checkpoint(trusted, &cp) {
                        return Ok(walk.report.bad(cp.seq, why));
                    }
                    walk.report.checkpoints_checked += 1;
                    walk.prev = Some(cp.hash);
                }
                other => {
                    let gap = other.map_or(1, |cp| cp.seq + 1);
                    let first_bad = gap.max(from);
                    return Ok(walk.report.bad(
                        first_bad,
                        format!(
                            "entries {first_bad}..{} are missing and no checkpoint covers them",
                            first_stored - 1
                        ),
                    ));
                }
            }
        }
    } else if let Some(cp) = store.checkpoints(org, from - 1, from - 1).await?.pop() {
        // A range inside the chain links to a checkpoint when there is one right before it;
        // otherwise it starts from its first entry's own prev_hash.
        if let Err(why) = check_checkpoint(trusted, &cp) {
            return Ok(walk.report.bad(cp.seq, why));
        }
        walk.report.checkpoints_checked += 1;
        walk.prev = Some(cp.hash);
    }

    while walk.expected <= end {
        let rows = store.chain_rows(org, walk.expected, end, PAGE).await?;
        let Some(last) = rows.last() else {
            let seq = walk.expected;
            return Ok(walk.report.bad(seq, format!("entry {seq} is missing")));
        };
        let hi = i64::try_from(last.chained.seq).unwrap_or(end);
        let cps: HashMap<i64, CheckpointRow> = store
            .checkpoints(org, walk.expected, hi)
            .await?
            .into_iter()
            .map(|c| (c.seq, c))
            .collect();
        for row in rows {
            let seq = walk.expected;
            if i64::try_from(row.chained.seq).ok() != Some(seq) {
                return Ok(walk.report.bad(seq, format!("entry {seq} is missing")));
            }
            if row.format != FORMAT_V1 {
                return Ok(walk
                    .report
                    .bad(seq, format!("unknown entry format {}", row.format)));
            }
            if walk.prev.as_ref().is_some_and(|p| *p != row.prev_hash) {
                return Ok(walk
                    .report
                    .bad(seq, format!("prev_hash does not link to entry {}", seq - 1)));
            }
            if row.chained.hash(&row.prev_hash).as_slice() != row.hash.as_slice() {
                return Ok(walk
                    .report
                    .bad(seq, "hash does not match the entry's content"));
            }
            if seq > head.seq {
                return Ok(walk.report.bad(
                    seq,
                    format!("entry is beyond the chain head (seq {})", head.seq),
                ));
            }
            if seq == head.seq && row.hash != head.hash {
                return Ok(walk.report.bad(seq, "entry does not match the chain head"));
            }
            if let Some(cp) = cps.get(&seq) {
                if let Err(why) = check_checkpoint(trusted, cp) {
                    return Ok(walk.report.bad(seq, why));
                }
                if cp.hash != row.hash {
                    return Ok(walk.report.bad(
                        seq,
                        format!(
                            "entry does not match the signed checkpoint at seq {seq}: the chain \
                             was rewritten at or before it"
                        ),
                    ));
                }
                walk.report.checkpoints_checked += 1;
            }
            walk.report.checked += 1;
            walk.prev = Some(row.hash);
            walk.expected += 1;
        }
    }
    Ok(walk.report.pass())
}

/// The walk's position: the next seq expected and the hash it must link to (unknown at the start
/// of a range that no checkpoint anchors).
struct Walk {
    report: VerifyReport,
    expected: i64,
    prev: Option<Vec<u8>>,
}
