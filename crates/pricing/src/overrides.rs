//! Per-organization price overrides: negotiated discounts and contract prices.
//!
//! An organization's book is the list-price book with its overrides folded in
//! ([`PriceBook::with_overrides`]), so the hot path still does one plain lookup.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::book::PriceBook;
use crate::data::{RateParts, RateProblem, normalize_name};
use crate::error::{PricingError, Result};
use crate::price::{ModelPrice, Rates};
use crate::provider::override_provider;

/// One organization-specific change to list prices, in force from `effective_from` until a
/// later override for the same provider and model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceOverride {
    /// Provider id, one of [`crate::BOOK_PROVIDERS`] or [`crate::OPENAI_COMPATIBLE`].
    pub provider: String,
    /// A model name (resolved like [`PriceBook::resolve`] for discounts) or `"*"` for every
    /// model of the provider.
    pub model: String,
    /// When the override starts to apply.
    pub effective_from: DateTime<Utc>,
    /// What changes.
    pub adjustment: Adjustment,
}

/// How an override changes the price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Adjustment {
    /// A discount on the whole cost (every token kind, both tiers and the request fee) in basis
    /// points, `0..=10_000` (`1_500` = 15% off). It follows list-price changes: a later list
    /// price is discounted too. `0` ends an earlier override.
    DiscountBps(u32),
    /// Contract prices that replace the list price entirely (a flat price: no long-context
    /// tier). Needs a specific model; a model the book does not know is added with exactly this
    /// name, which is how fine-tuned or self-hosted models get a price.
    Replace(ReplacementPrices),
}

/// Replacement prices in micro-dollars per 1M tokens (`request_fee`: per request). Missing parts
/// default as in price files: cached input and cache writes to `input`, the 1-hour write to the
/// 5-minute write, reasoning to `output`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplacementPrices {
    /// Uncached prompt tokens.
    pub input: i64,
    /// Completion tokens.
    pub output: i64,
    /// Cache reads.
    #[serde(default)]
    pub cached_input: Option<i64>,
    /// 5-minute (or only) cache writes.
    #[serde(default)]
    pub cache_write_5m: Option<i64>,
    /// 1-hour cache writes.
    #[serde(default)]
    pub cache_write_1h: Option<i64>,
    /// Reasoning tokens.
    #[serde(default)]
    pub reasoning: Option<i64>,
    /// Flat fee per request, in micro-dollars.
    #[serde(default)]
    pub request_fee: i64,
}

/// An override that passed validation, with its model and prices resolved.
struct Checked {
    /// Canonical model name, or `None` for `*`.
    model: Option<String>,
    effective_from: DateTime<Utc>,
    change: Change,
}

#[derive(Clone, Copy)]
enum Change {
    Discount(u32),
    Replace { rates: Rates, request_fee: i64 },
}

impl PriceBook {
    /// This book with an organization's overrides applied; the receiver is unchanged.
    ///
    /// At any instant a model's price is the list price in force, adjusted by the latest
    /// override in force **for that model**, or failing one, the latest `*` override in force
    /// (a specific override always beats `*`). Rejects, naming the override by index: unknown
    /// providers, empty model names, discounts over 10,000 bps, discounts for models the book
    /// does not know, replacement prices for `*`, negative replacement prices, and two overrides
    /// for the same provider, model and `effective_from`.
    pub fn with_overrides(&self, overrides: &[PriceOverride]) -> Result<PriceBook> {
        let mut by_provider: BTreeMap<&'static str, Vec<Checked>> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for (index, over) in overrides.iter().enumerate() {
            let (provider, checked) = self.check(index, over)?;
            if !seen.insert((provider, checked.model.clone(), checked.effective_from)) {
                return Err(reject(
                    index,
                    over,
                    "another override has the same provider, model and effective_from",
                ));
            }
            by_provider.entry(provider).or_default().push(checked);
        }
        let mut book = self.clone();
        for (provider, mut checked) in by_provider {
            checked.sort_by_key(|c| c.effective_from);
            let prices = book.providers.entry(provider).or_default();
            let wildcard: Vec<&Checked> = checked.iter().filter(|c| c.model.is_none()).collect();
            let mut targets: BTreeSet<String> =
                checked.iter().filter_map(|c| c.model.clone()).collect();
            if !wildcard.is_empty() {
                targets.extend(prices.models.keys().cloned());
            }
            for model in targets {
                let specific: Vec<&Checked> = checked
                    .iter()
                    .filter(|c| c.model.as_deref() == Some(model.as_str()))
                    .collect();
                let list = prices.models.get(&model).map_or(&[][..], Vec::as_slice);
                let merged = fold(provider, &model, list, &specific, &wildcard);
                if !merged.is_empty() {
                    prices.models.insert(model, merged);
                }
            }
        }
        Ok(book)
    }

    fn check(&self, index: usize, over: &PriceOverride) -> Result<(&'static str, Checked)> {
        let provider = override_provider(&over.provider)
            .ok_or_else(|| reject(index, over, "unknown provider"))?;
        let checked = |model, change| Checked {
            model,
            effective_from: over.effective_from,
            change,
        };
        let known = || self.resolve(provider, &over.model).map(str::to_owned);
        match &over.adjustment {
            Adjustment::DiscountBps(bps) if *bps > 10_000 => Err(reject(
                index,
                over,
                "discount_bps must be between 0 and 10000",
            )),
            Adjustment::DiscountBps(bps) if over.model == "*" => {
                Ok((provider, checked(None, Change::Discount(*bps))))
            }
            Adjustment::DiscountBps(bps) => match known() {
                Some(model) => Ok((provider, checked(Some(model), Change::Discount(*bps)))),
                None => Err(reject(
                    index,
                    over,
                    "the price book has no such model to discount",
                )),
            },
            Adjustment::Replace(_) if over.model == "*" => Err(reject(
                index,
                over,
                "replacement prices need a specific model, not \"*\"",
            )),
            Adjustment::Replace(prices) => {
                let rates = parts(prices).resolve().map_err(|problem| {
                    let reason = match problem {
                        RateProblem::Negative(field, value) => {
                            format!("{field} must not be negative (got {value})")
                        }
                        RateProblem::Missing(field) => format!("{field} is required"),
                        RateProblem::BothCacheWriteForms => {
                            "conflicting cache write prices".to_owned()
                        }
                    };
                    reject(index, over, &reason)
                })?;
                if prices.request_fee < 0 {
                    return Err(reject(index, over, "request_fee must not be negative"));
                }
                let exact = self
                    .providers
                    .get(provider)
                    .and_then(|p| p.exact(&over.model))
                    .map(str::to_owned);
                let model = match exact {
                    Some(model) => model,
                    None => normalize_name(&over.model).ok_or_else(|| {
                        reject(
                            index,
                            over,
                            "model name must be non-empty and without spaces",
                        )
                    })?,
                };
                let change = Change::Replace {
                    rates,
                    request_fee: prices.request_fee,
                };
                Ok((provider, checked(Some(model), change)))
            }
        }
    }
}

/// The versions of `model` once overrides are folded into its list prices.
fn fold(
    provider: &'static str,
    model: &str,
    list: &[ModelPrice],
    specific: &[&Checked],
    wildcard: &[&Checked],
) -> Vec<ModelPrice> {
    let in_force = |at: DateTime<Utc>, overrides: &[&Checked]| {
        overrides
            .iter()
            .rev()
            .find(|c| c.effective_from <= at)
            .map(|c| c.change)
    };
    let instants: BTreeSet<DateTime<Utc>> = list
        .iter()
        .map(|p| p.effective_from)
        .chain(specific.iter().chain(wildcard).map(|c| c.effective_from))
        .collect();
    let mut versions = Vec::with_capacity(instants.len());
    for at in instants {
        let listed = list.iter().rev().find(|p| p.effective_from <= at);
        let adjustment = in_force(at, specific).or_else(|| in_force(at, wildcard));
        let version = match (adjustment, listed) {
            (Some(Change::Replace { rates, request_fee }), _) => ModelPrice {
                provider,
                model: model.to_owned(),
                effective_from: at,
                rates,
                long_context: None,
                request_fee,
                discount_bps: 0,
                org_override: true,
                source: "org override".to_owned(),
                note: None,
            },
            (Some(Change::Discount(bps)), Some(listed)) => ModelPrice {
                effective_from: at,
                discount_bps: bps,
                org_override: true,
                ..listed.clone()
            },
            (None, Some(listed)) => ModelPrice {
                effective_from: at,
                ..listed.clone()
            },
            (_, None) => continue,
        };
        versions.push(version);
    }
    versions
}

fn parts(prices: &ReplacementPrices) -> RateParts {
    RateParts {
        input: Some(prices.input),
        cached_input: prices.cached_input,
        cache_write: None,
        cache_write_5m: prices.cache_write_5m,
        cache_write_1h: prices.cache_write_1h,
        output: Some(prices.output),
        reasoning: prices.reasoning,
    }
}

fn reject(index: usize, over: &PriceOverride, reason: &str) -> PricingError {
    PricingError::InvalidOverride {
        index,
        provider: over.provider.clone(),
        model: over.model.clone(),
        reason: reason.to_owned(),
    }
}
