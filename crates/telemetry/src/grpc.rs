//! gRPC between services: a service identity (a per-service token from config, sent in metadata)
//! checked by every server, plus mTLS when certificates are configured.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use keyward_core::settings::{InternalConfig, TlsConfig};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::transport::{
    Certificate, Channel, ClientTlsConfig, Endpoint, Identity, Server, ServerTlsConfig,
};
use tonic::{Request, Status};

use crate::{Error, Result};

/// Metadata key naming the calling service.
pub const SERVICE_HEADER: &str = "x-keyward-service";
/// Metadata key carrying the caller's token.
pub const TOKEN_HEADER: &str = "x-keyward-service-token";

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Tls(format!("{}: {e}", path.display())))
}

/// A tonic server builder, with mTLS when configured.
pub fn server_builder(tls: Option<&TlsConfig>) -> Result<Server> {
    let mut builder = Server::builder()
        .timeout(Duration::from_secs(30))
        .tcp_nodelay(true);
    if let Some(tls) = tls {
        let identity = Identity::from_pem(read(&tls.cert)?, read(&tls.key)?);
        let cfg = ServerTlsConfig::new()
            .identity(identity)
            .client_ca_root(Certificate::from_pem(read(&tls.ca)?));
        builder = builder
            .tls_config(cfg)
            .map_err(|e| Error::Tls(e.to_string()))?;
    }
    Ok(builder)
}

/// Where a client reaches a service.
#[derive(Clone, Debug)]
pub struct GrpcClientConfig {
    pub url: String,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

/// A lazily connecting channel (it reconnects by itself), with mTLS when configured.
pub fn client_channel(cfg: &GrpcClientConfig, tls: Option<&TlsConfig>) -> Result<Channel> {
    let mut endpoint = Endpoint::from_shared(cfg.url.clone())
        .map_err(|e| Error::Tls(format!("bad url {}: {e}", cfg.url)))?
        .connect_timeout(cfg.connect_timeout)
        .timeout(cfg.request_timeout)
        .tcp_nodelay(true);
    if let Some(tls) = tls {
        let mut c = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read(&tls.ca)?))
            .identity(Identity::from_pem(read(&tls.cert)?, read(&tls.key)?));
        if let Some(domain) = &tls.domain {
            c = c.domain_name(domain.clone());
        }
        endpoint = endpoint
            .tls_config(c)
            .map_err(|e| Error::Tls(e.to_string()))?;
    }
    Ok(endpoint.connect_lazy())
}

/// The authenticated calling service, put in request extensions by [`ServiceAuth`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerService(pub String);

/// Server-side interceptor: the caller must name itself, present its token, and be allowed.
#[derive(Clone)]
pub struct ServiceAuth {
    tokens: Arc<BTreeMap<String, SecretString>>,
    allowed: Arc<BTreeSet<String>>,
}

impl ServiceAuth {
    /// Accepts calls from `allowed` identities whose tokens are in `cfg`.
    pub fn new(cfg: &InternalConfig, allowed: &[&str]) -> Self {
        Self {
            tokens: Arc::new(cfg.tokens.clone()),
            allowed: Arc::new(allowed.iter().map(|s| (*s).to_string()).collect()),
        }
    }
}

impl Interceptor for ServiceAuth {
    fn call(&mut self, mut req: Request<()>) -> std::result::Result<Request<()>, Status> {
        let md = req.metadata();
        let caller = md
            .get(SERVICE_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Status::unauthenticated("missing service identity"))?
            .to_string();
        let presented = md
            .get(TOKEN_HEADER)
            .map(|v| v.as_bytes().to_vec())
            .ok_or_else(|| Status::unauthenticated("missing service token"))?;
        let expected = self
            .tokens
            .get(&caller)
            .ok_or_else(|| Status::unauthenticated("unknown service identity"))?;
        if !bool::from(expected.expose_secret().as_bytes().ct_eq(&presented)) {
            return Err(Status::unauthenticated("bad service token"));
        }
        if !self.allowed.contains(&caller) {
            return Err(Status::permission_denied(format!(
                "service `{caller}` may not call this service"
            )));
        }
        req.extensions_mut().insert(CallerService(caller));
        Ok(req)
    }
}

/// Client-side interceptor adding this process's identity to every call.
#[derive(Clone)]
pub struct IdentityInjector {
    service: MetadataValue<tonic::metadata::Ascii>,
    token: MetadataValue<tonic::metadata::Ascii>,
}

impl IdentityInjector {
    /// Calls as `identity`, using its token from `cfg`.
    pub fn new(cfg: &InternalConfig, identity: &str) -> Result<Self> {
        let token = cfg
            .tokens
            .get(identity)
            .ok_or_else(|| Error::Tls(format!("internal.tokens.{identity} is missing")))?;
        let service = identity
            .parse()
            .map_err(|_| Error::Tls("identity is not ASCII".into()))?;
        let mut token: MetadataValue<tonic::metadata::Ascii> = token
            .expose_secret()
            .parse()
            .map_err(|_| Error::Tls(format!("internal.tokens.{identity} is not ASCII")))?;
        token.set_sensitive(true);
        Ok(Self { service, token })
    }
}

impl Interceptor for IdentityInjector {
    fn call(&mut self, mut req: Request<()>) -> std::result::Result<Request<()>, Status> {
        let md = req.metadata_mut();
        md.insert(SERVICE_HEADER, self.service.clone());
        md.insert(TOKEN_HEADER, self.token.clone());
        Ok(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> InternalConfig {
        let mut tokens = BTreeMap::new();
        tokens.insert(
            "api-gateway".to_string(),
            SecretString::from("gateway-token-0123456789"),
        );
        tokens.insert(
            "alert".to_string(),
            SecretString::from("alert-token-0123456789ab"),
        );
        InternalConfig { tokens, tls: None }
    }

    fn call(
        auth: &mut ServiceAuth,
        service: Option<&str>,
        token: Option<&str>,
    ) -> std::result::Result<String, tonic::Code> {
        let mut req = Request::new(());
        if let Some(s) = service {
            req.metadata_mut()
                .insert(SERVICE_HEADER, s.parse().unwrap());
        }
        if let Some(t) = token {
            req.metadata_mut().insert(TOKEN_HEADER, t.parse().unwrap());
        }
        auth.call(req)
            .map(|r| r.extensions().get::<CallerService>().unwrap().0.clone())
            .map_err(|s| s.code())
    }

    #[test]
    fn identity_is_checked() {
        let mut auth = ServiceAuth::new(&cfg(), &["api-gateway"]);
        assert_eq!(
            call(
                &mut auth,
                Some("api-gateway"),
                Some("gateway-token-0123456789")
            ),
            Ok("api-gateway".into())
        );
        assert_eq!(
            call(
                &mut auth,
                Some("api-gateway"),
                Some("alert-token-0123456789ab")
            ),
            Err(tonic::Code::Unauthenticated)
        );
        assert_eq!(
            call(&mut auth, Some("alert"), Some("alert-token-0123456789ab")),
            Err(tonic::Code::PermissionDenied)
        );
        assert_eq!(
            call(&mut auth, None, Some("x")),
            Err(tonic::Code::Unauthenticated)
        );
        assert_eq!(
            call(&mut auth, Some("api-gateway"), None),
            Err(tonic::Code::Unauthenticated)
        );
        assert_eq!(
            call(&mut auth, Some("nobody"), Some("x")),
            Err(tonic::Code::Unauthenticated)
        );

        let mut inject = IdentityInjector::new(&cfg(), "api-gateway").unwrap();
        let req = inject.call(Request::new(())).unwrap();
        let (md, ext, ()) = req.into_parts();
        let req = Request::from_parts(md, ext, ());
        assert!(auth.call(req).is_ok());
    }
}
