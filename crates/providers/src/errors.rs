//! Errors in the client's API shape: upstream error bodies translated (and scrubbed of every
//! secret), and errors the gateway itself raises.
//!
//! Shapes: OpenAI `{"error":{"message","type","param","code"}}`
//! (<https://platform.openai.com/docs/guides/error-codes/api-errors>), Anthropic
//! `{"type":"error","error":{"type","message"}}` (<https://docs.anthropic.com/en/api/errors>).

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::provider::Provider;
use crate::scrub::scrub_for_client;
use crate::secret::ProviderSecret;
use crate::validate::upstream::{aws_error_type, gemini_key_rejected, retry_after, secret_values};

/// The API shape a client speaks, which decides the shape of its errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiShape {
    /// OpenAI (`/v1/chat/completions`, `/v1/embeddings`).
    OpenAi,
    /// Anthropic (`/v1/messages`).
    Anthropic,
}

/// What went wrong, in terms both API shapes can express.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request is malformed or unsupported (400).
    InvalidRequest,
    /// The client's credentials were rejected (401).
    Authentication,
    /// The client may not do this (403).
    PermissionDenied,
    /// No such model or route (404).
    NotFound,
    /// The request body is too large (413).
    RequestTooLarge,
    /// Rate limited (429).
    RateLimit,
    /// The upstream (or the gateway) failed (500/502).
    Api,
    /// The upstream is overloaded (503, Anthropic 529).
    Overloaded,
    /// The upstream did not answer in time (504).
    Timeout,
}

impl ErrorKind {
    /// The OpenAI error `type`.
    pub const fn openai_type(self) -> &'static str {
        match self {
            Self::InvalidRequest | Self::NotFound | Self::RequestTooLarge => {
                "invalid_request_error"
            }
            Self::Authentication => "authentication_error",
            Self::PermissionDenied => "permission_error",
            Self::RateLimit => "rate_limit_error",
            Self::Api | Self::Overloaded | Self::Timeout => "api_error",
        }
    }

    /// The Anthropic error `type`.
    pub const fn anthropic_type(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request_error",
            Self::Authentication => "authentication_error",
            Self::PermissionDenied => "permission_error",
            Self::NotFound => "not_found_error",
            Self::RequestTooLarge => "request_too_large",
            Self::RateLimit => "rate_limit_error",
            Self::Api | Self::Timeout => "api_error",
            Self::Overloaded => "overloaded_error",
        }
    }

    /// The HTTP status a client gets for this kind.
    pub const fn status(self, shape: ApiShape) -> u16 {
        match (self, shape) {
            (Self::InvalidRequest, _) => 400,
            (Self::Authentication, _) => 401,
            (Self::PermissionDenied, _) => 403,
            (Self::NotFound, _) => 404,
            (Self::RequestTooLarge, _) => 413,
            (Self::RateLimit, _) => 429,
            (Self::Api, _) => 502,
            (Self::Overloaded, ApiShape::Anthropic) => 529,
            (Self::Overloaded, ApiShape::OpenAi) => 503,
            (Self::Timeout, _) => 504,
        }
    }

    /// The kind of an Anthropic error `type`.
    pub(crate) fn from_anthropic(kind: &str) -> Self {
        match kind {
            "invalid_request_error" => Self::InvalidRequest,
            "authentication_error" => Self::Authentication,
            "permission_error" => Self::PermissionDenied,
            "not_found_error" => Self::NotFound,
            "request_too_large" => Self::RequestTooLarge,
            "rate_limit_error" => Self::RateLimit,
            "overloaded_error" => Self::Overloaded,
            _ => Self::Api,
        }
    }
}

/// An error ready to send to a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientError {
    /// The HTTP status to answer with.
    pub status: u16,
    /// What went wrong.
    pub kind: ErrorKind,
    /// The scrubbed message (also inside `body`), safe to log.
    pub message: String,
    /// The JSON body in the client's shape.
    pub body: Bytes,
    /// The provider's `retry-after` / `retry-after-ms`, for 429/503/529.
    pub retry_after: Option<Duration>,
    /// Whether another key or provider may succeed (429, 5xx, timeouts, and upstream rejections
    /// of Keyward's provider key): the proxy's failover and circuit breaker act on this.
    pub retryable: bool,
}

/// The error body in `shape`. `code` is OpenAI's `code` (e.g. `rate_limit_exceeded`).
pub fn error_body(shape: ApiShape, kind: ErrorKind, message: &str, code: Option<&str>) -> Value {
    match shape {
        ApiShape::OpenAi => json!({"error": {
            "message": message, "type": kind.openai_type(), "param": null, "code": code,
        }}),
        ApiShape::Anthropic => json!({"type": "error", "error": {
            "type": kind.anthropic_type(), "message": message,
        }}),
    }
}

/// An error raised by the gateway itself (bad request, no route, …). `message` is scrubbed too.
pub fn client_error(shape: ApiShape, kind: ErrorKind, message: &str) -> ClientError {
    let message = scrub_for_client(message, &[]);
    let body = error_body(shape, kind, &message, None);
    ClientError {
        status: kind.status(shape),
        kind,
        body: Bytes::from(body.to_string()),
        message,
        retry_after: None,
        retryable: matches!(
            kind,
            ErrorKind::RateLimit | ErrorKind::Api | ErrorKind::Overloaded | ErrorKind::Timeout
        ),
    }
}

/// The human message of any provider's error body.
fn upstream_message(body: &Value) -> Option<&str> {
    [
        body.pointer("/error/message"),
        body.get("message"),
        body.get("Message"),
        body.get("detail"),
        body.get("error"),
    ]
    .into_iter()
    .flatten()
    .find_map(Value::as_str)
}

fn upstream_code(body: &Value, headers: &HeaderMap) -> Option<String> {
    [
        body.pointer("/error/code"),
        body.pointer("/error/status"),
        body.pointer("/error/type"),
    ]
    .into_iter()
    .flatten()
    .find_map(Value::as_str)
    .map(str::to_owned)
    .or_else(|| aws_error_type(headers))
}

/// Translates an upstream error response into `shape`, scrubbing the message of the key's own
/// secret values, key-shaped and masked tokens and everything [`keyward_crypto::redact`] finds.
///
/// Status mapping: 400/422 → 400; 401/403 (and Gemini's 400 `API_KEY_INVALID`) mean the
/// provider rejected *Keyward's* key, not the client's, so they become 502 and are retryable;
/// 404 → 404; 408 → 504; 413 → 413; 429 → 429; 503/529 → overloaded; other 5xx → 502.
pub fn translate_error(
    shape: ApiShape,
    provider: Provider,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    secret: &ProviderSecret,
) -> ClientError {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let secrets = secret_values(secret);
    let detail = upstream_message(&json)
        .map(|m| scrub_for_client(m, &secrets))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| format!("{provider} returned HTTP {status}"));
    let key_rejected = matches!(status, 401 | 403)
        || (status == 400 && provider == Provider::Gemini && gemini_key_rejected(body));
    let (kind, message) = if key_rejected {
        (
            ErrorKind::Api,
            format!("{provider} rejected the provider key Keyward used (HTTP {status}): {detail}"),
        )
    } else {
        let kind = match status {
            400 | 422 => ErrorKind::InvalidRequest,
            404 => ErrorKind::NotFound,
            408 => ErrorKind::Timeout,
            413 => ErrorKind::RequestTooLarge,
            429 => ErrorKind::RateLimit,
            503 | 529 => ErrorKind::Overloaded,
            _ => ErrorKind::Api,
        };
        (kind, detail)
    };
    let code = upstream_code(&json, headers).map(|c| scrub_for_client(&c, &secrets));
    let body = error_body(shape, kind, &message, code.as_deref());
    ClientError {
        status: kind.status(shape),
        kind,
        body: Bytes::from(body.to_string()),
        message,
        retry_after: matches!(status, 429 | 503 | 529)
            .then(|| retry_after(headers))
            .flatten(),
        retryable: key_rejected || status == 408 || status == 429 || status >= 500,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn rate_limits_keep_retry_after_and_map_to_both_shapes() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("3"));
        let body = br#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#;
        let secret = ProviderSecret::from_api_key("sk-ant-api03-secretsecretsecret");
        let err = translate_error(
            ApiShape::OpenAi,
            Provider::Anthropic,
            429,
            &headers,
            body,
            &secret,
        );
        assert_eq!(err.status, 429);
        assert_eq!(err.retry_after, Some(Duration::from_secs(3)));
        assert!(err.retryable);
        let json: Value = serde_json::from_slice(&err.body).unwrap();
        assert_eq!(json["error"]["type"], "rate_limit_error");
        assert_eq!(json["error"]["message"], "slow down");
        assert_eq!(json["error"]["code"], "rate_limit_error");
    }

    #[test]
    fn upstream_auth_failures_are_gateway_errors_without_the_key() {
        let key = "sk-proj-FAKEfakeFAKEfakeFAKEfakeFAKE0123456789";
        let body = format!(
            r#"{{"error":{{"message":"Incorrect API key provided: {key}","code":"invalid_api_key"}}}}"#
        );
        let secret = ProviderSecret::from_api_key(key);
        let err = translate_error(
            ApiShape::Anthropic,
            Provider::OpenAi,
            401,
            &HeaderMap::new(),
            body.as_bytes(),
            &secret,
        );
        assert_eq!(err.status, 502);
        assert!(err.retryable);
        let text = String::from_utf8(err.body.to_vec()).unwrap();
        assert!(!text.contains("abcdefghij"), "{text}");
        assert!(text.contains("rejected the provider key"), "{text}");
        let json: Value = serde_json::from_slice(&err.body).unwrap();
        assert_eq!(json["type"], "error");
        assert_eq!(json["error"]["type"], "api_error");
    }

    #[test]
    fn non_json_bodies_get_a_generic_message() {
        let err = translate_error(
            ApiShape::OpenAi,
            Provider::Mistral,
            500,
            &HeaderMap::new(),
            b"<html>",
            &ProviderSecret::default(),
        );
        assert_eq!(err.message, "Mistral AI returned HTTP 500");
        assert_eq!(err.status, 502);
        let err = client_error(ApiShape::Anthropic, ErrorKind::Overloaded, "busy");
        assert_eq!(err.status, 529);
    }
}
