//! Shared helpers for the proxy-path tests: send a client request through `prepare` to the mock
//! providers, translate what comes back, and read client streams.

use futures::StreamExt as _;
use keyward_providers::sse::SseParser;
use keyward_providers::{
    ClientApi, ClientError, Exchange, Provider, ProviderSecret, StreamSummary, Target, Translated,
    UpstreamClient, UpstreamResponse, prepare,
};
use keyward_testkit::mock_providers::{KeyKind, MockProviders, fixture_secret, mock_tokens};
use serde_json::{Value, json};

pub const SYSTEM: &str = "Be brief.";
pub const USER: &str = "Say hello to the test suite.";

/// Every provider the proxy can call.
pub const PROVIDERS: [Provider; 9] = Provider::ALL;

/// The input tokens the mock counts for [`SYSTEM`] + [`USER`].
pub fn expected_input() -> u64 {
    mock_tokens(&format!("{SYSTEM}{USER}"))
}

/// The upstream model used for each provider in tests.
pub fn model(provider: Provider) -> &'static str {
    match provider {
        Provider::OpenAi => "gpt-4o-mini",
        Provider::Anthropic => "claude-sonnet-4-20250514",
        Provider::Gemini => "gemini-2.5-flash",
        // A real id with a `:`, which must be percent-encoded and signed as sent.
        Provider::Bedrock => "anthropic.claude-3-5-sonnet-20240620-v1:0",
        Provider::Azure => "gpt-4o-prod",
        Provider::Cohere => "command-a-03-2025",
        Provider::Mistral => "mistral-small-latest",
        Provider::Perplexity => "sonar",
        Provider::OpenAiCompatible => "llama-3.1-8b",
    }
}

/// An OpenAI chat request with the standard system prompt and user message.
pub fn openai_request(stream: bool) -> Value {
    let mut request = json!({
        "model": "client-alias",
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}],
    });
    if stream {
        request["stream"] = json!(true);
        request["stream_options"] = json!({"include_usage": true});
    }
    request
}

/// An Anthropic messages request with the standard system prompt and user message.
pub fn anthropic_request(stream: bool) -> Value {
    json!({
        "model": "client-alias", "max_tokens": 256, "system": SYSTEM, "stream": stream,
        "messages": [{"role": "user", "content": USER}],
    })
}

/// Sends `request` of `api` to `provider` on the mock with `secret`, with the proxy's own
/// upstream client.
pub async fn send_with(
    mock: &MockProviders,
    api: ClientApi,
    provider: Provider,
    secret: &ProviderSecret,
    request: &Value,
) -> (Exchange, UpstreamResponse) {
    let base_url = mock.base_url(provider);
    let target = Target {
        provider,
        model: model(provider),
        base_url: Some(&base_url),
        secret,
    };
    let prepared = prepare(api, request, &target).unwrap_or_else(|e| panic!("{provider:?}: {e}"));
    let response = UpstreamClient::new()
        .unwrap()
        .send(prepared.upstream)
        .await
        .unwrap();
    (prepared.exchange, response)
}

/// Sends with the provider's valid fixture key.
pub async fn send(
    mock: &MockProviders,
    api: ClientApi,
    provider: Provider,
    request: &Value,
) -> (Exchange, UpstreamResponse) {
    send_with(
        mock,
        api,
        provider,
        &fixture_secret(provider, KeyKind::Valid),
        request,
    )
    .await
}

/// A non-streaming call that must succeed; returns the translated answer.
pub async fn complete(
    mock: &MockProviders,
    api: ClientApi,
    provider: Provider,
    request: &Value,
) -> (Translated, Value) {
    let (exchange, response) = send(mock, api, provider, request).await;
    let status = response.status.as_u16();
    let headers = response.headers.clone();
    let body = response.bytes().await.unwrap();
    assert_eq!(
        status,
        200,
        "{provider:?}: {}",
        String::from_utf8_lossy(&body)
    );
    let translated = exchange
        .response(&headers, &body)
        .unwrap_or_else(|e| panic!("{provider:?}: {e}"));
    let json = serde_json::from_slice(&translated.body).unwrap();
    (translated, json)
}

/// A call that must fail upstream; returns the translated client error.
pub async fn fail(
    mock: &MockProviders,
    api: ClientApi,
    provider: Provider,
    secret: &ProviderSecret,
    request: &Value,
) -> ClientError {
    let (exchange, response) = send_with(mock, api, provider, secret, request).await;
    let status = response.status.as_u16();
    assert!(status >= 400, "{provider:?} answered {status}");
    let headers = response.headers.clone();
    let body = response.bytes().await.unwrap();
    exchange.error(status, &headers, &body, secret)
}

/// A streaming call: every upstream chunk goes through the observer, as the proxy does.
pub async fn stream(
    mock: &MockProviders,
    api: ClientApi,
    provider: Provider,
    request: &Value,
) -> (Vec<u8>, StreamSummary) {
    let (exchange, response) = send(mock, api, provider, request).await;
    assert_eq!(response.status, 200, "{provider:?}");
    assert!(exchange.is_stream());
    let mut observer = exchange.stream();
    let mut out = Vec::new();
    let mut chunks = response.into_stream();
    while let Some(chunk) = chunks.next().await {
        out.extend_from_slice(&observer.feed(chunk.unwrap()));
    }
    out.extend_from_slice(&observer.finish());
    (out, observer.summary().clone())
}

/// Feeds `bytes` to a fresh SSE parser and returns (event name, data) pairs.
pub fn sse_events(bytes: &[u8]) -> Vec<(Option<String>, String)> {
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    parser.push(bytes, &mut events).unwrap();
    parser.finish(&mut events);
    events
        .into_iter()
        .filter(|e| !e.is_keep_alive())
        .map(|e| (e.event, e.data))
        .collect()
}

/// What a client reassembles from a stream.
#[derive(Debug, Default)]
pub struct Reassembled {
    pub text: String,
    /// (id, name, arguments JSON text)
    pub tool_calls: Vec<(String, String, String)>,
    pub finish: Option<String>,
    pub usage: Option<Value>,
    pub error: Option<Value>,
    pub done: bool,
}

/// Reassembles an OpenAI `chat.completion.chunk` stream as the OpenAI SDK would.
pub fn reassemble_openai(bytes: &[u8]) -> Reassembled {
    let mut r = Reassembled::default();
    for (_, data) in sse_events(bytes) {
        if data == "[DONE]" {
            r.done = true;
            continue;
        }
        assert!(!r.done, "nothing may follow [DONE]");
        let chunk: Value = serde_json::from_str(&data).unwrap();
        if let Some(error) = chunk.get("error") {
            r.error = Some(error.clone());
            continue;
        }
        if !chunk["usage"].is_null() {
            r.usage = Some(chunk["usage"].clone());
        }
        let Some(choice) = chunk["choices"].get(0) else {
            continue;
        };
        if let Some(text) = choice["delta"]["content"].as_str() {
            r.text.push_str(text);
        }
        for call in choice["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let index = usize::try_from(call["index"].as_u64().unwrap()).unwrap();
            if r.tool_calls.len() <= index {
                r.tool_calls.push(Default::default());
            }
            let entry = &mut r.tool_calls[index];
            if let Some(id) = call["id"].as_str() {
                entry.0 = id.to_owned();
            }
            if let Some(name) = call["function"]["name"].as_str() {
                entry.1 = name.to_owned();
            }
            if let Some(args) = call["function"]["arguments"].as_str() {
                entry.2.push_str(args);
            }
        }
        if let Some(finish) = choice["finish_reason"].as_str() {
            r.finish = Some(finish.to_owned());
        }
    }
    r
}

/// Reassembles an Anthropic message event stream as the Anthropic SDK would, checking the
/// event grammar (start first, blocks opened before deltas, stop last).
pub fn reassemble_anthropic(bytes: &[u8]) -> Reassembled {
    let mut r = Reassembled::default();
    let events = sse_events(bytes);
    let mut open: Option<u64> = None;
    for (i, (name, data)) in events.iter().enumerate() {
        let name = name.as_deref().unwrap_or_default();
        let event: Value = serde_json::from_str(data).unwrap();
        assert_eq!(event["type"], name, "event name and type agree");
        match name {
            "message_start" => {
                assert_eq!(i, 0, "message_start comes first");
                r.usage = Some(event["message"]["usage"].clone());
            }
            "content_block_start" => {
                assert!(
                    open.is_none(),
                    "a block opens only after the previous one stopped"
                );
                open = event["index"].as_u64();
                let block = &event["content_block"];
                if block["type"] == "tool_use" {
                    r.tool_calls.push((
                        block["id"].as_str().unwrap().into(),
                        block["name"].as_str().unwrap().into(),
                        String::new(),
                    ));
                }
            }
            "content_block_delta" => {
                assert_eq!(open, event["index"].as_u64(), "deltas go to the open block");
                let delta = &event["delta"];
                match delta["type"].as_str() {
                    Some("text_delta") => r.text.push_str(delta["text"].as_str().unwrap()),
                    Some("input_json_delta") => r
                        .tool_calls
                        .last_mut()
                        .unwrap()
                        .2
                        .push_str(delta["partial_json"].as_str().unwrap()),
                    other => panic!("unexpected delta {other:?}"),
                }
            }
            "content_block_stop" => {
                assert_eq!(open.take(), event["index"].as_u64());
            }
            "message_delta" => {
                r.finish = event["delta"]["stop_reason"].as_str().map(str::to_owned);
                let usage = r.usage.get_or_insert_with(|| json!({}));
                for (k, v) in event["usage"].as_object().unwrap() {
                    usage[k] = v.clone();
                }
            }
            "message_stop" => {
                assert_eq!(i, events.len() - 1, "message_stop comes last");
                r.done = true;
            }
            "error" => r.error = Some(event["error"].clone()),
            "ping" => {}
            other => panic!("unexpected event {other}"),
        }
    }
    r
}

/// `bytes` as text, for assertion messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
