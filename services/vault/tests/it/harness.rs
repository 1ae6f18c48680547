//! Runs the vault in-process on free ports and talks to it over gRPC, with an audit tap on the
//! test's own broker namespace.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyward_bus::topology::AUDIT_INGEST;
use keyward_bus::{Broker, ConsumerOptions, Handled, Message, consume};
use keyward_core::ServiceName;
use keyward_proto::v1::vault_service_client::VaultServiceClient;
use keyward_proto::v1::{self as pb, AuditEvent};
use keyward_telemetry::IdentityInjector;
use keyward_testkit::{TestPlatform, free_port};
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub type Client = VaultServiceClient<InterceptedService<Channel, IdentityInjector>>;

pub const KEK_A: &str = "1:vY/EH0JkLFkh7JlaPh/5rn6hHQC9uiyg3QJFrT+hv4U=";
pub const KEK_B: &str = "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub struct TestVault {
    pub tp: TestPlatform,
    pub cfg: keyward_vault::Config,
    pub client: Client,
    pub token: CancellationToken,
    pub audits: Arc<Mutex<Vec<AuditEvent>>>,
    pub raw_audit_bytes: Arc<Mutex<Vec<u8>>>,
    pub task: tokio::task::JoinHandle<Result<(), keyward_vault::Error>>,
}

impl Drop for TestVault {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

pub fn config(kek: &str) -> keyward_vault::Config {
    let (h, g) = (free_port(), free_port());
    let mut cfg = keyward_vault::Config::with_addrs(
        &format!("127.0.0.1:{h}"),
        &format!("127.0.0.1:{g}"),
        &format!("http://127.0.0.1:{g}"),
    );
    cfg.kek = Some(kek.to_string().into());
    cfg.maintenance_interval_secs = 3600;
    cfg
}

pub async fn start(cfg: keyward_vault::Config) -> TestVault {
    let tp = TestPlatform::new(&[(ServiceName::Vault, &keyward_vault::MIGRATOR)]).await;
    start_on(tp, cfg).await
}

pub async fn start_on(tp: TestPlatform, cfg: keyward_vault::Config) -> TestVault {
    let token = CancellationToken::new();
    // The audit tap: what the audit service would receive.
    let audits = Arc::new(Mutex::new(Vec::new()));
    let raw = Arc::new(Mutex::new(Vec::new()));
    let broker = Broker::new(&tp.platform.broker, "vault-test-tap", vec![AUDIT_INGEST]);
    let (b, t) = (broker.clone(), token.clone());
    tokio::spawn(async move { b.run(t).await });
    broker
        .wait_connected(Duration::from_secs(10))
        .await
        .unwrap();
    let (a, r) = (audits.clone(), raw.clone());
    tokio::spawn(consume(
        broker,
        AUDIT_INGEST,
        ConsumerOptions::default(),
        token.clone(),
        move |batch: Vec<Message>| {
            let (a, r) = (a.clone(), r.clone());
            async move {
                for m in batch {
                    r.lock().unwrap().extend_from_slice(&m.data);
                    a.lock()
                        .unwrap()
                        .push(AuditEvent::decode(m.data.as_slice()).unwrap());
                }
                Ok::<_, String>(Handled::Commit)
            }
        },
    ));
    // Give the tap's queue time to be declared before the vault publishes.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let (p, c, t) = (tp.platform.clone(), cfg.clone(), token.clone());
    let task = tokio::spawn(async move {
        let metrics = keyward_telemetry::Metrics::new().unwrap();
        keyward_vault::run(&p, &c, metrics, t).await
    });
    let client = connect(&tp, &cfg.grpc_url, "api-gateway").await;
    wait_ready(&cfg).await;
    TestVault {
        tp,
        cfg,
        client,
        token,
        audits,
        raw_audit_bytes: raw,
        task,
    }
}

pub async fn connect(tp: &TestPlatform, url: &str, identity: &str) -> Client {
    let channel = Channel::from_shared(url.to_string())
        .unwrap()
        .connect_lazy();
    VaultServiceClient::with_interceptor(
        channel,
        IdentityInjector::new(&tp.platform.internal, identity).unwrap(),
    )
}

pub async fn wait_ready(cfg: &keyward_vault::Config) {
    let url = format!("http://{}/readyz", cfg.http);
    for _ in 0..200 {
        if let Ok(r) = reqwest::get(&url).await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("vault not ready at {url}");
}

pub fn ctx() -> Option<pb::RequestContext> {
    Some(pb::RequestContext {
        actor: Some(pb::Actor {
            kind: pb::actor::Kind::User as i32,
            id: "user-1".into(),
            email: Some("admin@example.com".into()),
            ip: Some("10.1.2.3".into()),
        }),
        request_id: "req-1".into(),
    })
}

pub fn scope(org: &str) -> pb::Scope {
    pb::Scope {
        org_id: org.into(),
        ..Default::default()
    }
}

pub fn openai_key(tail: &str) -> String {
    format!("sk-proj-{tail:A<48}")
}

pub fn store_req(org: &str, name: &str, key: &str) -> pb::StoreKeyRequest {
    pb::StoreKeyRequest {
        ctx: ctx(),
        name: name.into(),
        provider: "openai".into(),
        scope: Some(scope(org)),
        kind: pb::SecretKind::ProviderKey as i32,
        secret: Some(pb::SecretMaterial {
            api_key: key.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn resolve_req(scope: pb::Scope) -> pb::ResolveKeyRequest {
    pb::ResolveKeyRequest {
        ctx: ctx(),
        scope: Some(scope),
        provider: "openai".into(),
        key_id: None,
        version: None,
    }
}

pub fn key_ref(org: &str, id: &str) -> pb::KeyRef {
    pb::KeyRef {
        ctx: ctx(),
        org_id: org.into(),
        key_id: id.into(),
    }
}

pub fn new_org() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Waits for `n` audit events with `action`.
pub async fn audits_with(v: &TestVault, action: &str, n: usize) -> Vec<AuditEvent> {
    for _ in 0..200 {
        let got: Vec<AuditEvent> = v
            .audits
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.action == action)
            .cloned()
            .collect();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "expected {n} audit events {action}, got {:?}",
        v.audits
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.action.clone())
            .collect::<Vec<_>>()
    );
}
