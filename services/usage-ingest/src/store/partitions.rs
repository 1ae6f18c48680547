//! Native daily range partitions of `usage.events` (plain PostgreSQL only; TimescaleDB manages
//! its own chunks and policies).

use chrono::{Days, NaiveDate};
use sqlx::PgPool;

use super::{Result, is_code};

/// `usage.events_pYYYYMMDD`. Partition names come from dates we compute, never from input.
fn partition_name(day: NaiveDate) -> String {
    format!("usage.events_p{}", day.format("%Y%m%d"))
}

/// Creates the partition holding `day` unless it exists.
pub async fn create(pool: &PgPool, day: NaiveDate) -> Result<()> {
    let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
    // DDL takes no bind parameters; every interpolated value is a formatted date.
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {} PARTITION OF usage.events FOR VALUES FROM ('{}') TO ('{}')",
        partition_name(day),
        day.format("%Y-%m-%d"),
        next.format("%Y-%m-%d"),
    );
    match sqlx::query(&sql).execute(pool).await {
        Ok(_) => Ok(()),
        // Another consumer or replica created it at the same moment.
        Err(e) if is_code(&e, "42P07") || is_code(&e, "23505") => Ok(()),
        Err(e) => Err(e),
    }
}

/// The days that have a partition, oldest first.
pub async fn existing(pool: &PgPool) -> Result<Vec<NaiveDate>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i \
         JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'usage.events'::regclass ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    Ok(names
        .iter()
        .filter_map(|n| n.strip_prefix("events_p"))
        .filter_map(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok())
        .collect())
}

/// Drops the partition of `day` (every event in it is past retention).
pub async fn drop(pool: &PgPool, day: NaiveDate) -> Result<()> {
    let sql = format!("DROP TABLE IF EXISTS {}", partition_name(day));
    sqlx::query(&sql).execute(pool).await?;
    Ok(())
}
