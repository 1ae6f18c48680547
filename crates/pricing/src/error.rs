//! Errors from loading price data and applying overrides.

use chrono::{DateTime, Utc};

/// Why a price book could not be built. Every variant names the file (or override) and the
/// model at fault, so a bad edit to the data is found from the message alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    /// The file is not valid TOML or does not have the price-file shape.
    #[error("{file}: cannot parse price data: {message}")]
    Parse {
        /// The file (or source name) being loaded.
        file: String,
        /// The parser's explanation, with line and column.
        message: String,
    },
    /// The file's `provider` is not one of [`crate::BOOK_PROVIDERS`].
    #[error("{file}: unknown provider {provider:?}")]
    UnknownProvider {
        /// The file being loaded.
        file: String,
        /// The provider id it declared.
        provider: String,
    },
    /// A price or threshold is below zero.
    #[error("{file}: model {model:?}: {field} must not be negative (got {value})")]
    Negative {
        /// The file being loaded.
        file: String,
        /// The model whose entry is wrong.
        model: String,
        /// The offending field, e.g. `"input"` or `"long_context.output"`.
        field: String,
        /// The value found.
        value: i64,
    },
    /// Two entries of one model take effect at the same instant, so neither would win.
    #[error("{file}: model {model:?} has two prices effective from {effective_from}")]
    DuplicateVersion {
        /// The file being loaded.
        file: String,
        /// The model with the clash.
        model: String,
        /// The shared `effective_from`.
        effective_from: DateTime<Utc>,
    },
    /// A model name or alias is declared twice for one provider, so lookups would be ambiguous.
    #[error("{file}: model name or alias {name:?} is declared more than once for {provider}")]
    DuplicateName {
        /// The file being loaded.
        file: String,
        /// The provider whose names clash.
        provider: String,
        /// The name declared twice.
        name: String,
    },
    /// Any other problem with one entry (missing source, bad date, empty name, …).
    #[error("{file}: model {model:?}: {reason}")]
    InvalidEntry {
        /// The file being loaded.
        file: String,
        /// The model whose entry is wrong.
        model: String,
        /// What is wrong.
        reason: String,
    },
    /// An organization price override is malformed or refers to nothing.
    #[error("price override #{index} ({provider}/{model}): {reason}")]
    InvalidOverride {
        /// Position of the override in the slice given to [`crate::PriceBook::with_overrides`].
        index: usize,
        /// The provider it names.
        provider: String,
        /// The model it names (or `*`).
        model: String,
        /// What is wrong.
        reason: String,
    },
}

/// `Result` with [`PricingError`].
pub type Result<T, E = PricingError> = std::result::Result<T, E>;
