//! Column arrays for the multi-row inserts and updates of a batch append: each table is written
//! with one `INSERT … SELECT * FROM UNNEST(…)` (or `UPDATE … FROM UNNEST(…)`) per batch.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::canonical::{Chained, FORMAT_V1};
use crate::error::Result;
use crate::signing::{CheckpointBody, CheckpointSigner};

/// `entries` rows as column arrays, for one `INSERT … SELECT * FROM UNNEST(…)`.
#[derive(Default)]
pub(super) struct EntryColumns {
    org_id: Vec<Uuid>,
    seq: Vec<i64>,
    event_id: Vec<Uuid>,
    occurred_at: Vec<DateTime<Utc>>,
    actor_kind: Vec<i32>,
    actor_id: Vec<String>,
    subject_id: Vec<Option<Vec<u8>>>,
    text: [Vec<String>; 9],
    prev_hash: Vec<Vec<u8>>,
    hash: Vec<Vec<u8>>,
    recorded_at: Option<DateTime<Utc>>,
}

impl EntryColumns {
    pub(super) fn push(&mut self, c: Chained, prev: Vec<u8>, hash: Vec<u8>) {
        self.org_id.push(c.org_id);
        self.seq.push(i64::try_from(c.seq).unwrap_or(i64::MAX));
        self.event_id.push(c.event_id);
        self.occurred_at.push(c.occurred_at);
        self.recorded_at = Some(c.recorded_at);
        self.actor_kind.push(c.actor_kind);
        self.actor_id.push(c.actor_id);
        self.subject_id.push(c.subject_id);
        let texts = [
            c.action,
            c.resource_type,
            c.resource_id,
            c.outcome,
            c.reason,
            c.request_id,
            c.service,
            c.before_json,
            c.after_json,
        ];
        for (col, v) in self.text.iter_mut().zip(texts) {
            col.push(v);
        }
        self.prev_hash.push(prev);
        self.hash.push(hash);
    }

    pub(super) async fn insert(self, tx: &mut Transaction<'_, Postgres>) -> Result<u64> {
        let Some(recorded_at) = self.recorded_at else {
            return Ok(0);
        };
        let mut q = sqlx::query(
            "INSERT INTO entries (org_id, seq, format, event_id, occurred_at, recorded_at, \
             actor_kind, actor_id, subject_id, action, resource_type, resource_id, outcome, reason, \
             request_id, service, before_json, after_json, prev_hash, hash) \
             SELECT o, s, $3, ev, oc, $6, ak, ai, si, a, rt, ri, ou, re, rq, sv, bj, aj, ph, h \
             FROM UNNEST($1::uuid[], $2::int8[], $4::uuid[], $5::timestamptz[], $7::int4[], \
             $8::text[], $9::bytea[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], \
             $15::text[], $16::text[], $17::text[], $18::text[], $19::bytea[], $20::bytea[]) \
             AS t(o, s, ev, oc, ak, ai, si, a, rt, ri, ou, re, rq, sv, bj, aj, ph, h)",
        )
        .bind(self.org_id)
        .bind(self.seq)
        .bind(FORMAT_V1)
        .bind(self.event_id)
        .bind(self.occurred_at)
        .bind(recorded_at)
        .bind(self.actor_kind)
        .bind(self.actor_id)
        .bind(self.subject_id);
        for col in self.text {
            q = q.bind(col);
        }
        let done = q
            .bind(self.prev_hash)
            .bind(self.hash)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected())
    }
}

/// `subject_data` rows: the personal values of subjects' entries.
#[derive(Default)]
pub(super) struct DataColumns {
    org_id: Vec<Uuid>,
    seq: Vec<i64>,
    subject_id: Vec<Vec<u8>>,
    email: Vec<Option<String>>,
    ip: Vec<Option<String>>,
}

impl DataColumns {
    pub(super) fn push(
        &mut self,
        org: Uuid,
        seq: i64,
        sid: Vec<u8>,
        email: Option<String>,
        ip: Option<String>,
    ) {
        self.org_id.push(org);
        self.seq.push(seq);
        self.subject_id.push(sid);
        self.email.push(email);
        self.ip.push(ip);
    }

    pub(super) async fn insert(self, tx: &mut Transaction<'_, Postgres>) -> Result<()> {
        if self.org_id.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO subject_data (org_id, seq, subject_id, email, ip) \
             SELECT * FROM UNNEST($1::uuid[], $2::int8[], $3::bytea[], $4::text[], $5::text[])",
        )
        .bind(self.org_id)
        .bind(self.seq)
        .bind(self.subject_id)
        .bind(self.email)
        .bind(self.ip)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// New chain heads.
#[derive(Default)]
pub(super) struct HeadColumns {
    org_id: Vec<Uuid>,
    seq: Vec<i64>,
    hash: Vec<Vec<u8>>,
    checkpoint_seq: Vec<i64>,
    checkpoint_at: Vec<Option<DateTime<Utc>>>,
}

impl HeadColumns {
    pub(super) fn push(
        &mut self,
        org: Uuid,
        seq: i64,
        hash: Vec<u8>,
        cp: (i64, Option<DateTime<Utc>>),
    ) {
        self.org_id.push(org);
        self.seq.push(seq);
        self.hash.push(hash);
        self.checkpoint_seq.push(cp.0);
        self.checkpoint_at.push(cp.1);
    }

    pub(super) async fn update(self, tx: &mut Transaction<'_, Postgres>) -> Result<()> {
        if self.org_id.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "UPDATE chain_heads h SET seq = v.seq, hash = v.hash, checkpoint_seq = v.cp_seq, \
             checkpoint_at = COALESCE(v.cp_at, h.checkpoint_at), updated_at = now() \
             FROM UNNEST($1::uuid[], $2::int8[], $3::bytea[], $4::int8[], $5::timestamptz[]) \
             AS v(org_id, seq, hash, cp_seq, cp_at) WHERE h.org_id = v.org_id",
        )
        .bind(self.org_id)
        .bind(self.seq)
        .bind(self.hash)
        .bind(self.checkpoint_seq)
        .bind(self.checkpoint_at)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// Signed checkpoints to store.
#[derive(Default)]
pub(super) struct CheckpointColumns {
    org_id: Vec<Uuid>,
    seq: Vec<i64>,
    hash: Vec<Vec<u8>>,
    signed_at: Vec<DateTime<Utc>>,
    signature: Vec<Vec<u8>>,
    public_key: Vec<Vec<u8>>,
}

impl CheckpointColumns {
    /// Signs the head `(org, seq, hash)` at `signed_at`.
    pub(super) fn push(
        &mut self,
        signer: &CheckpointSigner,
        org: Uuid,
        seq: i64,
        hash: Vec<u8>,
        signed_at: DateTime<Utc>,
    ) {
        let body = CheckpointBody {
            org_id: org,
            seq: u64::try_from(seq).unwrap_or(0),
            hash,
            signed_at,
        };
        self.signature.push(signer.sign(&body).to_vec());
        self.public_key.push(signer.public_key().to_vec());
        self.org_id.push(org);
        self.seq.push(seq);
        self.hash.push(body.hash);
        self.signed_at.push(signed_at);
    }

    pub(super) async fn insert(self, tx: &mut Transaction<'_, Postgres>) -> Result<u64> {
        if self.org_id.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "INSERT INTO checkpoints (org_id, seq, hash, signed_at, signature, public_key) \
             SELECT * FROM UNNEST($1::uuid[], $2::int8[], $3::bytea[], $4::timestamptz[], \
             $5::bytea[], $6::bytea[])",
        )
        .bind(self.org_id)
        .bind(self.seq)
        .bind(self.hash)
        .bind(self.signed_at)
        .bind(self.signature)
        .bind(self.public_key)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected())
    }
}
