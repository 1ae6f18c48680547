//! Reads: filtered pages newest first (query, export), chain walks oldest first (verify),
//! heads and checkpoints.

use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use super::{CheckpointRow, EntryRow, Head, Store, entry_columns};
use crate::error::Result;
use crate::model::{Cursor, Filter, StoredEntry};

impl Store {
    /// Up to `limit` entries matching `f`, newest (highest seq) first, older than `cursor`.
    pub async fn page(
        &self,
        f: &Filter,
        cursor: Option<Cursor>,
        limit: i64,
    ) -> Result<Vec<StoredEntry>> {
        // The page is cut from `entries` alone (a backward scan of its primary key), and only
        // then joined with the personal values.
        let mut q: QueryBuilder<'_, Postgres> = QueryBuilder::new(concat!(
            "SELECT ",
            entry_columns!(),
            ", s.actor_id AS subject_actor, d.email, d.ip FROM (SELECT * FROM entries e WHERE e.org_id = "
        ));
        q.push_bind(f.org_id);
        if let Some(c) = cursor {
            q.push(" AND e.seq < ").push_bind(c.before_seq);
        }
        if let Some(actor) = &f.actor_id {
            // Subjects are found through their pseudonym; other actors by their id.
            q.push(" AND (e.actor_id = ").push_bind(actor.clone());
            q.push(" OR e.subject_id = (SELECT subject_id FROM subjects WHERE org_id = ")
                .push_bind(f.org_id)
                .push(" AND actor_id = ")
                .push_bind(actor.clone())
                .push("))");
        }
        if let Some(action) = &f.action {
            q.push(" AND e.action = ").push_bind(action.clone());
        }
        if let Some(resource) = &f.resource_id {
            q.push(" AND e.resource_id = ").push_bind(resource.clone());
        }
        if let Some(outcome) = &f.outcome {
            q.push(" AND e.outcome = ").push_bind(outcome.clone());
        }
        if let Some(from) = f.from {
            q.push(" AND e.occurred_at >= ").push_bind(from);
        }
        if let Some(to) = f.to {
            q.push(" AND e.occurred_at < ").push_bind(to);
        }
        q.push(" ORDER BY e.seq DESC LIMIT ").push_bind(limit);
        q.push(
            ") e LEFT JOIN subjects s ON s.org_id = e.org_id AND s.subject_id = e.subject_id \
             LEFT JOIN subject_data d ON d.org_id = e.org_id AND d.seq = e.seq ORDER BY e.seq DESC",
        );
        let rows: Vec<EntryRow> = q.build_query_as().fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(StoredEntry::from).collect())
    }

    /// Up to `limit` entries of `org` with `from <= seq <= to`, oldest first, without personal
    /// values (verification needs only what is hashed).
    pub async fn chain_rows(
        &self,
        org: Uuid,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<StoredEntry>> {
        const SQL: &str = concat!(
            "SELECT ",
            entry_columns!(),
            ", NULL::text AS subject_actor, NULL::text AS email, NULL::text AS ip FROM entries e \
             WHERE e.org_id = $1 AND e.seq >= $2 AND e.seq <= $3 ORDER BY e.seq LIMIT $4"
        );
        let rows: Vec<EntryRow> = sqlx::query_as(SQL)
            .bind(org)
            .bind(from)
            .bind(to)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(StoredEntry::from).collect())
    }

    /// The head of `org`'s chain, if it has one.
    pub async fn head(&self, org: Uuid) -> Result<Option<Head>> {
        Ok(
            sqlx::query_as("SELECT seq, hash, checkpoint_seq FROM chain_heads WHERE org_id = $1")
                .bind(org)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The lowest and highest seq stored for `org`.
    pub async fn seq_bounds(&self, org: Uuid) -> Result<Option<(i64, i64)>> {
        let (lo, hi): (Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT min(seq), max(seq) FROM entries WHERE org_id = $1")
                .bind(org)
                .fetch_one(&self.pool)
                .await?;
        Ok(lo.zip(hi))
    }

    /// Checkpoints of `org` with `from <= seq <= to`, oldest first.
    pub async fn checkpoints(&self, org: Uuid, from: i64, to: i64) -> Result<Vec<CheckpointRow>> {
        Ok(sqlx::query_as(
            "SELECT org_id, seq, hash, signed_at, signature, public_key FROM checkpoints \
             WHERE org_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq",
        )
        .bind(org)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The newest checkpoint of `org` with `seq < before`.
    pub async fn checkpoint_before(&self, org: Uuid, before: i64) -> Result<Option<CheckpointRow>> {
        Ok(sqlx::query_as(
            "SELECT org_id, seq, hash, signed_at, signature, public_key FROM checkpoints \
             WHERE org_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT 1",
        )
        .bind(org)
        .bind(before)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The checkpoint of `org` at `seq`, or the newest when `seq` is `None`.
    pub async fn checkpoint(&self, org: Uuid, seq: Option<i64>) -> Result<Option<CheckpointRow>> {
        Ok(sqlx::query_as(
            "SELECT org_id, seq, hash, signed_at, signature, public_key FROM checkpoints \
             WHERE org_id = $1 AND ($2::int8 IS NULL OR seq = $2) ORDER BY seq DESC LIMIT 1",
        )
        .bind(org)
        .bind(seq)
        .fetch_optional(&self.pool)
        .await?)
    }
}
