use super::*;

const OPENAI: &str = "sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL";
const OPENAI_PROJ: &str = "sk-proj-Ab3_De6-Gh9Jk2Mn5Pq8St1Vw4Yz7Bc0Ef3Hi6Kl9No2Qr5Tu8Wx1";
const OPENAI_SVC: &str = "sk-svcacct-Zy9Xw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe9Dc8Ba7";
const ANTHROPIC: &str =
    "sk-ant-api03-Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8L9z0X1c2V3b4N5m6-AbCdEfAA";
const GOOGLE: &str = "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY";
const AWS_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const AWS_STS_ID: &str = "ASIAY34FZKBOKMUTVV7A";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const AZURE: &str = "0123456789abcdef0123456789abcdef";
const COHERE: &str = "Xk9pL2mQ7rT4vW8yZ1aB3cD5eF6gH0iJ2kL4mN6o";
const MISTRAL: &str = "q9W8e7R6t5Y4u3I2o1P0a9S8d7F6g5H4";
const PPLX: &str = "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";
const KEYWARD: &str = "kw_4fQ8zR2mX7pL1vN9tK3sJ6wY0bH5gD8cA2eU7iO";
const JWT: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";

/// (input, secrets that must not survive, exact expected output)
fn canaries() -> Vec<(String, Vec<&'static str>, String)> {
    vec![
        (
            format!("using key {OPENAI} now"),
            vec![OPENAI],
            "using key sk-…[REDACTED] now".into(),
        ),
        (
            format!("{OPENAI_PROJ}."),
            vec![OPENAI_PROJ],
            "sk-proj-…[REDACTED].".into(),
        ),
        (
            format!("k={OPENAI_SVC}"),
            vec![OPENAI_SVC],
            "k=sk-svcacct-…[REDACTED]".into(),
        ),
        (
            format!("({ANTHROPIC})"),
            vec![ANTHROPIC],
            "(sk-ant-…[REDACTED])".into(),
        ),
        (
            format!("google {GOOGLE}"),
            vec![GOOGLE],
            "google AIza…[REDACTED]".into(),
        ),
        (
            format!("id={AWS_ID}"),
            vec![AWS_ID],
            "id=AKIA…[REDACTED]".into(),
        ),
        (
            format!("\"AccessKeyId\": \"{AWS_STS_ID}\""),
            vec![AWS_STS_ID],
            "\"AccessKeyId\": \"ASIA…[REDACTED]\"".into(),
        ),
        (
            format!("aws_secret_access_key = {AWS_SECRET}"),
            vec![AWS_SECRET],
            "aws_secret_access_key = [REDACTED]".into(),
        ),
        (
            format!("{{\"SecretAccessKey\":\"{AWS_SECRET}\"}}"),
            vec![AWS_SECRET],
            "{\"SecretAccessKey\":\"[REDACTED]\"}".into(),
        ),
        (
            format!("{{\"secret\": \"{AWS_SECRET}\"}}"),
            vec![AWS_SECRET],
            "{\"secret\": \"[REDACTED]\"}".into(),
        ),
        (
            format!("api-key: {AZURE}"),
            vec![AZURE],
            "api-key: [REDACTED]".into(),
        ),
        (
            format!("{{\"key\":\"{AZURE}\"}}"),
            vec![AZURE],
            "{\"key\":\"[REDACTED]\"}".into(),
        ),
        (
            format!("COHERE_API_KEY={COHERE}"),
            vec![COHERE],
            "COHERE_API_KEY=[REDACTED]".into(),
        ),
        (
            format!("key: {COHERE}"),
            vec![COHERE],
            "key: [REDACTED]".into(),
        ),
        (
            format!("MISTRAL_API_KEY=\"{MISTRAL}\""),
            vec![MISTRAL],
            "MISTRAL_API_KEY=\"[REDACTED]\"".into(),
        ),
        (
            format!("pplx: {PPLX}"),
            vec![PPLX],
            "pplx: pplx-…[REDACTED]".into(),
        ),
        (
            format!("virtual key {KEYWARD} revoked"),
            vec![KEYWARD],
            "virtual key kw_…[REDACTED] revoked".into(),
        ),
        (
            format!("Authorization: Bearer {KEYWARD}"),
            vec![KEYWARD],
            "Authorization: Bearer kw_…[REDACTED]".into(),
        ),
        (
            "authorization: Basic dXNlcjpwYXNzd29yZA==".into(),
            vec!["dXNlcjpwYXNzd29yZA"],
            "authorization: Basic [REDACTED]".into(),
        ),
        (
            "{\"Authorization\":\"Bearer opaque-token-123\"}".into(),
            vec!["opaque-token-123"],
            "{\"Authorization\":\"Bearer [REDACTED]\"}".into(),
        ),
        (
            "Proxy-Authorization: abcdef123456".into(),
            vec!["abcdef123456"],
            "Proxy-Authorization: [REDACTED]".into(),
        ),
        (
            format!("got bearer {JWT} from idp"),
            vec![JWT, "dozjgNryP4J3"],
            "got bearer eyJ…[REDACTED] from idp".into(),
        ),
        (
            format!("token {JWT}"),
            vec!["dozjgNryP4J3"],
            "token eyJ…[REDACTED]".into(),
        ),
        (
            format!("x-api-key: {ANTHROPIC}\r\n"),
            vec![ANTHROPIC],
            "x-api-key: sk-ant-…[REDACTED]\r\n".into(),
        ),
        (
            "X-Goog-Api-Key: plainvalue99".into(),
            vec!["plainvalue99"],
            "X-Goog-Api-Key: [REDACTED]".into(),
        ),
        (
            format!("GET https://generativelanguage.googleapis.com/v1/models?key={GOOGLE}&alt=sse"),
            vec![GOOGLE],
            "GET https://generativelanguage.googleapis.com/v1/models?key=AIza…[REDACTED]&alt=sse"
                .into(),
        ),
        (
            "https://h/x?a=1&api_key=s3cr3t&b=2".into(),
            vec!["s3cr3t"],
            "https://h/x?a=1&api_key=[REDACTED]&b=2".into(),
        ),
        (
            "wss://h/stream?token=abc#frag".into(),
            vec!["abc#"],
            "wss://h/stream?token=[REDACTED]#frag".into(),
        ),
        (
            "postgres://keyward:hunter2@db:5432/vault".into(),
            vec!["hunter2"],
            "postgres://keyward:[REDACTED]@db:5432/vault".into(),
        ),
        (
            "amqp://:p4ss@rabbit/".into(),
            vec!["p4ss"],
            "amqp://:[REDACTED]@rabbit/".into(),
        ),
        (
            "password=hunter2 user=bob".into(),
            vec!["hunter2"],
            "password=[REDACTED] user=bob".into(),
        ),
        (
            "client_secret: 'abc123def456'".into(),
            vec!["abc123def456"],
            "client_secret: '[REDACTED]'".into(),
        ),
        (
            format!("OPENAI_API_KEY={OPENAI}\nANTHROPIC_API_KEY={ANTHROPIC}\n"),
            vec![OPENAI, ANTHROPIC],
            "OPENAI_API_KEY=sk-…[REDACTED]\nANTHROPIC_API_KEY=sk-ant-…[REDACTED]\n".into(),
        ),
        (
            format!("é→ {OPENAI} ←ü"),
            vec![OPENAI],
            "é→ sk-…[REDACTED] ←ü".into(),
        ),
    ]
}

#[test]
fn canaries_are_masked_exactly() {
    for (input, secrets, expected) in canaries() {
        let out = redact(&input);
        assert!(matches!(out, Cow::Owned(_)), "{input}");
        for secret in secrets {
            assert!(
                !out.contains(secret),
                "{secret} leaked from {input:?}: {out}"
            );
        }
        assert_eq!(out, expected, "input: {input:?}");
    }
}

#[test]
fn redaction_is_idempotent() {
    for (input, _, _) in canaries() {
        let once = redact(&input).into_owned();
        let twice = redact(&once);
        assert_eq!(twice, once, "input: {input:?}");
        assert!(
            matches!(twice, Cow::Borrowed(_)),
            "re-redacting {once:?} allocated"
        );
    }
}

#[test]
fn ordinary_text_is_borrowed_unchanged() {
    let ordinary = [
        "",
        "request 0190c8a2-7b3e-7c4d-9e5f-0a1b2c3d4e5f finished in 12ms",
        "model=gpt-4o-mini provider=openai",
        "claude-3-5-sonnet-20241022 and gemini-1.5-pro-002 and mistral-large-latest",
        "task-1 failed; retrying task-2 (risk-adjusted, desk-lamp, sk-learn)",
        "sk- is the OpenAI prefix; sk-short is not a key",
        "usage: {\"prompt_tokens\": 12, \"completion_tokens\": 34, \"total_tokens\": 46}",
        "max_tokens=512 key_id=7f3e token_count=9",
        "idempotency key: 0190c8a2-7b3e-7c4d-9e5f-0a1b2c3d4e5f",
        "the key: value store",
        "see https://platform.openai.com/account/api-keys for details",
        "Incorrect API key provided: sk-proj-abc***********************xyz.",
        "Bearer tokens are described in RFC 6750",
        "AKIA alone, ASIA too, AIza short",
        "https://example.com/path?page=2&sort=desc",
        "user@example.com wrote: ok",
        "keyward_vault_keys_total 42",
    ];
    for text in ordinary {
        let out = redact(text);
        assert!(
            matches!(out, Cow::Borrowed(_)),
            "changed {text:?} into {out:?}"
        );
    }
}

#[test]
fn several_secrets_in_one_upstream_body() {
    let body = format!(
        r#"{{"error":{{"message":"invalid x-api-key {ANTHROPIC} or key={GOOGLE}","request":"Authorization: Bearer {OPENAI_PROJ}"}}}}"#
    );
    let out = redact(&body);
    for secret in [ANTHROPIC, GOOGLE, OPENAI_PROJ] {
        assert!(!out.contains(secret), "{out}");
        assert!(!out.contains(&secret[secret.len() - 8..]), "{out}");
    }
    assert_eq!(out.matches(REDACTED).count(), 3, "{out}");
}

#[test]
fn bytes_helper_handles_invalid_utf8() {
    let mut body = b"oops \xff ".to_vec();
    body.extend_from_slice(OPENAI.as_bytes());
    assert_eq!(redact_bytes(&body), "oops \u{fffd} sk-…[REDACTED]");
    assert!(matches!(redact_bytes(b"plain"), Cow::Borrowed("plain")));
}

#[test]
fn uuid_detection() {
    assert!(is_uuid("0190c8a2-7b3e-7c4d-9e5f-0a1b2c3d4e5f"));
    assert!(!is_uuid("0190c8a2-7b3e-7c4d-9e5f-0a1b2c3d4e5"));
    assert!(!is_uuid(AZURE));
}

#[test]
fn markers_keep_only_public_prefixes() {
    assert_eq!(marker("sk-ant-xyz"), "sk-ant-…[REDACTED]");
    assert_eq!(marker("sk-"), "[REDACTED]");
    assert_eq!(marker("hunter2"), "[REDACTED]");
}
