//! Batch appends: one transaction per batch, every touched chain head locked `FOR UPDATE` (in
//! org order, so concurrent writers never deadlock), deduplication by event id under the lock,
//! one multi-row insert per table, and a signed checkpoint whenever a chain has grown by
//! `checkpoint_every` entries since the last one.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::Store;
use super::columns::{CheckpointColumns, DataColumns, EntryColumns, HeadColumns};
use crate::canonical::{Chained, truncate_to_micros};
use crate::error::Result;
use crate::model::NewEvent;
use crate::signing::CheckpointSigner;
use crate::subject;

/// How a batch is appended.
pub struct AppendOptions<'a> {
    /// Signs count-based checkpoints; `None` writes none.
    pub signer: Option<&'a CheckpointSigner>,
    /// Sign the head once a chain has grown by this many entries since its last checkpoint.
    pub checkpoint_every: u64,
    /// `recorded_at` of the batch; `None` means the clock once the chain locks are held (tests
    /// and benches backdate entries with it).
    pub recorded_at: Option<DateTime<Utc>>,
}

/// What a batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Appended {
    pub appended: u64,
    /// Events already in the log, or repeated within the batch.
    pub duplicates: u64,
    pub checkpoints: u64,
}

impl Store {
    /// Appends `events` to their orgs' chains in one transaction. Idempotent by event id.
    pub async fn append(
        &self,
        events: Vec<NewEvent>,
        opts: &AppendOptions<'_>,
    ) -> Result<Appended> {
        let total = events.len();
        let mut seen = HashSet::with_capacity(total);
        let events: Vec<NewEvent> = events
            .into_iter()
            .filter(|e| seen.insert(e.event_id))
            .collect();
        if events.is_empty() {
            return Ok(Appended::default());
        }
        let orgs: Vec<Uuid> = events
            .iter()
            .map(|e| e.org_id)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();

        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO chain_heads (org_id) SELECT * FROM UNNEST($1::uuid[]) ON CONFLICT DO NOTHING")
            .bind(&orgs)
            .execute(&mut *tx)
            .await?;
        // The chain locks: one writer per org chain until commit.
        let heads: Vec<(Uuid, i64, Vec<u8>, i64)> = sqlx::query_as(
            "SELECT org_id, seq, hash, checkpoint_seq FROM chain_heads \
             WHERE org_id = ANY($1) ORDER BY org_id FOR UPDATE",
        )
        .bind(&orgs)
        .fetch_all(&mut *tx)
        .await?;
        let recorded_at = opts
            .recorded_at
            .unwrap_or_else(|| truncate_to_micros(Utc::now()));

        // Under the lock, a committed copy of any of these events is visible: skip it.
        let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        let existing: HashSet<Uuid> =
            sqlx::query_scalar("SELECT event_id FROM entries WHERE event_id = ANY($1)")
                .bind(&ids)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
        let mut by_org: BTreeMap<Uuid, Vec<NewEvent>> = BTreeMap::new();
        for e in events {
            if !existing.contains(&e.event_id) {
                by_org.entry(e.org_id).or_default().push(e);
            }
        }
        let subjects = subjects_for(&mut tx, &by_org).await?;

        let mut rows = EntryColumns::default();
        let mut data = DataColumns::default();
        let mut new_heads = HeadColumns::default();
        let mut checkpoints = CheckpointColumns::default();
        for (org, seq, hash, checkpoint_seq) in heads {
            let Some(evs) = by_org.remove(&org) else {
                continue;
            };
            let (mut seq, mut prev) = (seq, hash);
            for e in evs {
                seq += 1;
                let subject_id = subjects.get(&(org, e.actor.id.clone())).cloned();
                if let Some(sid) = &subject_id
                    && (e.actor.email.is_some() || e.actor.ip.is_some())
                {
                    data.push(
                        org,
                        seq,
                        sid.clone(),
                        e.actor.email.clone(),
                        e.actor.ip.clone(),
                    );
                }
                let chained = chained(e, seq, recorded_at, subject_id);
                let hash = chained.hash(&prev).to_vec();
                rows.push(chained, prev, hash.clone());
                prev = hash;
            }
            let grown = u64::try_from(seq - checkpoint_seq).unwrap_or(0);
            let mut cp = (checkpoint_seq, None);
            if let Some(signer) = opts.signer
                && grown >= opts.checkpoint_every.max(1)
            {
                checkpoints.push(signer, org, seq, prev.clone(), recorded_at);
                cp = (seq, Some(recorded_at));
            }
            new_heads.push(org, seq, prev, cp);
        }
        let appended = rows.insert(&mut tx).await?;
        data.insert(&mut tx).await?;
        new_heads.update(&mut tx).await?;
        let signed = checkpoints.insert(&mut tx).await?;
        tx.commit().await?;
        Ok(Appended {
            appended,
            duplicates: u64::try_from(total).unwrap_or(0).saturating_sub(appended),
            checkpoints: signed,
        })
    }
}

/// The hashed form of `e` at `seq`. A subject's actor id stays out of the chain.
fn chained(
    e: NewEvent,
    seq: i64,
    recorded_at: DateTime<Utc>,
    subject_id: Option<Vec<u8>>,
) -> Chained {
    let actor_id = if subject_id.is_some() {
        String::new()
    } else {
        e.actor.id
    };
    Chained {
        org_id: e.org_id,
        seq: u64::try_from(seq).unwrap_or(0),
        event_id: e.event_id,
        occurred_at: e.occurred_at,
        recorded_at,
        actor_kind: e.actor.kind,
        actor_id,
        subject_id,
        action: e.action,
        resource_type: e.resource_type,
        resource_id: e.resource_id,
        outcome: e.outcome,
        reason: e.reason,
        request_id: e.request_id,
        service: e.service,
        before_json: e.before_json,
        after_json: e.after_json,
    }
}

/// Pseudonyms of every subject in the batch, creating (key, pseudonym) for new ones. Runs under
/// the chain locks, which erasure takes too, so a subject is never created and erased at once.
async fn subjects_for(
    tx: &mut Transaction<'_, Postgres>,
    by_org: &BTreeMap<Uuid, Vec<NewEvent>>,
) -> Result<HashMap<(Uuid, String), Vec<u8>>> {
    let wanted: HashSet<(Uuid, String)> = by_org
        .values()
        .flatten()
        .filter(|e| e.actor.is_subject())
        .map(|e| (e.org_id, e.actor.id.clone()))
        .collect();
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let (orgs, actors): (Vec<Uuid>, Vec<String>) = wanted.iter().cloned().unzip();
    let known: Vec<(Uuid, String, Vec<u8>)> = sqlx::query_as(
        "SELECT s.org_id, s.actor_id, s.subject_id FROM subjects s \
         JOIN UNNEST($1::uuid[], $2::text[]) AS w(org_id, actor_id) USING (org_id, actor_id)",
    )
    .bind(&orgs)
    .bind(&actors)
    .fetch_all(&mut **tx)
    .await?;
    let mut out: HashMap<(Uuid, String), Vec<u8>> =
        known.into_iter().map(|(o, a, s)| ((o, a), s)).collect();
    let (mut n_org, mut n_sid, mut n_actor, mut n_key) = (vec![], vec![], vec![], vec![]);
    for (org, actor) in wanted {
        if out.contains_key(&(org, actor.clone())) {
            continue;
        }
        let key = subject::new_key();
        let sid = subject::pseudonym(&key, org, &actor);
        n_org.push(org);
        n_sid.push(sid.clone());
        n_actor.push(actor.clone());
        n_key.push(key.to_vec());
        out.insert((org, actor), sid);
    }
    if !n_org.is_empty() {
        sqlx::query(
            "INSERT INTO subjects (org_id, subject_id, actor_id, key) \
             SELECT * FROM UNNEST($1::uuid[], $2::bytea[], $3::text[], $4::bytea[])",
        )
        .bind(&n_org)
        .bind(&n_sid)
        .bind(&n_actor)
        .bind(&n_key)
        .execute(&mut **tx)
        .await?;
    }
    Ok(out)
}
