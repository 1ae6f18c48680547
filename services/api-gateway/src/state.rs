//! What every handler shares.

use std::sync::Arc;

use keyward_bus::Publisher;
use sqlx::PgPool;

use crate::auth::Keys;
use crate::authz::Authorizer;
use crate::config::AuthConfig;
use crate::routes::RouteTable;

/// Shared state of the REST app (behind `web::Data`).
pub struct AppState {
    pub pool: PgPool,
    pub authz: Arc<Authorizer>,
    pub keys: Arc<Keys>,
    pub auth: AuthConfig,
    pub publisher: Publisher,
    pub routes: Arc<RouteTable>,
    pub trust_forwarded_for: bool,
    /// The vault (provider keys), shared with the LLM proxy.
    pub vault: crate::proxy::secrets::VaultClient,
    /// The audit, cost and alert services behind their REST routes.
    pub upstreams: crate::upstream::Upstreams,
}
