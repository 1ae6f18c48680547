//! The price book: every model's price versions, indexed for lookup.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::data::{self, ParsedFile};
use crate::error::{PricingError, Result};
use crate::price::ModelPrice;

/// All known prices, by provider and canonical model name, each model with its dated versions.
///
/// Build it once ([`PriceBook::builtin`]), derive one per organization with
/// [`PriceBook::with_overrides`], and share it read-only: lookups borrow, never allocate beyond
/// lower-casing the requested name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceBook {
    pub(crate) providers: BTreeMap<&'static str, ProviderPrices>,
}

/// One provider's models.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ProviderPrices {
    /// Canonical name → versions sorted by `effective_from`, never empty.
    pub(crate) models: BTreeMap<String, Vec<ModelPrice>>,
    /// Alias → canonical name.
    pub(crate) aliases: BTreeMap<String, String>,
}

impl PriceBook {
    /// The price book compiled into this binary from `crates/pricing/data/*.toml`.
    ///
    /// Fails only if the embedded data is invalid, which the crate's tests rule out; callers
    /// still get an error rather than a panic.
    pub fn builtin() -> Result<Self> {
        Self::from_toml(&data::BUILTIN)
    }

    /// A price book from `(file name, TOML text)` pairs in the price-file format.
    ///
    /// Rejects, naming the file and model: unparsable TOML or unknown fields, unknown providers,
    /// negative prices, missing `input`/`output`/`source`, a source that is not an `https://` URL,
    /// two entries of one model with the same `effective_from`, and a name or alias declared twice
    /// for one provider (even across files).
    pub fn from_toml(files: &[(&str, &str)]) -> Result<Self> {
        let mut book = PriceBook::default();
        for (file, text) in files {
            let parsed = data::parse_file(file, text)?;
            book.add_file(file, parsed)?;
        }
        Ok(book)
    }

    fn add_file(&mut self, file: &str, parsed: ParsedFile) -> Result<()> {
        let provider = parsed.provider;
        let prices = self.providers.entry(provider).or_default();
        let duplicate = |name: &str| PricingError::DuplicateName {
            file: file.to_owned(),
            provider: provider.to_owned(),
            name: name.to_owned(),
        };
        for model in parsed.models {
            if prices.is_known(&model.name) {
                return Err(duplicate(&model.name));
            }
            prices.models.insert(model.name.clone(), model.prices);
            for alias in model.aliases {
                if prices.is_known(&alias) {
                    return Err(duplicate(&alias));
                }
                prices.aliases.insert(alias, model.name.clone());
            }
        }
        Ok(())
    }

    /// The price of `model` from `provider` in force at `ts`: the version with the latest
    /// `effective_from` at or before `ts`. `None` when the model is unknown or `ts` is before
    /// its first price. The model name is resolved as described in [`PriceBook::resolve`].
    pub fn lookup(&self, provider: &str, model: &str, ts: DateTime<Utc>) -> Option<&ModelPrice> {
        let versions = self.versions(provider, model);
        let in_force = versions.partition_point(|p| p.effective_from <= ts);
        in_force.checked_sub(1).and_then(|i| versions.get(i))
    }

    /// Every price version of the model `model` resolves to, oldest first (empty if unknown).
    pub fn versions(&self, provider: &str, model: &str) -> &[ModelPrice] {
        let Some(prices) = self.providers.get(provider) else {
            return &[];
        };
        prices
            .resolve(model)
            .and_then(|canonical| prices.models.get(canonical))
            .map_or(&[], Vec::as_slice)
    }

    /// The canonical name `model` resolves to for `provider`, compared case-insensitively:
    ///
    /// 1. **exact**: a canonical model name (`gpt-4o-mini`);
    /// 2. **alias**: a name listed in a model's `aliases` (`command-r` → `command-r-08-2024`,
    ///    `us.anthropic.…` Bedrock profile ids);
    /// 3. **snapshot prefix**: the longest canonical name or alias that `model` starts with,
    ///    provided the rest is a separator (`-`, `@`, `:`, `_`) followed by at least three digits,
    ///    i.e. a dated or numbered snapshot (`gpt-4o-mini-2024-07-18` → `gpt-4o-mini`,
    ///    `claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`, `gemini-2.0-flash-001`).
    ///
    /// Anything else is unknown: `o3-pro` does not fall back to `o3`, and `claude-sonnet-4-7`
    /// does not fall back to `claude-sonnet-4`, because a variant's price must never be guessed.
    pub fn resolve(&self, provider: &str, model: &str) -> Option<&str> {
        self.providers.get(provider)?.resolve(model)
    }

    /// Every price version in the book, by provider, model and date.
    pub fn entries(&self) -> impl Iterator<Item = &ModelPrice> {
        self.providers
            .values()
            .flat_map(|p| p.models.values())
            .flatten()
    }
}

impl ProviderPrices {
    fn is_known(&self, name: &str) -> bool {
        self.models.contains_key(name) || self.aliases.contains_key(name)
    }

    /// The canonical name for an exact model name or alias (steps 1 and 2 of resolution).
    pub(crate) fn exact(&self, model: &str) -> Option<&str> {
        let wanted = model.to_ascii_lowercase();
        if let Some((name, _)) = self.models.get_key_value(&wanted) {
            return Some(name);
        }
        self.aliases.get(&wanted).map(String::as_str)
    }

    pub(crate) fn resolve(&self, model: &str) -> Option<&str> {
        if let Some(canonical) = self.exact(model) {
            return Some(canonical);
        }
        let wanted = model.to_ascii_lowercase();
        let by_model = self.models.keys().map(|name| (name, name));
        let by_alias = self.aliases.iter();
        by_model
            .chain(by_alias)
            .filter(|(known, _)| {
                wanted
                    .strip_prefix(known.as_str())
                    .is_some_and(is_snapshot_suffix)
            })
            .max_by_key(|(known, _)| known.len())
            .map(|(_, canonical)| canonical.as_str())
    }
}

/// A separator followed by at least three digits: `-2024-08-06`, `-20241022`, `@20240620`, `-001`.
fn is_snapshot_suffix(rest: &str) -> bool {
    let mut chars = rest.chars();
    matches!(chars.next(), Some('-' | '@' | ':' | '_'))
        && chars.take_while(char::is_ascii_digit).count() >= 3
}

#[cfg(test)]
mod tests {
    use super::is_snapshot_suffix;

    #[test]
    fn snapshot_suffixes() {
        for ok in [
            "-2024-08-06",
            "-20241022",
            "@20240620",
            "-001",
            ":123",
            "_2025",
        ] {
            assert!(is_snapshot_suffix(ok), "{ok}");
        }
        for no in [
            "",
            "-",
            "-5",
            "-12",
            "-mini",
            "-pro-2025",
            ".1",
            "2024",
            "-v1:0",
        ] {
            assert!(!is_snapshot_suffix(no), "{no}");
        }
    }
}
