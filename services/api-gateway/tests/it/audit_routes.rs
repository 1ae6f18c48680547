//! `/audit`, `/audit/verify`, `/audit/export` and `/provider-keys/{id}/access-log` against the
//! real audit service (gRPC) fed by the real broker.

use std::time::Duration;

use keyward_testkit::eventually;
use serde_json::{Value, json};
use sqlx::Executor as _;

use crate::harness::{Extra, Gw, Session};

/// Waits until the org's trail holds an entry with `action` (the audit service consumes
/// asynchronously) and returns the whole first page.
async fn wait_for(gw: &Gw, who: &Session, action: &str) -> Vec<Value> {
    let found = eventually(Duration::from_secs(20), || async {
        let r = gw
            .req(
                "GET",
                "/api/v1/audit?page_size=500",
                Some(&who.access),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let items = r.body["items"].as_array().cloned().unwrap_or_default();
        items.iter().any(|e| e["action"] == action).then_some(items)
    })
    .await;
    found.unwrap_or_else(|| panic!("no `{action}` entry reached the audit trail"))
}

fn pk_body(name: &str, secret: &str) -> Value {
    json!({"name": name, "provider": "openai", "secret": secret, "base_url": "http://127.0.0.1:9/v1"})
}

#[tokio::test]
async fn query_filters_pages_verifies_and_exports_the_callers_org_only() {
    let gw = Gw::start_full(&[Extra::Audit], |_| {}).await;
    let a = gw.bootstrap("Audit Alpha", "owner@alpha.test").await;
    let b = gw.bootstrap("Audit Bravo", "owner@bravo.test").await;
    let canary = "sk-audit-canary-7f3c0d5e9a1b2c4d6e8f0a1b";
    let key = gw
        .create(&a, "/api/v1/provider-keys", pk_body("primary", canary))
        .await;
    let vk = gw
        .create(&a, "/api/v1/virtual-keys", json!({"name": "app"}))
        .await;
    gw.create(&b, "/api/v1/virtual-keys", json!({"name": "bravo-app"}))
        .await;
    let items = wait_for(&gw, &a, "virtual_key.create").await;
    wait_for(&gw, &b, "virtual_key.create").await;

    // The caller's org only; newest first; nothing of the other org; never the secret.
    let seqs: Vec<u64> = items.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );
    let text = serde_json::to_string(&items).unwrap();
    assert!(!text.contains(&b.org_id), "the other org leaked");
    assert!(!text.contains(canary), "a secret reached the audit trail");
    let created = items
        .iter()
        .find(|e| e["action"] == "virtual_key.create")
        .unwrap();
    assert_eq!(created["resource_id"], vk.as_str());
    assert_eq!(created["outcome"], "success");
    assert_eq!(created["actor"]["kind"], "user");
    assert_eq!(created["actor"]["id"], a.user_id.as_str());
    assert_eq!(created["hash"].as_str().unwrap().len(), 64);
    assert!(
        created["after"].is_object(),
        "the change's after-image: {created}"
    );

    // Filters.
    let r = gw
        .req(
            "GET",
            &format!("/api/v1/audit?resource_id={key}"),
            Some(&a.access),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let by_key = r.body["items"].as_array().unwrap();
    assert!(!by_key.is_empty());
    assert!(by_key.iter().all(|e| e["resource_id"] == key.as_str()));
    let r = gw
        .req(
            "GET",
            "/api/v1/audit?action=virtual_key.create&outcome=success",
            Some(&a.access),
            None,
        )
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1, "{}", r.text);
    let future = "2999-01-01T00:00:00Z";
    let r = gw
        .req(
            "GET",
            &format!("/api/v1/audit?from={future}"),
            Some(&a.access),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0);

    // Paging: one entry at a time walks the same entries.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/api/v1/audit?page_size=1&cursor={c}"),
            None => "/api/v1/audit?page_size=1".into(),
        };
        let r = gw.req("GET", &url, Some(&a.access), None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let page = r.body["items"].as_array().unwrap();
        assert!(page.len() <= 1);
        walked.extend(page.iter().map(|e| e["seq"].as_u64().unwrap()));
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(walked.len() <= 1000, "paging does not end");
    }
    assert!(
        walked.windows(2).all(|w| w[0] > w[1]),
        "pages overlap: {walked:?}"
    );
    assert!(
        seqs.iter().all(|s| walked.contains(s)),
        "paging missed entries: walked {walked:?}, one page had {seqs:?}"
    );

    // Export follows the filters, in both formats.
    let r = gw
        .req(
            "GET",
            "/api/v1/audit/export?format=ndjson&action=virtual_key.create",
            Some(&a.access),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let lines: Vec<Value> = r
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{}", r.text);
    assert!(r.text.contains(&vk));
    let r = gw
        .req(
            "GET",
            "/api/v1/audit/export?format=csv",
            Some(&a.access),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let rows = r.text.lines().count();
    assert!(rows > 2, "header plus entries: {}", r.text);
    assert!(r.text.contains("virtual_key.create"));
    assert!(!r.text.contains(&b.org_id) && !r.text.contains(canary));

    // The chain verifies; tampering with a stored entry is found and named.
    let r = gw
        .req("GET", "/api/v1/audit/verify", Some(&a.access), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["ok"], true, "{}", r.text);
    assert!(r.body["checked"].as_u64().unwrap() >= 2);
    let victim = *seqs.last().unwrap();
    let mut admin = gw.tp.db.admin().await;
    admin
        .execute("SET session_replication_role = replica")
        .await
        .unwrap();
    sqlx::query(
        "UPDATE audit.entries SET outcome = 'failure' WHERE org_id = $1::uuid AND seq = $2",
    )
    .bind(&a.org_id)
    .bind(i64::try_from(victim).unwrap())
    .execute(&mut admin)
    .await
    .unwrap();
    let r = gw
        .req("GET", "/api/v1/audit/verify", Some(&a.access), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["ok"], false, "{}", r.text);
    assert_eq!(r.body["first_bad_seq"].as_u64(), Some(victim), "{}", r.text);
    // The other org's chain is untouched.
    let r = gw
        .req("GET", "/api/v1/audit/verify", Some(&b.access), None)
        .await;
    assert_eq!(r.body["ok"], true, "{}", r.text);
}

#[tokio::test]
async fn access_log_lists_one_keys_entries_and_hides_other_orgs_keys() {
    let gw = Gw::start_full(&[Extra::Audit], |_| {}).await;
    let a = gw.bootstrap("Log Alpha", "owner@alpha.test").await;
    let b = gw.bootstrap("Log Bravo", "owner@bravo.test").await;
    let key = gw
        .create(
            &a,
            "/api/v1/provider-keys",
            pk_body("main", "sk-log-0123456789abcdef0123456789abcdef0123"),
        )
        .await;
    let other = gw
        .create(
            &a,
            "/api/v1/provider-keys",
            pk_body("other", "sk-log-fedcba9876543210fedcba9876543210fedc"),
        )
        .await;
    let r = gw
        .req(
            "POST",
            &format!("/api/v1/provider-keys/{key}/revoke"),
            Some(&a.access),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let log = eventually(Duration::from_secs(20), || async {
        let r = gw
            .req(
                "GET",
                &format!("/api/v1/provider-keys/{key}/access-log"),
                Some(&a.access),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let items = r.body["items"].as_array().cloned().unwrap_or_default();
        (items.len() >= 2).then_some(items)
    })
    .await
    .expect("the key's entries never arrived");
    assert!(
        log.iter().all(|e| e["resource_id"] == key.as_str()),
        "{log:?}"
    );
    assert!(!serde_json::to_string(&log).unwrap().contains(&other));
    let actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.iter().any(|a| a.ends_with("revoke")), "{actions:?}");

    // Another org's owner: the key does not exist for them.
    let r = gw
        .req(
            "GET",
            &format!("/api/v1/provider-keys/{key}/access-log"),
            Some(&b.access),
            None,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
}

#[tokio::test]
async fn bad_audit_queries_are_refused_naming_the_field() {
    let gw = Gw::start_full(&[Extra::Audit], |_| {}).await;
    let a = gw.bootstrap("Bad Alpha", "owner@alpha.test").await;
    let dev = gw.member(&a, "dev@alpha.test", "developer", None).await;
    for (url, field) in [
        ("/api/v1/audit?page_size=0", "page_size"),
        ("/api/v1/audit?page_size=501", "page_size"),
        ("/api/v1/audit?page_size=ten", "page_size"),
        ("/api/v1/audit?outcome=maybe", "outcome"),
        ("/api/v1/audit?from=yesterday", "from"),
        (
            "/api/v1/audit?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "from",
        ),
        ("/api/v1/audit?colour=red", "colour"),
        ("/api/v1/audit?format=csv", "format"),
        ("/api/v1/audit/export", "format"),
        ("/api/v1/audit/export?format=xml", "format"),
        ("/api/v1/audit/export?format=csv&cursor=abc", "cursor"),
        ("/api/v1/audit/verify?from_seq=-1", "from_seq"),
        ("/api/v1/audit/verify?from_seq=9&to_seq=3", "from_seq"),
    ] {
        let r = gw.req("GET", url, Some(&a.access), None).await;
        assert_eq!(r.status, 400, "{url}: {}", r.text);
        assert_eq!(r.field(), Some(field), "{url}: {}", r.text);
        assert!(!r.body["error"]["request_id"].as_str().unwrap().is_empty());
    }
    // Developers do not read the audit trail.
    let r = gw
        .req("GET", "/api/v1/audit", Some(&dev.access), None)
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
}

/// The gateway beside the real audit, cost and alert services: all become ready, and a route of
/// a service the gateway has no address for answers 503 naming the setting.
#[tokio::test]
async fn backing_services_start_beside_the_gateway() {
    let gw = Gw::start_full(&[Extra::Audit, Extra::Cost, Extra::Alert], |_| {}).await;
    let ready = eventually(Duration::from_secs(20), || async {
        let r = gw
            .http
            .get(format!("{}/readyz", gw.base))
            .send()
            .await
            .ok()?;
        r.status().is_success().then_some(())
    })
    .await;
    assert!(ready.is_some(), "the gateway never became ready");
    let lone = Gw::start().await;
    let owner = lone.bootstrap("Lone", "owner@lone.test").await;
    let r = lone
        .req("GET", "/api/v1/audit", Some(&owner.access), None)
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert!(r.text.contains("audit.grpc_url"), "{}", r.text);
    drop(gw);
}
