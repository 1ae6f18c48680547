//! gRPC between services with mTLS: a server built from `[internal.tls]` accepts only clients
//! presenting a certificate from the configured CA.

use std::time::Duration;

use keyward_telemetry::{GrpcClientConfig, TlsConfig, client_channel, server_builder};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// A CA and one leaf per name, written as PEM files; `other` is signed by another CA.
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca =
            CertifiedIssuer::self_signed(params.clone(), KeyPair::generate().unwrap()).unwrap();
        let rogue_ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        for (name, issuer) in [("server", &ca), ("client", &ca), ("rogue", &rogue_ca)] {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(vec!["localhost".to_string()])
                .unwrap()
                .signed_by(&key, issuer)
                .unwrap();
            std::fs::write(dir.path().join(format!("{name}.pem")), cert.pem()).unwrap();
            std::fs::write(dir.path().join(format!("{name}.key")), key.serialize_pem()).unwrap();
        }
        Pki { dir }
    }

    fn tls(&self, name: &str) -> TlsConfig {
        TlsConfig {
            cert: self.dir.path().join(format!("{name}.pem")),
            key: self.dir.path().join(format!("{name}.key")),
            ca: self.dir.path().join("ca.pem"),
            domain: Some("localhost".into()),
        }
    }
}

async fn check(url: &str, tls: Option<&TlsConfig>) -> Result<(), String> {
    let cfg = GrpcClientConfig {
        url: url.into(),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
    };
    let channel = client_channel(&cfg, tls).map_err(|e| e.to_string())?;
    let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
    client
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map(|_| ())
        .map_err(|s| s.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_admits_only_clients_of_the_configured_ca() {
    let pki = Pki::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (_reporter, health) = tonic_health::server::health_reporter();
    let router = server_builder(Some(&pki.tls("server")))
        .unwrap()
        .add_service(health);
    tokio::spawn(
        router.serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let tls_url = format!("https://localhost:{port}");
    check(&tls_url, Some(&pki.tls("client"))).await.unwrap();
    // A certificate from another CA is refused.
    let mut rogue = pki.tls("rogue");
    rogue.ca = pki.dir.path().join("ca.pem");
    assert!(check(&tls_url, Some(&rogue)).await.is_err());
    // Plaintext is refused.
    assert!(
        check(&format!("http://localhost:{port}"), None)
            .await
            .is_err()
    );
}
