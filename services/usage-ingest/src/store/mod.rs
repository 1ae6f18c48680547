//! The `usage` schema: one transaction per batch — COPY into a temporary staging table, insert
//! with `ON CONFLICT (event_id, ts) DO NOTHING RETURNING`, upsert the hourly and daily rollups
//! from exactly the returned rows, note the orgs' activity, commit.

mod copy;
pub mod partitions;

use std::collections::BTreeSet;
use std::sync::{LazyLock, Mutex};

use chrono::NaiveDate;
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::OnceCell;

use crate::event::EventRow;
use crate::pricer::StoredOverride;

/// Store errors are database errors.
pub type Result<T, E = sqlx::Error> = std::result::Result<T, E>;

/// Whether `e` is a database error with SQLSTATE `code`.
pub fn is_code(e: &sqlx::Error, code: &str) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some(code))
}

/// How raw events are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    /// A TimescaleDB hypertable: chunks, compression and retention are the extension's policies.
    Timescale,
    /// Native daily range partitions, created and dropped by this service.
    Partitions,
}

#[derive(Clone, Copy, Debug)]
struct Layout {
    storage: Storage,
    /// Whether the `cost` schema's override tables are readable (cost migrated, grant given).
    overrides: bool,
}

/// A message that can never be ingested, kept in `usage.rejected`.
#[derive(Clone, Debug)]
pub struct Rejection {
    pub message_id: Option<String>,
    pub reason: String,
    pub payload: Vec<u8>,
}

/// Access to the `usage` schema.
pub struct Store {
    pool: PgPool,
    layout: OnceCell<Layout>,
    /// Days known to have a partition (plain PostgreSQL).
    days: Mutex<BTreeSet<NaiveDate>>,
}

const STAGING: &str = "CREATE TEMPORARY TABLE IF NOT EXISTS ingest_staging ( \
    event_id uuid, ts timestamptz, org_id uuid, team_id uuid, project_id uuid, user_id uuid, \
    virtual_key_id uuid, provider_key_id uuid, provider text, model text, input_tokens bigint, \
    output_tokens bigint, cached_input_tokens bigint, cache_write_5m_tokens bigint, \
    cache_write_1h_tokens bigint, reasoning_tokens bigint, latency_ms integer, \
    http_status smallint, status text, request_id text, endpoint text, streamed boolean, \
    cost_micros bigint, priced boolean) ON COMMIT DELETE ROWS";

/// Rollup measures, as `(column, expression over the inserted rows)`.
const MEASURES: &str = "count(*), count(*) FILTER (WHERE status <> 'ok'), \
    count(*) FILTER (WHERE NOT priced), sum(input_tokens), sum(output_tokens), \
    sum(cached_input_tokens), sum(cache_write_5m_tokens), sum(cache_write_1h_tokens), \
    sum(reasoning_tokens), sum(latency_ms), sum(cost_micros)";

const ROLLUP_COLUMNS: &str = "(bucket, org_id, dims_key, team_id, project_id, user_id, virtual_key_id, \
    provider_key_id, provider, model, requests, errors, unpriced, input_tokens, output_tokens, \
    cached_input_tokens, cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens, \
    latency_ms_sum, cost_micros)";

const ROLLUP_UPDATE: &str = "requests = r.requests + excluded.requests, \
    errors = r.errors + excluded.errors, unpriced = r.unpriced + excluded.unpriced, \
    input_tokens = r.input_tokens + excluded.input_tokens, \
    output_tokens = r.output_tokens + excluded.output_tokens, \
    cached_input_tokens = r.cached_input_tokens + excluded.cached_input_tokens, \
    cache_write_5m_tokens = r.cache_write_5m_tokens + excluded.cache_write_5m_tokens, \
    cache_write_1h_tokens = r.cache_write_1h_tokens + excluded.cache_write_1h_tokens, \
    reasoning_tokens = r.reasoning_tokens + excluded.reasoning_tokens, \
    latency_ms_sum = r.latency_ms_sum + excluded.latency_ms_sum, \
    cost_micros = r.cost_micros + excluded.cost_micros";

/// The batch statement: insert what is new, roll up exactly that, in one round trip. Rollup
/// rows are upserted in key order so concurrent batches lock them in the same order.
static INSERT_SQL: LazyLock<String> = LazyLock::new(insert_sql);

fn insert_sql() -> String {
    let dims =
        "org_id, team_id, project_id, user_id, virtual_key_id, provider_key_id, provider, model";
    // The dimensions hashed into `dims_key` (migration 0003), the rollups' conflict key.
    let keyed = "team_id, project_id, user_id, virtual_key_id, provider_key_id, provider, model";
    format!(
        "WITH ins AS ( \
           INSERT INTO usage.events ({cols}, ingested_at) \
           SELECT DISTINCT ON (event_id, ts) {cols}, clock_timestamp() FROM ingest_staging \
           ON CONFLICT (event_id, ts) DO NOTHING \
           RETURNING ts, {dims}, status, priced, input_tokens, output_tokens, cached_input_tokens, \
             cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens, latency_ms, \
             cost_micros, usage.dims_key({keyed}) AS k \
         ), hourly AS ( \
           INSERT INTO usage.rollup_hourly AS r {rc} \
           SELECT date_trunc('hour', ts, 'UTC') AS b, org_id, k, {keyed}, {m} FROM ins \
           GROUP BY org_id, b, k, {keyed} ORDER BY org_id, b, k \
           ON CONFLICT ON CONSTRAINT rollup_hourly_dims DO UPDATE SET {up} \
         ), daily AS ( \
           INSERT INTO usage.rollup_daily AS r {rc} \
           SELECT date_trunc('day', ts, 'UTC') AS b, org_id, k, {keyed}, {m} FROM ins \
           GROUP BY org_id, b, k, {keyed} ORDER BY org_id, b, k \
           ON CONFLICT ON CONSTRAINT rollup_daily_dims DO UPDATE SET {up} \
         ), activity AS ( \
           INSERT INTO usage.org_activity (org_id, last_ingest_at) \
           SELECT org_id, clock_timestamp() FROM ins GROUP BY org_id ORDER BY org_id \
           ON CONFLICT (org_id) DO UPDATE SET last_ingest_at = excluded.last_ingest_at \
         ) \
         SELECT count(*) AS inserted, max(ts) AS newest FROM ins",
        cols = copy::COLUMNS,
        rc = ROLLUP_COLUMNS,
        m = MEASURES,
        up = ROLLUP_UPDATE,
    )
}

/// What one batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Rows inserted (new events).
    pub inserted: u64,
    /// Newest event time among them.
    pub newest: Option<chrono::DateTime<chrono::Utc>>,
}

impl Store {
    /// A store over `pool` (the `keyward_usage` role).
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            layout: OnceCell::new(),
            days: Mutex::new(BTreeSet::new()),
        }
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn layout(&self) -> Result<Layout> {
        self.layout
            .get_or_try_init(|| async {
                let timescale = keyward_db::timescale_installed(&self.pool)
                    .await
                    .map_err(|e| match e {
                        keyward_db::Error::Sqlx(e) => e,
                        other => sqlx::Error::Protocol(other.to_string()),
                    })?;
                let overrides: bool = sqlx::query_scalar(
                    "SELECT to_regclass('cost.price_override_version') IS NOT NULL \
                     AND has_table_privilege('cost.price_override_version', 'SELECT')",
                )
                .fetch_one(&self.pool)
                .await?;
                Ok(Layout {
                    storage: if timescale {
                        Storage::Timescale
                    } else {
                        Storage::Partitions
                    },
                    overrides,
                })
            })
            .await
            .copied()
    }

    /// How events are stored (detected once).
    pub async fn storage(&self) -> Result<Storage> {
        Ok(self.layout().await?.storage)
    }

    /// Makes sure every day in `days` has a partition (no-op on TimescaleDB).
    pub async fn ensure_partitions(&self, days: &BTreeSet<NaiveDate>) -> Result<()> {
        if self.storage().await? == Storage::Timescale {
            return Ok(());
        }
        let missing: Vec<NaiveDate> = {
            let known = self.days.lock().map_err(|_| poisoned())?;
            days.difference(&known).copied().collect()
        };
        for day in missing {
            partitions::create(&self.pool, day).await?;
            self.days.lock().map_err(|_| poisoned())?.insert(day);
        }
        Ok(())
    }

    /// Forgets a dropped partition.
    pub fn forget_partition(&self, day: NaiveDate) {
        if let Ok(mut known) = self.days.lock() {
            known.remove(&day);
        }
    }

    /// Starts a batch transaction.
    pub async fn begin(&self) -> Result<Batch> {
        let layout = self.layout().await?;
        Ok(Batch {
            tx: self.pool.begin().await?,
            layout,
        })
    }
}

fn poisoned() -> sqlx::Error {
    sqlx::Error::Protocol("partition cache lock poisoned".into())
}

/// One batch's transaction.
pub struct Batch {
    tx: Transaction<'static, Postgres>,
    layout: Layout,
}

impl Batch {
    /// The current price-override version (`None` when cost's tables are not readable).
    pub async fn override_version(&mut self) -> Result<Option<i64>> {
        if !self.layout.overrides {
            return Ok(None);
        }
        sqlx::query_scalar("SELECT version FROM cost.price_override_version")
            .fetch_optional(&mut *self.tx)
            .await
    }

    /// Every org price override.
    pub async fn overrides(&mut self) -> Result<Vec<StoredOverride>> {
        sqlx::query_as(
            "SELECT org_id, provider, model, effective_from, adjustment FROM cost.price_overrides",
        )
        .fetch_all(&mut *self.tx)
        .await
    }

    /// Writes priced rows; duplicates of stored events are skipped and not rolled up.
    pub async fn write(&mut self, rows: &[EventRow]) -> Result<Written> {
        if rows.is_empty() {
            return Ok(Written::default());
        }
        sqlx::query(STAGING).execute(&mut *self.tx).await?;
        let mut buf = String::with_capacity(rows.len() * 300);
        copy::encode(rows, &mut buf);
        let statement = format!("COPY ingest_staging ({}) FROM STDIN", copy::COLUMNS);
        let mut copy_in = self.tx.copy_in_raw(&statement).await?;
        copy_in.send(buf.as_bytes()).await?;
        copy_in.finish().await?;
        let (inserted, newest): (i64, Option<chrono::DateTime<chrono::Utc>>) =
            sqlx::query_as(INSERT_SQL.as_str())
                .fetch_one(&mut *self.tx)
                .await?;
        Ok(Written {
            inserted: u64::try_from(inserted).unwrap_or(0),
            newest,
        })
    }

    /// Quarantines messages that can never be ingested.
    pub async fn reject(&mut self, rejected: &[Rejection]) -> Result<()> {
        if rejected.is_empty() {
            return Ok(());
        }
        let ids: Vec<Option<String>> = rejected.iter().map(|r| r.message_id.clone()).collect();
        let reasons: Vec<String> = rejected.iter().map(|r| r.reason.clone()).collect();
        let payloads: Vec<Vec<u8>> = rejected.iter().map(|r| r.payload.clone()).collect();
        sqlx::query(
            "INSERT INTO usage.rejected (message_id, reason, payload) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])",
        )
        .bind(ids)
        .bind(reasons)
        .bind(payloads)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Commits the batch.
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await
    }
}
