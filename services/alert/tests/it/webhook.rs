//! Webhook signatures as a receiver checks them; no redirects.

use std::time::Duration;

use crate::harness::{Options, key_invalid, start, until};
use crate::receivers::Receiver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_verifies_the_signature_and_rejects_a_tampered_body_or_an_old_timestamp() {
    let t = start(Options::default()).await;
    let rx = Receiver::start().await;
    // No signing secret given: Keyward generates one and shows it once.
    let (ch, generated) = t
        .channel(
            "webhook",
            serde_json::json!({}),
            serde_json::json!({"url": rx.url("/hook")}),
        )
        .await;
    let secret = generated.expect("a generated signing secret");
    assert!(secret.starts_with("whsec_"));
    assert!(
        !ch.settings_json.contains("hook"),
        "the URL is a secret: {}",
        ch.settings_json
    );
    assert_eq!(ch.secret_hint, format!("{}/…", rx.base));
    rx.verify_with(&secret);

    t.publish(key_invalid("0193f3c4-0000-7000-8000-0000000000b1"))
        .await;
    let got = rx.wait_for(1).await;
    let first = &got[0];
    assert_eq!(first.status, 200, "the receiver accepted the signature");
    let sig = first.headers["x-keyward-signature"].clone();
    assert!(sig.starts_with("t=") && sig.contains(",v1="), "{sig}");
    assert_eq!(first.headers["x-keyward-event"], "alert.fired");
    assert_eq!(first.headers["content-type"], "application/json");
    let body = first.json();
    assert_eq!(body["id"], first.headers["x-keyward-delivery"].as_str());
    assert_eq!(body["alert"]["rule_type"], "key_health");
    assert_eq!(body["alert"]["severity"], "critical");

    let http = reqwest::Client::new();
    let post = |body: Vec<u8>, sig: String| {
        http.post(rx.url("/hook"))
            .header("content-type", "application/json")
            .header("x-keyward-signature", sig)
            .body(body)
            .send()
    };
    // The genuine request again (a replay within the window) still verifies...
    assert_eq!(
        post(first.body.clone(), sig.clone())
            .await
            .unwrap()
            .status(),
        200
    );
    // ...a tampered body does not...
    let tampered = String::from_utf8(first.body.clone())
        .unwrap()
        .replace("critical", "info");
    let r = post(tampered.into_bytes(), sig.clone()).await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.text().await.unwrap(), "bad signature");
    // ...and neither does a correctly signed body with a timestamp older than five minutes.
    let old = chrono::Utc::now().timestamp() - 600;
    let old_sig = keyward_alert::webhook::sign(secret.as_bytes(), old, &first.body);
    let r = post(first.body.clone(), old_sig).await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.text().await.unwrap(),
        "timestamp outside the replay window"
    );
    // A wrong secret fails too.
    let forged =
        keyward_alert::webhook::sign(b"whsec_guess", chrono::Utc::now().timestamp(), &first.body);
    assert_eq!(
        post(first.body.clone(), forged).await.unwrap().status(),
        401
    );

    until("the delivery is recorded as delivered", || async {
        t.deliveries(Some("delivered"))
            .await
            .first()
            .is_some_and(|d| d.last_http_status == 200)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_never_follow_redirects() {
    let t = start(Options::default()).await;
    let rx = Receiver::start().await;
    t.webhook(&rx.url("/redirect"), "whsec_redirect").await;
    t.publish(key_invalid("0193f3c4-0000-7000-8000-0000000000c1"))
        .await;
    until("the delivery fails", || async {
        !t.deliveries(Some("failed")).await.is_empty()
    })
    .await;
    let got = rx.settle(Duration::from_millis(500)).await;
    assert_eq!(got.len(), 1, "only the redirecting URL was called");
    assert_eq!(got[0].path, "/redirect");
    let failed = t.deliveries(Some("failed")).await;
    assert_eq!(failed[0].last_http_status, 302);
    assert_eq!(failed[0].attempts, 1, "a redirect is not retried");
}

/// This machine's host name when it resolves to internal addresses only (as in containers and
/// VMs: 127.0.x.1 or a private address), so that the resolver's check is what refuses it.
async fn internal_host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim().to_owned();
    let addrs: Vec<_> = tokio::net::lookup_host((name.as_str(), 80))
        .await
        .ok()?
        .collect();
    (!addrs.is_empty() && addrs.iter().all(|a| keyward_core::net::internal(a.ip()))).then_some(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receivers_on_internal_addresses_are_refused_by_default() {
    let t = start(Options {
        allow_private_targets: false,
        ..Options::default()
    })
    .await;
    let rx = Receiver::start().await;
    let port = rx.base.rsplit(':').next().unwrap().to_owned();
    let mut urls = vec![
        rx.url("/literal"),
        format!("http://localhost:{port}/localhost"),
    ];
    match internal_host_name().await {
        // A name the gateway's save-time check lets through: refused after resolving it.
        Some(name) => urls.push(format!("http://{name}:{port}/resolved")),
        None => eprintln!("note: this host name resolves to a public address; not tested"),
    }
    for (i, url) in urls.iter().enumerate() {
        t.webhook(url, &format!("whsec_internal_{i}")).await;
    }
    t.publish(key_invalid("0193f3c4-0000-7000-8000-0000000000c2"))
        .await;
    until("every delivery fails", || async {
        t.deliveries(Some("failed")).await.len() == urls.len()
    })
    .await;
    for d in t.deliveries(Some("failed")).await {
        assert_eq!(d.attempts, 1, "a refused receiver is not retried");
        assert_eq!(d.last_http_status, 0);
        assert!(d.last_error.starts_with("refused:"), "{}", d.last_error);
        assert!(!d.last_error.contains(&port), "no address in the error");
    }
    assert!(
        rx.settle(Duration::from_millis(500)).await.is_empty(),
        "nothing reached the receiver"
    );
}
