//! Reading what a provider said: error messages, retry hints, error codes.

use std::time::Duration;

use reqwest::header::HeaderMap;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::scrub::scrub;
use crate::secret::ProviderSecret;

/// The short human message in an error body, scrubbed of anything key-like.
///
/// Shapes understood: `{"error":{"message"}}` (OpenAI, Azure, Gemini, Anthropic, Perplexity),
/// `{"message"}` (Cohere, Mistral, Bedrock), `{"detail"}` (Mistral), `{"error":"…"}`.
/// Non-JSON bodies (HTML error pages) are not quoted.
pub(super) fn message(body: &[u8], secret: &ProviderSecret) -> Option<String> {
    let json: Value = serde_json::from_slice(body).ok()?;
    let text = [
        json.pointer("/error/message"),
        json.get("message"),
        json.get("detail"),
        json.get("error"),
    ]
    .into_iter()
    .flatten()
    .find_map(Value::as_str)?;
    let secrets = secret_values(secret);
    let scrubbed = scrub(text, &secrets);
    (!scrubbed.is_empty()).then_some(scrubbed)
}

pub(crate) fn secret_values(secret: &ProviderSecret) -> Vec<&str> {
    [
        secret.api_key.as_ref().map(|s| s.expose_secret()),
        secret
            .aws_secret_access_key
            .as_ref()
            .map(|s| s.expose_secret()),
        secret.aws_session_token.as_ref().map(|s| s.expose_secret()),
        secret.aws_access_key_id.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// `retry-after-ms` (Azure) or `retry-after` in seconds.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)?
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
    };
    if let Some(ms) = number("retry-after-ms") {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    number("retry-after").map(Duration::from_secs_f64)
}

/// Bedrock's `x-amzn-ErrorType`, e.g. `UnrecognizedClientException` (the `:…` suffix dropped).
/// Source: <https://docs.aws.amazon.com/bedrock/latest/APIReference/CommonErrors.html>
pub(crate) fn aws_error_type(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get("x-amzn-errortype")?.to_str().ok()?;
    let name = raw.split(':').next().unwrap_or(raw).trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// A body that starts like JSON (a proxy's HTML login page does not).
pub(super) fn looks_like_json(body: &[u8]) -> bool {
    body.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'['))
}

/// Gemini answers a bad key with 400 `INVALID_ARGUMENT` and an `ErrorInfo` reason
/// `API_KEY_INVALID` (or `API_KEY_EXPIRED`, …), not with 401.
/// Source: <https://ai.google.dev/gemini-api/docs/troubleshooting>
pub(crate) fn gemini_key_rejected(body: &[u8]) -> bool {
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    json.pointer("/error/details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|detail| detail.get("reason").and_then(Value::as_str))
        .any(|reason| reason.starts_with("API_KEY_"))
}

/// OpenAI's 429 `insufficient_quota`: the key works but the account has no credit.
/// Source: <https://platform.openai.com/docs/guides/error-codes/api-errors>
pub(super) fn out_of_quota(body: &[u8]) -> bool {
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    ["/error/code", "/error/type"]
        .iter()
        .filter_map(|p| json.pointer(p).and_then(Value::as_str))
        .any(|code| code == "insufficient_quota")
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_prefers_milliseconds() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn reads_each_error_shape() {
        let none = ProviderSecret::default();
        let m = |body: &str| message(body.as_bytes(), &none);
        assert_eq!(
            m(r#"{"error":{"message":"bad key"}}"#).as_deref(),
            Some("bad key")
        );
        assert_eq!(
            m(r#"{"message":"invalid api token"}"#).as_deref(),
            Some("invalid api token")
        );
        assert_eq!(
            m(r#"{"detail":"Unauthorized"}"#).as_deref(),
            Some("Unauthorized")
        );
        assert_eq!(m("<html>401 Authorization Required</html>"), None);
        assert!(gemini_key_rejected(
            br#"{"error":{"code":400,"details":[{"reason":"API_KEY_INVALID"}]}}"#
        ));
        assert!(!gemini_key_rejected(
            br#"{"error":{"code":400,"details":[]}}"#
        ));
        assert!(out_of_quota(br#"{"error":{"code":"insufficient_quota"}}"#));
    }
}
