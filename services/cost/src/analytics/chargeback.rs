//! Chargeback: one month's cost per team or project, by provider and model, as CSV.

use chrono::{NaiveDate, NaiveTime};
use keyward_proto::v1 as pb;
use sqlx::{QueryBuilder, Row};

use super::Analytics;
use crate::error::{Result, invalid, uuid};

/// CSV bytes per streamed chunk.
pub const CHUNK: usize = 64 * 1024;

const HEADER: &str = "month,{by}_id,provider,model,requests,input_tokens,output_tokens,\
    cached_input_tokens,cache_write_tokens,reasoning_tokens,cost_micros,cost_usd\n";

/// Micro-dollars as an exact decimal string (`1234567` → `1.234567`).
pub fn usd(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let m = micros.unsigned_abs();
    format!("{sign}{}.{:06}", m / 1_000_000, m % 1_000_000)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

impl Analytics {
    /// The CSV in chunks of about [`CHUNK`] bytes. Usage without a team (project) is reported
    /// under `unassigned`.
    pub async fn chargeback(&self, req: &pb::ChargebackRequest) -> Result<Vec<Vec<u8>>> {
        let org = uuid("org_id", &req.org_id)?;
        let column = match req.by.as_str() {
            "team" => "team_id",
            "project" => "project_id",
            _ => return Err(invalid("by must be `team` or `project`")),
        };
        let first = NaiveDate::parse_from_str(&format!("{}-01", req.month), "%Y-%m-%d")
            .map_err(|_| invalid("month must be YYYY-MM"))?;
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .ok_or_else(|| invalid("month is out of range"))?;
        let (from, to) = (
            first.and_time(NaiveTime::MIN).and_utc(),
            next.and_time(NaiveTime::MIN).and_utc(),
        );
        let mut q = QueryBuilder::new("SELECT coalesce(");
        q.push(column)
            .push("::text, 'unassigned'), provider, model, ");
        q.push(
            "sum(requests)::bigint, sum(input_tokens)::bigint, sum(output_tokens)::bigint, \
             sum(cached_input_tokens)::bigint, \
             sum(cache_write_5m_tokens + cache_write_1h_tokens)::bigint, \
             sum(reasoning_tokens)::bigint, sum(cost_micros)::bigint \
             FROM usage.rollup_daily WHERE org_id = ",
        );
        q.push_bind(org)
            .push(" AND bucket >= ")
            .push_bind(from)
            .push(" AND bucket < ")
            .push_bind(to)
            .push(" GROUP BY 1, 2, 3 ORDER BY 1, 2, 3");
        let rows = q.build().fetch_all(self.pool()).await?;

        let mut chunks = Vec::new();
        let mut buf = HEADER.replace("{by}", &req.by);
        for row in rows {
            let owner: String = row.try_get(0)?;
            let provider: String = row.try_get(1)?;
            let model: String = row.try_get(2)?;
            let n =
                |i: usize| -> Result<i64> { Ok(row.try_get::<Option<i64>, _>(i)?.unwrap_or(0)) };
            let cost = n(9)?;
            buf.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{},{}\n",
                req.month,
                owner,
                csv_field(&provider),
                csv_field(&model),
                n(3)?,
                n(4)?,
                n(5)?,
                n(6)?,
                n(7)?,
                n(8)?,
                cost,
                usd(cost)
            ));
            if buf.len() >= CHUNK {
                chunks.push(std::mem::take(&mut buf).into_bytes());
            }
        }
        if !buf.is_empty() {
            chunks.push(buf.into_bytes());
        }
        Ok(chunks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_are_exact() {
        assert_eq!(usd(1_234_567), "1.234567");
        assert_eq!(usd(5), "0.000005");
        assert_eq!(usd(-1_500_000), "-1.500000");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }
}
