//! Model resolution: a catalog model name (from the price book, e.g. `gpt-4o-mini` → OpenAI,
//! snapshots and aliases included) or an explicit `provider/model`.

use std::collections::BTreeMap;

use chrono::Utc;
use keyward_pricing::{ModelPrice, PriceBook};
use keyward_providers::Provider;

/// Providers in the order a bare model name is looked up (first-party APIs before the clouds
/// that resell the same models).
const ORDER: [Provider; 8] = [
    Provider::OpenAi,
    Provider::Anthropic,
    Provider::Gemini,
    Provider::Mistral,
    Provider::Cohere,
    Provider::Perplexity,
    Provider::Bedrock,
    Provider::Azure,
];

/// A resolved model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub provider: Provider,
    /// The model id sent upstream.
    pub model: String,
    /// The catalog name, when the price book knows the model.
    pub canonical: Option<String>,
}

/// The catalog and the price book.
pub struct Catalog {
    book: PriceBook,
    /// Canonical model name → provider, for `GET /v1/models` and bare names.
    models: BTreeMap<String, Provider>,
}

impl Catalog {
    pub fn new(book: PriceBook) -> Self {
        let mut models = BTreeMap::new();
        for p in ORDER.iter().rev() {
            for price in book.entries().filter(|e| e.provider == p.as_str()) {
                models.insert(price.model.clone(), *p);
            }
        }
        Self { book, models }
    }

    /// Resolves what a client asked for.
    pub fn route(&self, requested: &str) -> Option<Route> {
        let requested = requested.trim();
        if requested.is_empty() {
            return None;
        }
        if let Some((prefix, model)) = requested.split_once('/')
            && let Ok(provider) = prefix.parse::<Provider>()
            && !model.is_empty()
        {
            return Some(Route {
                provider,
                model: model.to_owned(),
                canonical: self
                    .book
                    .resolve(provider.as_str(), model)
                    .map(str::to_owned),
            });
        }
        if let Some(provider) = self.models.get(requested) {
            return Some(Route {
                provider: *provider,
                model: requested.to_owned(),
                canonical: Some(requested.to_owned()),
            });
        }
        ORDER.iter().find_map(|p| {
            self.book.resolve(p.as_str(), requested).map(|c| Route {
                provider: *p,
                model: requested.to_owned(),
                canonical: Some(c.to_owned()),
            })
        })
    }

    /// The price in force now.
    pub fn price(&self, route: &Route) -> Option<&ModelPrice> {
        self.book
            .lookup(route.provider.as_str(), &route.model, Utc::now())
    }

    /// Every catalog model with its provider.
    pub fn models(&self) -> impl Iterator<Item = (&str, Provider)> {
        self.models.iter().map(|(m, p)| (m.as_str(), *p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_snapshots_and_explicit_providers() {
        let c = Catalog::new(PriceBook::builtin().unwrap());
        let r = c.route("gpt-4o-mini").unwrap();
        assert_eq!(r.provider, Provider::OpenAi);
        let r = c.route("gpt-4o-mini-2024-07-18").unwrap();
        assert_eq!(
            (r.provider, r.canonical.as_deref()),
            (Provider::OpenAi, Some("gpt-4o-mini"))
        );
        let r = c.route("anthropic/claude-x-unknown").unwrap();
        assert_eq!(
            (r.provider, r.model.as_str()),
            (Provider::Anthropic, "claude-x-unknown")
        );
        assert!(r.canonical.is_none());
        assert_eq!(
            c.route("claude-sonnet-4-20250514").map(|r| r.provider),
            Some(Provider::Anthropic)
        );
        assert!(c.route("no-such-model").is_none());
        assert!(c.price(&c.route("gpt-4o-mini").unwrap()).is_some());
    }
}
