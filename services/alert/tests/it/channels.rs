//! E-mail over SMTP, Slack and PagerDuty, with their secrets held by the vault.

use keyward_core::ServiceName;
use keyward_proto::v1 as pb;
use sqlx::Row;

use crate::harness::{Options, key_invalid, meta, start};
use crate::receivers::Receiver;
use crate::smtp::SmtpSink;

/// Undoes quoted-printable soft line breaks so assertions see whole words.
fn unfold(s: &str) -> String {
    s.replace("=\r\n", "").replace("=\n", "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_sink_receives_the_email_with_a_plain_text_and_an_html_part() {
    let t = start(Options::default()).await;
    let sink = SmtpSink::start().await;
    let settings = serde_json::json!({
        "host": "127.0.0.1", "port": sink.port, "tls": "none", "username": "keyward",
        "from": "Keyward <alerts@keyward.test>", "to": ["oncall@example.com", "lead@example.com"],
    });
    let (ch, _) = t
        .channel(
            "email",
            settings,
            serde_json::json!({"password": "smtp-Pa55-from-the-vault"}),
        )
        .await;
    assert_eq!(ch.secret_hint, "password set");

    t.publish(key_invalid("0193f3c4-0000-7000-8000-0000000000d1"))
        .await;
    let Some(mails) = sink.wait_for(1).await else {
        panic!(
            "no mail arrived; deliveries: {:#?}",
            t.deliveries(None).await
        );
    };
    let m = &mails[0];
    assert_eq!(
        m.auth,
        Some((
            "keyward".to_string(),
            "smtp-Pa55-from-the-vault".to_string()
        )),
        "the password came from the vault"
    );
    assert_eq!(m.from, "alerts@keyward.test");
    assert_eq!(m.to, vec!["oncall@example.com", "lead@example.com"]);
    let data = unfold(&m.data);
    assert!(
        data.contains("Subject: [Keyward] [CRITICAL] openai key 0193f3c4 is invalid"),
        "{data}"
    );
    assert!(
        data.contains("Content-Type: multipart/alternative"),
        "{data}"
    );
    let plain = data
        .find("Content-Type: text/plain")
        .expect("a text/plain part");
    let html = data
        .find("Content-Type: text/html")
        .expect("a text/html part");
    assert!(plain < html, "plain text first, as clients expect");
    assert!(
        data[plain..html].contains("Rule: Provider key health (key_health)"),
        "{data}"
    );
    assert!(
        data[html..].contains("<h2>[CRITICAL] openai key 0193f3c4 is invalid</h2>"),
        "{data}"
    );

    // The alert schema holds no secret: only the vault key id.
    let pool = t.tp.db.pool(ServiceName::Alert).await;
    let row =
        sqlx::query("SELECT settings::text AS s, secret_ref FROM channels WHERE id = $1::uuid")
            .bind(&ch.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    let stored: String = row.get("s");
    assert!(!stored.contains("Pa55"), "{stored}");
    let key: uuid::Uuid = row.get("secret_ref");
    assert_eq!(key.to_string(), ch.secret_ref);
    let vault = t.tp.db.pool(ServiceName::Vault).await;
    let kind: String = sqlx::query_scalar("SELECT kind FROM secrets WHERE id = $1")
        .bind(key)
        .fetch_one(&vault)
        .await
        .unwrap();
    assert_eq!(kind, "channel_credential");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_and_pagerduty_get_their_own_formats_and_channel_tests_are_logged() {
    let t = start(Options::default()).await;
    let rx = Receiver::start().await;
    let (slack, _) = t
        .channel(
            "slack",
            serde_json::json!({}),
            serde_json::json!({"webhook_url": rx.url("/slack/T000/B000/XXXX")}),
        )
        .await;
    let (pd, _) = t
        .channel(
            "pagerduty",
            serde_json::json!({"url": rx.url("/pagerduty")}),
            serde_json::json!({"routing_key": "R0UTINGKEY0123456789abcdefABCDEF"}),
        )
        .await;
    assert_eq!(pd.secret_hint, "…CDEF");

    t.publish(key_invalid("0193f3c4-0000-7000-8000-0000000000e1"))
        .await;
    let got = rx.wait_for(2).await;
    let s = got
        .iter()
        .find(|r| r.path.starts_with("/slack"))
        .unwrap()
        .json();
    assert!(
        s["text"]
            .as_str()
            .unwrap()
            .starts_with("[CRITICAL] openai key"),
        "{s}"
    );
    assert_eq!(s["blocks"][0]["type"], "header");
    let p = got.iter().find(|r| r.path == "/pagerduty").unwrap().json();
    assert_eq!(p["routing_key"], "R0UTINGKEY0123456789abcdefABCDEF");
    assert_eq!(p["event_action"], "trigger");
    assert_eq!(p["payload"]["severity"], "critical");
    assert_eq!(p["dedup_key"], t.alerts().await[0].fingerprint.as_str());
    for field in [
        "summary",
        "source",
        "timestamp",
        "component",
        "group",
        "class",
        "custom_details",
    ] {
        assert!(!p["payload"][field].is_null(), "payload.{field} in {p}");
    }

    // Test sends: one attempt now, in the delivery log, audited.
    let ok = t
        .client
        .clone()
        .test_channel(pb::ChannelRef {
            org_id: t.org.clone(),
            id: slack.id.clone(),
            meta: meta(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(ok.delivered, "{}", ok.detail);
    assert!(
        rx.wait_for(3).await[2].json()["text"]
            .as_str()
            .unwrap()
            .starts_with("[TEST]")
    );
    rx.fail_always(500);
    let bad = t
        .client
        .clone()
        .test_channel(pb::ChannelRef {
            org_id: t.org.clone(),
            id: pd.id.clone(),
            meta: meta(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!bad.delivered);
    assert!(bad.detail.contains("500"), "{}", bad.detail);
    assert_eq!(bad.delivery.unwrap().status, "failed");
    t.audits_with("alert_channel.tested", 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerduty_incidents_are_acknowledged_and_resolved_with_the_alert() {
    let t = start(Options::default()).await;
    let rx = Receiver::start().await;
    t.channel(
        "pagerduty",
        serde_json::json!({"url": rx.url("/pagerduty")}),
        serde_json::json!({"routing_key": "R0UTINGKEY0123456789abcdefABCDEF"}),
    )
    .await;
    t.channel(
        "slack",
        serde_json::json!({}),
        serde_json::json!({"webhook_url": rx.url("/slack/T000/B000/XXXX")}),
    )
    .await;
    t.publish(key_invalid("0193f3c4-0000-7000-8000-0000000000e2"))
        .await;
    rx.wait_for(2).await;
    let alert = t.alerts().await.remove(0);
    let action = |request_id: &str| pb::AlertAction {
        org_id: t.org.clone(),
        alert_id: alert.id.clone(),
        actor: meta().unwrap().actor,
        request_id: request_id.into(),
        ..Default::default()
    };
    t.client
        .clone()
        .acknowledge(action("req-ack"))
        .await
        .unwrap();
    rx.wait_for(3).await;
    // Acknowledging twice is a no-op: no second event.
    t.client
        .clone()
        .acknowledge(action("req-ack-2"))
        .await
        .unwrap();
    t.client
        .clone()
        .resolve(action("req-resolve"))
        .await
        .unwrap();
    let got = rx.wait_for(4).await;
    let settled = rx.settle(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        settled.len(),
        4,
        "trigger + slack, then acknowledge and resolve only"
    );
    let pd: Vec<serde_json::Value> = got
        .iter()
        .filter(|r| r.path == "/pagerduty")
        .map(|r| r.json())
        .collect();
    let actions: Vec<&str> = pd
        .iter()
        .map(|p| p["event_action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["trigger", "acknowledge", "resolve"]);
    for p in &pd {
        assert_eq!(p["dedup_key"], alert.fingerprint.as_str());
        assert_eq!(p["routing_key"], "R0UTINGKEY0123456789abcdefABCDEF");
    }
    assert!(pd[1].get("payload").is_none() && pd[2].get("payload").is_none());
    let reasons: Vec<String> = t
        .deliveries(None)
        .await
        .into_iter()
        .filter(|d| d.channel_kind == "pagerduty")
        .map(|d| d.reason)
        .collect();
    for r in ["fired", "acknowledged", "resolved"] {
        assert!(reasons.iter().any(|x| x == r), "{r} in {reasons:?}");
    }
}
