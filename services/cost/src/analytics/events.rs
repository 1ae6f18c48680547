//! Request-level usage (`UsageEvents`): the individual calls behind the rollups, newest first,
//! for drill-down. The one query of the cost service that reads `usage.events`; it pages by
//! keyset on `(ts, event_id)`, so deep pages cost no more than the first.

use chrono::{DateTime, Utc};
use keyward_proto::v1 as pb;
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::query::{Filter, to_ts};
use super::rollups::Range;
use crate::error::{Result, invalid};

/// Default and largest page.
const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1_000;
const STATUSES: [&str; 5] = ["ok", "error", "rate_limited", "timeout", "cancelled"];

/// `<ts micros>.<event id>` of the last row of a page.
fn cursor(ts: DateTime<Utc>, id: Uuid) -> String {
    format!("{}.{id}", ts.timestamp_micros())
}

fn parse_cursor(c: &str) -> Result<Option<(DateTime<Utc>, Uuid)>> {
    if c.is_empty() {
        return Ok(None);
    }
    let bad = || invalid("page.cursor is invalid");
    let (ts, id) = c.split_once('.').ok_or_else(bad)?;
    let ts = ts
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(bad)?;
    let id = Uuid::parse_str(id).map_err(|_| bad())?;
    Ok(Some((ts, id)))
}

fn opt_id(row: &sqlx::postgres::PgRow, col: &str) -> Result<Option<String>> {
    Ok(row.try_get::<Option<Uuid>, _>(col)?.map(|u| u.to_string()))
}

fn count(row: &sqlx::postgres::PgRow, col: &str) -> Result<u64> {
    Ok(u64::try_from(row.try_get::<i64, _>(col)?).unwrap_or(0))
}

/// One page of calls matching the filter in the range.
pub async fn events(
    pool: &sqlx::PgPool,
    req: &pb::UsageEventsRequest,
) -> Result<pb::UsageEventsResponse> {
    let filter = Filter::from_proto(req.filter.as_ref())?;
    let range = Range::from_proto(req.range.as_ref())?;
    for s in &req.statuses {
        if !STATUSES.contains(&s.as_str()) {
            return Err(invalid(format!(
                "statuses: unknown status `{s}` ({})",
                STATUSES.join(", ")
            )));
        }
    }
    let size = match req.page.as_ref().map_or(0, |p| p.page_size) {
        0 => DEFAULT_PAGE,
        n => n.min(MAX_PAGE),
    };
    let after = parse_cursor(req.page.as_ref().map_or("", |p| p.cursor.as_str()))?;
    let mut q: QueryBuilder<'_, Postgres> = QueryBuilder::new(
        "SELECT event_id, ts, team_id, project_id, user_id, virtual_key_id, provider_key_id, \
         provider, model, input_tokens, output_tokens, cached_input_tokens, \
         cache_write_5m_tokens + cache_write_1h_tokens AS cache_write_tokens, reasoning_tokens, \
         latency_ms, http_status, status, request_id, endpoint, streamed, cost_micros, priced \
         FROM usage.events WHERE",
    );
    filter.push(&mut q);
    q.push(" AND ts >= ")
        .push_bind(range.from)
        .push(" AND ts < ")
        .push_bind(range.to);
    if !req.statuses.is_empty() {
        q.push(" AND status = ANY(")
            .push_bind(req.statuses.clone())
            .push(")");
    }
    if let Some((ts, id)) = after {
        q.push(" AND (ts, event_id) < (")
            .push_bind(ts)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    q.push(" ORDER BY ts DESC, event_id DESC LIMIT ")
        .push_bind(i64::from(size) + 1);
    let rows = q.build().fetch_all(pool).await?;
    let more = rows.len() > usize::try_from(size).unwrap_or(usize::MAX);
    let mut events = Vec::with_capacity(rows.len());
    let mut last = None;
    for row in rows
        .iter()
        .take(usize::try_from(size).unwrap_or(usize::MAX))
    {
        let (id, ts): (Uuid, DateTime<Utc>) = (row.try_get("event_id")?, row.try_get("ts")?);
        last = Some((ts, id));
        events.push(pb::UsageEventRow {
            event_id: id.to_string(),
            ts: Some(to_ts(ts)),
            team_id: opt_id(row, "team_id")?,
            project_id: opt_id(row, "project_id")?,
            user_id: opt_id(row, "user_id")?,
            virtual_key_id: opt_id(row, "virtual_key_id")?,
            provider_key_id: opt_id(row, "provider_key_id")?,
            provider: row.try_get("provider")?,
            model: row.try_get("model")?,
            input_tokens: count(row, "input_tokens")?,
            output_tokens: count(row, "output_tokens")?,
            cached_input_tokens: count(row, "cached_input_tokens")?,
            cache_write_tokens: count(row, "cache_write_tokens")?,
            reasoning_tokens: count(row, "reasoning_tokens")?,
            latency_ms: u32::try_from(row.try_get::<i32, _>("latency_ms")?).unwrap_or(0),
            http_status: u32::try_from(row.try_get::<i16, _>("http_status")?).unwrap_or(0),
            status: row.try_get("status")?,
            request_id: row.try_get("request_id")?,
            endpoint: row.try_get("endpoint")?,
            streamed: row.try_get("streamed")?,
            cost_micros: row.try_get("cost_micros")?,
            priced: row.try_get("priced")?,
        });
    }
    let next_cursor = match (more, last) {
        (true, Some((ts, id))) => cursor(ts, id),
        _ => String::new(),
    };
    Ok(pb::UsageEventsResponse {
        events,
        page: Some(pb::PageResponse { next_cursor }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let ts = DateTime::from_timestamp_micros(1_767_225_600_123_456).unwrap_or_default();
        let id = Uuid::now_v7();
        assert_eq!(parse_cursor(&cursor(ts, id)).ok().flatten(), Some((ts, id)));
        assert!(parse_cursor("x.y").is_err());
        assert!(parse_cursor("").ok().flatten().is_none());
    }
}
