//! The log canary: every log line of the process (gateway, vault and mock in-process, at debug,
//! through the telemetry crate's redacting writer exactly as production formats them) is
//! captured while proxied calls carry a canary provider secret and a canary virtual key; neither
//! may appear in any log line nor in any response (body or headers).

use std::io::Write;
use std::sync::{Arc, Mutex};

use keyward_providers::Provider;
use keyward_testkit::mock_providers::Failure;
use serde_json::{Value, json};

use crate::proxy_harness::Px;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every 12-character window of `secret`'s distinctive part (after its well-known prefix).
fn pieces(secret: &str, prefix: &str) -> Vec<String> {
    let tail: Vec<char> = secret.strip_prefix(prefix).unwrap().chars().collect();
    tail.windows(12).map(|w| w.iter().collect()).collect()
}

fn assert_clean(what: &str, text: &str, needles: &[String]) {
    for n in needles {
        assert!(
            !text.contains(n.as_str()),
            "{what} leaks a canary piece `{n}`"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_log_canary_secret_and_virtual_key_never_logged_or_returned() {
    let logs = Capture::default();
    let sink = logs.clone();
    tracing::subscriber::set_global_default(keyward_telemetry::redacting_subscriber(
        "debug",
        move || sink.clone(),
    ))
    .unwrap();

    let px = Px::start().await;
    let secret = "sk-proj-CANARYq7Zx9LmW3vT8pR2sK5nB4hJ6dF1gY0cX7aV9eU3iO2wQ8rT5yP1lK4";
    px.store_key(Provider::OpenAi, secret, 0).await;
    let (_, key) = px.vkey(json!({"name": "canary"})).await;
    let fake_vkey = "kw_CANARYfakeVirtualKey0000aaaaBBBBccccDDDDeeee";
    let mut needles = pieces(secret, "sk-proj-");
    needles.extend(pieces(&key, "kw_"));
    needles.extend(pieces(fake_vkey, "kw_"));

    let chat = |stream: bool| {
        json!({"model": "gpt-4o-mini", "stream": stream, "max_tokens": 16,
               "messages": [{"role": "user", "content": "Say hello."}]})
    };
    let responses = json!({"model": "gpt-4o-mini", "input": "Say hello.", "max_output_tokens": 16});
    let answers = Mutex::new(Vec::new());
    let call = async |path: &str, k: &str, body: &Value| {
        let r = px.post(path, k, body).await;
        let status = r.status().as_u16();
        let headers = format!("{:?}", r.headers());
        let text = r.text().await.unwrap();
        answers
            .lock()
            .unwrap()
            .push(format!("{path} {status} {headers} {text}"));
        status
    };
    assert_eq!(call("/v1/chat/completions", &key, &chat(false)).await, 200);
    assert_eq!(call("/v1/chat/completions", &key, &chat(true)).await, 200);
    assert_eq!(call("/v1/responses", &key, &responses).await, 200);
    // An unknown virtual key, in the bearer and in x-api-key.
    assert_eq!(
        call("/v1/chat/completions", fake_vkey, &chat(false)).await,
        401
    );
    let r = px
        .http
        .post(format!("{}/v1/messages", px.base))
        .header("x-api-key", fake_vkey)
        .json(&json!({"model": "claude-opus-4-6", "max_tokens": 8,
                      "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let text = r.text().await.unwrap();
    answers.lock().unwrap().push(text);
    // The provider rejects the canary secret (OpenAI echoes part of a rejected key).
    px.mock
        .set_failure(Provider::OpenAi, secret, Some(Failure::Unauthorized));
    assert_eq!(call("/v1/chat/completions", &key, &chat(false)).await, 502);
    assert_eq!(call("/v1/chat/completions", &key, &chat(true)).await, 502);
    // The virtual key in the body, where a careless error message could echo it.
    let mut echo = chat(false);
    echo["model"] = json!(key.clone());
    call("/v1/chat/completions", &key, &echo).await;

    for a in answers.lock().unwrap().iter() {
        assert_clean("a response", a, &needles);
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(text.contains("api-gateway started"), "logs were captured");
    assert!(text.lines().count() > 20, "debug lines were captured");
    for line in text.lines() {
        assert_clean("a log line", line, &needles);
    }
}
