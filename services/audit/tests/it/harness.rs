//! A fresh database and broker namespace per test, the service running in-process, a gRPC
//! client calling it as `operator`, and event builders.

use std::time::Duration;

use keyward_audit::Config;
use keyward_audit::domain::Audit;
use keyward_audit::model::{Actor, NewEvent};
use keyward_core::ServiceName;
use keyward_proto::v1::audit_service_client::AuditServiceClient;
use keyward_proto::v1::{VerifyRequest, VerifyResponse, actor::Kind};
use keyward_telemetry::{IdentityInjector, Metrics};
use keyward_testkit::{TestPlatform, eventually, free_port};
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use uuid::Uuid;

/// The checkpoint signing seed of the tests (base64 of bytes 0..32).
pub const SEED: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub type Client = AuditServiceClient<InterceptedService<Channel, IdentityInjector>>;

/// A test's platform and its audit domain (same database the service uses).
pub struct Rig {
    pub tp: TestPlatform,
    pub cfg: Config,
    pub audit: Audit,
}

/// A config on free ports, signing with [`SEED`], checkpoints only when a test asks for them.
pub fn config() -> Config {
    let (http, grpc) = (free_port(), free_port());
    let mut cfg = Config::listening(
        &format!("127.0.0.1:{http}"),
        &format!("127.0.0.1:{grpc}"),
        &format!("http://127.0.0.1:{grpc}"),
    );
    cfg.signing_key = Some(SEED.into());
    cfg.checkpoint_every = 1_000_000;
    cfg.checkpoint_interval_secs = 3_600;
    cfg
}

/// A fresh platform with `cfg` adjusted by `f`.
pub async fn rig_with(f: impl FnOnce(&mut Config)) -> Rig {
    let tp = TestPlatform::new(&[(ServiceName::Audit, &keyward_audit::MIGRATOR)]).await;
    let mut cfg = config();
    f(&mut cfg);
    let audit = keyward_audit::build(&tp.platform, &cfg, &Metrics::new().unwrap()).unwrap();
    Rig { tp, cfg, audit }
}

pub async fn rig() -> Rig {
    rig_with(|_| {}).await
}

/// The service running in-process; stopped on drop.
pub struct Running {
    pub client: Client,
    token: CancellationToken,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

/// A client of the service at `cfg.grpc_url` calling as `identity`.
pub fn client_as(rig: &Rig, identity: &str) -> Client {
    let channel = tonic::transport::Endpoint::from_shared(rig.cfg.grpc_url.clone())
        .unwrap()
        .connect_lazy();
    let auth = IdentityInjector::new(&rig.tp.platform.internal, identity).unwrap();
    AuditServiceClient::with_interceptor(channel, auth).max_decoding_message_size(16 * 1024 * 1024)
}

/// Starts `keyward_audit::run` and waits until its gRPC API answers.
pub async fn start(rig: &Rig) -> Running {
    let token = CancellationToken::new();
    let (p, c, t) = (rig.tp.platform.clone(), rig.cfg.clone(), token.clone());
    tokio::spawn(async move {
        if let Err(e) = keyward_audit::run(&p, &c, Metrics::new().unwrap(), t).await {
            panic!("audit service failed: {e}");
        }
    });
    let client = client_as(rig, "operator");
    let probe = client.clone();
    eventually(Duration::from_secs(20), || {
        let mut c = probe.clone();
        async move {
            c.verify(VerifyRequest {
                org_id: Uuid::now_v7().to_string(),
                from_seq: 0,
                to_seq: 0,
            })
            .await
            .ok()
        }
    })
    .await
    .expect("audit gRPC answers");
    Running { client, token }
}

/// Verifies `org` over its whole chain.
pub async fn verify(client: &Client, org: Uuid) -> VerifyResponse {
    client
        .clone()
        .verify(VerifyRequest {
            org_id: org.to_string(),
            from_seq: 0,
            to_seq: 0,
        })
        .await
        .unwrap()
        .into_inner()
}

/// A service-actor event of `org`, numbered `i`.
pub fn event(org: Uuid, i: usize) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        org_id: org,
        occurred_at: keyward_audit::canonical::truncate_to_micros(chrono::Utc::now()),
        actor: Actor {
            kind: Kind::Service as i32,
            id: "vault".into(),
            email: None,
            ip: None,
        },
        action: "provider_key.resolve".into(),
        resource_type: "provider_key".into(),
        resource_id: format!("pk_{}", i % 7),
        outcome: if i.is_multiple_of(5) {
            "denied"
        } else {
            "success"
        }
        .into(),
        reason: String::new(),
        request_id: format!("req-{i}"),
        service: "vault".into(),
        before_json: String::new(),
        after_json: format!("{{\"i\":{i}}}"),
    }
}

/// An event by person `user` with personal data.
pub fn user_event(org: Uuid, user: &str, email: &str, ip: &str) -> NewEvent {
    let mut e = event(org, 1);
    e.actor = Actor {
        kind: Kind::User as i32,
        id: user.into(),
        email: Some(email.into()),
        ip: Some(ip.into()),
    };
    e.action = "auth.login".into();
    e.resource_type = "session".into();
    e
}

/// Appends `n` events to `org` in batches of `batch`.
pub async fn fill(audit: &Audit, org: Uuid, n: usize, batch: usize) {
    let events: Vec<NewEvent> = (0..n).map(|i| event(org, i)).collect();
    for chunk in events.chunks(batch) {
        audit.append(chunk.to_vec()).await.unwrap();
    }
}
