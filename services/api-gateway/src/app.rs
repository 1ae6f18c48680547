//! The REST app: the route table, `/openapi.json`, `/docs`, and the middleware stack.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, Error, HttpResponse, web};
use keyward_telemetry::{Metrics, Readiness};

use crate::authz::{Action as A, Resource as R};
use crate::handlers::{
    account, alerts as al, budgets, orgs, people, pricing, provider_keys as pk, roles, usage, vkeys,
};
use crate::routes::{Access, Access::Perm, Api};
use crate::state::AppState;

/// Every `/api/v1` route with its access rule.
pub fn api() -> Api {
    use Access::{Public, Session};
    let (get, post, patch, put, delete) = (
        Method::GET,
        Method::POST,
        Method::PATCH,
        Method::PUT,
        Method::DELETE,
    );
    let mut a = Api::default();
    a.route(post.clone(), "/api/v1/auth/login", Public, account::login)
        .route(
            post.clone(),
            "/api/v1/auth/refresh",
            Public,
            account::refresh,
        )
        .route(
            post.clone(),
            "/api/v1/auth/logout",
            Session,
            account::logout,
        )
        .route(get.clone(), "/api/v1/me", Session, account::me)
        .route(
            post.clone(),
            "/api/v1/me/totp/enroll",
            Session,
            account::totp_enroll,
        )
        .route(
            post.clone(),
            "/api/v1/me/totp/confirm",
            Session,
            account::totp_confirm,
        )
        .route(
            post.clone(),
            "/api/v1/me/totp/disable",
            Session,
            account::totp_disable,
        )
        .route(
            post.clone(),
            "/api/v1/me/password",
            Session,
            account::change_password,
        )
        .route(get.clone(), "/api/v1/orgs", Session, orgs::list_orgs)
        .route(post.clone(), "/api/v1/orgs", Session, orgs::create_org)
        .route(
            get.clone(),
            "/api/v1/orgs/{id}",
            Perm(R::Org, A::Read),
            orgs::get_org,
        )
        .route(
            patch.clone(),
            "/api/v1/orgs/{id}",
            Perm(R::Org, A::Write),
            orgs::update_org,
        )
        .route(
            get.clone(),
            "/api/v1/teams",
            Perm(R::Teams, A::Read),
            orgs::list_teams,
        )
        .route(
            post.clone(),
            "/api/v1/teams",
            Perm(R::Teams, A::Write),
            orgs::create_team,
        )
        .route(
            get.clone(),
            "/api/v1/teams/{id}",
            Perm(R::Teams, A::Read),
            orgs::get_team,
        )
        .route(
            patch.clone(),
            "/api/v1/teams/{id}",
            Perm(R::Teams, A::Write),
            orgs::update_team,
        )
        .route(
            delete.clone(),
            "/api/v1/teams/{id}",
            Perm(R::Teams, A::Write),
            orgs::delete_team,
        )
        .route(
            get.clone(),
            "/api/v1/projects",
            Perm(R::Projects, A::Read),
            orgs::list_projects,
        )
        .route(
            post.clone(),
            "/api/v1/projects",
            Perm(R::Projects, A::Write),
            orgs::create_project,
        )
        .route(
            get.clone(),
            "/api/v1/projects/{id}",
            Perm(R::Projects, A::Read),
            orgs::get_project,
        )
        .route(
            patch.clone(),
            "/api/v1/projects/{id}",
            Perm(R::Projects, A::Write),
            orgs::update_project,
        )
        .route(
            delete.clone(),
            "/api/v1/projects/{id}",
            Perm(R::Projects, A::Write),
            orgs::delete_project,
        )
        .route(
            get.clone(),
            "/api/v1/users",
            Perm(R::Users, A::Read),
            people::list_users,
        )
        .route(
            get.clone(),
            "/api/v1/users/{id}",
            Perm(R::Users, A::Read),
            people::get_user,
        )
        .route(
            patch.clone(),
            "/api/v1/users/{id}",
            Perm(R::Users, A::Write),
            people::update_user,
        )
        .route(
            delete.clone(),
            "/api/v1/users/{id}",
            Perm(R::Users, A::Write),
            people::remove_user,
        )
        .route(
            get.clone(),
            "/api/v1/invitations",
            Perm(R::Invitations, A::Read),
            people::list_invitations,
        )
        .route(
            post.clone(),
            "/api/v1/invitations",
            Perm(R::Invitations, A::Write),
            people::create_invitation,
        )
        .route(
            post.clone(),
            "/api/v1/invitations/accept",
            Public,
            account::accept_invitation,
        )
        .route(
            delete.clone(),
            "/api/v1/invitations/{id}",
            Perm(R::Invitations, A::Write),
            people::revoke_invitation,
        )
        .route(
            get.clone(),
            "/api/v1/roles",
            Perm(R::Roles, A::Read),
            roles::list_roles,
        )
        .route(
            post.clone(),
            "/api/v1/roles",
            Perm(R::Roles, A::Write),
            roles::create_role,
        )
        .route(
            get.clone(),
            "/api/v1/roles/{name}",
            Perm(R::Roles, A::Read),
            roles::get_role,
        )
        .route(
            put,
            "/api/v1/roles/{name}",
            Perm(R::Roles, A::Write),
            roles::update_role,
        )
        .route(
            delete.clone(),
            "/api/v1/roles/{name}",
            Perm(R::Roles, A::Write),
            roles::delete_role,
        )
        .route(
            get.clone(),
            "/api/v1/role-assignments",
            Perm(R::Roles, A::Read),
            roles::list_assignments,
        )
        .route(
            post.clone(),
            "/api/v1/role-assignments",
            Perm(R::Roles, A::Write),
            roles::create_assignment,
        )
        .route(
            delete.clone(),
            "/api/v1/role-assignments/{id}",
            Perm(R::Roles, A::Write),
            roles::delete_assignment,
        )
        .route(
            get.clone(),
            "/api/v1/virtual-keys",
            Perm(R::VirtualKeys, A::Read),
            vkeys::list,
        )
        .route(
            post.clone(),
            "/api/v1/virtual-keys",
            Perm(R::VirtualKeys, A::Write),
            vkeys::create,
        )
        .route(
            get.clone(),
            "/api/v1/virtual-keys/{id}",
            Perm(R::VirtualKeys, A::Read),
            vkeys::get,
        )
        .route(
            patch.clone(),
            "/api/v1/virtual-keys/{id}",
            Perm(R::VirtualKeys, A::Write),
            vkeys::update,
        )
        .route(
            post.clone(),
            "/api/v1/virtual-keys/{id}/rotate",
            Perm(R::VirtualKeys, A::Write),
            vkeys::rotate,
        )
        .route(
            post.clone(),
            "/api/v1/virtual-keys/{id}/revoke",
            Perm(R::VirtualKeys, A::Write),
            vkeys::revoke,
        )
        .route(
            get.clone(),
            "/api/v1/provider-keys",
            Perm(R::ProviderKeys, A::Read),
            pk::list,
        )
        .route(
            post.clone(),
            "/api/v1/provider-keys",
            Perm(R::ProviderKeys, A::Write),
            pk::create,
        )
        .route(
            get,
            "/api/v1/provider-keys/{id}",
            Perm(R::ProviderKeys, A::Read),
            pk::get,
        )
        .route(
            patch,
            "/api/v1/provider-keys/{id}",
            Perm(R::ProviderKeys, A::Write),
            pk::update,
        )
        .route(
            delete,
            "/api/v1/provider-keys/{id}",
            Perm(R::ProviderKeys, A::Write),
            pk::delete,
        )
        .route(
            post.clone(),
            "/api/v1/provider-keys/{id}/validate",
            Perm(R::ProviderKeys, A::Write),
            pk::validate,
        )
        .route(
            post.clone(),
            "/api/v1/provider-keys/{id}/rotate",
            Perm(R::ProviderKeys, A::Write),
            pk::rotate,
        )
        .route(
            post.clone(),
            "/api/v1/provider-keys/{id}/revoke",
            Perm(R::ProviderKeys, A::Write),
            pk::revoke,
        );
    audit_routes(&mut a);
    usage_routes(&mut a);
    alert_routes(&mut a);
    a.route(
        Method::GET,
        "/api/v1/events/stream",
        Perm(R::Org, A::Read),
        crate::live::stream,
    );
    model_alias_routes(&mut a);
    a
}

/// The org's model aliases (org settings: read with `org read`, change with `org write`).
fn model_alias_routes(a: &mut Api) {
    use crate::handlers::model_aliases as ma;
    let (read, write) = (Perm(R::Org, A::Read), Perm(R::Org, A::Write));
    a.route(Method::GET, "/api/v1/model-aliases", read, ma::list)
        .route(Method::POST, "/api/v1/model-aliases", write, ma::create)
        .route(
            Method::DELETE,
            "/api/v1/model-aliases/{id}",
            write,
            ma::delete,
        );
}

/// The audit trail (audit service) and a provider key's access log.
fn audit_routes(a: &mut Api) {
    use crate::handlers::audit_trail as au;
    a.route(
        Method::GET,
        "/api/v1/provider-keys/{id}/access-log",
        Perm(R::ProviderKeys, A::Read),
        au::access_log,
    )
    .route(
        Method::GET,
        "/api/v1/audit",
        Perm(R::Audit, A::Read),
        au::query,
    )
    .route(
        Method::GET,
        "/api/v1/audit/verify",
        Perm(R::Audit, A::Read),
        au::verify,
    )
    .route(
        Method::GET,
        "/api/v1/audit/export",
        Perm(R::Audit, A::Read),
        au::export,
    );
}

/// Usage, cost, budgets and pricing (docs/usage-and-cost.md), through the cost service.
fn usage_routes(a: &mut Api) {
    let (get, post, patch, delete) = (Method::GET, Method::POST, Method::PATCH, Method::DELETE);
    let usage = Perm(R::Usage, A::Read);
    a.route(
        get.clone(),
        "/api/v1/usage/breakdown",
        usage,
        usage::breakdown,
    )
    .route(
        get.clone(),
        "/api/v1/usage/timeseries",
        usage,
        usage::timeseries,
    )
    .route(get.clone(), "/api/v1/usage/top", usage, usage::top)
    .route(get.clone(), "/api/v1/usage/events", usage, usage::events)
    .route(get.clone(), "/api/v1/cost/forecast", usage, usage::forecast)
    .route(
        get.clone(),
        "/api/v1/cost/recommendations",
        usage,
        usage::recommendations,
    )
    .route(
        get.clone(),
        "/api/v1/cost/chargeback.csv",
        usage,
        usage::chargeback,
    )
    .route(
        get.clone(),
        "/api/v1/budgets",
        Perm(R::Budgets, A::Read),
        budgets::list,
    )
    .route(
        post.clone(),
        "/api/v1/budgets",
        Perm(R::Budgets, A::Write),
        budgets::create,
    )
    .route(
        get.clone(),
        "/api/v1/budgets/{id}",
        Perm(R::Budgets, A::Read),
        budgets::get,
    )
    .route(
        patch,
        "/api/v1/budgets/{id}",
        Perm(R::Budgets, A::Write),
        budgets::update,
    )
    .route(
        delete.clone(),
        "/api/v1/budgets/{id}",
        Perm(R::Budgets, A::Write),
        budgets::delete,
    )
    .route(
        get.clone(),
        "/api/v1/pricing",
        Perm(R::Pricing, A::Read),
        pricing::list_prices,
    )
    .route(
        get,
        "/api/v1/pricing/overrides",
        Perm(R::Pricing, A::Read),
        pricing::list_overrides,
    )
    .route(
        post,
        "/api/v1/pricing/overrides",
        Perm(R::Pricing, A::Write),
        pricing::create_override,
    )
    .route(
        delete,
        "/api/v1/pricing/overrides/{id}",
        Perm(R::Pricing, A::Write),
        pricing::delete_override,
    );
}

/// Alert rules, channels, alerts and deliveries (docs/alerts.md), through the alert service.
fn alert_routes(a: &mut Api) {
    let (get, post, put, delete) = (Method::GET, Method::POST, Method::PUT, Method::DELETE);
    let (read, write) = (Perm(R::Alerts, A::Read), Perm(R::Alerts, A::Write));
    a.route(get.clone(), "/api/v1/alerts/rules", read, al::list_rules)
        .route(post.clone(), "/api/v1/alerts/rules", write, al::create_rule)
        .route(get.clone(), "/api/v1/alerts/rules/{id}", read, al::get_rule)
        .route(
            put.clone(),
            "/api/v1/alerts/rules/{id}",
            write,
            al::update_rule,
        )
        .route(
            delete.clone(),
            "/api/v1/alerts/rules/{id}",
            write,
            al::delete_rule,
        )
        .route(
            get.clone(),
            "/api/v1/alerts/channels",
            read,
            al::list_channels,
        )
        .route(
            post.clone(),
            "/api/v1/alerts/channels",
            write,
            al::create_channel,
        )
        .route(
            get.clone(),
            "/api/v1/alerts/channels/{id}",
            read,
            al::get_channel,
        )
        .route(
            put,
            "/api/v1/alerts/channels/{id}",
            write,
            al::update_channel,
        )
        .route(
            delete,
            "/api/v1/alerts/channels/{id}",
            write,
            al::delete_channel,
        )
        .route(
            post.clone(),
            "/api/v1/alerts/channels/{id}/test",
            write,
            al::test_channel,
        )
        .route(get.clone(), "/api/v1/alerts", read, al::list_alerts)
        .route(
            get.clone(),
            "/api/v1/alerts/deliveries",
            read,
            al::list_deliveries,
        )
        .route(
            get.clone(),
            "/api/v1/alerts/deliveries/{id}",
            read,
            al::get_delivery,
        )
        .route(
            post.clone(),
            "/api/v1/alerts/deliveries/{id}/retry",
            write,
            al::retry_delivery,
        )
        .route(get, "/api/v1/alerts/{id}", read, al::get_alert)
        .route(
            post.clone(),
            "/api/v1/alerts/{id}/ack",
            write,
            al::acknowledge,
        )
        .route(
            post.clone(),
            "/api/v1/alerts/{id}/resolve",
            write,
            al::resolve,
        )
        .route(post, "/api/v1/alerts/{id}/snooze", write, al::snooze);
}

/// The OpenAPI document, rendered once.
pub fn openapi_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        use utoipa::OpenApi as _;
        crate::openapi::ApiDoc::openapi()
            .to_json()
            .unwrap_or_else(|_| "{}".into())
    })
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(openapi_json())
}

/// The interactive reference (Scalar). The page loads Scalar's JavaScript from the jsDelivr CDN
/// in the browser; nothing is downloaded at build time or by the server.
async fn docs() -> HttpResponse {
    static PAGE: OnceLock<String> = OnceLock::new();
    let page = PAGE.get_or_init(|| {
        let spec: serde_json::Value = serde_json::from_str(openapi_json()).unwrap_or_default();
        utoipa_scalar::Scalar::new(spec)
            .to_html()
            .replace("<title>Scalar</title>", "<title>Keyward API</title>")
    });
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page.clone())
}

/// The outermost middleware: the request id ([`crate::request_id`]) and one access-log line per
/// request: method, route pattern (never the query), status, duration. One middleware, not
/// two: each `from_fn` layer boxes the rest of the chain's future once more per request.
async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = crate::request_id::assign(&req);
    // Nothing to gather for a line that is not written.
    let line = tracing::enabled!(tracing::Level::INFO).then(|| {
        let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
        (req.method().clone(), route, id.clone())
    });
    let res = crate::request_id::within(id, next.call(req)).await?;
    if let Some((method, route, request_id)) = line {
        // Text fields as `&str`: recorded as strings directly, not through `Display`.
        tracing::info!(
            method = method.as_str(),
            route = route.as_str(),
            status = res.status().as_u16(),
            request_id = request_id.as_str(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "http request"
        );
    }
    Ok(res)
}

/// The whole app: ops routes, docs, the REST API, under request ids, access log and authz.
/// `proxy` registers the LLM proxy's `/v1` scope; it goes first because actix tries routes in
/// registration order, and the proxy's requests should not be matched against every REST route
/// pattern before reaching it (that cost ~5% of the proxy's CPU; bench/RESULTS.md, "LLM proxy").
pub fn app(
    state: web::Data<AppState>,
    readiness: Readiness,
    metrics: Metrics,
    proxy: impl FnOnce(&mut web::ServiceConfig),
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    let service = crate::SERVICE.as_str();
    App::new()
        .app_data(state)
        .app_data(web::PayloadConfig::new(crate::body::MAX_BODY))
        .wrap(from_fn(crate::authz::middleware))
        .wrap(from_fn(request_context))
        .configure(proxy)
        .configure(move |c| keyward_telemetry::ops_routes(c, service, readiness, metrics))
        .route("/openapi.json", web::get().to(openapi))
        .route("/docs", web::get().to(docs))
        .configure(|c| api().register(c))
        .default_service(web::to(crate::dashboard::fallback))
}

/// Keeps the route table next to the app that serves it.
pub fn route_table() -> Arc<crate::routes::RouteTable> {
    Arc::new(api().table())
}
