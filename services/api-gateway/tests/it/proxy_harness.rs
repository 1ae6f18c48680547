//! The LLM proxy under test: the real gateway (`run_with`), the real vault, the mock providers,
//! and a tap on the usage queue, all on one fresh database and broker namespace.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyward_api_gateway::proxy::{BreakerConfig, InMemoryBudgets, Options};
use keyward_bus::events::usage_events;
use keyward_bus::topology::USAGE_INGEST;
use keyward_bus::{Broker, ConsumerOptions, Handled, Message, consume};
use keyward_core::ServiceName;
use keyward_crypto::SecretString;
use keyward_proto::v1::vault_service_client::VaultServiceClient;
use keyward_proto::v1::{self as pb, UsageEvent};
use keyward_providers::Provider;
use keyward_telemetry::IdentityInjector;
use keyward_testkit::mock_providers::MockProviders;
use keyward_testkit::{Gate, TestPlatform, eventually, free_port};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::harness::{PASSWORD, test_config};

pub type Vault = VaultServiceClient<InterceptedService<Channel, IdentityInjector>>;

pub const KEK: &str = "1:vY/EH0JkLFkh7JlaPh/5rn6hHQC9uiyg3QJFrT+hv4U=";

#[derive(Default)]
pub struct PxOptions {
    /// Put a closable gate between the gateway and RabbitMQ.
    pub broker_gate: bool,
    pub breaker: Option<BreakerConfig>,
}

pub struct Px {
    _tp: TestPlatform,
    pub base: String,
    pub http: reqwest::Client,
    pub mock: MockProviders,
    pub vault: Vault,
    pub budgets: Arc<InMemoryBudgets>,
    pub access: String,
    pub org_id: String,
    pub usage: Arc<Mutex<Vec<UsageEvent>>>,
    pub gate: Option<Gate>,
    shutdown: CancellationToken,
}

impl Drop for Px {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Px {
    pub async fn start() -> Px {
        Self::start_with(PxOptions::default()).await
    }

    pub async fn start_with(opts: PxOptions) -> Px {
        let tp = TestPlatform::new(&[
            (ServiceName::ApiGateway, &keyward_api_gateway::MIGRATOR),
            (ServiceName::Vault, &keyward_vault::MIGRATOR),
        ])
        .await;
        let shutdown = CancellationToken::new();
        let mock = MockProviders::start().await.unwrap();
        let usage = start_usage_tap(&tp, shutdown.clone()).await;

        // The vault.
        let (vh, vg) = (free_port(), free_port());
        let grpc_url = format!("http://127.0.0.1:{vg}");
        let mut vcfg = keyward_vault::Config::with_addrs(
            &format!("127.0.0.1:{vh}"),
            &format!("127.0.0.1:{vg}"),
            &grpc_url,
        );
        vcfg.kek = Some(KEK.to_string().into());
        vcfg.maintenance_interval_secs = 3600;
        let (p, c, t) = (tp.platform.clone(), vcfg.clone(), shutdown.clone());
        tokio::spawn(async move {
            let m = keyward_telemetry::Metrics::new().unwrap();
            keyward_vault::run(&p, &c, m, t).await
        });
        let http = reqwest::Client::new();
        wait_ok(&http, &format!("http://{}/readyz", vcfg.http)).await;
        let channel = Channel::from_shared(grpc_url.clone())
            .unwrap()
            .connect_lazy();
        let vault = VaultServiceClient::with_interceptor(
            channel,
            IdentityInjector::new(&tp.platform.internal, "api-gateway").unwrap(),
        );

        // The gateway, with the proxy.
        let mut platform = tp.platform.clone();
        platform.endpoints.insert("vault".into(), grpc_url);
        let gate = if opts.broker_gate {
            let g = Gate::start("127.0.0.1:5672".parse().unwrap()).await;
            platform.broker.url =
                secrecy::SecretString::from(format!("amqp://guest:guest@{}/%2f", g.addr()));
            Some(g)
        } else {
            None
        };
        let port = free_port();
        let cfg = test_config(port);
        let budgets = Arc::new(InMemoryBudgets::default());
        let popts = Options {
            budgets: Some(budgets.clone()),
            breaker: opts.breaker.unwrap_or_default(),
            upstream_timeout: Duration::from_secs(10),
            ..Options::default()
        };
        let (p, c, t) = (platform.clone(), cfg.clone(), shutdown.clone());
        tokio::spawn(async move {
            let m = keyward_telemetry::Metrics::new().unwrap();
            if let Err(e) = keyward_api_gateway::run_with(&p, &c, m, t, popts).await {
                panic!("gateway stopped: {e}");
            }
        });
        let base = format!("http://127.0.0.1:{port}");
        wait_ok(&http, &format!("{base}/livez")).await;

        // An org, its owner signed in.
        let b = keyward_api_gateway::admin::bootstrap(
            &platform,
            &cfg,
            None,
            "Proxy Co",
            "owner@proxy.test",
            SecretString::from(PASSWORD),
        )
        .await
        .unwrap();
        let login: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": "owner@proxy.test", "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let access = login["access_token"].as_str().unwrap().to_string();
        let org_id = b.org_id.to_string();
        let probe = format!("{base}/api/v1/orgs/{org_id}");
        let ok = eventually(Duration::from_secs(10), || {
            let (h, u, a) = (http.clone(), probe.clone(), access.clone());
            async move {
                h.get(u)
                    .bearer_auth(a)
                    .send()
                    .await
                    .ok()
                    .filter(|r| r.status() == 200)
            }
        })
        .await;
        assert!(ok.is_some(), "policy never picked up the owner");
        Px {
            _tp: tp,
            base,
            http,
            mock,
            vault,
            budgets,
            access,
            org_id,
            usage,
            gate,
            shutdown,
        }
    }

    /// Stores a provider key for the whole org, pointing at the mock; returns its id.
    pub async fn store_key(&self, provider: Provider, api_key: &str, priority: i32) -> String {
        self.store_key_weighted(provider, api_key, priority, 0)
            .await
    }

    /// [`Px::store_key`] with a routing weight (0: the default).
    pub async fn store_key_weighted(
        &self,
        provider: Provider,
        api_key: &str,
        priority: i32,
        weight: u32,
    ) -> String {
        self.mock.register_key(provider, api_key);
        let r = self
            .vault
            .clone()
            .store(pb::StoreKeyRequest {
                ctx: None,
                name: format!(
                    "{} {priority} {}",
                    provider.as_str(),
                    &api_key[api_key.len() - 6..]
                ),
                provider: provider.as_str().into(),
                scope: Some(pb::Scope {
                    org_id: self.org_id.clone(),
                    ..Default::default()
                }),
                kind: pb::SecretKind::ProviderKey as i32,
                secret: Some(pb::SecretMaterial {
                    api_key: api_key.into(),
                    ..Default::default()
                }),
                base_url: Some(self.mock.base_url(provider)),
                priority,
                weight,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        r.key.unwrap().id
    }

    /// Creates a virtual key through the REST API; returns `(id, key)`.
    pub async fn vkey(&self, body: Value) -> (String, String) {
        let r = self
            .http
            .post(format!("{}/api/v1/virtual-keys", self.base))
            .bearer_auth(&self.access)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        (
            v["id"].as_str().unwrap().into(),
            v["key"].as_str().unwrap().into(),
        )
    }

    /// POSTs `body` to `path` with `key` as Bearer.
    pub async fn post(&self, path: &str, key: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Waits until the tap holds `n` usage events.
    pub async fn wait_usage(&self, n: usize, within: Duration) -> Vec<UsageEvent> {
        let u = self.usage.clone();
        let got = eventually(within, || {
            let events = u.lock().unwrap().clone();
            async move { (events.len() >= n).then_some(events) }
        })
        .await;
        got.unwrap_or_else(|| {
            panic!(
                "only {} of {n} usage events arrived",
                self.usage.lock().unwrap().len()
            )
        })
    }
}

async fn wait_ok(http: &reqwest::Client, url: &str) {
    let ok = eventually(Duration::from_secs(20), || {
        let (h, u) = (http.clone(), url.to_string());
        async move { h.get(u).send().await.ok().filter(|r| r.status() == 200) }
    })
    .await;
    assert!(ok.is_some(), "{url} never answered 200");
}

async fn start_usage_tap(
    tp: &TestPlatform,
    shutdown: CancellationToken,
) -> Arc<Mutex<Vec<UsageEvent>>> {
    let broker = Broker::new(&tp.platform.broker, "proxy-usage-tap", vec![USAGE_INGEST]);
    let (b, t) = (broker.clone(), shutdown.clone());
    tokio::spawn(async move { b.run(t).await });
    broker
        .wait_connected(Duration::from_secs(20))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let usage = Arc::new(Mutex::new(Vec::new()));
    let u = usage.clone();
    tokio::spawn(consume(
        broker,
        USAGE_INGEST,
        ConsumerOptions::default(),
        shutdown,
        move |batch: Vec<Message>| {
            let u = u.clone();
            async move {
                for m in batch {
                    u.lock()
                        .unwrap()
                        .extend(usage_events(m.schema.as_deref(), &m.data).unwrap());
                }
                Ok::<_, String>(Handled::Commit)
            }
        },
    ));
    usage
}
