//! Token usage and exact cost arithmetic.

use serde::{Deserialize, Serialize};

use crate::price::ModelPrice;

/// Micro-dollar rates are per 1M tokens.
const TOKENS_PER_RATE_UNIT: i128 = 1_000_000;
/// Discounts are in basis points.
const BPS: i128 = 10_000;

/// Tokens used by one request, normalized so that **every token is counted in exactly one
/// field** and billed at exactly one rate.
///
/// Providers report usage differently; build a `Usage` with the matching constructor rather than
/// copying fields by name:
///
/// | field | OpenAI / Azure / Mistral / Perplexity | Anthropic / Bedrock Claude | Gemini |
/// |---|---|---|---|
/// | `input_tokens` | `prompt_tokens − cached_tokens` | `input_tokens` | `promptTokenCount − cachedContentTokenCount` |
/// | `cached_input_tokens` | `prompt_tokens_details.cached_tokens` | `cache_read_input_tokens` | `cachedContentTokenCount` |
/// | `cache_write_5m_tokens` | 0 | `cache_creation.ephemeral_5m_input_tokens` | 0 |
/// | `cache_write_1h_tokens` | 0 | `cache_creation.ephemeral_1h_input_tokens` | 0 |
/// | `output_tokens` | `completion_tokens − reasoning_tokens` | `output_tokens` (thinking included) | `candidatesTokenCount` |
/// | `reasoning_tokens` | `completion_tokens_details.reasoning_tokens` | 0 | `thoughtsTokenCount` |
///
/// So `input_tokens` is the **uncached, non-cache-write** prompt only, and `output_tokens`
/// **excludes** reasoning tokens: OpenAI's `completion_tokens` already contains its reasoning
/// tokens, and splitting them out here is what keeps them from being charged twice. Reasoning is
/// billed at the model's `reasoning` rate, which equals the output rate unless the provider
/// prices it apart (Perplexity Sonar Deep Research).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens neither read from nor written to a cache.
    pub input_tokens: u64,
    /// Prompt tokens read from a cache.
    pub cached_input_tokens: u64,
    /// Prompt tokens written to a 5-minute cache (or the provider's only cache).
    pub cache_write_5m_tokens: u64,
    /// Prompt tokens written to a 1-hour cache.
    pub cache_write_1h_tokens: u64,
    /// Completion tokens, excluding reasoning tokens.
    pub output_tokens: u64,
    /// Reasoning tokens reported apart from the visible completion.
    pub reasoning_tokens: u64,
}

impl Usage {
    /// From OpenAI-style usage, where `prompt` includes `cached` and `completion` includes
    /// `reasoning`. A part larger than its whole is clamped to the whole, so the tokens billed
    /// never exceed the tokens the provider reported.
    pub fn from_openai(prompt: u64, cached: u64, completion: u64, reasoning: u64) -> Self {
        let cached = cached.min(prompt);
        let reasoning = reasoning.min(completion);
        Usage {
            input_tokens: prompt - cached,
            cached_input_tokens: cached,
            output_tokens: completion - reasoning,
            reasoning_tokens: reasoning,
            ..Usage::default()
        }
    }

    /// From Anthropic-style usage, where `input` already excludes cache reads and writes and
    /// `output` includes any thinking tokens.
    pub fn from_anthropic(
        input: u64,
        cache_read: u64,
        cache_write_5m: u64,
        cache_write_1h: u64,
        output: u64,
    ) -> Self {
        Usage {
            input_tokens: input,
            cached_input_tokens: cache_read,
            cache_write_5m_tokens: cache_write_5m,
            cache_write_1h_tokens: cache_write_1h,
            output_tokens: output,
            reasoning_tokens: 0,
        }
    }

    /// From Gemini `usageMetadata`, where `prompt` includes `cached` and `thoughts` are reported
    /// apart from `candidates`. `cached` is clamped to `prompt`.
    pub fn from_gemini(prompt: u64, cached: u64, candidates: u64, thoughts: u64) -> Self {
        let cached = cached.min(prompt);
        Usage {
            input_tokens: prompt - cached,
            cached_input_tokens: cached,
            output_tokens: candidates,
            reasoning_tokens: thoughts,
            ..Usage::default()
        }
    }

    /// All prompt tokens: input, cached input and cache writes. This is what long-context
    /// thresholds compare against.
    pub fn prompt_tokens(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.cached_input_tokens)
            .saturating_add(self.cache_write_5m_tokens)
            .saturating_add(self.cache_write_1h_tokens)
    }
}

/// The cost of one request in micro-dollars.
///
/// Each token count is multiplied by its rate (micro-dollars per 1M tokens) and the products are
/// summed exactly in `i128`, together with the request fee; an organization discount multiplies
/// that sum by `(10_000 − discount_bps)`. The total is then divided by 1,000,000 (× 10,000 for the
/// discount) and **rounded half-up once**, so `x.5` micro-dollars becomes `x + 1`. Rates come from
/// the long-context tier when [`Usage::prompt_tokens`] exceeds its threshold. A result beyond
/// `i64::MAX` saturates.
pub fn cost_micros(price: &ModelPrice, usage: &Usage) -> i64 {
    let rates = price.rates_for(usage.prompt_tokens());
    let terms = [
        (usage.input_tokens, rates.input),
        (usage.cached_input_tokens, rates.cached_input),
        (usage.cache_write_5m_tokens, rates.cache_write_5m),
        (usage.cache_write_1h_tokens, rates.cache_write_1h),
        (usage.output_tokens, rates.output),
        (usage.reasoning_tokens, rates.reasoning),
    ];
    let tokens_times_rates: i128 = terms
        .iter()
        .map(|(tokens, rate)| i128::from(*tokens) * i128::from(*rate))
        .sum();
    let scaled = tokens_times_rates + i128::from(price.request_fee) * TOKENS_PER_RATE_UNIT;
    let (numerator, denominator) = discounted(price, scaled);
    saturate((numerator + denominator / 2).div_euclid(denominator))
}

/// The most a request can cost, for reserving budget before it is sent, in micro-dollars
/// (**rounded up**).
///
/// `est_input_tokens` are priced at the highest prompt rate the model has (a prompt may be
/// written to the 1-hour cache, which costs more than plain input), and `max_output_tokens` at
/// the higher of the output and reasoning rates; the request fee and any discount apply as in
/// [`cost_micros`]. The long-context tier applies when `est_input_tokens` exceeds its threshold,
/// so pass the prompt's full token count.
pub fn max_cost_micros(price: &ModelPrice, est_input_tokens: u64, max_output_tokens: u64) -> i64 {
    let rates = price.rates_for(est_input_tokens);
    let prompt_rate = rates
        .input
        .max(rates.cached_input)
        .max(rates.cache_write_5m)
        .max(rates.cache_write_1h);
    let completion_rate = rates.output.max(rates.reasoning);
    let scaled = i128::from(est_input_tokens) * i128::from(prompt_rate)
        + i128::from(max_output_tokens) * i128::from(completion_rate)
        + i128::from(price.request_fee) * TOKENS_PER_RATE_UNIT;
    let (numerator, denominator) = discounted(price, scaled);
    saturate((numerator + denominator - 1).div_euclid(denominator))
}

/// `scaled` (micro-dollars × 1M) with the discount applied, as a fraction to be rounded.
fn discounted(price: &ModelPrice, scaled: i128) -> (i128, i128) {
    let kept = BPS - i128::from(price.discount_bps.min(10_000));
    (scaled * kept, TOKENS_PER_RATE_UNIT * BPS)
}

fn saturate(micros: i128) -> i64 {
    i64::try_from(micros).unwrap_or(i64::MAX)
}
