//! The provider ids the price book knows.

/// Providers with a built-in price file, by their stable lowercase id (the same ids the provider
/// catalog stores and sends over the wire).
pub const BOOK_PROVIDERS: [&str; 8] = [
    "openai",
    "anthropic",
    "gemini",
    "bedrock",
    "azure",
    "cohere",
    "mistral",
    "perplexity",
];

/// Any OpenAI-compatible server: it has no list prices, but an organization can price its models
/// with replacement [`crate::PriceOverride`]s.
pub const OPENAI_COMPATIBLE: &str = "openai_compatible";

/// The static id for `id` if it names a provider with a price file.
pub(crate) fn book_provider(id: &str) -> Option<&'static str> {
    BOOK_PROVIDERS.iter().copied().find(|known| *known == id)
}

/// The static id for `id` if an override may name it: a book provider or [`OPENAI_COMPATIBLE`].
pub(crate) fn override_provider(id: &str) -> Option<&'static str> {
    book_provider(id).or((id == OPENAI_COMPATIBLE).then_some(OPENAI_COMPATIBLE))
}
