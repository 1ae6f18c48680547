//! gRPC clients of the internal services the REST API fronts (audit, cost, alert), and the one
//! mapping of their `tonic::Status` into the REST error shape.
//!
//! Each client is a lazy channel: nothing connects until a route is called. A service whose
//! `grpc_url` is not configured answers 503 naming the missing setting, not a panic at start-up.

use std::time::Duration;

use keyward_core::ErrorCode;
use keyward_core::ServiceName;
use keyward_core::settings::Platform;
use keyward_proto::v1::alert_service_client::AlertServiceClient;
use keyward_proto::v1::audit_service_client::AuditServiceClient;
use keyward_proto::v1::cost_service_client::CostServiceClient;
use keyward_telemetry::{GrpcClientConfig, IdentityInjector};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::error::ApiError;

type Ch = InterceptedService<Channel, IdentityInjector>;
pub type AuditClient = AuditServiceClient<Ch>;
pub type CostClient = CostServiceClient<Ch>;
pub type AlertClient = AlertServiceClient<Ch>;

/// The clients; `None` where the service's URL is not configured.
#[derive(Clone, Default)]
pub struct Upstreams {
    audit: Option<AuditClient>,
    cost: Option<CostClient>,
    alert: Option<AlertClient>,
}

impl Upstreams {
    /// Builds a lazy client for every configured service.
    ///
    /// # Errors
    /// A bad URL or TLS material, or no internal token for the gateway.
    pub fn new(platform: &Platform, caller: &str) -> Result<Self, crate::Error> {
        let channel = |service: ServiceName| -> Result<Option<Ch>, crate::Error> {
            let Ok(url) = platform.endpoint(service) else {
                return Ok(None);
            };
            let channel = keyward_telemetry::client_channel(
                &GrpcClientConfig {
                    url: url.to_string(),
                    connect_timeout: Duration::from_secs(2),
                    request_timeout: Duration::from_secs(30),
                },
                platform.internal.tls.as_ref(),
            )?;
            let identity = IdentityInjector::new(&platform.internal, caller)?;
            Ok(Some(InterceptedService::new(channel, identity)))
        };
        Ok(Upstreams {
            audit: channel(ServiceName::Audit)?.map(AuditServiceClient::new),
            cost: channel(ServiceName::Cost)?.map(CostServiceClient::new),
            alert: channel(ServiceName::Alert)?.map(AlertServiceClient::new),
        })
    }

    /// The audit service, or 503.
    pub fn audit(&self) -> Result<AuditClient, ApiError> {
        self.audit
            .clone()
            .ok_or_else(|| not_configured(ServiceName::Audit))
    }

    /// The cost service, or 503.
    pub fn cost(&self) -> Result<CostClient, ApiError> {
        self.cost
            .clone()
            .ok_or_else(|| not_configured(ServiceName::Cost))
    }

    /// The alert service, or 503.
    pub fn alert(&self) -> Result<AlertClient, ApiError> {
        self.alert
            .clone()
            .ok_or_else(|| not_configured(ServiceName::Alert))
    }
}

fn not_configured(service: ServiceName) -> ApiError {
    ApiError::unavailable(format!(
        "the {service} service is not configured on this gateway (set {}.grpc_url)",
        service.as_str().replace('-', "_")
    ))
}

/// Maps a status from `service` into the REST error shape. `what` names the object for 404s;
/// `PermissionDenied` also answers 404 (an id of another org is not an existence oracle). Messages
/// are redacted; internal details are logged, not returned.
pub fn grpc_error(service: ServiceName, what: &str, status: &tonic::Status) -> ApiError {
    let message = keyward_crypto::redact(status.message()).into_owned();
    match ErrorCode::from_grpc(status.code()) {
        ErrorCode::NotFound | ErrorCode::PermissionDenied => ApiError::not_found(what),
        ErrorCode::Unavailable | ErrorCode::Timeout => {
            tracing::warn!(%service, code = ?status.code(), %message, "upstream service unavailable");
            ApiError::unavailable(format!("the {service} service is unavailable; try again"))
        }
        ErrorCode::Internal | ErrorCode::Unauthenticated => {
            ApiError::internal(&format!("{service}: {:?}: {message}", status.code()))
        }
        ErrorCode::InvalidArgument => match message.split_once(": ") {
            // Services name the field first (`secret: …`).
            Some((field, rest))
                if !field.is_empty()
                    && field
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') =>
            {
                ApiError::invalid(field, rest)
            }
            _ => ApiError::invalid("", message),
        },
        code => ApiError::new(code, message),
    }
}
