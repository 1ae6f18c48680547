//! Embeddings through OpenAI-compatible providers, Gemini, Cohere and Bedrock, answered in
//! OpenAI's shape with the usage each provider reports.

use base64::Engine as _;
use keyward_providers::{ClientApi, Provider};
use keyward_testkit::mock_providers::{
    EMBEDDING_DIMENSIONS, MockProviders, mock_embedding, mock_tokens,
};
use serde_json::{Value, json};

use crate::support::{complete, fail};

fn floats(embedding: &Value) -> Vec<f32> {
    match embedding {
        Value::String(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
            .chunks(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect(),
        other => other
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect(),
    }
}

#[tokio::test]
async fn every_embedding_provider_answers_in_openai_shape() {
    let mock = MockProviders::start().await.unwrap();
    let inputs = ["first text", "the second text"];
    for provider in [
        Provider::OpenAi,
        Provider::Azure,
        Provider::Mistral,
        Provider::OpenAiCompatible,
        Provider::Gemini,
        Provider::Cohere,
    ] {
        for format in ["float", "base64"] {
            let request = json!({"model": "alias", "input": inputs, "encoding_format": format});
            let (translated, body) =
                complete(&mock, ClientApi::OpenAiEmbeddings, provider, &request).await;
            assert_eq!(body["object"], "list", "{provider:?}");
            let data = body["data"].as_array().unwrap();
            assert_eq!(data.len(), 2, "{provider:?}");
            for (i, item) in data.iter().enumerate() {
                assert_eq!(item["index"], i, "{provider:?}");
                assert_eq!(
                    floats(&item["embedding"]),
                    mock_embedding(inputs[i], EMBEDDING_DIMENSIONS),
                    "{provider:?} {format}"
                );
            }
            let tokens: u64 = inputs.iter().map(|t| mock_tokens(t)).sum();
            match provider {
                // Gemini's embedding endpoints report no token counts.
                Provider::Gemini => assert_eq!(translated.usage, None),
                _ => assert_eq!(
                    translated.usage.unwrap().input_uncached,
                    tokens,
                    "{provider:?}"
                ),
            }
        }
    }
    let gemini = mock.last_request(Provider::Gemini).unwrap();
    assert_eq!(
        gemini.path,
        "/v1beta/models/gemini-2.5-flash:batchEmbedContents"
    );
    let cohere = mock.last_request(Provider::Cohere).unwrap().body.unwrap();
    assert_eq!(cohere["texts"], json!(inputs));
}

#[tokio::test]
async fn single_inputs_dimensions_and_bedrock_titan() {
    let mock = MockProviders::start().await.unwrap();
    let request = json!({"model": "alias", "input": "just one", "dimensions": 4});
    let (_, body) = complete(
        &mock,
        ClientApi::OpenAiEmbeddings,
        Provider::Gemini,
        &request,
    )
    .await;
    assert_eq!(
        floats(&body["data"][0]["embedding"]),
        mock_embedding("just one", 4)
    );
    assert!(
        mock.last_request(Provider::Gemini)
            .unwrap()
            .path
            .ends_with(":embedContent")
    );

    // Bedrock Titan: one text per call, token count in the body and a header.
    let base = mock.base_url(Provider::Bedrock);
    let secret = keyward_testkit::mock_providers::fixture_secret(
        Provider::Bedrock,
        keyward_testkit::mock_providers::KeyKind::Valid,
    );
    let target = keyward_providers::Target {
        provider: Provider::Bedrock,
        model: "amazon.titan-embed-text-v2:0",
        base_url: Some(&base),
        secret: &secret,
    };
    let prepared =
        keyward_providers::prepare(ClientApi::OpenAiEmbeddings, &request, &target).unwrap();
    let response = prepared
        .upstream
        .into_reqwest(&crate::client())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let translated = prepared
        .exchange
        .response(&headers, &response.bytes().await.unwrap())
        .unwrap();
    let body: Value = serde_json::from_slice(&translated.body).unwrap();
    assert_eq!(
        floats(&body["data"][0]["embedding"]),
        mock_embedding("just one", 4)
    );
    assert_eq!(
        translated.usage.unwrap().input_uncached,
        mock_tokens("just one")
    );
    assert_eq!(
        mock.last_request(Provider::Bedrock).unwrap().path,
        "/model/amazon.titan-embed-text-v2%3A0/invoke"
    );
}

#[tokio::test]
async fn embedding_errors_are_translated() {
    let mock = MockProviders::start().await.unwrap();
    let secret = keyward_testkit::mock_providers::fixture_secret(
        Provider::Cohere,
        keyward_testkit::mock_providers::KeyKind::RateLimited,
    );
    let err = fail(
        &mock,
        ClientApi::OpenAiEmbeddings,
        Provider::Cohere,
        &secret,
        &json!({"input": "x"}),
    )
    .await;
    assert_eq!(err.status, 429);
}
