//! The provider catalog and everything provider-facing the gateway needs.
//!
//! - [`Provider`]: stable ids (`openai`, `anthropic`, …), display names, official base URLs.
//! - [`ProviderSecret`]: the credentials of one key, in secret types with a redacted `Debug`.
//! - [`check_format`]: offline shape checks with messages that say how to fix the key.
//! - [`validate`]: one live, read-only call classified into an [`Outcome`].
//! - [`prepare`] / [`Exchange`]: the proxy's path: translate a client request (OpenAI or
//!   Anthropic shaped) for any provider, build the signed upstream request, then translate the
//!   response, stream ([`StreamObserver`]) or error ([`ClientError`]) back, with normalized
//!   [`Usage`] (cached and cache-write tokens included).
//!
//! Nothing this crate returns (errors, messages, `Debug`) ever contains a secret.

mod auth;
mod chat;
mod client;
mod errors;
mod eventstream;
mod format;
mod provider;
mod request;
mod scrub;
mod secret;
pub mod sse;
mod stream;
mod translate;
mod usage;
mod validate;

pub use chat::{
    ClientApi, Exchange, PrepareError, Prepared, Translated, prepare, serves_responses,
    usage_from_response,
};
pub use client::{UpstreamClient, UpstreamError, UpstreamResponse, http_client};
pub use errors::{ApiShape, ClientError, ErrorKind, client_error, error_body, translate_error};
pub use format::{FormatError, check_format};
pub use provider::{Provider, UnknownProvider, bedrock_control_plane_url, bedrock_runtime_url};
pub use request::{BuildError, Call, Target, UpstreamRequest, build_upstream, credential_header};
pub use secret::ProviderSecret;
pub use stream::{StreamObserver, StreamSummary};
pub use translate::TranslateError;
pub use usage::{FinishReason, Usage};
pub use validate::{
    DEFAULT_TIMEOUT, Outcome, ValidateOptions, ValidationResult, validate, validate_with,
};

/// The `anthropic-version` header value Keyward sends.
pub const ANTHROPIC_VERSION: &str = auth::ANTHROPIC_VERSION;

/// The SigV4 service name used to sign Bedrock requests.
pub const BEDROCK_SIGNING_SERVICE: &str = auth::sigv4::BEDROCK_SERVICE;
