//! Analytics over the usage rollups: breakdowns, time series, top-N, forecast, chargeback and
//! recommendations from the rollups; request-level drill-down (`events`) is the one reader of raw
//! events.

pub mod chargeback;
pub mod events;
pub mod forecast;
pub mod query;
pub mod recommend;
pub mod rollups;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use keyward_proto::v1 as pb;
use sqlx::{PgPool, Row};

use crate::error::{Result, invalid};
use query::{Bucket, Dim, Filter, Grouping, to_ts};
use rollups::Range;

/// Largest page of rows.
pub const MAX_PAGE: u32 = 10_000;
const DEFAULT_PAGE: u32 = 1_000;

/// Read-only analytics.
#[derive(Clone)]
pub struct Analytics {
    pool: PgPool,
}

fn dims(names: &[String], min: usize) -> Result<Vec<Dim>> {
    if names.len() < min || names.len() > 3 {
        return Err(invalid(format!(
            "group_by takes {min} to 3 dimensions, got {}",
            names.len()
        )));
    }
    let dims = names
        .iter()
        .map(|n| Dim::parse(n))
        .collect::<Result<Vec<_>>>()?;
    for (i, d) in dims.iter().enumerate() {
        if dims[..i].contains(d) {
            return Err(invalid(format!("group_by repeats `{}`", d.name())));
        }
    }
    Ok(dims)
}

fn page(p: Option<&pb::PageRequest>) -> Result<(i64, i64)> {
    let size = p.map_or(0, |p| p.page_size);
    let size = if size == 0 {
        DEFAULT_PAGE
    } else {
        size.min(MAX_PAGE)
    };
    let offset = match p.map(|p| p.cursor.as_str()) {
        None | Some("") => 0,
        Some(c) => c
            .parse::<i64>()
            .ok()
            .filter(|o| *o >= 0)
            .ok_or_else(|| invalid("page.cursor is invalid"))?,
    };
    Ok((i64::from(size), offset))
}

impl Analytics {
    /// Analytics over `pool` (the `keyward_cost` role, with SELECT on the rollups).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs a grouping and maps its rows.
    pub async fn rows(&self, g: &Grouping) -> Result<Vec<pb::BreakdownRow>> {
        // Unnamed statements, planned with the actual org, range and buckets each time: after
        // five runs of a named one Postgres may switch to a generic plan, which cannot know how
        // few groups one org has and sorts every row instead of hashing (3x slower at 10M events).
        let rows = g
            .build()
            .build()
            .persistent(false)
            .fetch_all(&self.pool)
            .await?;
        let k = g.dims.len();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let bucket: Option<DateTime<Utc>> = row.try_get(0)?;
            let mut group = HashMap::with_capacity(k);
            for (i, d) in g.dims.iter().enumerate() {
                let v: Option<String> = row.try_get(i + 1)?;
                group.insert(d.name().to_owned(), v.unwrap_or_default());
            }
            let m = |i: usize| -> Result<i64> {
                Ok(row.try_get::<Option<i64>, _>(k + 1 + i)?.unwrap_or(0))
            };
            let u = |i: usize| -> Result<u64> { Ok(u64::try_from(m(i)?).unwrap_or(0)) };
            out.push(pb::BreakdownRow {
                bucket_start: bucket.map(to_ts),
                group,
                requests: u(0)?,
                input_tokens: u(1)?,
                output_tokens: u(2)?,
                cached_input_tokens: u(3)?,
                cache_write_tokens: u(4)?,
                errors: u(5)?,
                cost_micros: m(6)?,
                reasoning_tokens: u(7)?,
                unpriced: u(8)?,
            });
        }
        Ok(out)
    }

    async fn paged(&self, mut g: Grouping) -> Result<pb::BreakdownResponse> {
        let size = g.limit;
        g.limit = size + 1;
        let mut rows = self.rows(&g).await?;
        let more = i64::try_from(rows.len()).unwrap_or(0) > size;
        rows.truncate(usize::try_from(size).unwrap_or(0));
        let next_cursor = if more {
            (g.offset + size).to_string()
        } else {
            String::new()
        };
        Ok(pb::BreakdownResponse {
            rows,
            page: Some(pb::PageResponse { next_cursor }),
        })
    }

    /// Grouped by 1–3 dimensions, optionally bucketed by hour, day or month.
    pub async fn breakdown(&self, req: &pb::BreakdownRequest) -> Result<pb::BreakdownResponse> {
        let (limit, offset) = page(req.page.as_ref())?;
        self.paged(Grouping {
            filter: Filter::from_proto(req.filter.as_ref())?,
            range: Range::from_proto(req.range.as_ref())?,
            dims: dims(&req.group_by, 1)?,
            bucket: Bucket::from_proto(req.bucket),
            by_cost: false,
            limit,
            offset,
        })
        .await
    }

    /// Bucketed (default: by day), optionally split by up to 3 dimensions.
    pub async fn time_series(&self, req: &pb::BreakdownRequest) -> Result<pb::BreakdownResponse> {
        let (limit, offset) = page(req.page.as_ref())?;
        let bucket = match Bucket::from_proto(req.bucket) {
            Bucket::None => Bucket::Day,
            b => b,
        };
        self.paged(Grouping {
            filter: Filter::from_proto(req.filter.as_ref())?,
            range: Range::from_proto(req.range.as_ref())?,
            dims: dims(&req.group_by, 0)?,
            bucket,
            by_cost: false,
            limit,
            offset,
        })
        .await
    }

    /// The `limit` (default 10, at most 1000) costliest values of one dimension.
    pub async fn top(&self, req: &pb::TopRequest) -> Result<pb::BreakdownResponse> {
        let limit = match req.limit {
            0 => 10,
            n => n.min(1_000),
        };
        let rows = self
            .rows(&Grouping {
                filter: Filter::from_proto(req.filter.as_ref())?,
                range: Range::from_proto(req.range.as_ref())?,
                dims: vec![Dim::parse(&req.dimension)?],
                bucket: Bucket::None,
                by_cost: true,
                limit: i64::from(limit),
                offset: 0,
            })
            .await?;
        Ok(pb::BreakdownResponse {
            rows,
            page: Some(pb::PageResponse::default()),
        })
    }
}
