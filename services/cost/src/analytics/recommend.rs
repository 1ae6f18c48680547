//! Recommendations from the last 30 days of rollups: idle keys, a cheaper model of the same
//! class (same provider, comparable tier), and prompt-caching opportunities. Savings are
//! estimated at list prices for a 30-day month.

use chrono::{Duration, Utc};
use keyward_pricing::{PriceBook, Usage, cost_micros};
use keyward_proto::v1 as pb;
use sqlx::Row;

use super::Analytics;
use crate::error::{Result, uuid};

/// Interchangeable models per provider, by tier. Only same-provider swaps are suggested: the
/// org already holds a key for that provider.
const CLASSES: &[(&str, &str, &[&str])] = &[
    (
        "openai",
        "flagship",
        &[
            "gpt-4o",
            "gpt-4o-2024-05-13",
            "gpt-4o-2024-08-06",
            "gpt-4.1",
            "gpt-5",
            "gpt-5.1",
        ],
    ),
    (
        "openai",
        "small",
        &["gpt-4o-mini", "gpt-4.1-mini", "gpt-5-mini"],
    ),
    ("openai", "nano", &["gpt-4.1-nano", "gpt-5-nano"]),
    ("openai", "reasoning-small", &["o3-mini", "o4-mini"]),
    (
        "azure",
        "flagship",
        &["gpt-4o", "gpt-4o-2024-05-13", "gpt-4.1", "gpt-5"],
    ),
    (
        "azure",
        "small",
        &["gpt-4o-mini", "gpt-4.1-mini", "gpt-5-mini"],
    ),
    (
        "anthropic",
        "opus",
        &[
            "claude-opus-4",
            "claude-opus-4-1",
            "claude-opus-4-5",
            "claude-opus-4-6",
            "claude-opus-4-7",
            "claude-opus-4-8",
        ],
    ),
    (
        "anthropic",
        "sonnet",
        &[
            "claude-3-5-sonnet",
            "claude-3-7-sonnet",
            "claude-sonnet-4",
            "claude-sonnet-4-5",
            "claude-sonnet-4-6",
        ],
    ),
    (
        "anthropic",
        "haiku",
        &["claude-3-haiku", "claude-3-5-haiku", "claude-haiku-4-5"],
    ),
    ("gemini", "flash", &["gemini-2.0-flash", "gemini-2.5-flash"]),
    (
        "gemini",
        "flash-lite",
        &["gemini-2.0-flash-lite", "gemini-2.5-flash-lite"],
    ),
    (
        "mistral",
        "large",
        &["mistral-large-2411", "mistral-large-2512"],
    ),
    (
        "mistral",
        "medium",
        &["mistral-medium-2505", "mistral-medium-2604"],
    ),
    (
        "mistral",
        "small",
        &["mistral-small-2503", "mistral-small-2506"],
    ),
    (
        "cohere",
        "command",
        &["command-a-03-2025", "command-r-plus-08-2024"],
    ),
];

/// A cheaper model is suggested when it would save at least this share (percent).
const MIN_SAVING_PERCENT: i64 = 10;
/// Cache suggestions need this many prompt tokens in 30 days, with under 10% cached.
const CACHE_MIN_PROMPT_TOKENS: i64 = 1_000_000;

struct ModelUse {
    provider: String,
    model: String,
    usage: Usage,
    cost: i64,
}

fn class_of(book: &PriceBook, provider: &str, model: &str) -> Option<&'static [&'static str]> {
    let canonical = book.resolve(provider, model)?;
    CLASSES
        .iter()
        .find(|(p, _, members)| *p == provider && members.contains(&canonical))
        .map(|(_, _, members)| *members)
}

/// The cheapest same-class model for this token mix, with its cost.
fn cheaper(book: &PriceBook, u: &ModelUse) -> Option<(String, i64)> {
    let now = Utc::now();
    let canonical = book.resolve(&u.provider, &u.model)?;
    class_of(book, &u.provider, &u.model)?
        .iter()
        .filter(|m| **m != canonical)
        .filter_map(|m| {
            let price = book.lookup(&u.provider, m, now)?;
            Some(((*m).to_owned(), cost_micros(price, &u.usage)))
        })
        .min_by_key(|(_, c)| *c)
        .filter(|(_, c)| (u.cost - c) * 100 >= u.cost * MIN_SAVING_PERCENT && u.cost > 0)
}

impl Analytics {
    /// Recommendations for `org_id`, biggest saving first.
    pub async fn recommendations(
        &self,
        book: &PriceBook,
        req: &pb::RecommendationsRequest,
    ) -> Result<pb::RecommendationsResponse> {
        let org = uuid("org_id", &req.org_id)?;
        let now = Utc::now();
        let today = now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
        let recent = today - Duration::days(30);
        let mut items = Vec::new();

        // Idle keys: used in the 60 days before the last 30, not since.
        let idle = sqlx::query(
            "SELECT kind, id::text, max(bucket) FROM ( \
               SELECT 'virtual_key' AS kind, virtual_key_id AS id, bucket FROM usage.rollup_daily \
                 WHERE org_id = $1 AND bucket >= $2 AND virtual_key_id IS NOT NULL \
               UNION ALL \
               SELECT 'provider_key', provider_key_id, bucket FROM usage.rollup_daily \
                 WHERE org_id = $1 AND bucket >= $2 AND provider_key_id IS NOT NULL \
             ) k GROUP BY kind, id HAVING max(bucket) < $3 ORDER BY 3",
        )
        .bind(org)
        .bind(today - Duration::days(90))
        .bind(recent)
        .fetch_all(self.pool())
        .await?;
        for row in idle {
            let kind: String = row.try_get(0)?;
            let id: String = row.try_get(1)?;
            let last: chrono::DateTime<Utc> = row.try_get(2)?;
            items.push(pb::Recommendation {
                kind: "idle_key".into(),
                subject: format!("{kind}:{id}"),
                detail: format!(
                    "no requests since {}; revoke it if it is no longer needed",
                    last.format("%Y-%m-%d")
                ),
                estimated_monthly_saving_micros: 0,
            });
        }

        let rows = sqlx::query(
            "SELECT provider, model, sum(input_tokens)::bigint, sum(cached_input_tokens)::bigint, \
               sum(cache_write_5m_tokens)::bigint, sum(cache_write_1h_tokens)::bigint, \
               sum(output_tokens)::bigint, sum(reasoning_tokens)::bigint, sum(cost_micros)::bigint \
             FROM usage.rollup_daily WHERE org_id = $1 AND bucket >= $2 \
             GROUP BY provider, model",
        )
        .bind(org)
        .bind(recent)
        .fetch_all(self.pool())
        .await?;
        for row in rows {
            let n = |i: usize| -> Result<u64> {
                Ok(u64::try_from(row.try_get::<i64, _>(i)?).unwrap_or(0))
            };
            let u = ModelUse {
                provider: row.try_get(0)?,
                model: row.try_get(1)?,
                usage: Usage {
                    input_tokens: n(2)?,
                    cached_input_tokens: n(3)?,
                    cache_write_5m_tokens: n(4)?,
                    cache_write_1h_tokens: n(5)?,
                    output_tokens: n(6)?,
                    reasoning_tokens: n(7)?,
                },
                cost: row.try_get(8)?,
            };
            if let Some((model, cost)) = cheaper(book, &u) {
                items.push(pb::Recommendation {
                    kind: "cheaper_model".into(),
                    subject: format!("{}/{}", u.provider, u.model),
                    detail: format!(
                        "{model} is in the same class; the last 30 days' tokens would have cost \
                         {} instead of {} USD",
                        super::chargeback::usd(cost),
                        super::chargeback::usd(u.cost)
                    ),
                    estimated_monthly_saving_micros: u.cost - cost,
                });
            }
            if let Some(saving) = cache_saving(book, &u) {
                items.push(pb::Recommendation {
                    kind: "cache_opportunity".into(),
                    subject: format!("{}/{}", u.provider, u.model),
                    detail: "under 10% of prompt tokens were cache hits; if half of the uncached \
                             prompt were a repeated prefix, prompt caching would save this much"
                        .into(),
                    estimated_monthly_saving_micros: saving,
                });
            }
        }
        items.sort_by(|a, b| {
            b.estimated_monthly_saving_micros
                .cmp(&a.estimated_monthly_saving_micros)
        });
        Ok(pb::RecommendationsResponse { items })
    }
}

/// Half the uncached prompt tokens re-billed at the cache-read rate instead of the input rate.
fn cache_saving(book: &PriceBook, u: &ModelUse) -> Option<i64> {
    let prompt = i64::try_from(u.usage.prompt_tokens()).unwrap_or(i64::MAX);
    let cached = i64::try_from(u.usage.cached_input_tokens).unwrap_or(0);
    if prompt < CACHE_MIN_PROMPT_TOKENS || cached * 10 >= prompt {
        return None;
    }
    let price = book.lookup(&u.provider, &u.model, Utc::now())?;
    let per_token = price.rates.input - price.rates.cached_input;
    if per_token <= 0 {
        return None;
    }
    let half = i128::from(u.usage.input_tokens / 2);
    let saving = (half * i128::from(per_token) + 500_000) / 1_000_000;
    i64::try_from(saving).ok().filter(|s| *s > 0)
}
