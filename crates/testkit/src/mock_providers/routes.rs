//! Request dispatch: `/{provider id}/{provider path}` → authentication → behaviour → route.
//!
//! Per-key failures ([`Failure`]) apply before the credential markers and authentication.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use keyward_providers::Provider;

use super::auth::{self, Auth};
use super::keys::{Marker, SLOW_RESPONSE_DELAY};
use super::state::{Failure, LoggedRequest, State};
use super::{chat, embeddings, wire_errors, wire_models};
use serde_json::Value;

/// Requests under `/redirect/…` get a 307 to the same path under `/openai/…`.
pub(crate) const REDIRECT_PREFIX: &str = "redirect";

/// The provider-side path of each provider's validation call.
pub(crate) fn validation_path(provider: Provider) -> &'static str {
    match provider {
        Provider::OpenAi
        | Provider::OpenAiCompatible
        | Provider::Mistral
        | Provider::Cohere
        | Provider::Anthropic => "/v1/models",
        Provider::Gemini => "/v1beta/models",
        Provider::Bedrock => "/foundation-models",
        Provider::Azure => "/openai/models",
        Provider::Perplexity => "/async/chat/completions",
    }
}

/// The single actix handler.
pub(crate) async fn dispatch(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<State>,
) -> HttpResponse {
    let full = req.path().trim_start_matches('/');
    let (id, rest) = full.split_once('/').unwrap_or((full, ""));
    if id == REDIRECT_PREFIX {
        // For redirect-handling tests: a provider API never redirects, a misconfigured URL might.
        return HttpResponse::TemporaryRedirect()
            .insert_header(("location", format!("/openai/{rest}")))
            .finish();
    }
    let Ok(provider) = id.parse::<Provider>() else {
        return HttpResponse::NotFound()
            .body("unknown provider prefix; use MockProviders::base_url(provider)");
    };
    let path = format!("/{rest}");
    let json: Option<Value> = serde_json::from_slice(&body).ok();

    let auth = auth::authenticate(provider, &req, &body, &state);
    state.record(LoggedRequest {
        provider,
        method: req.method().as_str().to_owned(),
        path: path.clone(),
        query: req.query_string().to_owned(),
        auth_matched: matches!(auth, Auth::Matched),
        body: json.clone(),
    });
    let credential = auth::credential(provider, &req);
    if let Some(credential) = &credential {
        state.count(provider, credential);
        match state.failure(provider, credential) {
            Some(Failure::RateLimited) => return wire_errors::rate_limited(provider),
            Some(Failure::ServerError) => return wire_errors::server_error(provider),
            Some(Failure::Unauthorized) => return wire_errors::unauthorized(provider, credential),
            Some(Failure::Delay(delay)) => tokio::time::sleep(delay).await,
            None => {}
        }
    }

    match auth::request_marker(provider, &req) {
        Marker::RateLimited => return wire_errors::rate_limited(provider),
        Marker::ServerError => return wire_errors::server_error(provider),
        Marker::Slow => tokio::time::sleep(SLOW_RESPONSE_DELAY).await,
        Marker::None => {}
    }
    match auth {
        Auth::Missing => wire_errors::missing_credentials(provider),
        Auth::Unknown(key) => wire_errors::unauthorized(provider, &key),
        Auth::BadSignature => wire_errors::bad_signature(),
        Auth::Matched => route(provider, &req, &path, json.as_ref(), &state),
    }
}

/// Routes an authenticated request.
fn route(
    provider: Provider,
    req: &HttpRequest,
    path: &str,
    body: Option<&Value>,
    state: &State,
) -> HttpResponse {
    if provider == Provider::Anthropic && !req.headers().contains_key("anthropic-version") {
        return wire_errors::anthropic_missing_version();
    }
    // Azure OpenAI answers 404 when `api-version` is missing.
    if provider == Provider::Azure && auth::query_param(req, "api-version").is_none() {
        return wire_errors::not_found(provider, path);
    }
    let method = req.method().as_str();
    if method == "GET" && path == validation_path(provider) {
        return wire_errors::builder(provider, StatusCode::OK).json(wire_models::list(provider));
    }
    if method == "POST" {
        if let Some(response) =
            super::wire_responses::handle(provider, path, body, state.stream_delay())
        {
            return response;
        }
        if let Some(response) = chat::handle(provider, path, req.query_string(), body, state) {
            return response;
        }
        if let Some(response) = body.and_then(|b| embeddings::handle(provider, path, b)) {
            return response;
        }
    }
    wire_errors::not_found(provider, path)
}
