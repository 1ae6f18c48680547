//! The provider catalog: which LLM providers Keyward knows, what their keys look like, and how
//! to check a key against the provider with its cheapest authenticated call.
//!
//! - [`Provider`]: stable ids (`openai`, `anthropic`, …), display names, official base URLs.
//! - [`ProviderSecret`]: the credentials of one key, in secret types with a redacted `Debug`.
//! - [`check_format`]: offline shape checks with messages that say how to fix the key.
//! - [`validate`]: one live, read-only call classified into an [`Outcome`].
//!
//! Nothing this crate returns (errors, messages, `Debug`) ever contains a secret.

mod client;
mod format;
mod provider;
mod scrub;
mod secret;
mod validate;

pub use client::http_client;
pub use format::{FormatError, check_format};
pub use provider::{Provider, UnknownProvider, bedrock_control_plane_url, bedrock_runtime_url};
pub use secret::ProviderSecret;
pub use validate::{
    DEFAULT_TIMEOUT, Outcome, ValidateOptions, ValidationResult, validate, validate_with,
};

/// The `anthropic-version` header value Keyward sends.
pub const ANTHROPIC_VERSION: &str = validate::ANTHROPIC_VERSION;

/// The SigV4 service name used to sign Bedrock requests.
pub const BEDROCK_SIGNING_SERVICE: &str = validate::BEDROCK_SERVICE;
