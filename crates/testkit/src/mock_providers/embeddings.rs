//! Embedding endpoints in each provider's wire format, with deterministic vectors (8
//! dimensions unless the request asks otherwise) and token counts ([`mock_tokens`] per text).
//!
//! - OpenAI-style `/embeddings` (OpenAI, Azure deployments, Mistral, OpenAI-compatible):
//!   <https://platform.openai.com/docs/api-reference/embeddings/object>, base64 when
//!   `encoding_format: "base64"` (little-endian `f32`s).
//! - Gemini `:embedContent` / `:batchEmbedContents`: <https://ai.google.dev/api/embeddings>
//!   (no token counts in the response).
//! - Cohere `/v2/embed`: <https://docs.cohere.com/reference/embed>.
//! - Bedrock `InvokeModel` for Titan (`inputText`) and Cohere (`texts`) embedding models, with
//!   `X-Amzn-Bedrock-Input-Token-Count`:
//!   <https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html>.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use base64::Engine as _;
use keyward_providers::Provider;
use serde_json::{Value, json};

use super::scenario::mock_tokens;
use super::wire_errors::builder;

/// The default dimension of mock embeddings.
pub const EMBEDDING_DIMENSIONS: usize = 8;

/// The deterministic mock embedding of `text`.
pub fn mock_embedding(text: &str, dimensions: usize) -> Vec<f32> {
    (0..dimensions)
        .map(|j| {
            let step = u8::try_from((text.chars().count() + j) % 10).unwrap_or(0);
            f32::from(step) / 10.0
        })
        .collect()
}

fn texts_of(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn dims(request: &Value, fields: &[&str]) -> usize {
    fields
        .iter()
        .find_map(|f| request.pointer(f).and_then(Value::as_u64))
        .and_then(|d| usize::try_from(d).ok())
        .unwrap_or(EMBEDDING_DIMENSIONS)
}

fn tokens(texts: &[String]) -> u64 {
    texts.iter().map(|t| mock_tokens(t)).sum()
}

/// Handles a POST if it is an embeddings endpoint of `provider`; `None` otherwise.
pub(crate) fn handle(provider: Provider, path: &str, request: &Value) -> Option<HttpResponse> {
    let ok = || builder(provider, StatusCode::OK);
    match provider {
        Provider::OpenAi | Provider::OpenAiCompatible | Provider::Mistral
            if path == "/v1/embeddings" =>
        {
            Some(
                ok().json(openai(
                    request,
                    request
                        .get("model")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                )),
            )
        }
        Provider::Azure
            if path.starts_with("/openai/deployments/") && path.ends_with("/embeddings") =>
        {
            let deployment = path
                .trim_start_matches("/openai/deployments/")
                .split('/')
                .next()
                .unwrap_or_default();
            Some(ok().json(openai(request, deployment)))
        }
        Provider::Gemini if path.ends_with(":embedContent") => {
            let text = texts_of(request.pointer("/content/parts/0/text")).concat();
            let d = dims(request, &["/outputDimensionality"]);
            Some(ok().json(json!({"embedding": {"values": mock_embedding(&text, d)}})))
        }
        Provider::Gemini if path.ends_with(":batchEmbedContents") => {
            let items: Vec<Value> = request
                .get("requests")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|r| {
                    let text = texts_of(r.pointer("/content/parts/0/text")).concat();
                    json!({"values": mock_embedding(&text, dims(r, &["/outputDimensionality"]))})
                })
                .collect();
            Some(ok().json(json!({"embeddings": items})))
        }
        Provider::Cohere if path == "/v2/embed" => {
            let texts = texts_of(request.get("texts"));
            let d = dims(request, &["/output_dimension"]);
            let vectors: Vec<Vec<f32>> = texts.iter().map(|t| mock_embedding(t, d)).collect();
            Some(ok().json(json!({
                "id": "mock-keyward-embed-0001",
                "embeddings": {"float": vectors},
                "texts": texts,
                "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": tokens(&texts)}},
                "response_type": "embeddings_by_type"
            })))
        }
        Provider::Bedrock if path.starts_with("/model/") && path.ends_with("/invoke") => {
            let (body, count) = if request.get("texts").is_some() {
                let texts = texts_of(request.get("texts"));
                let vectors: Vec<Vec<f32>> = texts
                    .iter()
                    .map(|t| mock_embedding(t, EMBEDDING_DIMENSIONS))
                    .collect();
                let count = tokens(&texts);
                (
                    json!({"embeddings": vectors, "id": "mock-keyward-embed-0001", "response_type": "embeddings_floats", "texts": texts}),
                    count,
                )
            } else {
                let text = texts_of(request.get("inputText")).concat();
                let count = mock_tokens(&text);
                let d = dims(request, &["/dimensions"]);
                (
                    json!({"embedding": mock_embedding(&text, d), "inputTextTokenCount": count}),
                    count,
                )
            };
            Some(
                ok().insert_header(("X-Amzn-Bedrock-Input-Token-Count", count.to_string()))
                    .json(body),
            )
        }
        _ => None,
    }
}

fn openai(request: &Value, model: &str) -> Value {
    let texts = texts_of(request.get("input"));
    let d = dims(request, &["/dimensions", "/output_dimension"]);
    let base64 = request.get("encoding_format").and_then(Value::as_str) == Some("base64");
    let data: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let vector = mock_embedding(text, d);
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(vector)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let n = tokens(&texts);
    json!({"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": n, "total_tokens": n}})
}
