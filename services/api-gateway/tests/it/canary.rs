//! The leak canary: a password, refresh tokens, virtual keys and invitation tokens appear in the
//! one response that issues them and nowhere else: not in other responses, not in any log line
//! (checked before redaction), not in audit events, not in the database.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::harness::Gw;

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_never_leak_into_responses_logs_audit_or_storage() {
    let logs = Buf::default();
    let sink = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("info,keyward_api_gateway=trace,keyward_bus=debug,keyward_telemetry=debug,actix_web=debug")
        .with_writer(move || sink.clone())
        .json()
        .try_init()
        .expect("the canary test owns this process's log output (run it with nextest)");

    let gw = Gw::start().await;
    let owner = gw.bootstrap("Acme", "owner@acme.test").await;
    let password = "CANARY-pa55word-Zq9x";
    let mut secrets: Vec<String> = vec![password.into()];
    let mut responses: Vec<(String, String)> = Vec::new();
    let mut note =
        |what: &str, r: &crate::harness::Resp| responses.push((what.to_string(), r.text.clone()));

    // An invitation token and the canary password.
    let inv = gw
        .req(
            "POST",
            "/api/v1/invitations",
            Some(&owner.access),
            Some(json!({"email": "canary@acme.test", "role": "developer"})),
        )
        .await;
    let invite_token = inv.body["token"].as_str().unwrap().to_string();
    secrets.push(invite_token.clone());
    let acc = gw
        .req(
            "POST",
            "/api/v1/invitations/accept",
            None,
            Some(json!({"token": invite_token, "password": password})),
        )
        .await;
    assert_eq!(acc.status, 200);
    let again = gw
        .req(
            "POST",
            "/api/v1/invitations/accept",
            None,
            Some(json!({"token": invite_token, "password": password})),
        )
        .await;
    assert_eq!(again.status, 401);
    note("accept again", &again);
    secrets.push(acc.body["refresh_token"].as_str().unwrap().into());

    // Sign-ins: good, bad (a near-canary password), reuse of a refresh token.
    let login = gw
        .req(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "canary@acme.test", "password": password})),
        )
        .await;
    assert_eq!(login.status, 200);
    let access = login.body["access_token"].as_str().unwrap().to_string();
    let refresh = login.body["refresh_token"].as_str().unwrap().to_string();
    secrets.push(refresh.clone());
    let wrong = format!("{password}-wrong");
    let r = gw
        .req(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "canary@acme.test", "password": wrong})),
        )
        .await;
    note("bad login", &r);
    secrets.push(wrong);
    let r = gw
        .req(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "canary@acme.test", "password": password, "bogus": password})),
        )
        .await;
    assert_eq!(r.status, 400);
    note("login with unknown field", &r);
    let rot = gw
        .req(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    secrets.push(rot.body["refresh_token"].as_str().unwrap().into());
    let r = gw
        .req(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(r.status, 401);
    note("refresh reuse", &r);
    let r = gw
        .req(
            "POST",
            "/api/v1/me/password",
            Some(&access),
            Some(json!({"current_password": "nope nope nope", "new_password": password})),
        )
        .await;
    note("password change refused", &r);

    // A virtual key through its whole life.
    let created = gw
        .req(
            "POST",
            "/api/v1/virtual-keys",
            Some(&owner.access),
            Some(json!({"name": "canary"})),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_string();
    secrets.push(created.body["key"].as_str().unwrap().into());
    for (m, p, b) in [
        ("GET", format!("/api/v1/virtual-keys/{id}"), None),
        ("GET", "/api/v1/virtual-keys".to_string(), None),
        (
            "PATCH",
            format!("/api/v1/virtual-keys/{id}"),
            Some(json!({"models": ["gpt-4o"]})),
        ),
    ] {
        let r = gw.req(m, &p, Some(&owner.access), b).await;
        note(&format!("{m} {p}"), &r);
    }
    let rot = gw
        .req(
            "POST",
            &format!("/api/v1/virtual-keys/{id}/rotate"),
            Some(&owner.access),
            None,
        )
        .await;
    secrets.push(rot.body["key"].as_str().unwrap().into());
    let r = gw
        .req(
            "POST",
            &format!("/api/v1/virtual-keys/{id}/revoke"),
            Some(&owner.access),
            None,
        )
        .await;
    note("revoke", &r);
    let r = gw
        .req("GET", "/api/v1/virtual-keys", Some(&owner.access), None)
        .await;
    note("list after", &r);
    // A secret sent where it does not belong is not echoed back.
    let key = secrets.last().unwrap().clone();
    let r = gw
        .req(
            "POST",
            "/api/v1/teams",
            Some(&owner.access),
            Some(json!({"name": 1, "description": key})),
        )
        .await;
    assert_eq!(r.status, 400);
    note("bad team with a key inside", &r);
    let r = gw.req("GET", "/api/v1/me", Some(&key), None).await;
    note("vkey as bearer", &r);

    // A provider key through its whole life: stored, listed, read, validated, rotated (with
    // an Azure-shaped secret refused), revoked, deleted. Its secrets never come back.
    let pk_secret = "sk-CANARY-provider-Vb7Lq2Xr9Tn4Wm8Kd3-aR5tY8uI0pL";
    let pk_rotated = "sk-CANARY-rotated-Hq5Zp1Yc6Ju2Ns7Ge0-bQ6wE9rT1yU";
    secrets.push(pk_secret.into());
    secrets.push(pk_rotated.into());
    let created = gw
        .req(
            "POST",
            "/api/v1/provider-keys",
            Some(&owner.access),
            Some(
                json!({"name": "canary pk", "provider": "openai", "secret": pk_secret,
                "base_url": "http://127.0.0.1:9/v1", "validate": true}),
            ),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    note("provider key create", &created);
    let pk = created.body["key"]["id"].as_str().unwrap().to_string();
    for (m, p, b) in [
        ("GET", "/api/v1/provider-keys".to_string(), None),
        ("GET", format!("/api/v1/provider-keys/{pk}"), None),
        ("POST", format!("/api/v1/provider-keys/{pk}/validate"), None),
        (
            "POST",
            format!("/api/v1/provider-keys/{pk}/rotate"),
            Some(json!({"secret": {"api_key": pk_secret, "endpoint": "x", "api_version": "y"}})),
        ),
        (
            "POST",
            format!("/api/v1/provider-keys/{pk}/rotate"),
            Some(json!({"secret": pk_rotated, "grace_seconds": 60, "validate": true})),
        ),
        (
            "POST",
            "/api/v1/provider-keys".to_string(),
            Some(json!({"name": 5, "provider": "openai", "secret": pk_secret})),
        ),
        ("POST", format!("/api/v1/provider-keys/{pk}/revoke"), None),
        ("DELETE", format!("/api/v1/provider-keys/{pk}"), None),
        ("GET", format!("/api/v1/provider-keys/{pk}"), None),
    ] {
        let r = gw.req(m, &p, Some(&owner.access), b).await;
        assert!(r.status < 500, "{m} {p}: {}", r.text);
        note(&format!("{m} {p}"), &r);
    }
    gw.wait_audit(|e| e.action == "virtual_key.revoke").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let log_text = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(
        log_text.contains("http request"),
        "the log capture saw nothing"
    );
    let audit_text: String = gw
        .tap
        .audit
        .lock()
        .unwrap()
        .iter()
        .map(|e| format!("{e:?}"))
        .collect();
    let mut admin = gw.tp.db.admin().await;
    let mut stored = String::new();
    for t in [
        "users",
        "sessions",
        "refresh_tokens",
        "invitations",
        "virtual_keys",
        "login_attempts",
        "totp_secrets",
    ] {
        let dump: Option<String> = sqlx::query_scalar(&format!(
            "SELECT string_agg(t::text, '\n') FROM identity.{t} t"
        ))
        .fetch_one(&mut admin)
        .await
        .unwrap();
        stored.push_str(&dump.unwrap_or_default());
    }
    for s in &secrets {
        let core = &s[s.len().saturating_sub(24)..];
        for (what, text) in &responses {
            assert!(!text.contains(core), "response `{what}` contains a secret");
        }
        assert!(!log_text.contains(core), "a log line contains a secret");
        assert!(
            !audit_text.contains(core),
            "an audit event contains a secret"
        );
        assert!(
            !stored.contains(core),
            "the database stores a secret in clear"
        );
    }
    assert!(
        !log_text.contains(&access[access.len() - 20..]),
        "a log line contains an access token"
    );
}
