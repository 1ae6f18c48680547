//! List-models (and equivalent) response bodies, in each provider's real wire format.
//!
//! Shapes follow each provider's API reference (linked per function) and recorded responses.

use keyward_providers::Provider;
use serde_json::{Value, json};

/// The body of a successful validation call.
pub(crate) fn list(provider: Provider) -> Value {
    match provider {
        Provider::OpenAi | Provider::OpenAiCompatible => openai(),
        Provider::Anthropic => anthropic(),
        Provider::Gemini => gemini(),
        Provider::Bedrock => bedrock(),
        Provider::Azure => azure(),
        Provider::Cohere => cohere(),
        Provider::Mistral => mistral(),
        Provider::Perplexity => perplexity(),
    }
}

/// <https://platform.openai.com/docs/api-reference/models/list>
fn openai() -> Value {
    json!({
        "object": "list",
        "data": [
            {"id": "gpt-4o-mini", "object": "model", "created": 1_721_172_741, "owned_by": "system"},
            {"id": "gpt-4o", "object": "model", "created": 1_715_367_049, "owned_by": "system"},
            {"id": "text-embedding-3-small", "object": "model", "created": 1_705_948_997, "owned_by": "system"}
        ]
    })
}

/// <https://docs.anthropic.com/en/api/models-list>
fn anthropic() -> Value {
    json!({
        "data": [
            {
                "type": "model",
                "id": "claude-sonnet-4-20250514",
                "display_name": "Claude Sonnet 4",
                "created_at": "2025-05-22T00:00:00Z"
            }
        ],
        "has_more": true,
        "first_id": "claude-sonnet-4-20250514",
        "last_id": "claude-sonnet-4-20250514"
    })
}

/// <https://ai.google.dev/api/models#method:-models.list>
fn gemini() -> Value {
    json!({
        "models": [
            {
                "name": "models/gemini-2.0-flash",
                "version": "2.0",
                "displayName": "Gemini 2.0 Flash",
                "description": "Gemini 2.0 Flash",
                "inputTokenLimit": 1_048_576,
                "outputTokenLimit": 8192,
                "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent"],
                "temperature": 1.0,
                "topP": 0.95,
                "topK": 40,
                "maxTemperature": 2.0
            }
        ],
        "nextPageToken": "Chltb2RlbHMvZ2VtaW5pLTIuMC1mbGFzaA=="
    })
}

/// <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_ListFoundationModels.html>
fn bedrock() -> Value {
    json!({
        "modelSummaries": [
            {
                "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0",
                "modelId": "anthropic.claude-3-5-sonnet-20240620-v1:0",
                "modelName": "Claude 3.5 Sonnet",
                "providerName": "Anthropic",
                "inputModalities": ["TEXT", "IMAGE"],
                "outputModalities": ["TEXT"],
                "responseStreamingSupported": true,
                "customizationsSupported": [],
                "inferenceTypesSupported": ["ON_DEMAND"],
                "modelLifecycle": {"status": "ACTIVE"}
            },
            {
                "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0",
                "modelId": "amazon.titan-embed-text-v2:0",
                "modelName": "Titan Text Embeddings V2",
                "providerName": "Amazon",
                "inputModalities": ["TEXT"],
                "outputModalities": ["EMBEDDING"],
                "responseStreamingSupported": false,
                "customizationsSupported": [],
                "inferenceTypesSupported": ["ON_DEMAND"],
                "modelLifecycle": {"status": "ACTIVE"}
            }
        ]
    })
}

/// <https://learn.microsoft.com/en-us/rest/api/azureopenai/models/list>
fn azure() -> Value {
    json!({
        "data": [
            {
                "status": "succeeded",
                "capabilities": {
                    "fine_tune": false,
                    "inference": true,
                    "completion": false,
                    "chat_completion": true,
                    "embeddings": false
                },
                "lifecycle_status": "generally-available",
                "deprecation": {"inference": 1_758_153_600},
                "id": "gpt-4o-2024-08-06",
                "created_at": 1_723_075_200,
                "object": "model"
            }
        ],
        "object": "list"
    })
}

/// <https://docs.cohere.com/reference/list-models>
fn cohere() -> Value {
    json!({
        "models": [
            {
                "name": "command-r-plus-08-2024",
                "endpoints": ["generate", "chat", "summarize"],
                "finetuned": false,
                "context_length": 128_000,
                "tokenizer_url": "https://storage.googleapis.com/cohere-public/tokenizers/command-r-plus-08-2024.json",
                "default_endpoints": [],
                "features": ["tools", "json_mode"]
            }
        ],
        "next_page_token": "c29tZS10b2tlbg"
    })
}

/// <https://docs.mistral.ai/api/#tag/models/operation/list_models_v1_models_get>
fn mistral() -> Value {
    json!({
        "object": "list",
        "data": [
            {
                "id": "mistral-large-latest",
                "object": "model",
                "created": 1_732_579_200,
                "owned_by": "mistralai",
                "capabilities": {
                    "completion_chat": true,
                    "completion_fim": false,
                    "function_calling": true,
                    "fine_tuning": false,
                    "vision": false
                },
                "name": "mistral-large-2411",
                "description": "Official mistral-large-2411 Mistral AI model",
                "max_context_length": 131_072,
                "aliases": ["mistral-large-2411"],
                "deprecation": null,
                "default_model_temperature": 0.7,
                "type": "base"
            }
        ]
    })
}

/// <https://docs.perplexity.ai/api-reference/async-chat-completions-get>
fn perplexity() -> Value {
    json!({
        "requests": [
            {
                "id": "a1b2c3d4-0000-4000-8000-000000000001",
                "model": "sonar-deep-research",
                "status": "COMPLETED",
                "created_at": 1_735_689_600,
                "started_at": 1_735_689_601,
                "completed_at": 1_735_689_720,
                "failed_at": null
            }
        ],
        "next_token": null
    })
}
