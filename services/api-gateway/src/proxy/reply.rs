//! Answers in the client's API shape, and the usage event of a request.

use std::time::{Duration, SystemTime};

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderName;
use keyward_proto::v1::UsageEvent;
use keyward_providers::{ApiShape, ClientApi, ClientError, ErrorKind, Provider, Usage, error_body};

use super::vkeys::VkeyRecord;

// Header names as statics: naming a non-standard header by `&str` allocates on every use.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-keyward-request-id");
pub static COST: HeaderName = HeaderName::from_static("x-keyward-cost-micros");

/// An error the gateway raises itself.
pub fn reject(
    shape: ApiShape,
    kind: ErrorKind,
    message: &str,
    code: Option<&str>,
    request_id: &str,
) -> HttpResponse {
    let body = error_body(shape, kind, message, code);
    let mut r = HttpResponse::build(status(kind.status(shape)));
    r.insert_header((REQUEST_ID.clone(), request_id.to_owned()));
    if kind == ErrorKind::Authentication && shape == ApiShape::OpenAi {
        r.insert_header(("www-authenticate", "Bearer"));
    }
    r.content_type("application/json").body(body.to_string())
}

/// 429 with `retry-after` (whole seconds, rounded up).
pub fn too_many(
    shape: ApiShape,
    message: &str,
    code: &str,
    wait: Option<Duration>,
    request_id: &str,
) -> HttpResponse {
    let mut r = reject(shape, ErrorKind::RateLimit, message, Some(code), request_id);
    if let Some(w) = wait {
        let secs = w.as_secs() + u64::from(w.subsec_nanos() > 0);
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&secs.max(1).to_string()) {
            r.headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, v);
        }
    }
    r
}

/// An upstream error, already translated and scrubbed by `keyward_providers`.
pub fn upstream_error(e: &ClientError, request_id: &str) -> HttpResponse {
    let mut r = HttpResponse::build(status(e.status));
    r.insert_header((REQUEST_ID.clone(), request_id.to_owned()));
    if let Some(w) = e.retry_after {
        r.insert_header(("retry-after", w.as_secs().max(1).to_string()));
    }
    r.content_type("application/json").body(e.body.clone())
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY)
}

/// The endpoint name in usage events.
pub const fn endpoint(api: ClientApi) -> &'static str {
    match api {
        ClientApi::OpenAiChat => "chat",
        ClientApi::OpenAiEmbeddings => "embeddings",
        ClientApi::AnthropicMessages => "messages",
        ClientApi::OpenAiResponses => "responses",
    }
}

/// The price book's view of the provider's usage (output without reasoning).
pub fn priced(u: &Usage) -> keyward_pricing::Usage {
    keyward_pricing::Usage {
        input_tokens: u.input_uncached,
        cached_input_tokens: u.cached_input,
        cache_write_5m_tokens: u.cache_write_5m,
        cache_write_1h_tokens: u.cache_write_1h,
        output_tokens: u.output.saturating_sub(u.reasoning),
        reasoning_tokens: u.reasoning,
    }
}

/// What a usage event says about the outcome.
pub struct Outcome<'a> {
    pub provider: Provider,
    pub model: &'a str,
    pub provider_key_id: Option<&'a str>,
    pub usage: Usage,
    pub latency: Duration,
    pub http_status: u16,
    pub status: &'static str,
    pub streamed: bool,
}

/// The status word of an HTTP status.
pub const fn status_word(http: u16) -> &'static str {
    match http {
        200..=299 => "ok",
        429 => "rate_limited",
        504 => "timeout",
        _ => "error",
    }
}

/// One usage event (UUIDv7, now).
pub fn usage_event(
    vk: &VkeyRecord,
    api: ClientApi,
    request_id: &str,
    o: &Outcome<'_>,
) -> UsageEvent {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let p = priced(&o.usage);
    UsageEvent {
        event_id: keyward_core::id::uuid_v7().to_string(),
        ts: Some(prost_types::Timestamp {
            seconds: i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
            nanos: i32::try_from(now.subsec_nanos()).unwrap_or(0),
        }),
        org_id: vk.org_id.to_string(),
        team_id: vk.team_id.map(|u| u.to_string()),
        project_id: vk.project_id.map(|u| u.to_string()),
        user_id: vk.user_id.map(|u| u.to_string()),
        virtual_key_id: Some(vk.id.to_string()),
        provider_key_id: o.provider_key_id.map(str::to_owned),
        provider: o.provider.as_str().to_owned(),
        model: o.model.to_owned(),
        input_tokens: p.input_tokens,
        output_tokens: p.output_tokens,
        cached_input_tokens: p.cached_input_tokens,
        cache_write_5m_tokens: p.cache_write_5m_tokens,
        cache_write_1h_tokens: p.cache_write_1h_tokens,
        reasoning_tokens: p.reasoning_tokens,
        latency_ms: u32::try_from(o.latency.as_millis()).unwrap_or(u32::MAX),
        http_status: u32::from(o.http_status),
        status: o.status.to_owned(),
        request_id: request_id.to_owned(),
        endpoint: endpoint(api).to_owned(),
        streamed: o.streamed,
    }
}
