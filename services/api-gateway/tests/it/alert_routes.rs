//! The alert routes against the real alert service (and the vault it keeps channel secrets in):
//! rules and channels CRUD, a test send to a local webhook receiver, alert state changes,
//! deliveries, cross-org ids, the SSRF guard, and a canary secret that must never come back.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

use crate::harness::{Extra, Gw, Session};
use crate::matrix::fire_alert;

/// What the local webhook receiver got: (signature header, body).
type Inbox = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A webhook receiver on a free local port; answers 200.
fn receiver() -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    let i = inbox.clone();
    let port = keyward_testkit::free_port();
    let server = HttpServer::new(move || {
        let i = i.clone();
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let i = i.clone();
            async move {
                let sig = req
                    .headers()
                    .get("x-keyward-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                i.lock().unwrap().push((sig, body.to_vec()));
                HttpResponse::Ok().finish()
            }
        }))
    })
    .workers(1)
    .bind(("127.0.0.1", port))
    .unwrap()
    .run();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}/hooks/keyward"), inbox)
}

async fn start(allow_private: bool) -> Gw {
    Gw::start_full(&[Extra::Alert], |cfg| {
        cfg.allow_private_webhook_targets = allow_private;
    })
    .await
}

async fn call(gw: &Gw, who: &Session, method: &str, path: &str, body: Option<Value>) -> Value {
    let r = gw.req(method, path, Some(&who.access), body).await;
    assert!(r.status < 300, "{method} {path}: {} {}", r.status, r.text);
    r.body
}

#[tokio::test]
async fn rules_crud_and_cross_org_ids() {
    let gw = start(true).await;
    let o = gw.bootstrap("Alpha", "owner@alpha.test").await;
    let other = gw.bootstrap("Bravo", "owner@bravo.test").await;
    // A new org starts with the default rules.
    let defaults = call(&gw, &o, "GET", "/api/v1/alerts/rules", None).await;
    assert!(
        defaults["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["is_default"] == true && r["rule_type"] == "budget")
    );
    let created = call(
        &gw,
        &o,
        "POST",
        "/api/v1/alerts/rules",
        Some(
            json!({"name": "big spike", "rule_type": "spend_spike", "severity": "critical",
                    "conditions": {"sensitivity": 3.0}, "dedup_window_minutes": 30}),
        ),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["severity"], "critical");
    assert_eq!(created["dedup_window_seconds"], 1800);
    assert_eq!(created["conditions"]["sensitivity"], 3.0);
    let path = format!("/api/v1/alerts/rules/{id}");
    let replaced = call(
        &gw,
        &o,
        "PUT",
        &path,
        Some(json!({"name": "big spike", "rule_type": "spend_spike", "enabled": false})),
    )
    .await;
    assert_eq!(replaced["enabled"], false);
    assert_eq!(replaced["severity"], "warning", "PUT replaces every field");
    // Bad input: the rule type cannot change; unknown fields are refused and change nothing.
    let r = gw
        .req(
            "PUT",
            &path,
            Some(&o.access),
            Some(json!({"name": "x", "rule_type": "budget"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = gw
        .req(
            "POST",
            "/api/v1/alerts/rules",
            Some(&o.access),
            Some(json!({"name": "x", "rule_type": "budget", "bogus": 1})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["field"], "bogus");
    assert_eq!(call(&gw, &o, "GET", &path, None).await["enabled"], false);
    // Another org: 404 for every id route, and its list does not have it.
    for (m, body) in [
        ("GET", None),
        (
            "PUT",
            Some(json!({"name": "mine", "rule_type": "spend_spike"})),
        ),
        ("DELETE", None),
    ] {
        let r = gw.req(m, &path, Some(&other.access), body).await;
        assert_eq!(r.status, 404, "{m}: {}", r.text);
    }
    let theirs = call(&gw, &other, "GET", "/api/v1/alerts/rules", None).await;
    assert!(!theirs.to_string().contains(&id));
    gw.wait_audit(|e| {
        e.action == "alert_rule.created"
            && e.resource_id == id
            && e.actor.as_ref().is_some_and(|a| a.id == o.user_id)
    })
    .await;
    let r = gw.req("DELETE", &path, Some(&o.access), None).await;
    assert_eq!(r.status, 204);
    assert_eq!(
        gw.req("GET", &path, Some(&o.access), None).await.status,
        404
    );
}

#[tokio::test]
async fn channel_test_send_reaches_a_local_webhook_and_secrets_never_come_back() {
    let gw = start(true).await;
    let o = gw.bootstrap("Alpha", "owner@alpha.test").await;
    let other = gw.bootstrap("Bravo", "owner@bravo.test").await;
    let (url, inbox) = receiver();
    let canary = "CANARYsecret7c41d9e0";
    let url = format!("{url}?token={canary}");
    let signing = format!("whsec_{canary}signing");
    let mut seen = String::new();
    let created = call(
        &gw,
        &o,
        "POST",
        "/api/v1/alerts/channels",
        Some(json!({"name": "ops hook", "kind": "webhook",
                    "secrets": {"url": url, "signing_secret": signing}})),
    )
    .await;
    seen.push_str(&created.to_string());
    assert!(created.get("generated_signing_secret").is_none());
    let id = created["channel"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/alerts/channels/{id}");
    let test = call(&gw, &o, "POST", &format!("{path}/test"), None).await;
    seen.push_str(&test.to_string());
    assert_eq!(test["delivered"], true, "{test}");
    assert_eq!(test["delivery"]["reason"], "test");
    assert_eq!(test["delivery"]["status"], "delivered");
    let got = inbox.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (sig, body) = &got[0];
    keyward_alert::webhook::verify(
        signing.as_bytes(),
        sig,
        body,
        chrono::Utc::now().timestamp(),
        std::time::Duration::from_secs(300),
    )
    .expect("the receiver verifies the signature with the stored signing secret");
    assert_eq!(
        serde_json::from_slice::<Value>(body).unwrap()["type"],
        "alert.test"
    );
    let delivery = test["delivery"]["id"].as_str().unwrap().to_string();
    for p in [
        path.clone(),
        "/api/v1/alerts/channels".to_string(),
        format!("/api/v1/alerts/deliveries/{delivery}"),
        format!("/api/v1/alerts/deliveries?channel_id={id}"),
    ] {
        seen.push_str(&call(&gw, &o, "GET", &p, None).await.to_string());
    }
    // Update with new secrets: still never echoed.
    let url2 = format!("{}&v=2", url);
    let updated = call(
        &gw,
        &o,
        "PUT",
        &path,
        Some(json!({"name": "ops hook 2", "secrets": {"url": url2, "signing_secret": signing}})),
    )
    .await;
    seen.push_str(&updated.to_string());
    assert_eq!(updated["channel"]["name"], "ops hook 2");
    assert!(!seen.contains(canary), "a channel secret came back: {seen}");
    // Only the documented hint (scheme and host) comes back, never the path or query.
    assert!(
        !seen.contains("/hooks/keyward"),
        "the webhook URL came back: {seen}"
    );
    // Audit events of the test send, by the caller, without the secret.
    let a = gw
        .wait_audit(|e| e.action == "alert_channel.tested" && e.resource_id == id)
        .await;
    assert_eq!(a.actor.unwrap().id, o.user_id);
    assert!(!format!("{:?}", gw.tap.audit.lock().unwrap()).contains(canary));
    // Another org cannot see, test, change or delete it.
    for (m, p, body) in [
        ("GET", path.clone(), None),
        ("POST", format!("{path}/test"), None),
        ("PUT", path.clone(), Some(json!({"name": "mine"}))),
        ("DELETE", path.clone(), None),
        ("GET", format!("/api/v1/alerts/deliveries/{delivery}"), None),
    ] {
        let r = gw.req(m, &p, Some(&other.access), body).await;
        assert_eq!(r.status, 404, "{m} {p}: {}", r.text);
    }
    assert_eq!(
        inbox.lock().unwrap().len(),
        1,
        "nothing was sent for the other org"
    );
    let r = gw.req("DELETE", &path, Some(&o.access), None).await;
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn a_generated_signing_secret_is_shown_once() {
    let gw = start(true).await;
    let o = gw.bootstrap("Alpha", "owner@alpha.test").await;
    let (url, _) = receiver();
    let r = call(
        &gw,
        &o,
        "POST",
        "/api/v1/alerts/channels",
        Some(json!({"name": "hook", "kind": "webhook", "secrets": {"url": url}})),
    )
    .await;
    let secret = r["generated_signing_secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let id = r["channel"]["id"].as_str().unwrap();
    let again = call(
        &gw,
        &o,
        "GET",
        &format!("/api/v1/alerts/channels/{id}"),
        None,
    )
    .await;
    assert!(!again.to_string().contains(&secret));
}

#[tokio::test]
async fn private_webhook_targets_are_refused_by_default() {
    let gw = start(false).await;
    let o = gw.bootstrap("Alpha", "owner@alpha.test").await;
    let before = gw.snapshot().await;
    for (body, field) in [
        (
            json!({"name": "h", "kind": "webhook", "secrets": {"url": "http://127.0.0.1:9/x"}}),
            "secrets.url",
        ),
        (
            json!({"name": "h", "kind": "webhook", "secrets": {"url": "http://169.254.169.254/latest"}}),
            "secrets.url",
        ),
        (
            json!({"name": "s", "kind": "slack", "secrets": {"webhook_url": "http://localhost/hook"}}),
            "secrets.webhook_url",
        ),
        (
            json!({"name": "p", "kind": "pagerduty", "settings": {"url": "http://[::1]/enqueue"},
                   "secrets": {"routing_key": "abc"}}),
            "settings.url",
        ),
    ] {
        let r = gw
            .req(
                "POST",
                "/api/v1/alerts/channels",
                Some(&o.access),
                Some(body),
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.body["error"]["field"], field, "{}", r.text);
    }
    assert_eq!(
        gw.snapshot().await,
        before,
        "a refused channel changed nothing"
    );
    let ok = gw
        .req(
            "POST",
            "/api/v1/alerts/channels",
            Some(&o.access),
            Some(json!({"name": "h", "kind": "webhook",
                        "secrets": {"url": "https://hooks.example.com/keyward"}})),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
}

#[tokio::test]
async fn acknowledge_snooze_and_resolve_change_the_alert_state() {
    let gw = start(true).await;
    let o = gw.bootstrap("Alpha", "owner@alpha.test").await;
    let other = gw.bootstrap("Bravo", "owner@bravo.test").await;
    let viewer = gw.member(&o, "viewer@alpha.test", "viewer", None).await;
    let id = fire_alert(&gw, &o).await;
    let path = format!("/api/v1/alerts/{id}");
    let detail = call(&gw, &o, "GET", &path, None).await;
    assert_eq!(detail["alert"]["state"], "firing");
    assert_eq!(detail["alert"]["rule_type"], "key_health");
    // Readers read, but may not act.
    assert_eq!(
        call(&gw, &viewer, "GET", &path, None).await["alert"]["id"],
        id.as_str()
    );
    let r = gw
        .req("POST", &format!("{path}/ack"), Some(&viewer.access), None)
        .await;
    assert_eq!(r.status, 403);
    // Other orgs get 404.
    for action in ["ack", "resolve", "snooze"] {
        let body = (action == "snooze").then(|| json!({"minutes": 5}));
        let r = gw
            .req(
                "POST",
                &format!("{path}/{action}"),
                Some(&other.access),
                body,
            )
            .await;
        assert_eq!(r.status, 404, "{action}: {}", r.text);
    }
    assert_eq!(
        gw.req("GET", &path, Some(&other.access), None).await.status,
        404
    );

    let acked = call(&gw, &o, "POST", &format!("{path}/ack"), None).await;
    assert_eq!(acked["state"], "acknowledged");
    assert!(acked["acknowledged_at"].is_string());
    let r = gw
        .req(
            "POST",
            &format!("{path}/snooze"),
            Some(&o.access),
            Some(json!({"minutes": 0})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["field"], "minutes");
    let snoozed = call(
        &gw,
        &o,
        "POST",
        &format!("{path}/snooze"),
        Some(json!({"minutes": 60})),
    )
    .await;
    assert_eq!(snoozed["state"], "snoozed");
    assert!(snoozed["snoozed_until"].is_string());
    let listed = call(&gw, &o, "GET", "/api/v1/alerts?state=snoozed", None).await;
    assert_eq!(listed["items"][0]["id"], id.as_str());
    let resolved = call(
        &gw,
        &o,
        "POST",
        &format!("{path}/resolve"),
        Some(json!({"comment": "fixed the key"})),
    )
    .await;
    assert_eq!(resolved["state"], "resolved");
    let r = gw
        .req("POST", &format!("{path}/ack"), Some(&o.access), None)
        .await;
    assert!(
        r.status >= 400,
        "a resolved alert cannot be acknowledged: {}",
        r.text
    );
    for action in ["alert.acknowledged", "alert.snoozed", "alert.resolved"] {
        gw.wait_audit(|e| e.action == action && e.resource_id == id)
            .await;
    }
    let firing = call(&gw, &o, "GET", "/api/v1/alerts?state=firing", None).await;
    assert!(!firing.to_string().contains(&id));
}

#[tokio::test]
async fn failed_deliveries_are_listed_and_retried() {
    let gw = start(true).await;
    let o = gw.bootstrap("Alpha", "owner@alpha.test").await;
    let ch = call(
        &gw,
        &o,
        "POST",
        "/api/v1/alerts/channels",
        Some(
            json!({"name": "dead", "kind": "webhook", "secrets": {"url": "http://127.0.0.1:9/x"}}),
        ),
    )
    .await;
    let ch = ch["channel"]["id"].as_str().unwrap().to_string();
    let test = call(
        &gw,
        &o,
        "POST",
        &format!("/api/v1/alerts/channels/{ch}/test"),
        None,
    )
    .await;
    assert_eq!(test["delivered"], false);
    assert!(
        !test["detail"].as_str().unwrap().contains("127.0.0.1"),
        "{test}"
    );
    let d = test["delivery"]["id"].as_str().unwrap().to_string();
    let failed = call(
        &gw,
        &o,
        "GET",
        "/api/v1/alerts/deliveries?status=failed",
        None,
    )
    .await;
    assert!(
        failed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == d.as_str())
    );
    let retried = call(
        &gw,
        &o,
        "POST",
        &format!("/api/v1/alerts/deliveries/{d}/retry"),
        None,
    )
    .await;
    assert_eq!(retried["status"], "pending");
    gw.wait_audit(|e| e.action == "alert_delivery.retried" && e.resource_id == d)
        .await;
    let r = gw
        .req(
            "GET",
            "/api/v1/alerts/deliveries?status=lost",
            Some(&o.access),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["field"], "status");
}

#[tokio::test]
async fn periodic_rules_can_read_usage() {
    // The grants of migrations/usage/0002: the alert role reads the hourly rollup and the
    // events with the columns its periodic rules query.
    let gw = start(true).await;
    let pool = gw.tp.db.pool(keyward_core::ServiceName::Alert).await;
    let source = keyward_alert::PgSource::new(pool.clone());
    use keyward_alert::MetricsSource as _;
    let org = uuid::Uuid::now_v7();
    let now = chrono::Utc::now();
    let spend = source
        .hourly_spend(
            org,
            &Default::default(),
            now - chrono::Duration::hours(2),
            now,
        )
        .await;
    assert!(spend.is_ok(), "{:?}", spend.err());
    // The columns the error-rate and p95 rules read from the events, as the alert role.
    let calls: Result<Vec<(Option<String>, i64)>, _> = sqlx::query_as(
        "SELECT provider_key_id::text, count(*) FILTER (WHERE status <> 'ok') \
         FROM usage.events WHERE org_id = $1 AND ts >= $2 AND team_id IS NULL \
         AND project_id IS NULL AND user_id IS NULL AND virtual_key_id IS NULL \
         AND latency_ms >= 0 AND provider <> '' GROUP BY 1",
    )
    .bind(org)
    .bind(now - chrono::Duration::hours(2))
    .fetch_all(&pool)
    .await;
    assert!(calls.is_ok(), "{:?}", calls.err());
}

#[tokio::test]
async fn updating_a_channel_without_settings_keeps_them() {
    let gw = start(false).await;
    let o = gw.bootstrap("Mail Co", "owner@mail.test").await;
    let settings = json!({"host": "smtp.mail.test", "port": 2525, "from": "alerts@mail.test",
                          "to": ["oncall@mail.test"]});
    let created = call(
        &gw,
        &o,
        "POST",
        "/api/v1/alerts/channels",
        Some(json!({"name": "mail", "kind": "email", "settings": settings})),
    )
    .await;
    let id = created["channel"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/alerts/channels/{id}");
    let renamed = call(&gw, &o, "PUT", &path, Some(json!({"name": "mail 2"}))).await;
    assert_eq!(renamed["channel"]["name"], "mail 2");
    let got = call(&gw, &o, "GET", &path, None).await;
    assert_eq!(got["settings"]["to"][0], "oncall@mail.test", "{got}");
    assert_eq!(got["settings"]["host"], "smtp.mail.test", "{got}");
    // Given settings replace the old ones, validated.
    let r = gw
        .req(
            "PUT",
            &path,
            Some(&o.access),
            Some(json!({"name": "mail 3", "settings": {"host": ""}})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let got = call(&gw, &o, "GET", &path, None).await;
    assert_eq!(
        got["name"], "mail 2",
        "a refused update changed nothing: {got}"
    );
}
