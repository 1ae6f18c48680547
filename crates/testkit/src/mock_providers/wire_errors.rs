//! Error responses in each provider's real wire format (status, headers and body shape), so
//! code under test meets what production meets.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder};
use keyward_providers::Provider;
use serde_json::{Value, json};

/// Seconds the mock asks clients to wait after a 429.
pub(crate) const RETRY_AFTER_SECS: u64 = 1;

/// A response builder with the provider's request-id header.
pub(crate) fn builder(provider: Provider, status: StatusCode) -> HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    match provider {
        Provider::OpenAi | Provider::OpenAiCompatible => {
            builder.insert_header(("x-request-id", "req_5f2c0a9d3b7e4c1f8a6d2e0b9c7a5f31"));
        }
        Provider::Anthropic => {
            builder.insert_header(("request-id", "req_011CPmockKeywardTestkit01"));
        }
        Provider::Bedrock => {
            builder.insert_header(("x-amzn-RequestId", "5d1b1c1e-9f4a-4a59-9d8e-0c6c0f3b2a10"));
        }
        Provider::Azure => {
            builder.insert_header(("apim-request-id", "1f0c3d6e-2b4a-4f59-8e7d-6c5b4a392817"));
        }
        Provider::Gemini | Provider::Cohere | Provider::Mistral | Provider::Perplexity => {}
    }
    builder
}

fn json_reply(provider: Provider, status: StatusCode, body: Value) -> HttpResponse {
    builder(provider, status).json(body)
}

fn bedrock_error(status: StatusCode, error_type: &str, message: &str) -> HttpResponse {
    // https://docs.aws.amazon.com/bedrock/latest/APIReference/CommonErrors.html
    builder(Provider::Bedrock, status)
        .insert_header((
            "x-amzn-ErrorType",
            format!("{error_type}:http://internal.amazon.com/coral/com.amazon.coral.service/"),
        ))
        .json(json!({ "message": message }))
}

/// OpenAI's shape, used by OpenAI and OpenAI-compatible servers.
/// <https://platform.openai.com/docs/guides/error-codes/api-errors>
fn openai_error(status: StatusCode, message: &str, kind: &str, code: Value) -> HttpResponse {
    json_reply(
        Provider::OpenAi,
        status,
        json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
    )
}

/// <https://docs.anthropic.com/en/api/errors>
fn anthropic_error(status: StatusCode, kind: &str, message: &str) -> HttpResponse {
    json_reply(
        Provider::Anthropic,
        status,
        json!({"type": "error", "error": {"type": kind, "message": message}}),
    )
}

/// The wrong-key answer. `key` is what was sent: OpenAI really echoes a masked form of it.
pub(crate) fn unauthorized(provider: Provider, key: &str) -> HttpResponse {
    let unauthorized = StatusCode::UNAUTHORIZED;
    match provider {
        Provider::OpenAi | Provider::OpenAiCompatible => {
            let head: String = key.chars().take(8).collect();
            let tail: String = key
                .chars()
                .skip(key.chars().count().saturating_sub(4))
                .collect();
            openai_error(
                unauthorized,
                &format!(
                    "Incorrect API key provided: {head}{}{tail}. You can find your API key at \
                     https://platform.openai.com/account/api-keys.",
                    "*".repeat(24)
                ),
                "invalid_request_error",
                json!("invalid_api_key"),
            )
        }
        Provider::Anthropic => {
            anthropic_error(unauthorized, "authentication_error", "invalid x-api-key")
        }
        // https://ai.google.dev/gemini-api/docs/troubleshooting — a bad key is a 400.
        Provider::Gemini => json_reply(
            provider,
            StatusCode::BAD_REQUEST,
            json!({"error": {
                "code": 400,
                "message": "API key not valid. Please pass a valid API key.",
                "status": "INVALID_ARGUMENT",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"}
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                        "locale": "en-US",
                        "message": "API key not valid. Please pass a valid API key."
                    }
                ]
            }}),
        ),
        Provider::Bedrock => bedrock_error(
            StatusCode::FORBIDDEN,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        Provider::Azure => json_reply(
            provider,
            unauthorized,
            json!({"error": {
                "code": "401",
                "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."
            }}),
        ),
        Provider::Cohere => json_reply(
            provider,
            unauthorized,
            json!({"message": "invalid api token"}),
        ),
        Provider::Mistral => json_reply(
            provider,
            unauthorized,
            json!({"message": "Unauthorized", "request_id": "c61f2f15feca71626a990e3740f99245"}),
        ),
        // Perplexity's edge answers a bad key with an HTML page, not JSON.
        Provider::Perplexity => builder(provider, unauthorized)
            .content_type("text/html")
            .body(
                "<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n\
                 <center><h1>401 Authorization Required</h1></center>\r\n\
                 <hr><center>openresty/1.27.4</center>\r\n</body>\r\n</html>\r\n",
            ),
    }
}

/// The answer when no credential was sent at all.
pub(crate) fn missing_credentials(provider: Provider) -> HttpResponse {
    match provider {
        Provider::OpenAi | Provider::OpenAiCompatible => openai_error(
            StatusCode::UNAUTHORIZED,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            "invalid_request_error",
            Value::Null,
        ),
        Provider::Anthropic => anthropic_error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "x-api-key header is required",
        ),
        Provider::Gemini => json_reply(
            provider,
            StatusCode::FORBIDDEN,
            json!({"error": {
                "code": 403,
                "message": "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
                "status": "PERMISSION_DENIED"
            }}),
        ),
        Provider::Bedrock => bedrock_error(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ),
        Provider::Cohere => json_reply(
            provider,
            StatusCode::UNAUTHORIZED,
            json!({"message": "no api key supplied"}),
        ),
        Provider::Azure | Provider::Mistral | Provider::Perplexity => unauthorized(provider, ""),
    }
}

/// Bedrock's answer to a SigV4 signature that does not verify.
pub(crate) fn bad_signature() -> HttpResponse {
    bedrock_error(
        StatusCode::FORBIDDEN,
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    )
}

/// 429 with `retry-after` and the provider's rate-limit headers.
pub(crate) fn rate_limited(provider: Provider) -> HttpResponse {
    let status = StatusCode::TOO_MANY_REQUESTS;
    let retry = RETRY_AFTER_SECS.to_string();
    let body = match provider {
        Provider::OpenAi | Provider::OpenAiCompatible => json!({"error": {
            "message": "Rate limit reached for gpt-4o-mini in organization org-mockKeyward on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 1s. Visit https://platform.openai.com/account/rate-limits to learn more.",
            "type": "requests", "param": null, "code": "rate_limit_exceeded"
        }}),
        Provider::Anthropic => json!({"type": "error", "error": {
            "type": "rate_limit_error",
            "message": "This request would exceed the rate limit for your organization of 50 requests per minute. For details, refer to: https://docs.anthropic.com/en/api/rate-limits."
        }}),
        Provider::Gemini => json!({"error": {
            "code": 429,
            "message": "Resource has been exhausted (e.g. check quota).",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{RETRY_AFTER_SECS}s")}]
        }}),
        Provider::Bedrock => {
            json!({"message": "Too many requests, please wait before trying again."})
        }
        Provider::Azure => json!({"error": {
            "code": "429",
            "message": format!("Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after {RETRY_AFTER_SECS} second.")
        }}),
        Provider::Cohere => {
            json!({"message": "You are using a Trial key, which is limited to 20 API calls / minute. You can continue to use the Trial key for free or upgrade to a Production key with higher rate limits at 'https://dashboard.cohere.com/api-keys'."})
        }
        Provider::Mistral => json!({"message": "Requests rate limit exceeded"}),
        Provider::Perplexity => {
            json!({"error": {"message": "Rate limit exceeded", "type": "rate_limit_exceeded", "code": 429}})
        }
    };
    let mut reply = builder(provider, status);
    reply.insert_header(("retry-after", retry.as_str()));
    match provider {
        Provider::OpenAi | Provider::OpenAiCompatible => {
            reply.insert_header(("x-ratelimit-limit-requests", "500"));
            reply.insert_header(("x-ratelimit-remaining-requests", "0"));
            reply.insert_header(("x-ratelimit-reset-requests", "1s"));
        }
        Provider::Anthropic => {
            reply.insert_header(("anthropic-ratelimit-requests-limit", "50"));
            reply.insert_header(("anthropic-ratelimit-requests-remaining", "0"));
        }
        Provider::Azure => {
            reply.insert_header(("retry-after-ms", (RETRY_AFTER_SECS * 1000).to_string()));
        }
        Provider::Bedrock => {
            reply.insert_header((
                "x-amzn-ErrorType",
                "ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.service/",
            ));
        }
        _ => {}
    }
    reply.json(body)
}

/// 500 in the provider's shape.
pub(crate) fn server_error(provider: Provider) -> HttpResponse {
    let status = StatusCode::INTERNAL_SERVER_ERROR;
    match provider {
        Provider::OpenAi | Provider::OpenAiCompatible => openai_error(
            status,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            Value::Null,
        ),
        Provider::Anthropic => anthropic_error(status, "api_error", "Internal server error"),
        Provider::Gemini => json_reply(
            provider,
            status,
            json!({"error": {
                "code": 500,
                "message": "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
                "status": "INTERNAL"
            }}),
        ),
        Provider::Bedrock => {
            bedrock_error(status, "InternalServerException", "Internal server error")
        }
        Provider::Azure => json_reply(
            provider,
            status,
            json!({"error": {
                "code": "InternalServerError",
                "message": "The service is temporarily unable to process your request. Please try again later."
            }}),
        ),
        Provider::Cohere => json_reply(
            provider,
            status,
            json!({"message": "internal server error, this has been reported to our developers"}),
        ),
        Provider::Mistral => json_reply(
            provider,
            status,
            json!({"object": "error", "message": "Internal server error", "type": "internal_server_error", "param": null, "code": null}),
        ),
        Provider::Perplexity => json_reply(
            provider,
            status,
            json!({"error": {"message": "Internal server error", "type": "internal_server_error", "code": 500}}),
        ),
    }
}

/// An unknown route (after authentication succeeded).
pub(crate) fn not_found(provider: Provider, path: &str) -> HttpResponse {
    let status = StatusCode::NOT_FOUND;
    match provider {
        Provider::OpenAi | Provider::OpenAiCompatible => openai_error(
            status,
            &format!("Invalid URL ({path})"),
            "invalid_request_error",
            Value::Null,
        ),
        Provider::Anthropic => anthropic_error(status, "not_found_error", "Not found"),
        Provider::Bedrock => {
            bedrock_error(status, "UnknownOperationException", "Unknown operation")
        }
        Provider::Azure => json_reply(
            provider,
            status,
            json!({"error": {"code": "404", "message": "Resource not found"}}),
        ),
        _ => json_reply(provider, status, json!({"message": "Not Found"})),
    }
}

/// Anthropic requires `anthropic-version` on every request.
pub(crate) fn anthropic_missing_version() -> HttpResponse {
    anthropic_error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "anthropic-version: header is required",
    )
}
