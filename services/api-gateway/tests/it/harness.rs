//! Starts the gateway for one test: fresh database, unique broker namespace, free port.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyward_api_gateway::Config;
use keyward_bus::topology::{AUDIT, AUDIT_KEY, EVENTS, QueueSpec};
use keyward_bus::{Broker, ConsumerOptions, Handled, Message, consume};
use keyward_core::ServiceName;
use keyward_crypto::SecretString;
use keyward_proto::v1::{AuditEvent, DomainEvent};
use keyward_testkit::{TestPlatform, eventually, free_port};
use prost::Message as _;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub const PASSWORD: &str = "correct horse battery staple";

/// Events from the gateway's exchanges, captured through test queues.
#[derive(Clone, Default)]
pub struct Tap {
    pub audit: Arc<Mutex<Vec<AuditEvent>>>,
    pub domain: Arc<Mutex<Vec<(String, DomainEvent)>>>,
}

pub const DOMAIN_TAP: QueueSpec = QueueSpec {
    name: "keyward.events.gateway-test",
    exchange: EVENTS,
    binding_keys: &["#"],
};

/// The test's own copy of the audit stream (the audit service, when started, reads its own).
pub const AUDIT_TAP: QueueSpec = QueueSpec {
    name: "keyward.audit.gateway-test",
    exchange: AUDIT,
    binding_keys: &[AUDIT_KEY],
};

/// Services a test can start beside the gateway and the vault (which always runs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extra {
    Audit,
    /// Usage ingest (gRPC `Ingest` and the usage queue), for tests that meter calls.
    UsageIngest,
    Cost,
    Alert,
}

pub struct Gw {
    pub tp: TestPlatform,
    pub base: String,
    pub http: reqwest::Client,
    pub cfg: Config,
    pub tap: Tap,
    pub pool: sqlx::PgPool,
    /// The test's own publisher of domain events (`keyward.events`), as cost and vault publish.
    pub events: keyward_bus::Publisher,
    shutdown: CancellationToken,
}

impl Drop for Gw {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn field(&self) -> Option<&str> {
        self.body["error"]["field"].as_str()
    }
}

pub fn test_config(port: u16) -> Config {
    let mut cfg = Config::with_http(&format!("127.0.0.1:{port}"));
    cfg.workers = Some(2);
    cfg.jwt_secret = Some("test-jwt-secret-0123456789abcdef0123456789".into());
    cfg.vkey_pepper = Some("test-vkey-pepper-0123456789abcdef012345678".into());
    cfg.totp_key = Some("1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into());
    cfg.auth.argon2_m_cost_kib = 64;
    cfg.auth.argon2_t_cost = 1;
    cfg.auth.policy_poll_ms = 100;
    cfg.auth.login_per_ip_per_minute = 10_000;
    cfg
}

impl Gw {
    pub async fn start() -> Gw {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Gw {
        Self::start_full(&[], tweak).await
    }

    /// The gateway and the vault, plus the `extras`, each a real service in this process.
    pub async fn start_full(extras: &[Extra], tweak: impl FnOnce(&mut Config)) -> Gw {
        let mut migrators = vec![
            (ServiceName::ApiGateway, &keyward_api_gateway::MIGRATOR),
            (ServiceName::Vault, &keyward_vault::MIGRATOR),
        ];
        for e in extras {
            match e {
                Extra::Audit => migrators.push((ServiceName::Audit, &keyward_audit::MIGRATOR)),
                Extra::UsageIngest => {}
                Extra::Cost => migrators.push((ServiceName::Cost, &keyward_cost::MIGRATOR)),
                Extra::Alert => migrators.push((ServiceName::Alert, &keyward_alert::MIGRATOR)),
            }
        }
        // Cost reads the usage tables; usage's grants name the cost and alert roles.
        if extras
            .iter()
            .any(|e| matches!(e, Extra::UsageIngest | Extra::Cost | Extra::Alert))
        {
            migrators.insert(
                2,
                (ServiceName::UsageIngest, &keyward_usage_ingest::MIGRATOR),
            );
        }
        let mut tp = TestPlatform::new(&migrators).await;
        // Up to seven services share the two cores with another such test: a 2 s wait for a
        // pooled connection (the production default) timed out once under that load (a 503).
        tp.platform.database.acquire_timeout_ms = 15_000;
        let shutdown = CancellationToken::new();
        // The real vault, for `/provider-keys`.
        let (vh, vg) = (free_port(), free_port());
        let grpc_url = format!("http://127.0.0.1:{vg}");
        let mut vcfg = keyward_vault::Config::with_addrs(
            &format!("127.0.0.1:{vh}"),
            &format!("127.0.0.1:{vg}"),
            &grpc_url,
        );
        vcfg.kek = Some(crate::proxy_harness::KEK.to_string().into());
        vcfg.maintenance_interval_secs = 3600;
        let (p, c, t) = (tp.platform.clone(), vcfg.clone(), shutdown.clone());
        tokio::spawn(async move {
            let m = keyward_telemetry::Metrics::new().unwrap();
            keyward_vault::run(&p, &c, m, t).await
        });
        tp.platform.endpoints.insert("vault".into(), grpc_url);
        let mut readies = Vec::new();
        for e in extras {
            let (h, g) = (free_port(), free_port());
            let (http, grpc) = (format!("127.0.0.1:{h}"), format!("127.0.0.1:{g}"));
            let url = format!("http://{grpc}");
            let (p, t) = (tp.platform.clone(), shutdown.clone());
            let m = keyward_telemetry::Metrics::new().unwrap();
            let name = match e {
                Extra::Audit => {
                    let c = keyward_audit::Config::listening(&http, &grpc, &url);
                    tokio::spawn(async move { keyward_audit::run(&p, &c, m, t).await });
                    ServiceName::Audit
                }
                Extra::UsageIngest => {
                    let c = keyward_usage_ingest::Config::with_addrs(&http, &grpc, &url);
                    tokio::spawn(async move { keyward_usage_ingest::run(&p, &c, m, t).await });
                    ServiceName::UsageIngest
                }
                Extra::Cost => {
                    let c = keyward_cost::Config::with_addrs(&http, &grpc, &url);
                    tokio::spawn(async move { keyward_cost::run(&p, &c, m, t).await });
                    ServiceName::Cost
                }
                Extra::Alert => {
                    let mut c = keyward_alert::Config::with_addrs(&http, &grpc, &url);
                    c.allow_private_targets = true; // test receivers listen on 127.0.0.1
                    tokio::spawn(async move { keyward_alert::run(&p, &c, m, t).await });
                    ServiceName::Alert
                }
            };
            tp.platform.endpoints.insert(name.as_str().into(), url);
            readies.push(format!("http://{http}/readyz"));
        }
        let vault_ready = format!("http://{}/readyz", vcfg.http);
        let port = free_port();
        let mut cfg = test_config(port);
        tweak(&mut cfg);
        let tap = start_tap(&tp, shutdown.clone()).await;
        let (p, c, t) = (tp.platform.clone(), cfg.clone(), shutdown.clone());
        tokio::spawn(async move {
            let metrics = keyward_telemetry::Metrics::new().unwrap();
            if let Err(e) = keyward_api_gateway::run(&p, &c, metrics, t).await {
                panic!("gateway stopped: {e}");
            }
        });
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let up = eventually(Duration::from_secs(20), || {
            let (h, u) = (http.clone(), format!("{base}/livez"));
            async move {
                h.get(u)
                    .send()
                    .await
                    .ok()
                    .filter(|r| r.status().is_success())
            }
        })
        .await;
        assert!(up.is_some(), "gateway did not start");
        let vault_up = eventually(Duration::from_secs(20), || {
            let (h, u) = (http.clone(), vault_ready.clone());
            async move {
                h.get(u)
                    .send()
                    .await
                    .ok()
                    .filter(|r| r.status().is_success())
            }
        })
        .await;
        assert!(vault_up.is_some(), "vault did not start");
        for ready in readies {
            let up = eventually(Duration::from_secs(30), || {
                let (h, u) = (http.clone(), ready.clone());
                async move {
                    h.get(u)
                        .send()
                        .await
                        .ok()
                        .filter(|r| r.status().is_success())
                }
            })
            .await;
            assert!(up.is_some(), "{ready} did not become ready");
        }
        let pool = tp.db.pool(ServiceName::ApiGateway).await;
        let events = start_event_publisher(&tp, shutdown.clone()).await;
        Gw {
            events,
            tp,
            base,
            http,
            cfg,
            tap,
            pool,
            shutdown,
        }
    }

    pub async fn req(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut r = self.http.request(m, format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            body,
            text,
            headers,
        }
    }

    /// Sends raw bytes (bad-input tests).
    pub async fn raw(&self, method: &str, path: &str, token: Option<&str>, body: Vec<u8>) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut r = self
            .http
            .request(m, format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            body,
            text,
            headers,
        }
    }

    /// `keyward admin bootstrap`, then waits until the gateway's policy has the new owner.
    pub async fn bootstrap(&self, org: &str, email: &str) -> Session {
        let b = keyward_api_gateway::admin::bootstrap(
            &self.tp.platform,
            &self.cfg,
            None,
            org,
            email,
            SecretString::from(PASSWORD),
        )
        .await
        .unwrap();
        let s = self.login(email, None).await;
        let path = format!("/api/v1/orgs/{}", b.org_id);
        let ok = eventually(Duration::from_secs(10), || async {
            (self.req("GET", &path, Some(&s.access), None).await.status == 200).then_some(())
        })
        .await;
        assert!(ok.is_some(), "policy never picked up the bootstrap owner");
        Session {
            org_id: b.org_id.to_string(),
            user_id: b.user_id.to_string(),
            ..s
        }
    }

    pub async fn login(&self, email: &str, org: Option<&str>) -> Session {
        let mut body = json!({"email": email, "password": PASSWORD});
        if let Some(o) = org {
            body["org_id"] = json!(o);
        }
        let r = self
            .req("POST", "/api/v1/auth/login", None, Some(body))
            .await;
        assert_eq!(r.status, 200, "login {email}: {}", r.text);
        let me = self
            .req(
                "GET",
                "/api/v1/me",
                Some(r.body["access_token"].as_str().unwrap()),
                None,
            )
            .await;
        Session {
            access: r.body["access_token"].as_str().unwrap().into(),
            refresh: r.body["refresh_token"].as_str().unwrap().into(),
            org_id: me.body["org_id"].as_str().unwrap_or_default().into(),
            user_id: me.body["user_id"].as_str().unwrap_or_default().into(),
            email: email.into(),
        }
    }

    /// A new member of `owner`'s org with `role` (in `team`), through invite and accept.
    pub async fn member(
        &self,
        owner: &Session,
        email: &str,
        role: &str,
        team: Option<&str>,
    ) -> Session {
        let mut body = json!({"email": email, "role": role});
        if let Some(t) = team {
            body["team_id"] = json!(t);
        }
        let inv = self
            .req(
                "POST",
                "/api/v1/invitations",
                Some(&owner.access),
                Some(body),
            )
            .await;
        assert_eq!(inv.status, 201, "invite: {}", inv.text);
        let acc = self
            .req(
                "POST",
                "/api/v1/invitations/accept",
                None,
                Some(json!({"token": inv.body["token"], "password": PASSWORD})),
            )
            .await;
        assert_eq!(acc.status, 200, "accept: {}", acc.text);
        let access = acc.body["access_token"].as_str().unwrap().to_string();
        let me = self.req("GET", "/api/v1/me", Some(&access), None).await;
        Session {
            access,
            refresh: acc.body["refresh_token"].as_str().unwrap().into(),
            org_id: owner.org_id.clone(),
            user_id: me.body["user_id"].as_str().unwrap().into(),
            email: email.into(),
        }
    }

    /// Creates something as `who` and returns its id.
    pub async fn create(&self, who: &Session, path: &str, body: Value) -> String {
        let r = self.req("POST", path, Some(&who.access), Some(body)).await;
        assert_eq!(r.status, 201, "POST {path}: {}", r.text);
        r.body["id"]
            .as_str()
            .or(r.body["invitation"]["id"].as_str())
            .or(r.body["key"]["id"].as_str())
            .or(r.body["channel"]["id"].as_str())
            .unwrap()
            .to_string()
    }

    /// A digest of every identity table except sign-in history, to prove a request changed
    /// nothing.
    pub async fn snapshot(&self) -> String {
        let mut admin = self.tp.db.admin().await;
        let mut out = String::new();
        for t in [
            "orgs",
            "users",
            "memberships",
            "teams",
            "projects",
            "custom_roles",
            "custom_role_permissions",
            "role_assignments",
            "invitations",
            "virtual_keys",
            "sessions",
            "refresh_tokens",
            "totp_secrets",
            "casbin_rule",
            "policy_version",
            "login_lockouts",
            "model_aliases",
        ] {
            let row: (Option<String>,) = sqlx::query_as(&format!(
                "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM identity.{t} t"
            ))
            .fetch_one(&mut admin)
            .await
            .unwrap();
            out.push_str(&format!("{t}={} ", row.0.unwrap_or_default()));
        }
        // The cost and alert objects the REST API changes, when those services run (not the
        // deliveries, which their workers change on their own).
        for (t, cols) in [
            ("cost.budgets", "t::text"),
            ("cost.price_overrides", "t::text"),
            // Not `next_eval_at`, which the periodic evaluator moves on its own.
            ("alert.rules", "(to_jsonb(t) - 'next_eval_at')::text"),
            ("alert.channels", "t::text"),
            ("alert.alerts", "t.id::text || t.state"),
        ] {
            let q = format!(
                "SELECT CASE WHEN to_regclass('{t}') IS NULL THEN '' ELSE \
                 (SELECT coalesce(md5(string_agg({cols}, '|' ORDER BY {cols})), '') FROM {t} t) END"
            );
            let row: Result<(Option<String>,), _> = sqlx::query_as(&q).fetch_one(&mut admin).await;
            // A missing table makes the subquery fail to plan: that service is not running.
            let v = row.map(|r| r.0.unwrap_or_default()).unwrap_or_default();
            out.push_str(&format!("{t}={v} "));
        }
        out
    }

    /// Publishes a domain event for `org` on `keyward.events` (as cost or the vault would).
    pub async fn publish_event(
        &self,
        org: &str,
        payload: keyward_proto::v1::domain_event::Payload,
    ) {
        let ev = DomainEvent {
            event_id: uuid::Uuid::now_v7().to_string(),
            occurred_at: Some(keyward_proto::time::now()),
            org_id: org.to_string(),
            payload: Some(payload),
        };
        let kind = keyward_bus::events::domain_kind(&ev);
        self.events
            .publish_confirmed(keyward_bus::events::domain_message(kind, &ev))
            .await
            .unwrap();
    }

    pub async fn wait_audit(&self, what: impl Fn(&AuditEvent) -> bool) -> AuditEvent {
        let tap = self.tap.clone();
        eventually(Duration::from_secs(15), || {
            let found = tap.audit.lock().unwrap().iter().find(|e| what(e)).cloned();
            async move { found }
        })
        .await
        .expect("audit event never arrived")
    }
}

/// A signed-in member.
#[derive(Clone, Debug, Default)]
pub struct Session {
    pub access: String,
    pub refresh: String,
    pub org_id: String,
    pub user_id: String,
    pub email: String,
}

async fn start_event_publisher(
    tp: &TestPlatform,
    shutdown: CancellationToken,
) -> keyward_bus::Publisher {
    let direct = Broker::new(&tp.platform.broker, "gateway-test-events", Vec::new());
    let (b, t) = (direct.clone(), shutdown.clone());
    tokio::spawn(async move { b.run(t).await });
    direct
        .wait_connected(Duration::from_secs(20))
        .await
        .unwrap();
    let spool = keyward_bus::Spool::open(&tp.platform.broker.spool_dir, "test-events").unwrap();
    let (events, task) = keyward_bus::Publisher::new(
        direct,
        spool,
        keyward_bus::PublisherOptions::default(),
        shutdown,
    );
    tokio::spawn(task);
    events
}

async fn start_tap(tp: &TestPlatform, shutdown: CancellationToken) -> Tap {
    let broker = Broker::new(
        &tp.platform.broker,
        "gateway-test-tap",
        vec![AUDIT_TAP, DOMAIN_TAP],
    );
    let (b, t) = (broker.clone(), shutdown.clone());
    tokio::spawn(async move { b.run(t).await });
    broker
        .wait_connected(Duration::from_secs(20))
        .await
        .unwrap();
    // Queues are declared on connect; give the declaration a moment to finish.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let tap = Tap::default();
    let a = tap.audit.clone();
    tokio::spawn(consume(
        broker.clone(),
        AUDIT_TAP,
        ConsumerOptions::default(),
        shutdown.clone(),
        move |batch: Vec<Message>| {
            let a = a.clone();
            async move {
                for m in batch {
                    a.lock()
                        .unwrap()
                        .push(AuditEvent::decode(m.data.as_slice()).unwrap());
                }
                Ok::<_, String>(Handled::Commit)
            }
        },
    ));
    let d = tap.domain.clone();
    tokio::spawn(consume(
        broker,
        DOMAIN_TAP,
        ConsumerOptions::default(),
        shutdown,
        move |batch: Vec<Message>| {
            let d = d.clone();
            async move {
                for m in batch {
                    d.lock().unwrap().push((
                        m.routing_key.clone(),
                        DomainEvent::decode(m.data.as_slice()).unwrap(),
                    ));
                }
                Ok::<_, String>(Handled::Commit)
            }
        },
    ));
    tap
}
