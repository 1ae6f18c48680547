//! A canary key goes through store, validate, resolve, rotate and delete; it never appears in a
//! log line, a gRPC error, an audit event or a database column in plaintext.

use std::io::Write;
use std::sync::{Arc, Mutex};

use keyward_proto::v1 as pb;
use keyward_providers::Provider;
use keyward_testkit::mock_providers::MockProviders;

use crate::harness::*;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_canary_never_leaks() {
    // Capture every log line of this process (the vault runs in-process), at debug level,
    // through the same redacting writer production uses.
    let logs = Capture::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber_for(sink);
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let mock = MockProviders::start().await.unwrap();
    let canary = "sk-proj-CANARYcanaryCANARY0123456789abcdefghijklmnopqrstuvwx";
    let canary2 = "sk-proj-CANARYsecondCANARY0123456789abcdefghijklmnopqrstuvw";
    mock.register_key(Provider::OpenAi, canary);
    let mut cfg = config(KEK_A);
    cfg.provider_base_urls
        .insert("openai".into(), mock.base_url(Provider::OpenAi));
    let mut v = start(cfg).await;
    let org = new_org();
    let mut errors = Vec::new();

    let mut req = store_req(&org, "canary", canary);
    req.validate = true;
    let id = v
        .client
        .store(req)
        .await
        .unwrap()
        .into_inner()
        .key
        .unwrap()
        .id;
    v.client.validate(key_ref(&org, &id)).await.unwrap();
    let r = v
        .client
        .resolve(resolve_req(scope(&org)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        r.resolved.unwrap().secret.unwrap().api_key,
        canary,
        "resolve returns it to the gateway"
    );
    // Error paths that carry the canary in their input.
    let mut bad = store_req(&org, "bad", &format!("{canary} trailing"));
    bad.validate = true;
    errors.push(v.client.store(bad).await.unwrap_err());
    errors.push(
        v.client
            .store(store_req(&org, "canary", canary))
            .await
            .unwrap_err(),
    );
    let mut wrong_provider = store_req(&org, "x", canary);
    wrong_provider.provider = "anthropic".into();
    errors.push(v.client.store(wrong_provider).await.unwrap_err());
    mock.register_key(Provider::OpenAi, canary2);
    v.client
        .rotate(pb::RotateKeyRequest {
            ctx: ctx(),
            org_id: org.clone(),
            key_id: id.clone(),
            new_secret: Some(pb::SecretMaterial {
                api_key: canary2.into(),
                ..Default::default()
            }),
            grace_seconds: 60,
            validate: true,
        })
        .await
        .unwrap();
    errors.push(
        v.client
            .rotate(pb::RotateKeyRequest {
                ctx: ctx(),
                org_id: org.clone(),
                key_id: id.clone(),
                new_secret: Some(pb::SecretMaterial {
                    api_key: canary2.into(),
                    ..Default::default()
                }),
                grace_seconds: 60,
                validate: false,
            })
            .await
            .unwrap_err(),
    );
    v.client.delete(key_ref(&org, &id)).await.unwrap();
    audits_with(&v, "provider_key.delete", 1).await;

    let needles = ["CANARYcanary", "CANARYsecond"];
    for e in &errors {
        for n in needles {
            assert!(
                !e.message().contains(n),
                "gRPC error leaks: {}",
                e.message()
            );
            assert!(!format!("{e:?}").contains(n));
        }
    }
    let audit_bytes = String::from_utf8_lossy(&v.raw_audit_bytes.lock().unwrap()).to_string();
    assert!(
        audit_bytes.contains("provider_key.resolve"),
        "the tap saw the audit stream"
    );
    for n in needles {
        assert!(!audit_bytes.contains(n), "audit event leaks");
    }
    let mut admin = v.tp.db.admin().await;
    for table in [
        "secrets",
        "secret_versions",
        "kek_versions",
        "access_counts",
        "org_settings",
    ] {
        let dump: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM vault.{table} t"))
            .fetch_all(&mut admin)
            .await
            .unwrap();
        for row in dump {
            for n in needles {
                assert!(!row.contains(n), "{table} leaks: {row}");
            }
        }
    }
    let log_text = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(log_text.contains("vault started"), "logs were captured");
    for n in needles {
        assert!(!log_text.contains(n), "a log line leaks");
    }
}

fn tracing_subscriber_for(sink: Capture) -> impl tracing::Subscriber + Send + Sync {
    keyward_telemetry::redacting_subscriber("debug", move || sink.clone())
}
