//! Virtual keys: shown once, stored as HMAC only, updated, rotated with grace, revoked; every
//! change audited and announced on `keyward.events`.

use std::time::Duration;

use keyward_proto::v1::domain_event::Payload;
use serde_json::json;
use sqlx::Row as _;

use crate::harness::Gw;

fn hmac(pepper: &str, key: &str) -> Vec<u8> {
    keyward_crypto::hmac_sha256(pepper.as_bytes(), key.as_bytes()).to_vec()
}

async fn wait_change(gw: &Gw, id: &str, change: &str) {
    let found = keyward_testkit::eventually(Duration::from_secs(15), || {
        let hit = gw.tap.domain.lock().unwrap().iter().any(|(rk, e)| {
            rk == "virtual_key.changed"
                && matches!(&e.payload, Some(Payload::VirtualKeyChanged(v)) if v.virtual_key_id == id && v.change == change)
        });
        async move { hit.then_some(()) }
    })
    .await;
    assert!(found.is_some(), "no VirtualKeyChanged {change} for {id}");
}

#[tokio::test]
async fn virtual_key_lifecycle() {
    let gw = Gw::start().await;
    let owner = gw.bootstrap("Acme", "owner@acme.test").await;
    let pepper = "test-vkey-pepper-0123456789abcdef012345678";
    let team = gw
        .create(&owner, "/api/v1/teams", json!({"name": "search"}))
        .await;
    let project = gw
        .create(
            &owner,
            "/api/v1/projects",
            json!({"name": "ranker", "team_id": team}),
        )
        .await;

    let body = json!({
        "name": "ranker prod",
        "scope": {"project_id": project},
        "models": ["gpt-4o-mini", "claude-3-5-haiku"],
        "providers": ["openai", "anthropic"],
        "allowed_cidrs": ["10.1.2.3/8", "192.168.1.7"],
        "rpm": 60, "tpm": 100000,
        "expires_at": "2099-01-01T00:00:00Z",
        "tags": {"env": "prod"}
    });
    let created = gw
        .req(
            "POST",
            "/api/v1/virtual-keys",
            Some(&owner.access),
            Some(body),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let obj = created.body.as_object().unwrap();
    assert_eq!(
        obj.keys().collect::<Vec<_>>(),
        ["id", "key"],
        "create returns exactly id and key"
    );
    let id = created.body["id"].as_str().unwrap().to_string();
    let key = created.body["key"].as_str().unwrap().to_string();
    assert!(
        key.starts_with("kw_")
            && key.len() >= 45
            && key[3..].chars().all(|c| c.is_ascii_alphanumeric())
    );

    // Stored as HMAC only: no column of the row holds the key.
    let row = sqlx::query(
        "SELECT key_hash, row_to_json(v)::text AS j FROM virtual_keys v WHERE id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&gw.pool)
    .await
    .unwrap();
    assert_eq!(row.get::<Vec<u8>, _>("key_hash"), hmac(pepper, &key));
    assert!(!row.get::<String, _>("j").contains(&key[3..]));

    let got = gw
        .req(
            "GET",
            &format!("/api/v1/virtual-keys/{id}"),
            Some(&owner.access),
            None,
        )
        .await;
    assert_eq!(got.status, 200);
    assert!(got.body.get("key").is_none() && !got.text.contains(&key[3..]));
    assert_eq!(got.body["scope_kind"], "project");
    assert_eq!(
        got.body["scope"]["team_id"],
        json!(team),
        "a project's team is the key's team"
    );
    assert_eq!(
        got.body["allowed_cidrs"],
        json!(["10.0.0.0/8", "192.168.1.7/32"])
    );
    assert_eq!(got.body["providers"], json!(["anthropic", "openai"]));
    assert_eq!(
        got.body["key_hint"],
        format!("kw_…{}", &key[key.len() - 4..])
    );
    assert_eq!(got.body["status"], "active");
    let list = gw
        .req("GET", "/api/v1/virtual-keys", Some(&owner.access), None)
        .await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);

    // Update: limits can be cleared with null.
    let upd = gw
        .req(
            "PATCH",
            &format!("/api/v1/virtual-keys/{id}"),
            Some(&owner.access),
            Some(json!({"rpm": null, "models": ["gpt-4o"]})),
        )
        .await;
    assert_eq!(upd.status, 200, "{}", upd.text);
    assert_eq!(upd.body["rpm"], json!(null));
    assert_eq!(upd.body["tpm"], 100000);
    assert_eq!(upd.body["models"], json!(["gpt-4o"]));
    wait_change(&gw, &id, "updated").await;

    // Rotate with a grace period: new key, old one kept (as HMAC) until then.
    let rot = gw
        .req(
            "POST",
            &format!("/api/v1/virtual-keys/{id}/rotate"),
            Some(&owner.access),
            Some(json!({"grace_seconds": 120})),
        )
        .await;
    assert_eq!(rot.status, 200, "{}", rot.text);
    let new_key = rot.body["key"].as_str().unwrap().to_string();
    assert_ne!(new_key, key);
    assert!(rot.body["previous_key_expires_at"].is_string());
    let r = sqlx::query("SELECT key_hash, previous_key_hash, previous_expires_at > now() + interval '100 seconds' AS later FROM virtual_keys WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&gw.pool)
        .await
        .unwrap();
    assert_eq!(r.get::<Vec<u8>, _>("key_hash"), hmac(pepper, &new_key));
    assert_eq!(
        r.get::<Option<Vec<u8>>, _>("previous_key_hash"),
        Some(hmac(pepper, &key))
    );
    assert!(r.get::<bool, _>("later"));
    wait_change(&gw, &id, "rotated").await;
    let too_long = gw
        .req(
            "POST",
            &format!("/api/v1/virtual-keys/{id}/rotate"),
            Some(&owner.access),
            Some(json!({"grace_seconds": 99_999_999})),
        )
        .await;
    assert_eq!(
        (too_long.status, too_long.field()),
        (422, Some("grace_seconds"))
    );

    // Revoke: the grace key goes too; nothing more can be done with it.
    let rev = gw
        .req(
            "POST",
            &format!("/api/v1/virtual-keys/{id}/revoke"),
            Some(&owner.access),
            None,
        )
        .await;
    assert_eq!(rev.status, 200, "{}", rev.text);
    assert_eq!(rev.body["status"], "revoked");
    let prev: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT previous_key_hash FROM virtual_keys WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&gw.pool)
            .await
            .unwrap();
    assert!(prev.is_none());
    wait_change(&gw, &id, "revoked").await;
    for (m, p) in [("POST", "revoke"), ("POST", "rotate")] {
        let r = gw
            .req(
                m,
                &format!("/api/v1/virtual-keys/{id}/{p}"),
                Some(&owner.access),
                None,
            )
            .await;
        assert_eq!((r.status, r.code()), (409, "conflict"), "{p}");
    }
    let r = gw
        .req(
            "PATCH",
            &format!("/api/v1/virtual-keys/{id}"),
            Some(&owner.access),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(r.status, 409);

    // Every change audited, never with the key.
    for action in [
        "virtual_key.create",
        "virtual_key.update",
        "virtual_key.rotate",
        "virtual_key.revoke",
    ] {
        let e = gw.wait_audit(|e| e.action == action).await;
        assert_eq!(e.resource_id, id);
        assert_eq!(
            e.actor.as_ref().unwrap().email.as_deref(),
            Some("owner@acme.test")
        );
        for secret in [&key, &new_key] {
            assert!(!e.after_json.contains(&secret[3..]) && !e.before_json.contains(&secret[3..]));
        }
    }
}

#[tokio::test]
async fn virtual_key_input_is_checked_field_by_field() {
    let gw = Gw::start().await;
    let owner = gw.bootstrap("Acme", "owner@acme.test").await;
    let cases = [
        (
            json!({"name": "k", "expires_at": "2001-01-01T00:00:00Z"}),
            422,
            "expires_at",
        ),
        (json!({"name": "k", "rpm": 0}), 422, "rpm"),
        (json!({"name": "k", "rpm": -1}), 400, "rpm"),
        (
            json!({"name": "k", "allowed_cidrs": ["10.0.0.0/99"]}),
            400,
            "allowed_cidrs[0]",
        ),
        (
            json!({"name": "k", "providers": ["openai", "skynet"]}),
            400,
            "providers[1]",
        ),
        (
            json!({"name": "k", "scope": {"team_id": uuid::Uuid::now_v7()}}),
            404,
            "scope.team_id",
        ),
        (
            json!({"name": "k", "scope": {"user_id": uuid::Uuid::now_v7()}}),
            404,
            "scope.user_id",
        ),
        (
            json!({"name": "k", "scope": {"team": "x"}}),
            400,
            "scope.team",
        ),
        (json!({"name": "  "}), 400, "name"),
        (
            json!({"name": "k", "tags": {"bad key!": "v"}}),
            400,
            "tags.bad key!",
        ),
    ];
    let before = gw.snapshot().await;
    for (body, status, field) in cases {
        let r = gw
            .req(
                "POST",
                "/api/v1/virtual-keys",
                Some(&owner.access),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            (r.status, r.field()),
            (status, Some(field)),
            "{body}: {}",
            r.text
        );
    }
    assert_eq!(gw.snapshot().await, before);
}
