//! At-rest protection, fail-closed resolve, and scope rules.

use keyward_proto::v1 as pb;
use keyward_testkit::Gate;
use sqlx::Row;

use crate::harness::*;

async fn store(v: &mut TestVault, org: &str, name: &str, key: &str) -> String {
    v.client
        .store(store_req(org, name, key))
        .await
        .unwrap()
        .into_inner()
        .key
        .unwrap()
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_rows_hold_no_plaintext_and_tampering_never_opens() {
    let mut v = start(config(KEK_A)).await;
    let org = new_org();
    let keys: Vec<String> = (0..4)
        .map(|i| openai_key(&format!("PLAINTEXTCANARY{i}")))
        .collect();
    let mut ids = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        ids.push(store(&mut v, &org, &format!("k{i}"), k).await);
    }
    let mut admin = v.tp.db.admin().await;
    // No column of any vault table contains the plaintext, as text or bytes.
    for table in [
        "secrets",
        "secret_versions",
        "kek_versions",
        "access_counts",
    ] {
        let rows = sqlx::query(&format!("SELECT t::text AS row FROM vault.{table} t"))
            .fetch_all(&mut admin)
            .await
            .unwrap();
        for r in rows {
            let text: String = r.get("row");
            assert!(!text.contains("PLAINTEXTCANARY"), "{table}: {text}");
            assert!(
                !text.contains(&hex_of("PLAINTEXTCANARY")),
                "{table} holds the plaintext bytes"
            );
        }
    }

    // Swapping ciphertexts (and whole sealed records) between rows: every resolve fails.
    sqlx::query(
        "UPDATE vault.secret_versions a SET ciphertext = b.ciphertext, nonce = b.nonce, wrapped_dek = b.wrapped_dek, dek_nonce = b.dek_nonce \
         FROM vault.secret_versions b WHERE a.secret_id = $1 AND b.secret_id = $2",
    )
    .bind(uuid::Uuid::parse_str(&ids[0]).unwrap())
    .bind(uuid::Uuid::parse_str(&ids[1]).unwrap())
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE vault.secret_versions a SET ciphertext = b.ciphertext FROM vault.secret_versions b WHERE a.secret_id = $1 AND b.secret_id = $2",
    )
    .bind(uuid::Uuid::parse_str(&ids[2]).unwrap())
    .bind(uuid::Uuid::parse_str(&ids[3]).unwrap())
    .execute(&mut admin)
    .await
    .unwrap();
    for id in [&ids[0], &ids[2]] {
        let mut r = resolve_req(scope(&org));
        r.key_id = Some(id.clone());
        let err = v.client.resolve(r).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::Internal, "{err:?}");
        assert!(!err.message().contains("CANARY"));
    }

    // Flipping any single byte of the sealed columns of key 3 (sampled positions of each).
    let id3 = uuid::Uuid::parse_str(&ids[3]).unwrap();
    let mut tried = 0;
    for column in ["ciphertext", "nonce", "wrapped_dek", "dek_nonce"] {
        let original: Vec<u8> = sqlx::query_scalar(&format!(
            "SELECT {column} FROM vault.secret_versions WHERE secret_id = $1"
        ))
        .bind(id3)
        .fetch_one(&mut admin)
        .await
        .unwrap();
        let positions: Vec<usize> = (0..original.len())
            .step_by((original.len() / 6).max(1))
            .collect();
        for pos in positions {
            let mut bad = original.clone();
            bad[pos] ^= 0x01;
            set_column(&mut admin, id3, column, &bad).await;
            let mut r = resolve_req(scope(&org));
            r.key_id = Some(ids[3].clone());
            assert!(
                v.client.resolve(r).await.is_err(),
                "{column}[{pos}] flipped still opened"
            );
            tried += 1;
        }
        set_column(&mut admin, id3, column, &original).await;
    }
    assert!(tried >= 20);
    let mut r = resolve_req(scope(&org));
    r.key_id = Some(ids[3].clone());
    let ok = v
        .client
        .resolve(r)
        .await
        .unwrap()
        .into_inner()
        .resolved
        .unwrap();
    assert_eq!(
        ok.secret.unwrap().api_key,
        keys[3],
        "restored bytes open again"
    );
}

fn hex_of(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

async fn set_column(admin: &mut sqlx::PgConnection, id: uuid::Uuid, column: &str, value: &[u8]) {
    sqlx::query(&format!(
        "UPDATE vault.secret_versions SET {column} = $2 WHERE secret_id = $1"
    ))
    .bind(id)
    .bind(value)
    .execute(&mut *admin)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vault_with_the_wrong_kek_refuses_to_start() {
    let mut v = start(config(KEK_A)).await;
    let org = new_org();
    store(&mut v, &org, "k", &openai_key("x")).await;
    v.token.cancel();
    // The first vault's orderly stop is not what this test is about: bound it.
    if tokio::time::timeout(std::time::Duration::from_secs(20), &mut v.task)
        .await
        .is_err()
    {
        v.task.abort();
    }
    // Same database, a different key for version 1.
    let cfg = config(KEK_B);
    let token = tokio_util::sync::CancellationToken::new();
    let err = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        keyward_vault::run(
            &v.tp.platform,
            &cfg,
            keyward_telemetry::Metrics::new().unwrap(),
            token,
        ),
    )
    .await
    .expect("a vault with the wrong KEK must stop by itself, not keep running")
    .unwrap_err()
    .to_string();
    assert!(err.contains("fingerprint mismatch"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_fails_closed_without_a_confirmed_audit_event() {
    let gate = Gate::start("127.0.0.1:5672".parse().unwrap()).await;
    let tp = keyward_testkit::TestPlatform::new(&[(
        keyward_core::ServiceName::Vault,
        &keyward_vault::MIGRATOR,
    )])
    .await;
    let mut platform_tp = tp;
    platform_tp.platform.broker.url = format!("amqp://guest:guest@{}/%2f", gate.addr()).into();
    let mut v = start_on(platform_tp, config(KEK_A)).await;
    let org = new_org();
    let key = openai_key("failclosed");
    store(&mut v, &org, "k", &key).await;
    assert!(v.client.resolve(resolve_req(scope(&org))).await.is_ok());

    gate.close();
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let err = v
        .client
        .resolve(resolve_req(scope(&org)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert!(err.message().contains("audit"), "{}", err.message());
    // Export reveals secrets too, so it fails closed as well.
    let export = pb::ExportKeysRequest {
        ctx: ctx(),
        org_id: org.clone(),
        passphrase: "a long export passphrase".into(),
        backup_kek_b64: String::new(),
    };
    assert_eq!(
        v.client.export(export).await.unwrap_err().code(),
        tonic::Code::Unavailable
    );

    gate.open();
    let mut ok = false;
    for _ in 0..100 {
        if let Ok(r) = v.client.resolve(resolve_req(scope(&org))).await {
            assert_eq!(
                r.into_inner().resolved.unwrap().secret.unwrap().api_key,
                key
            );
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ok, "resolve recovers once the broker is back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_most_specific_active_key_resolves_and_revoked_or_expired_never_do() {
    let mut v = start(config(KEK_A)).await;
    let org = new_org();
    let (team, project, user) = (new_org(), new_org(), new_org());
    let mut ids = std::collections::BTreeMap::new();
    for (level, sc) in [
        ("org", scope(&org)),
        (
            "team",
            pb::Scope {
                team_id: Some(team.clone()),
                ..scope(&org)
            },
        ),
        (
            "project",
            pb::Scope {
                team_id: Some(team.clone()),
                project_id: Some(project.clone()),
                ..scope(&org)
            },
        ),
        (
            "user",
            pb::Scope {
                user_id: Some(user.clone()),
                ..scope(&org)
            },
        ),
    ] {
        let mut req = store_req(&org, level, &openai_key(level));
        req.scope = Some(sc);
        let id = v
            .client
            .store(req)
            .await
            .unwrap()
            .into_inner()
            .key
            .unwrap()
            .id;
        ids.insert(level, id);
    }
    let client = v.client.clone();
    let resolved = |sc: pb::Scope| {
        let mut c = client.clone();
        async move {
            c.resolve(resolve_req(sc))
                .await
                .map(|r| r.into_inner().resolved.unwrap().key.unwrap().id)
        }
    };
    let full = pb::Scope {
        team_id: Some(team.clone()),
        project_id: Some(project.clone()),
        user_id: Some(user.clone()),
        ..scope(&org)
    };
    assert_eq!(resolved(full.clone()).await.unwrap(), ids["user"]);
    let no_user = pb::Scope {
        user_id: None,
        ..full.clone()
    };
    assert_eq!(resolved(no_user.clone()).await.unwrap(), ids["project"]);
    let team_only = pb::Scope {
        team_id: Some(team.clone()),
        ..scope(&org)
    };
    assert_eq!(resolved(team_only).await.unwrap(), ids["team"]);
    assert_eq!(resolved(scope(&org)).await.unwrap(), ids["org"]);
    // Another team's caller never sees team keys.
    let other_team = pb::Scope {
        team_id: Some(new_org()),
        ..scope(&org)
    };
    assert_eq!(resolved(other_team).await.unwrap(), ids["org"]);
    // Another org sees nothing.
    assert_eq!(
        resolved(scope(&new_org())).await.unwrap_err().code(),
        tonic::Code::NotFound
    );

    // Revoke the user key: the project key takes over; the revoked one never resolves, even by id.
    v.client.revoke(key_ref(&org, &ids["user"])).await.unwrap();
    assert_eq!(resolved(full.clone()).await.unwrap(), ids["project"]);
    let mut by_id = resolve_req(full.clone());
    by_id.key_id = Some(ids["user"].clone());
    assert_eq!(
        v.client.resolve(by_id).await.unwrap_err().code(),
        tonic::Code::NotFound
    );

    // Expire the project key: the team key takes over.
    let mut admin = v.tp.db.admin().await;
    sqlx::query("UPDATE vault.secrets SET expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(uuid::Uuid::parse_str(&ids["project"]).unwrap())
        .execute(&mut admin)
        .await
        .unwrap();
    assert_eq!(resolved(no_user).await.unwrap(), ids["team"]);
    let mut by_id = resolve_req(full);
    by_id.key_id = Some(ids["project"].clone());
    assert_eq!(
        v.client.resolve(by_id).await.unwrap_err().code(),
        tonic::Code::NotFound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_without_a_service_identity_are_refused() {
    let v = start(config(KEK_A)).await;
    let channel = tonic::transport::Channel::from_shared(v.cfg.grpc_url.clone())
        .unwrap()
        .connect_lazy();
    let mut anon = pb::vault_service_client::VaultServiceClient::new(channel);
    let err = anon
        .resolve(resolve_req(scope(&new_org())))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    // A known service that may not call the vault.
    let mut cost = connect(&v.tp, &v.cfg.grpc_url, "cost").await;
    assert_eq!(
        cost.resolve(resolve_req(scope(&new_org())))
            .await
            .unwrap_err()
            .code(),
        tonic::Code::PermissionDenied
    );
}

/// `/readyz` stays 503 (naming `kek`) until the KEK versions are registered, so the first Store
/// after readiness never finds its KEK row missing (it once answered "database unavailable").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_only_once_the_kek_is_registered() {
    let pg = Gate::start("127.0.0.1:5432".parse().unwrap()).await;
    pg.close();
    let mut tp = keyward_testkit::TestPlatform::new(&[(
        keyward_core::ServiceName::Vault,
        &keyward_vault::MIGRATOR,
    )])
    .await;
    tp.platform.database.url = tp
        .platform
        .database
        .url
        .replace("127.0.0.1:5432", &pg.addr().to_string());
    let cfg = config(KEK_A);
    let url = format!("http://{}/readyz", cfg.http);
    let (p, c) = (tp.platform.clone(), cfg.clone());
    let token = tokio_util::sync::CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let metrics = keyward_telemetry::Metrics::new().unwrap();
        keyward_vault::run(&p, &c, metrics, t).await
    });
    let mut body = String::new();
    for _ in 0..200 {
        if let Ok(r) = reqwest::get(&url).await {
            assert_eq!(r.status(), 503, "ready without a database");
            body = r.text().await.unwrap();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let missing = v["missing"].as_array().unwrap();
    assert!(missing.contains(&"database".into()), "{body}");
    assert!(missing.contains(&"kek".into()), "{body}");

    pg.open();
    wait_ready(&cfg).await;
    let mut client = connect(&tp, &cfg.grpc_url, "api-gateway").await;
    let org = new_org();
    let stored = client
        .store(store_req(&org, "first", &openai_key("readyfirst")))
        .await;
    assert!(stored.is_ok(), "the first Store after /readyz: {stored:?}");
    token.cancel();
}
