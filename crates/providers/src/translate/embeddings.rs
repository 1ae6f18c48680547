//! OpenAI embeddings requests → each provider's embedding call, and back.
//!
//! References: <https://platform.openai.com/docs/api-reference/embeddings/create>,
//! <https://ai.google.dev/api/embeddings> (`embedContent`, `batchEmbedContents`),
//! <https://docs.cohere.com/reference/embed> (v2 embed),
//! <https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html>,
//! <https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-embed.html> (Cohere on
//! Bedrock), <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html>
//! (`X-Amzn-Bedrock-Input-Token-Count`).

use base64::Engine as _;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use super::{Result, TranslateError, invalid};
use crate::provider::Provider;
use crate::request::Call;
use crate::usage::Usage;

/// The texts of an OpenAI `input` (a string or an array of strings). Token-id inputs only work
/// against OpenAI-shaped upstreams, which get the request unchanged.
fn texts(request: &Value) -> Result<Vec<String>> {
    match request.get("input") {
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|i| {
                i.as_str().map(str::to_owned).ok_or_else(|| {
                    TranslateError::Unsupported(
                        "token-id embedding inputs need an OpenAI-compatible provider".into(),
                    )
                })
            })
            .collect(),
        _ => Err(invalid(
            "`input` must be a non-empty string or array of strings",
        )),
    }
}

fn is_bedrock_cohere(model: &str) -> bool {
    model.contains("cohere.embed")
}

/// The upstream call and body for an OpenAI-shaped embeddings `request`.
pub(crate) fn request_for(
    provider: Provider,
    request: &Value,
    model: &str,
) -> Result<(Call, Value)> {
    let dimensions = request.get("dimensions").and_then(Value::as_u64);
    match provider {
        Provider::OpenAi | Provider::Azure | Provider::OpenAiCompatible | Provider::Mistral => {
            let mut body = request.clone();
            body["model"] = json!(model);
            if provider == Provider::Mistral
                && let Some(object) = body.as_object_mut()
            {
                object.remove("user");
                if let Some(d) = object.remove("dimensions") {
                    object.insert("output_dimension".into(), d);
                }
            }
            Ok((Call::Embed, body))
        }
        Provider::Gemini => {
            let texts = texts(request)?;
            let item = |text: &str| {
                let mut item = json!({"model": format!("models/{model}"), "content": {"parts": [{"text": text}]}});
                if let Some(d) = dimensions {
                    item["outputDimensionality"] = json!(d);
                }
                item
            };
            if let [one] = texts.as_slice() {
                Ok((Call::Embed, item(one)))
            } else {
                let requests: Vec<Value> = texts.iter().map(|t| item(t)).collect();
                Ok((Call::EmbedBatch, json!({"requests": requests})))
            }
        }
        Provider::Cohere => {
            let mut body = json!({
                "model": model,
                "texts": texts(request)?,
                "input_type": "search_document",
                "embedding_types": ["float"],
            });
            if let Some(d) = dimensions {
                body["output_dimension"] = json!(d);
            }
            Ok((Call::Embed, body))
        }
        Provider::Bedrock if is_bedrock_cohere(model) => Ok((
            Call::Embed,
            json!({"texts": texts(request)?, "input_type": "search_document"}),
        )),
        Provider::Bedrock => match texts(request)?.as_slice() {
            [one] => {
                let mut body = json!({"inputText": one});
                if let Some(d) = dimensions {
                    body["dimensions"] = json!(d);
                }
                Ok((Call::Embed, body))
            }
            _ => Err(TranslateError::Unsupported(
                "Titan embeddings on Bedrock take one input per request".into(),
            )),
        },
        Provider::Anthropic | Provider::Perplexity => Err(TranslateError::Unsupported(format!(
            "{provider} has no embeddings API"
        ))),
    }
}

fn vectors(provider: Provider, response: &Value, model: &str) -> Option<Vec<Value>> {
    let list = |v: &Value| v.as_array().cloned();
    match provider {
        Provider::Gemini => match response.get("embeddings") {
            Some(batch) => batch
                .as_array()?
                .iter()
                .map(|e| e.get("values").cloned())
                .collect(),
            None => Some(vec![response.pointer("/embedding/values")?.clone()]),
        },
        Provider::Cohere => list(response.pointer("/embeddings/float")?),
        Provider::Bedrock if is_bedrock_cohere(model) => {
            let e = response.get("embeddings")?;
            list(e.get("float").unwrap_or(e))
        }
        Provider::Bedrock => Some(vec![response.get("embedding")?.clone()]),
        _ => None,
    }
}

/// The token count a provider reports for an embeddings call, if any. Gemini's embedding
/// endpoints report none.
fn input_tokens(
    provider: Provider,
    response: &Value,
    headers: &HeaderMap,
    model: &str,
) -> Option<u64> {
    match provider {
        Provider::Cohere => response
            .pointer("/meta/billed_units/input_tokens")?
            .as_u64(),
        Provider::Gemini => response
            .pointer("/usageMetadata/promptTokenCount")?
            .as_u64(),
        Provider::Bedrock if !is_bedrock_cohere(model) => response
            .get("inputTextTokenCount")
            .and_then(Value::as_u64)
            .or_else(|| header_count(headers)),
        Provider::Bedrock => header_count(headers),
        _ => response.pointer("/usage/prompt_tokens")?.as_u64(),
    }
}

fn header_count(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("x-amzn-bedrock-input-token-count")?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Little-endian `f32`s, base64-encoded: what OpenAI returns for `encoding_format: "base64"`
/// (the OpenAI SDKs ask for it by default).
fn base64_floats(vector: &Value) -> Value {
    let mut bytes = Vec::new();
    for x in vector.as_array().into_iter().flatten() {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "embeddings are f32 on the wire"
        )]
        let x = x.as_f64().unwrap_or_default() as f32;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    json!(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Translates a provider's embeddings response into OpenAI's, with the usage it reports.
pub(crate) fn response_to_openai(
    provider: Provider,
    request: &Value,
    response: &Value,
    headers: &HeaderMap,
    model: &str,
) -> Result<(Value, Option<Usage>)> {
    let tokens = input_tokens(provider, response, headers, model);
    let usage = tokens.map(|n| Usage {
        input_uncached: n,
        ..Usage::default()
    });
    if matches!(
        provider,
        Provider::OpenAi | Provider::Azure | Provider::OpenAiCompatible | Provider::Mistral
    ) {
        return Ok((response.clone(), usage));
    }
    let vectors = vectors(provider, response, model)
        .ok_or_else(|| TranslateError::InvalidResponse("no embeddings".into()))?;
    let base64 = request.get("encoding_format").and_then(Value::as_str) == Some("base64");
    let data: Vec<Value> = vectors
        .iter()
        .enumerate()
        .map(|(index, v)| {
            let embedding = if base64 { base64_floats(v) } else { v.clone() };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let n = tokens.unwrap_or(0);
    let body = json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": n, "total_tokens": n},
    });
    Ok((body, usage))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_single_and_batch() {
        let (call, body) = request_for(
            Provider::Gemini,
            &json!({"input": "hi"}),
            "text-embedding-004",
        )
        .unwrap();
        assert_eq!(call, Call::Embed);
        assert_eq!(body["content"]["parts"][0]["text"], "hi");
        let (call, body) = request_for(
            Provider::Gemini,
            &json!({"input": ["a", "b"], "dimensions": 8}),
            "m",
        )
        .unwrap();
        assert_eq!(call, Call::EmbedBatch);
        assert_eq!(body["requests"][1]["model"], "models/m");
        assert_eq!(body["requests"][1]["outputDimensionality"], 8);
        let response = json!({"embeddings": [{"values": [0.5]}, {"values": [1.0]}]});
        let (out, usage) = response_to_openai(
            Provider::Gemini,
            &json!({}),
            &response,
            &HeaderMap::new(),
            "m",
        )
        .unwrap();
        assert_eq!(out["data"][1]["embedding"], json!([1.0]));
        assert_eq!(usage, None);
    }

    #[test]
    fn cohere_with_base64_output() {
        let request = json!({"input": ["a"], "encoding_format": "base64"});
        let (_, body) = request_for(Provider::Cohere, &request, "embed-v4.0").unwrap();
        assert_eq!(body["texts"], json!(["a"]));
        let response = json!({"embeddings": {"float": [[1.0, -2.0]]}, "meta": {"billed_units": {"input_tokens": 3}}});
        let (out, usage) = response_to_openai(
            Provider::Cohere,
            &request,
            &response,
            &HeaderMap::new(),
            "embed-v4.0",
        )
        .unwrap();
        let expected: Vec<u8> = [1.0f32, -2.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(
            out["data"][0]["embedding"],
            json!(base64::engine::general_purpose::STANDARD.encode(expected))
        );
        assert_eq!(usage.unwrap().input_uncached, 3);
        assert_eq!(out["usage"]["prompt_tokens"], 3);
    }

    #[test]
    fn unsupported_providers_and_inputs() {
        assert!(request_for(Provider::Anthropic, &json!({"input": "a"}), "m").is_err());
        assert!(request_for(Provider::Cohere, &json!({"input": [[1, 2]]}), "m").is_err());
        assert!(
            request_for(
                Provider::Bedrock,
                &json!({"input": ["a", "b"]}),
                "amazon.titan-embed-text-v2:0"
            )
            .is_err()
        );
    }
}
