//! Store (with live validation against local mock providers), rotate with grace, delete,
//! export/import restore drill, monitoring events, and bad input.

use keyward_proto::v1 as pb;
use keyward_providers::Provider;
use keyward_testkit::mock_providers::{KeyKind, MockProviders, fixture_secret};
use secrecy::ExposeSecret;

use crate::harness::*;

fn material(p: &keyward_providers::ProviderSecret) -> pb::SecretMaterial {
    pb::SecretMaterial {
        api_key: p
            .api_key
            .as_ref()
            .map(|s| s.expose_secret().to_string())
            .unwrap_or_default(),
        aws_access_key_id: p.aws_access_key_id.clone().unwrap_or_default(),
        aws_secret_access_key: p
            .aws_secret_access_key
            .as_ref()
            .map(|s| s.expose_secret().to_string())
            .unwrap_or_default(),
        aws_region: p.aws_region.clone().unwrap_or_default(),
        azure_endpoint: p.azure_endpoint.clone().unwrap_or_default(),
        azure_api_version: p.azure_api_version.clone().unwrap_or_default(),
    }
}

const EIGHT: [Provider; 8] = [
    Provider::OpenAi,
    Provider::Anthropic,
    Provider::Gemini,
    Provider::Bedrock,
    Provider::Azure,
    Provider::Cohere,
    Provider::Mistral,
    Provider::Perplexity,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_validates_live_for_all_eight_providers() {
    let mock = MockProviders::start().await.unwrap();
    let mut cfg = config(KEK_A);
    for p in EIGHT {
        cfg.provider_base_urls
            .insert(p.as_str().into(), mock.base_url(p));
    }
    let mut v = start(cfg).await;
    let org = new_org();
    for p in EIGHT {
        for (kind, expect) in [
            (KeyKind::Valid, Some(pb::ValidationOutcome::Valid)),
            (
                KeyKind::RateLimited,
                Some(pb::ValidationOutcome::RateLimited),
            ),
            (KeyKind::Unknown, None),
        ] {
            let mut req = store_req(&org, &format!("{}-{kind:?}", p.as_str()), "");
            req.provider = p.as_str().into();
            req.secret = Some(material(&fixture_secret(p, kind)));
            req.validate = true;
            match (v.client.store(req).await, expect) {
                (Ok(resp), Some(outcome)) => {
                    let resp = resp.into_inner();
                    assert_eq!(
                        resp.validation.unwrap().outcome,
                        outcome as i32,
                        "{p:?} {kind:?}"
                    );
                    assert_eq!(resp.key.unwrap().health, outcome as i32);
                }
                (Err(status), None) => {
                    // Invalid keys are refused and nothing is stored.
                    assert_eq!(
                        status.code(),
                        tonic::Code::FailedPrecondition,
                        "{p:?}: {status:?}"
                    );
                    assert!(
                        status.message().contains("rejected"),
                        "{}",
                        status.message()
                    );
                }
                (other, _) => panic!("{p:?} {kind:?}: unexpected {other:?}"),
            }
        }
    }
    let listed = v
        .client
        .list(pb::ListKeysRequest {
            org_id: org.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .keys;
    assert_eq!(
        listed.len(),
        16,
        "8 valid + 8 rate-limited stored, no invalid one"
    );
    // Validate re-checks a stored key live and records health.
    let valid_id = listed
        .iter()
        .find(|k| k.name == "openai-Valid")
        .unwrap()
        .id
        .clone();
    let r = v
        .client
        .validate(key_ref(&org, &valid_id))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    assert_eq!(r.outcome, pb::ValidationOutcome::Valid as i32);
    audits_with(&v, "provider_key.validate", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let mut v = start(config(KEK_A)).await;
    let org = new_org();
    let cases: Vec<(pb::StoreKeyRequest, &str)> = vec![
        (
            pb::StoreKeyRequest {
                scope: None,
                ..store_req(&org, "a", &openai_key("a"))
            },
            "scope.org_id",
        ),
        (
            store_req("not-a-uuid", "a", &openai_key("a")),
            "scope.org_id",
        ),
        (store_req(&org, "", &openai_key("a")), "name"),
        (store_req(&org, "a", "not-an-openai-key"), "secret"),
        (
            store_req(&org, "a", &format!("{} ", openai_key("a"))),
            "secret",
        ),
        (
            pb::StoreKeyRequest {
                provider: "nope".into(),
                ..store_req(&org, "a", &openai_key("a"))
            },
            "provider",
        ),
        (
            pb::StoreKeyRequest {
                secret: None,
                ..store_req(&org, "a", &openai_key("a"))
            },
            "secret",
        ),
        (
            pb::StoreKeyRequest {
                base_url: Some("ftp://x".into()),
                ..store_req(&org, "a", &openai_key("a"))
            },
            "base_url",
        ),
        (
            pb::StoreKeyRequest {
                priority: -1001,
                ..store_req(&org, "a", &openai_key("a"))
            },
            "priority",
        ),
        (
            pb::StoreKeyRequest {
                weight: 1001,
                ..store_req(&org, "a", &openai_key("a"))
            },
            "weight",
        ),
    ];
    for (req, field) in cases {
        let err = v.client.store(req).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{field}: {err:?}");
        assert!(err.message().contains(field), "{field}: {}", err.message());
    }
    let mut admin = v.tp.db.admin().await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM vault.secrets")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(n, 0);
    // Duplicate live names conflict.
    v.client
        .store(store_req(&org, "dup", &openai_key("d1")))
        .await
        .unwrap();
    let err = v
        .client
        .store(store_req(&org, "dup", &openai_key("d2")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::AlreadyExists);
    // Unknown ids and other orgs' ids are not found.
    let err = v.client.get(key_ref(&org, &new_org())).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_keeps_the_old_secret_resolvable_only_for_the_grace_period() {
    let mut v = start(config(KEK_A)).await;
    let org = new_org();
    let (old, new) = (openai_key("old"), openai_key("new"));
    let id = v
        .client
        .store(store_req(&org, "k", &old))
        .await
        .unwrap()
        .into_inner()
        .key
        .unwrap()
        .id;
    let rotated = v
        .client
        .rotate(pb::RotateKeyRequest {
            ctx: ctx(),
            org_id: org.clone(),
            key_id: id.clone(),
            new_secret: Some(pb::SecretMaterial {
                api_key: new.clone(),
                ..Default::default()
            }),
            grace_seconds: 3600,
            validate: false,
        })
        .await
        .unwrap()
        .into_inner()
        .key
        .unwrap();
    assert_eq!((rotated.id.as_str(), rotated.version), (id.as_str(), 2));
    let client = v.client.clone();
    let secret_of = |version: Option<u32>| {
        let mut c = client.clone();
        let (org, id) = (org.clone(), id.clone());
        async move {
            let mut r = resolve_req(scope(&org));
            r.key_id = Some(id);
            r.version = version;
            c.resolve(r)
                .await
                .map(|r| r.into_inner().resolved.unwrap().secret.unwrap().api_key)
        }
    };
    assert_eq!(secret_of(None).await.unwrap(), new);
    assert_eq!(
        v.client
            .resolve(resolve_req(scope(&org)))
            .await
            .unwrap()
            .into_inner()
            .resolved
            .unwrap()
            .secret
            .unwrap()
            .api_key,
        new
    );
    assert_eq!(
        secret_of(Some(1)).await.unwrap(),
        old,
        "old secret resolves during grace"
    );

    // Grace over: the maintenance pass revokes and erases the old version.
    let mut admin = v.tp.db.admin().await;
    sqlx::query("UPDATE vault.secret_versions SET grace_until = now() - interval '1 second' WHERE version = 1")
        .execute(&mut admin)
        .await
        .unwrap();
    assert_eq!(
        secret_of(Some(1)).await.unwrap_err().code(),
        tonic::Code::NotFound
    );
    let vault_pool = v.tp.db.pool(keyward_core::ServiceName::Vault).await;
    let _ = vault_pool;
    // Delete crypto-erases every version.
    v.client.delete(key_ref(&org, &id)).await.unwrap();
    let sealed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM vault.secret_versions WHERE ciphertext IS NOT NULL",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(sealed, 0);
    assert_eq!(
        secret_of(None).await.unwrap_err().code(),
        tonic::Code::NotFound
    );
    for action in [
        "provider_key.store",
        "provider_key.rotate",
        "provider_key.resolve",
        "provider_key.delete",
    ] {
        audits_with(&v, action, 1).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_drill_export_then_import_into_an_empty_vault() {
    let mut v = start(config(KEK_A)).await;
    let org = new_org();
    let mut secrets = std::collections::BTreeMap::new();
    for i in 0..5 {
        let key = openai_key(&format!("restore{i}"));
        let id = v
            .client
            .store(store_req(&org, &format!("k{i}"), &key))
            .await
            .unwrap()
            .into_inner()
            .key
            .unwrap()
            .id;
        secrets.insert(id, key);
    }
    let passphrase = "correct horse battery staple";
    let export = v
        .client
        .export(pb::ExportKeysRequest {
            ctx: ctx(),
            org_id: org.clone(),
            passphrase: passphrase.into(),
            backup_kek_b64: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(export.key_count, 5);
    assert!(
        !String::from_utf8_lossy(&export.bundle).contains("restore"),
        "bundle is encrypted"
    );
    audits_with(&v, "provider_key.export", 1).await;

    // An empty vault, with a different KEK.
    let mut fresh = start(config(KEK_B)).await;
    let wrong = pb::ImportKeysRequest {
        ctx: ctx(),
        bundle: export.bundle.clone(),
        passphrase: "wrong passphrase!!".into(),
        backup_kek_b64: String::new(),
    };
    assert_eq!(
        fresh.client.import(wrong).await.unwrap_err().code(),
        tonic::Code::InvalidArgument
    );
    let imported = fresh
        .client
        .import(pb::ImportKeysRequest {
            ctx: ctx(),
            bundle: export.bundle.clone(),
            passphrase: passphrase.into(),
            backup_kek_b64: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .imported;
    assert_eq!(imported, 5);
    for (id, key) in &secrets {
        let mut r = resolve_req(scope(&org));
        r.key_id = Some(id.clone());
        let got = fresh
            .client
            .resolve(r)
            .await
            .unwrap()
            .into_inner()
            .resolved
            .unwrap()
            .secret
            .unwrap()
            .api_key;
        assert_eq!(&got, key);
    }
    // Importing again is refused: restore targets an empty vault.
    let again = pb::ImportKeysRequest {
        ctx: ctx(),
        bundle: export.bundle,
        passphrase: passphrase.into(),
        backup_kek_b64: String::new(),
    };
    assert_eq!(
        fresh.client.import(again).await.unwrap_err().code(),
        tonic::Code::AlreadyExists
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_anomalies_and_rotation_age_publish_events() {
    use keyward_bus::topology::{EVENTS, QueueSpec};
    let mut cfg = config(KEK_A);
    cfg.anomaly.per_minute = 3;
    cfg.maintenance_interval_secs = 1;
    // Tap domain events before anything is published.
    let tp = keyward_testkit::TestPlatform::new(&[(
        keyward_core::ServiceName::Vault,
        &keyward_vault::MIGRATOR,
    )])
    .await;
    let spec = QueueSpec {
        name: "test.key-events",
        exchange: EVENTS,
        binding_keys: &["key.#"],
    };
    let broker = keyward_bus::Broker::new(&tp.platform.broker, "events-tap", vec![spec.clone()]);
    let token = tokio_util::sync::CancellationToken::new();
    let (b, t) = (broker.clone(), token.clone());
    tokio::spawn(async move { b.run(t).await });
    broker
        .wait_connected(std::time::Duration::from_secs(10))
        .await
        .unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let s = seen.clone();
    tokio::spawn(keyward_bus::consume(
        broker,
        spec,
        Default::default(),
        token.clone(),
        move |batch: Vec<keyward_bus::Message>| {
            let s = s.clone();
            async move {
                s.lock()
                    .unwrap()
                    .extend(batch.into_iter().map(|m| m.routing_key));
                Ok::<_, String>(keyward_bus::Handled::Commit)
            }
        },
    ));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let mut v = start_on(tp, cfg).await;
    let org = new_org();
    let id = v
        .client
        .store(store_req(&org, "k", &openai_key("anomaly")))
        .await
        .unwrap()
        .into_inner()
        .key
        .unwrap()
        .id;
    for _ in 0..4 {
        v.client.resolve(resolve_req(scope(&org))).await.unwrap();
    }
    let mut admin = v.tp.db.admin().await;
    sqlx::query("UPDATE vault.secrets SET rotated_at = now() - interval '100 days'")
        .execute(&mut admin)
        .await
        .unwrap();
    let wanted = ["key.access_anomaly", "key.rotation_due"];
    let mut ok = false;
    for _ in 0..100 {
        let got = seen.lock().unwrap().clone();
        if wanted.iter().all(|w| got.iter().any(|g| g == w)) {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ok, "events seen: {:?}", seen.lock().unwrap());
    let flagged: bool =
        sqlx::query_scalar("SELECT access_flagged FROM vault.secrets WHERE id = $1")
            .bind(uuid::Uuid::parse_str(&id).unwrap())
            .fetch_one(&mut admin)
            .await
            .unwrap();
    assert!(flagged);
    let counted: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(count), 0)::bigint FROM vault.access_counts WHERE bucket = 'minute'",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(counted, 4);
    // Announced once: a second pass adds no second rotation_due.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let dues = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|k| *k == "key.rotation_due")
        .count();
    assert_eq!(dues, 1);
    token.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anomaly_thresholds_are_configurable_per_org() {
    let mut v = start(config(KEK_A)).await;
    let (strict, lax) = (new_org(), new_org());
    let policy = v
        .client
        .set_org_policy(pb::SetOrgPolicyRequest {
            ctx: ctx(),
            policy: Some(pb::OrgPolicy {
                org_id: strict.clone(),
                resolves_per_minute: 2,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (policy.resolves_per_minute, policy.resolves_per_hour),
        (2, 10_000),
        "unset fields keep the defaults"
    );
    assert_eq!(policy.rotation_due_days, 90);
    // Bad input is refused and changes nothing.
    let bad = pb::SetOrgPolicyRequest {
        ctx: ctx(),
        policy: Some(pb::OrgPolicy {
            org_id: strict.clone(),
            rotation_warn_days: 100,
            rotation_due_days: 30,
            ..Default::default()
        }),
    };
    assert_eq!(
        v.client.set_org_policy(bad).await.unwrap_err().code(),
        tonic::Code::InvalidArgument
    );
    let get = |org: &str| pb::GetOrgPolicyRequest {
        ctx: ctx(),
        org_id: org.into(),
    };
    assert_eq!(
        v.client
            .get_org_policy(get(&strict))
            .await
            .unwrap()
            .into_inner()
            .resolves_per_minute,
        2
    );
    assert_eq!(
        v.client
            .get_org_policy(get(&lax))
            .await
            .unwrap()
            .into_inner()
            .resolves_per_minute,
        100
    );

    let mut ids = Vec::new();
    for org in [&strict, &lax] {
        let id = v
            .client
            .store(store_req(org, "k", &openai_key(org)))
            .await
            .unwrap()
            .into_inner()
            .key
            .unwrap()
            .id;
        for _ in 0..3 {
            v.client.resolve(resolve_req(scope(org))).await.unwrap();
        }
        ids.push(uuid::Uuid::parse_str(&id).unwrap());
    }
    let mut admin = v.tp.db.admin().await;
    let mut flags = (false, false);
    for _ in 0..50 {
        let f: Vec<bool> = sqlx::query_scalar("SELECT access_flagged FROM vault.secrets WHERE id = ANY($1) ORDER BY array_position($1, id)")
            .bind(&ids)
            .fetch_all(&mut admin)
            .await
            .unwrap();
        flags = (f[0], f[1]);
        if flags.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        flags,
        (true, false),
        "3 resolves/min cross the strict org's 2, not the default 100"
    );
    audits_with(&v, "vault.set_org_policy", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_changes_name_and_routing_never_the_secret_and_rejects_bad_input() {
    let mut v = start(config(KEK_A)).await;
    let org = new_org();
    let store = |name: &str, tail: &str| store_req(&org, name, &openai_key(tail));
    let a = v
        .client
        .store(store("a", "upd-a"))
        .await
        .unwrap()
        .into_inner()
        .key
        .unwrap();
    let b = v
        .client
        .store(store("b", "upd-b"))
        .await
        .unwrap()
        .into_inner()
        .key
        .unwrap();
    let resolved_id = async |v: &mut TestVault| {
        v.client
            .resolve(resolve_req(scope(&org)))
            .await
            .unwrap()
            .into_inner()
            .resolved
            .unwrap()
            .key
            .unwrap()
            .id
    };
    let update = |id: &str| pb::UpdateKeyRequest {
        ctx: ctx(),
        org_id: org.clone(),
        key_id: id.into(),
        ..Default::default()
    };

    // Bad input: a clear InvalidArgument, and nothing changes.
    for (bad, why) in [
        (update(&b.id), "nothing to change"),
        (
            pb::UpdateKeyRequest {
                weight: Some(0),
                ..update(&b.id)
            },
            "weight",
        ),
        (
            pb::UpdateKeyRequest {
                weight: Some(1001),
                ..update(&b.id)
            },
            "weight",
        ),
        (
            pb::UpdateKeyRequest {
                priority: Some(1001),
                ..update(&b.id)
            },
            "priority",
        ),
        (
            pb::UpdateKeyRequest {
                name: Some("  ".into()),
                ..update(&b.id)
            },
            "name",
        ),
        (
            pb::UpdateKeyRequest {
                rotation_period_days: Some(0),
                ..update(&b.id)
            },
            "rotation_period_days",
        ),
    ] {
        let err = v.client.update(bad).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{why}: {err:?}");
        assert!(err.message().contains(why), "{why}: {}", err.message());
    }
    let unchanged = v
        .client
        .get(key_ref(&org, &b.id))
        .await
        .unwrap()
        .into_inner()
        .key
        .unwrap();
    assert_eq!(
        (
            unchanged.name.as_str(),
            unchanged.priority,
            unchanged.weight
        ),
        ("b", 0, 100)
    );

    // Another org's id, or an unknown one: not found.
    for (o, id) in [(new_org(), b.id.clone()), (org.clone(), new_org())] {
        let req = pb::UpdateKeyRequest {
            org_id: o,
            key_id: id,
            priority: Some(1),
            ..update(&b.id)
        };
        assert_eq!(
            v.client.update(req).await.unwrap_err().code(),
            tonic::Code::NotFound
        );
    }

    // A higher priority makes b the key Resolve picks; the secret and version stay.
    let first = resolved_id(&mut v).await;
    let other = if first == a.id { &b } else { &a };
    let up = v
        .client
        .update(pb::UpdateKeyRequest {
            name: Some(" primary ".into()),
            priority: Some(5),
            weight: Some(300),
            rotation_period_days: Some(30),
            ..update(&other.id)
        })
        .await
        .unwrap()
        .into_inner()
        .key
        .unwrap();
    assert_eq!(
        (
            up.name.as_str(),
            up.priority,
            up.weight,
            up.rotation_period_days
        ),
        ("primary", 5, 300, 30)
    );
    assert_eq!(
        (up.version, &up.fingerprint),
        (other.version, &other.fingerprint)
    );
    assert_eq!(resolved_id(&mut v).await, other.id);
    let audits = audits_with(&v, "provider_key.update", 1).await;
    let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
    let (before, after) = (json(&audits[0].before_json), json(&audits[0].after_json));
    assert_eq!(
        (&before["priority"], &before["weight"]),
        (&0.into(), &100.into())
    );
    assert_eq!(
        (&after["priority"], &after["weight"]),
        (&5.into(), &300.into())
    );
    assert_eq!(
        (&after["name"], &after["rotation_period_days"]),
        (&"primary".into(), &30.into())
    );
    assert_eq!(audits[0].resource_id, other.id);

    // A deleted key cannot be updated.
    v.client.delete(key_ref(&org, &other.id)).await.unwrap();
    let req = pb::UpdateKeyRequest {
        weight: Some(5),
        ..update(&other.id)
    };
    assert_eq!(
        v.client.update(req).await.unwrap_err().code(),
        tonic::Code::NotFound
    );
}
