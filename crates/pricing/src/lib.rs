//! Keyward's price book: what every LLM call costs, as exact integer micro-dollars.
//!
//! Prices are data, not code: one TOML file per provider under `crates/pricing/data/`, embedded
//! into the binary with `include_str!` and validated when [`PriceBook::builtin`] loads them. Every
//! entry carries the date it took effect and the URL it was taken from; entries whose figures
//! could not be confirmed say so in their `note` (see [`ModelPrice::is_verified`]).
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use keyward_pricing::{cost_micros, PriceBook, Usage};
//!
//! let book = PriceBook::builtin()?;
//! let at = Utc.with_ymd_and_hms(2025, 9, 1, 0, 0, 0).single().unwrap_or_default();
//! let price = book.lookup("openai", "gpt-4o-mini-2024-07-18", at).ok_or("unpriced")?;
//! // 1,000 prompt tokens of which 200 cached, 300 completion tokens:
//! let usage = Usage::from_openai(1_000, 200, 300, 0);
//! // 800 × 150_000 + 200 × 75_000 + 300 × 600_000 = 315_000_000 µ$·tokens/1M → 315 µ$
//! assert_eq!(cost_micros(price, &usage), 315);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Conventions, in one place:
//! - **Money** is `i64` micro-dollars (1 USD = 1,000,000). Rates are micro-dollars per 1M tokens.
//! - **Usage** counts every token exactly once; see [`Usage`] for how each provider's fields map.
//! - **Rounding**: a cost is summed exactly in `i128` and rounded half-up to a whole micro-dollar
//!   once, at the end ([`cost_micros`]); reservations round up ([`max_cost_micros`]).
//! - **Versions**: the price in force at a timestamp is the entry with the latest
//!   `effective_from` at or before it ([`PriceBook::lookup`]).
//! - **Model names** resolve exactly, then through aliases, then by the longest known name that
//!   is followed by a numeric snapshot tag ([`PriceBook::resolve`]).

mod book;
mod cost;
mod data;
mod error;
mod overrides;
mod price;
mod provider;

pub use book::PriceBook;
pub use cost::{Usage, cost_micros, max_cost_micros};
pub use error::{PricingError, Result};
pub use overrides::{Adjustment, PriceOverride, ReplacementPrices};
pub use price::{LongContext, ModelPrice, Rates};
pub use provider::{BOOK_PROVIDERS, OPENAI_COMPATIBLE};
