//! Price files: their TOML shape, the built-in copies, and validation into [`ModelPrice`]s.
//!
//! A file declares one provider and a list of models; each model has a canonical `name`,
//! optional `aliases` and one or more dated `price` entries. See the crate README for the format.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use serde::Deserialize;
use toml::value::{Datetime, Offset};

use crate::error::{PricingError, Result};
use crate::price::{LongContext, ModelPrice, Rates};
use crate::provider::book_provider;

#[cfg(test)]
mod tests;

/// The built-in price files, embedded at compile time so the binary needs no data on disk.
pub(crate) const BUILTIN: [(&str, &str); 8] = [
    ("openai.toml", include_str!("../../data/openai.toml")),
    ("anthropic.toml", include_str!("../../data/anthropic.toml")),
    ("gemini.toml", include_str!("../../data/gemini.toml")),
    ("bedrock.toml", include_str!("../../data/bedrock.toml")),
    ("azure.toml", include_str!("../../data/azure.toml")),
    ("cohere.toml", include_str!("../../data/cohere.toml")),
    ("mistral.toml", include_str!("../../data/mistral.toml")),
    (
        "perplexity.toml",
        include_str!("../../data/perplexity.toml"),
    ),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    provider: String,
    #[serde(rename = "model", default)]
    models: Vec<RawModel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(rename = "price", default)]
    prices: Vec<RawPrice>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrice {
    effective_from: Datetime,
    source: String,
    note: Option<String>,
    input: Option<i64>,
    cached_input: Option<i64>,
    cache_write: Option<i64>,
    cache_write_5m: Option<i64>,
    cache_write_1h: Option<i64>,
    output: Option<i64>,
    reasoning: Option<i64>,
    request_fee: Option<i64>,
    long_context: Option<RawLongContext>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLongContext {
    threshold: i64,
    input: Option<i64>,
    cached_input: Option<i64>,
    cache_write: Option<i64>,
    cache_write_5m: Option<i64>,
    cache_write_1h: Option<i64>,
    output: Option<i64>,
    reasoning: Option<i64>,
}

/// The rate fields as written, before defaults are filled in.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RateParts {
    pub input: Option<i64>,
    pub cached_input: Option<i64>,
    pub cache_write: Option<i64>,
    pub cache_write_5m: Option<i64>,
    pub cache_write_1h: Option<i64>,
    pub output: Option<i64>,
    pub reasoning: Option<i64>,
}

/// Why a set of [`RateParts`] does not make [`Rates`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RateProblem {
    Missing(&'static str),
    Negative(&'static str, i64),
    BothCacheWriteForms,
}

impl RateParts {
    /// Fill in defaults and check signs. `input` and `output` are required; `cached_input`,
    /// `cache_write_5m` default to `input`; `cache_write` sets both write rates;
    /// `cache_write_1h` defaults to the 5-minute rate; `reasoning` defaults to `output`.
    pub(crate) fn resolve(&self) -> std::result::Result<Rates, RateProblem> {
        let given = [
            ("input", self.input),
            ("cached_input", self.cached_input),
            ("cache_write", self.cache_write),
            ("cache_write_5m", self.cache_write_5m),
            ("cache_write_1h", self.cache_write_1h),
            ("output", self.output),
            ("reasoning", self.reasoning),
        ];
        if let Some((field, Some(value))) = given.iter().find(|(_, v)| v.is_some_and(|v| v < 0)) {
            return Err(RateProblem::Negative(field, *value));
        }
        if self.cache_write.is_some()
            && (self.cache_write_5m.is_some() || self.cache_write_1h.is_some())
        {
            return Err(RateProblem::BothCacheWriteForms);
        }
        let input = self.input.ok_or(RateProblem::Missing("input"))?;
        let output = self.output.ok_or(RateProblem::Missing("output"))?;
        let cache_write_5m = self.cache_write.or(self.cache_write_5m).unwrap_or(input);
        Ok(Rates {
            input,
            cached_input: self.cached_input.unwrap_or(input),
            cache_write_5m,
            cache_write_1h: self
                .cache_write
                .or(self.cache_write_1h)
                .unwrap_or(cache_write_5m),
            output,
            reasoning: self.reasoning.unwrap_or(output),
        })
    }
}

/// One validated model of a file.
pub(crate) struct ParsedModel {
    pub name: String,
    pub aliases: Vec<String>,
    /// Sorted by `effective_from`, no two equal.
    pub prices: Vec<ModelPrice>,
}

/// One validated file.
pub(crate) struct ParsedFile {
    pub provider: &'static str,
    pub models: Vec<ParsedModel>,
}

/// Parse and validate one price file; `file` names it in errors.
pub(crate) fn parse_file(file: &str, text: &str) -> Result<ParsedFile> {
    let raw: RawFile = toml::from_str(text).map_err(|e| PricingError::Parse {
        file: file.to_owned(),
        message: e.to_string().trim_end().to_owned(),
    })?;
    let provider = book_provider(&raw.provider).ok_or_else(|| PricingError::UnknownProvider {
        file: file.to_owned(),
        provider: raw.provider.clone(),
    })?;
    let models = raw
        .models
        .into_iter()
        .map(|model| parse_model(file, provider, model))
        .collect::<Result<Vec<_>>>()?;
    Ok(ParsedFile { provider, models })
}

fn parse_model(file: &str, provider: &'static str, raw: RawModel) -> Result<ParsedModel> {
    let invalid = |model: &str, reason: String| PricingError::InvalidEntry {
        file: file.to_owned(),
        model: model.to_owned(),
        reason,
    };
    let name = normalize_name(&raw.name).ok_or_else(|| {
        invalid(
            &raw.name,
            "a model name must be non-empty, without spaces, and not \"*\"".into(),
        )
    })?;
    let aliases = raw
        .aliases
        .iter()
        .map(|alias| {
            normalize_name(alias).ok_or_else(|| invalid(&name, format!("bad alias {alias:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    if raw.prices.is_empty() {
        return Err(invalid(&name, "has no [[model.price]] entry".into()));
    }
    let mut prices = raw
        .prices
        .into_iter()
        .map(|price| parse_price(file, provider, &name, price))
        .collect::<Result<Vec<_>>>()?;
    prices.sort_by_key(|p| p.effective_from);
    if let Some(pair) = prices
        .windows(2)
        .find(|w| w[0].effective_from == w[1].effective_from)
    {
        return Err(PricingError::DuplicateVersion {
            file: file.to_owned(),
            model: name,
            effective_from: pair[0].effective_from,
        });
    }
    Ok(ParsedModel {
        name,
        aliases,
        prices,
    })
}

fn parse_price(
    file: &str,
    provider: &'static str,
    model: &str,
    raw: RawPrice,
) -> Result<ModelPrice> {
    let invalid = |reason: String| PricingError::InvalidEntry {
        file: file.to_owned(),
        model: model.to_owned(),
        reason,
    };
    let rate_error = |prefix: &str, problem: RateProblem| match problem {
        RateProblem::Negative(field, value) => PricingError::Negative {
            file: file.to_owned(),
            model: model.to_owned(),
            field: format!("{prefix}{field}"),
            value,
        },
        RateProblem::Missing(field) => invalid(format!("{prefix}{field} is required")),
        RateProblem::BothCacheWriteForms => invalid(format!(
            "{prefix}cache_write cannot be combined with cache_write_5m/cache_write_1h"
        )),
    };
    let effective_from = to_utc(&raw.effective_from).ok_or_else(|| {
        invalid(format!(
            "effective_from {} must be a date or a date-time with an offset",
            raw.effective_from
        ))
    })?;
    if !raw.source.starts_with("https://") {
        return Err(invalid(format!(
            "source must be the https:// URL of the pricing page, got {:?}",
            raw.source
        )));
    }
    let base = RateParts {
        input: raw.input,
        cached_input: raw.cached_input,
        cache_write: raw.cache_write,
        cache_write_5m: raw.cache_write_5m,
        cache_write_1h: raw.cache_write_1h,
        output: raw.output,
        reasoning: raw.reasoning,
    };
    let rates = base.resolve().map_err(|p| rate_error("", p))?;
    let request_fee = raw.request_fee.unwrap_or(0);
    if request_fee < 0 {
        return Err(rate_error(
            "",
            RateProblem::Negative("request_fee", request_fee),
        ));
    }
    let long_context = match raw.long_context {
        None => None,
        Some(tier) => {
            let threshold = u64::try_from(tier.threshold)
                .ok()
                .filter(|t| *t > 0)
                .ok_or_else(|| invalid("long_context.threshold must be positive".into()))?;
            let parts = RateParts {
                input: tier.input,
                cached_input: tier.cached_input,
                cache_write: tier.cache_write,
                cache_write_5m: tier.cache_write_5m,
                cache_write_1h: tier.cache_write_1h,
                output: tier.output,
                reasoning: tier.reasoning,
            };
            let rates = parts
                .resolve()
                .map_err(|p| rate_error("long_context.", p))?;
            Some(LongContext { threshold, rates })
        }
    };
    Ok(ModelPrice {
        provider,
        model: model.to_owned(),
        effective_from,
        rates,
        long_context,
        request_fee,
        discount_bps: 0,
        org_override: false,
        source: raw.source,
        note: raw.note.filter(|n| !n.trim().is_empty()),
    })
}

/// Model names compare case-insensitively; `None` for names no lookup could ever match.
pub(crate) fn normalize_name(name: &str) -> Option<String> {
    let ok = !name.is_empty() && name != "*" && !name.chars().any(char::is_whitespace);
    ok.then(|| name.to_ascii_lowercase())
}

/// A TOML date (00:00 UTC) or offset date-time as a UTC instant.
fn to_utc(value: &Datetime) -> Option<DateTime<Utc>> {
    let date = value.date?;
    let day = NaiveDate::from_ymd_opt(date.year.into(), date.month.into(), date.day.into())?;
    match (value.time, value.offset) {
        (None, None) => Some(day.and_time(NaiveTime::MIN).and_utc()),
        (Some(time), Some(offset)) => {
            let clock = NaiveTime::from_hms_nano_opt(
                time.hour.into(),
                time.minute.into(),
                time.second.into(),
                time.nanosecond,
            )?;
            let minutes = match offset {
                Offset::Z => 0,
                Offset::Custom { minutes } => i64::from(minutes),
            };
            Some(day.and_time(clock).and_utc() - TimeDelta::minutes(minutes))
        }
        _ => None,
    }
}
