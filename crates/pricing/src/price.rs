//! A model's price at one point in time.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The rate of each kind of token, in micro-dollars per 1M tokens (`150_000` = $0.15 / 1M).
///
/// Every field is always set: parts a provider does not price separately are filled in when the
/// data is loaded (cached input and cache writes cost the input rate, reasoning costs the output
/// rate), so a token is never free by omission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rates {
    /// Uncached prompt tokens.
    pub input: i64,
    /// Prompt tokens served from the provider's cache (cache hits / reads).
    pub cached_input: i64,
    /// Prompt tokens written to a cache kept for 5 minutes (the only write rate for providers
    /// with a single cache-write price).
    pub cache_write_5m: i64,
    /// Prompt tokens written to a cache kept for 1 hour.
    pub cache_write_1h: i64,
    /// Visible completion tokens.
    pub output: i64,
    /// Reasoning ("thinking") tokens the provider reports apart from the visible output.
    pub reasoning: i64,
}

impl Rates {
    /// The rates as `(field name, value)` pairs, for validation and display.
    pub fn parts(&self) -> [(&'static str, i64); 6] {
        [
            ("input", self.input),
            ("cached_input", self.cached_input),
            ("cache_write_5m", self.cache_write_5m),
            ("cache_write_1h", self.cache_write_1h),
            ("output", self.output),
            ("reasoning", self.reasoning),
        ]
    }
}

/// A second price tier for long prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LongContext {
    /// The tier applies when a request's prompt tokens ([`crate::Usage::prompt_tokens`]: input,
    /// cached input and cache writes together) are strictly greater than this.
    pub threshold: u64,
    /// The rates that then replace the base rates for every token of the request.
    pub rates: Rates,
}

/// What one model costs from `effective_from` until the next entry for the same model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelPrice {
    /// Stable provider id, e.g. `"openai"`.
    pub provider: &'static str,
    /// Canonical model name (what aliases and snapshot ids resolve to).
    pub model: String,
    /// The instant this price took effect (dates in the data mean 00:00 UTC).
    pub effective_from: DateTime<Utc>,
    /// Base rates.
    pub rates: Rates,
    /// Optional long-prompt tier.
    pub long_context: Option<LongContext>,
    /// A flat fee per request, in micro-dollars (Perplexity's request fee); usually 0.
    pub request_fee: i64,
    /// An organization discount in basis points (100 = 1%), applied to the whole cost before
    /// rounding; 0 for list prices.
    pub discount_bps: u32,
    /// Whether an organization override shaped this price (a discount or replacement prices).
    pub org_override: bool,
    /// URL of the pricing page the figures come from (or `"org override"`).
    pub source: String,
    /// Caveats about the figures; a note starting with `unverified` marks a price that could not
    /// be confirmed against the source.
    pub note: Option<String>,
}

impl ModelPrice {
    /// The rates that apply to a request with `prompt_tokens` prompt tokens: the long-context
    /// tier when the prompt is over its threshold, the base rates otherwise.
    pub fn rates_for(&self, prompt_tokens: u64) -> &Rates {
        match &self.long_context {
            Some(tier) if prompt_tokens > tier.threshold => &tier.rates,
            _ => &self.rates,
        }
    }

    /// False when the entry's note marks its figures as unverified.
    pub fn is_verified(&self) -> bool {
        !self
            .note
            .as_deref()
            .is_some_and(|note| note.starts_with("unverified"))
    }
}
