//! Breakdown queries over the usage rollups, built with `QueryBuilder` from whitelisted column
//! names and bound values only.

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveTime, Timelike, Utc};
use keyward_proto::v1 as pb;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::error::{Result, invalid, uuid};

/// A dimension rows can be grouped and filtered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    Org,
    Team,
    Project,
    User,
    VirtualKey,
    ProviderKey,
    Provider,
    Model,
}

impl Dim {
    /// Parses an API name.
    pub fn parse(s: &str) -> Result<Dim> {
        Ok(match s {
            "org" => Dim::Org,
            "team" => Dim::Team,
            "project" => Dim::Project,
            "user" => Dim::User,
            "virtual_key" => Dim::VirtualKey,
            "provider_key" => Dim::ProviderKey,
            "provider" => Dim::Provider,
            "model" => Dim::Model,
            other => {
                return Err(invalid(format!(
                    "unknown dimension `{other}` (org, team, project, user, virtual_key, \
                     provider_key, provider, model)"
                )));
            }
        })
    }

    /// The API name.
    pub fn name(self) -> &'static str {
        match self {
            Dim::Org => "org",
            Dim::Team => "team",
            Dim::Project => "project",
            Dim::User => "user",
            Dim::VirtualKey => "virtual_key",
            Dim::ProviderKey => "provider_key",
            Dim::Provider => "provider",
            Dim::Model => "model",
        }
    }

    /// The rollup column (a constant, safe to push into SQL).
    pub fn column(self) -> &'static str {
        match self {
            Dim::Org => "org_id",
            Dim::Team => "team_id",
            Dim::Project => "project_id",
            Dim::User => "user_id",
            Dim::VirtualKey => "virtual_key_id",
            Dim::ProviderKey => "provider_key_id",
            Dim::Provider => "provider",
            Dim::Model => "model",
        }
    }
}

/// Time bucketing of rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bucket {
    None,
    Hour,
    Day,
    Month,
}

impl Bucket {
    /// From the proto enum.
    pub fn from_proto(v: i32) -> Bucket {
        match pb::Bucket::try_from(v) {
            Ok(pb::Bucket::Hour) => Bucket::Hour,
            Ok(pb::Bucket::Day) => Bucket::Day,
            Ok(pb::Bucket::Month) => Bucket::Month,
            _ => Bucket::None,
        }
    }
}

/// Which rows to include.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub org: Uuid,
    pub teams: Vec<Uuid>,
    pub projects: Vec<Uuid>,
    pub users: Vec<Uuid>,
    pub virtual_keys: Vec<Uuid>,
    pub provider_keys: Vec<Uuid>,
    pub providers: Vec<String>,
    pub models: Vec<String>,
}

impl Filter {
    /// From the proto filter; the org is required.
    pub fn from_proto(f: Option<&pb::UsageFilter>) -> Result<Filter> {
        let f = f.ok_or_else(|| invalid("filter.org_id is required"))?;
        let ids =
            |name: &str, v: &[String]| v.iter().map(|s| uuid(name, s)).collect::<Result<Vec<_>>>();
        Ok(Filter {
            org: uuid("filter.org_id", &f.org_id)?,
            teams: ids("filter.team_ids", &f.team_ids)?,
            projects: ids("filter.project_ids", &f.project_ids)?,
            users: ids("filter.user_ids", &f.user_ids)?,
            virtual_keys: ids("filter.virtual_key_ids", &f.virtual_key_ids)?,
            provider_keys: ids("filter.provider_key_ids", &f.provider_key_ids)?,
            providers: f.providers.clone(),
            models: f.models.clone(),
        })
    }

    /// Appends ` AND …` conditions.
    pub fn push(&self, q: &mut QueryBuilder<'_, Postgres>) {
        q.push(" org_id = ").push_bind(self.org);
        for (col, ids) in [
            ("team_id", &self.teams),
            ("project_id", &self.projects),
            ("user_id", &self.users),
            ("virtual_key_id", &self.virtual_keys),
            ("provider_key_id", &self.provider_keys),
        ] {
            if !ids.is_empty() {
                q.push(" AND ")
                    .push(col)
                    .push(" = ANY(")
                    .push_bind(ids.clone())
                    .push(")");
            }
        }
        for (col, vals) in [("provider", &self.providers), ("model", &self.models)] {
            if !vals.is_empty() {
                q.push(" AND ")
                    .push(col)
                    .push(" = ANY(")
                    .push_bind(vals.clone())
                    .push(")");
            }
        }
    }
}

/// A time range `[from, to)`.
#[derive(Clone, Copy, Debug)]
pub struct Range {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Converts a proto timestamp.
pub fn ts(t: &prost_types::Timestamp) -> Result<DateTime<Utc>> {
    let nanos = u32::try_from(t.nanos).map_err(|_| invalid("invalid timestamp"))?;
    DateTime::from_timestamp(t.seconds, nanos).ok_or_else(|| invalid("invalid timestamp"))
}

/// A proto timestamp.
pub fn to_ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

impl Range {
    /// From the proto range; both ends required, `from < to`.
    pub fn from_proto(r: Option<&pb::TimeRange>) -> Result<Range> {
        let r = r.ok_or_else(|| invalid("range is required"))?;
        let from = ts(r
            .from
            .as_ref()
            .ok_or_else(|| invalid("range.from is required"))?)?;
        let to = ts(r
            .to
            .as_ref()
            .ok_or_else(|| invalid("range.to is required"))?)?;
        if from >= to {
            return Err(invalid("range.from must be before range.to"));
        }
        Ok(Range { from, to })
    }

    /// Whether both ends fall on UTC midnight (so the daily rollup answers exactly).
    pub fn day_aligned(&self) -> bool {
        let midnight = |t: DateTime<Utc>| t.num_seconds_from_midnight() == 0 && t.nanosecond() == 0;
        midnight(self.from) && midnight(self.to)
    }
}

/// One grouped query.
#[derive(Clone, Debug)]
pub struct Grouping {
    pub filter: Filter,
    pub range: Range,
    pub dims: Vec<Dim>,
    pub bucket: Bucket,
    /// `ORDER BY cost DESC` first (top-N) instead of by bucket.
    pub by_cost: bool,
    pub limit: i64,
    pub offset: i64,
}

/// Measures every grouped query returns, after the bucket and the dimensions.
pub const MEASURES: &str = "sum(requests)::bigint, sum(input_tokens)::bigint, \
    sum(output_tokens)::bigint, sum(cached_input_tokens)::bigint, \
    sum(cache_write_5m_tokens + cache_write_1h_tokens)::bigint, sum(errors)::bigint, \
    sum(cost_micros)::bigint, sum(reasoning_tokens)::bigint, sum(unpriced)::bigint";

impl Grouping {
    /// The rollup that answers this exactly: daily when buckets and range are whole days.
    pub fn table(&self) -> &'static str {
        if self.bucket != Bucket::Hour && self.range.day_aligned() {
            "usage.rollup_daily"
        } else {
            "usage.rollup_hourly"
        }
    }

    /// Starts of the coarser buckets (UTC days or months) this grouping re-buckets rollup rows
    /// into, with the end of the last, when there are at most [`MAX_SPANS`]; `None` otherwise.
    fn spans(&self) -> Option<Vec<DateTime<Utc>>> {
        let from = self.range.from.date_naive();
        let (mut start, next): (NaiveDate, fn(NaiveDate) -> Option<NaiveDate>) =
            match (self.bucket, self.table()) {
                (Bucket::Month, _) => (from.with_day(1)?, |d| d.checked_add_months(Months::new(1))),
                (Bucket::Day, "usage.rollup_hourly") => (from, |d| d.succ_opt()),
                _ => return None,
            };
        let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN).and_utc();
        let mut out = vec![midnight(start)];
        while midnight(start) < self.range.to {
            start = next(start)?;
            out.push(midnight(start));
            if out.len() > MAX_SPANS + 1 {
                return None;
            }
        }
        Some(out)
    }

    /// The SQL: `SELECT bucket, dims…, measures… FROM rollup WHERE … GROUP BY … ORDER BY …`.
    /// Rollup rows are included when their bucket starts inside the range.
    ///
    /// Re-bucketing (months; days from the hourly rollup) joins the rows to a `VALUES` list of
    /// the buckets' `[start, end)` instead of calling `date_trunc` per row: same groups, but the
    /// planner then knows how few there are and aggregates by hash instead of sorting every row
    /// (bench/RESULTS.md, "Cost").
    pub fn build(&self) -> QueryBuilder<'_, Postgres> {
        let daily = self.table() == "usage.rollup_daily";
        let spans = self.spans();
        let bucket = match self.bucket {
            Bucket::None => "NULL::timestamptz",
            _ if spans.is_some() => "s.b",
            // A rollup's own bucket needs no re-bucketing: the daily rollup's is the UTC day.
            Bucket::Hour => "bucket",
            Bucket::Day if daily => "bucket",
            Bucket::Day => "date_trunc('day', bucket, 'UTC')",
            Bucket::Month => "date_trunc('month', bucket, 'UTC')",
        };
        let mut q = QueryBuilder::new("SELECT ");
        q.push(bucket).push(" AS b");
        for d in &self.dims {
            q.push(", ").push(d.column()).push("::text");
        }
        q.push(", ").push(MEASURES).push(" FROM ");
        if let Some(spans) = &spans {
            q.push("(VALUES ");
            for (i, w) in spans.windows(2).enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.push("(")
                    .push_bind(w[0])
                    .push("::timestamptz, ")
                    .push_bind(w[1])
                    .push("::timestamptz)");
            }
            q.push(") AS s(b, e) JOIN ")
                .push(self.table())
                .push(" ON bucket >= s.b AND bucket < s.e");
        } else {
            q.push(self.table());
        }
        q.push(" WHERE");
        self.filter.push(&mut q);
        q.push(" AND bucket >= ")
            .push_bind(self.range.from)
            .push(" AND bucket < ")
            .push_bind(self.range.to);
        q.push(" GROUP BY b");
        for d in &self.dims {
            q.push(", ").push(d.column());
        }
        if self.by_cost {
            q.push(" ORDER BY sum(cost_micros) DESC, b");
        } else {
            q.push(" ORDER BY b, sum(cost_micros) DESC");
        }
        for d in &self.dims {
            q.push(", ").push(d.column());
        }
        q.push(" LIMIT ")
            .push_bind(self.limit)
            .push(" OFFSET ")
            .push_bind(self.offset);
        q
    }
}

/// Most coarser buckets listed in a query's `VALUES`; longer ranges fall back to `date_trunc`.
const MAX_SPANS: usize = 400;
